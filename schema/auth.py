"""Sign-up, sign-in, token refresh and sign-out. The services manage their own transactions and
rate-limit counters (a failed login still counts), so they run through `mutate(...,
transaction=False)`."""

from enum import Enum
from typing import Annotated

import strawberry

from app.auth import service as auth
from app.auth.errors import AuthError
from app.cart.errors import CartError
from schema.cart_access import login_device_token
from schema.context import Info
from schema.errors import user_error_type
from schema.ids import gid
from schema.mutations import mutate
from schema.permissions import IsAuthenticated

# Signing in merges the device's cart: its failures are passed on.
AuthUserError = user_error_type("Auth", AuthError, CartError)


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


def _viewer(p) -> Viewer:
    return Viewer(
        id=gid("Buyer" if p.is_buyer else "Staff", p.id),
        kind=AccountKind(p.kind), is_admin=p.is_admin,
        merchant_id=gid("Merchant", p.merchant_id or None),
        merchant_role=p.merchant_role)


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
        return _viewer(info.context.principal)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Limited per client IP (REGISTER_ATTEMPTS_PER_IP per REGISTER_WINDOW_SECONDS).")
    async def register_buyer(self, info: Info, input: RegisterBuyerInput) -> AuthPayload:
        c = info.context
        return await _sign_in(info, lambda db: auth.register_buyer(
            db, c.redis, c.settings, input.phone, input.password, input.nickname, c.client_ip,
            device_token=login_device_token(info)))

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
