"""Sign-up, sign-in, token refresh and sign-out. The services manage their own transactions and
rate-limit counters (a failed login still counts), so they run through `mutate(...,
transaction=False)`."""

from enum import Enum
from typing import Annotated

import strawberry

from app.accounts.errors import AccountError
from app.auth import service as auth
from app.auth.errors import AuthError
from app.auth.principal import Principal
from app.cart.errors import CartError
from schema import accounts
from schema.cart_access import login_device_token
from schema.context import Info
from schema.errors import user_error_type
from schema.ids import gid
from schema.mutations import mutate
from schema.pagination import Connection
from schema.permissions import IsAuthenticated

# Signing in merges the device's cart: its failures are passed on; registration checks the SMS code.
AuthUserError = user_error_type("Auth", AuthError, CartError, AccountError)


@strawberry.enum
class AccountKind(Enum):
    BUYER = "buyer"
    STAFF = "staff"


@strawberry.type
class Viewer:
    id: strawberry.ID
    kind: AccountKind
    is_admin: bool
    merchant_id: strawberry.ID | None
    merchant_role: str | None
    principal: strawberry.Private[Principal]

    @property
    def _buyer_id(self) -> int | None:
        return self.principal.id if self.principal.is_buyer else None

    @strawberry.field(description="Your address book, the default first (buyers; empty for staff).")
    async def addresses(self, info: Info) -> list[accounts.BuyerAddress]:
        return [] if self._buyer_id is None else await accounts.my_addresses(info, self._buyer_id)

    @strawberry.field(description="Where physical goods go when placeOrder names no address (buyers).")
    async def default_address(self, info: Info) -> accounts.BuyerAddress | None:
        return None if self._buyer_id is None else await accounts.my_default_address(info, self._buyer_id)

    @strawberry.field(description="Points to spend (buyers; null for staff): 1 per yuan paid on completed orders.")
    async def points(self, info: Info) -> int | None:
        return None if self._buyer_id is None else (await accounts.my_account(info, self._buyer_id))["points"]

    @strawberry.field(description="Points earned and kept (refunds take theirs back); they decide the level.")
    async def lifetime_points(self, info: Info) -> int | None:
        return None if self._buyer_id is None else (
            await accounts.my_account(info, self._buyer_id))["lifetime_points"]

    @strawberry.field(description="Member level by lifetime points (docs/accounts.md); member prices need it.")
    async def member_level(self, info: Info) -> int | None:
        return None if self._buyer_id is None else (await accounts.my_account(info, self._buyer_id))["member_level"]

    @strawberry.field(description="Your points changes, newest first (buyers; null for staff).")
    async def points_history(self, info: Info, first: int = 20,
                             after: str | None = None) -> Connection[accounts.PointsEntry] | None:
        return None if self._buyer_id is None else await accounts.my_points_history(info, self._buyer_id, first, after)


def _viewer(p: Principal) -> Viewer:
    return Viewer(
        id=gid("Buyer" if p.is_buyer else "Staff", p.id),
        kind=AccountKind(p.kind), is_admin=p.is_admin,
        merchant_id=gid("Merchant", p.merchant_id or None),
        merchant_role=p.merchant_role, principal=p)


@strawberry.type
class AuthPayload:
    access_token: str | None = None
    access_token_expires_at: int | None = strawberry.field(
        default=None, description="Unix seconds; refresh before then.")
    refresh_token: str | None = None
    viewer: Viewer | None = None
    user_errors: list[AuthUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class LogoutPayload:
    ok: bool = False
    user_errors: list[AuthUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input
class RegisterBuyerInput:
    phone: str
    password: str
    nickname: str = ""
    sms_code: str | None = strawberry.field(default=None, description=(
        "The code sendSmsCode sent to the phone; required unless REGISTRATION_REQUIRES_SMS_CODE is off."))


@strawberry.input
class BuyerLoginInput:
    phone: str
    password: str


@strawberry.input
class StaffLoginInput:
    username: str
    password: str


def _session_payload(session) -> AuthPayload:
    return AuthPayload(access_token=session.access_token,
                       access_token_expires_at=session.access_token_expires_at,
                       refresh_token=session.refresh_token, viewer=_viewer(session.principal))


async def _sign_in(info: Info, act) -> AuthPayload:
    """`act(db)` opens a session; its refusals are the payload's userErrors."""
    return await mutate(info, AuthPayload, lambda db, _: act(db), _session_payload, transaction=False)


@strawberry.type
class AuthQuery:
    @strawberry.field(permission_classes=[IsAuthenticated], description="The signed-in account.")
    def me(self, info: Info) -> Viewer:
        return _viewer(info.context.caller)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Limited per client IP (REGISTER_ATTEMPTS_PER_IP per REGISTER_WINDOW_SECONDS). "
                                     "Needs the SMS code of sendSmsCode (smsCode).")
    async def register_buyer(self, info: Info, input: RegisterBuyerInput) -> AuthPayload:
        c = info.context
        return await _sign_in(info, lambda db: auth.register_buyer(
            db, c.redis, c.settings, input.phone, input.password, input.nickname, c.client_ip,
            device_token=login_device_token(info), sms_code=input.sms_code))

    @strawberry.mutation
    async def buyer_login(self, info: Info, input: BuyerLoginInput) -> AuthPayload:
        c = info.context
        return await _sign_in(info, lambda db: auth.login_buyer(
            db, c.redis, c.settings, input.phone, input.password, c.client_ip, device_token=login_device_token(info)))

    @strawberry.mutation
    async def staff_login(self, info: Info, input: StaffLoginInput) -> AuthPayload:
        c = info.context
        return await _sign_in(info, lambda db: auth.login_staff(
            db, c.redis, c.settings, input.username, input.password, c.client_ip))

    @strawberry.mutation(description="Rotates the refresh token. Presenting a used one again ends its session.")
    async def refresh_session(self, info: Info, refresh_token: str) -> AuthPayload:
        c = info.context
        return await _sign_in(info, lambda db: auth.refresh_session(db, c.redis, c.settings, refresh_token))

    @strawberry.mutation(permission_classes=[IsAuthenticated],
                         description="Ends the session of the access token (all its access and refresh tokens); "
                                     "`everywhere`: every session of the account.")
    async def logout(self, info: Info, everywhere: bool = False,
                     refresh_token: Annotated[str | None, strawberry.argument(
                         deprecation_reason="Not needed: logout ends the whole session.")] = None) -> LogoutPayload:
        c = info.context
        return await mutate(info, LogoutPayload, lambda db, who: auth.logout(db, c.redis, c.settings, who, everywhere),
                            lambda _: LogoutPayload(ok=True), transaction=False)
