"""Whose cart a request reaches: a signed-in buyer's, else the anonymous `X-Device-Token` cart.

Shared by the cart (schema/cart.py) and the trial pricing (schema/pricing.py), which both read
the caller's cart under the same rules (docs/cart.md "Whose cart").
"""

from typing import Any

from strawberry.permission import BasePermission

from app.cart import service as cart
from app.cart.errors import CartError
from app.cart.service import CartOwner
from app.errors import CommonError
from schema.context import Info
from schema.errors import PublicError

DEVICE_TOKEN_HEADER = "x-device-token"


def device_token_of(info: Info) -> str | None:
    request = info.context.request
    return None if request is None else request.headers.get(DEVICE_TOKEN_HEADER)


def login_device_token(info: Info) -> str | None:
    """The device token to merge at sign-in; a malformed one is ignored rather than failing the login."""
    token = device_token_of(info)
    return token if token is not None and cart.DEVICE_TOKEN.match(token) else None


class HasCart(BasePermission):
    """A buyer, or an anonymous caller with a well-formed device token."""

    message = "sign in or send an X-Device-Token header"
    error_extensions = {"code": "UNAUTHENTICATED"}

    @staticmethod
    def _deny(message: str, code: str) -> bool:
        """Refuse by raising (permission objects are shared by every request, never mutated)."""
        raise PublicError(message, code)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        ctx = info.context
        if ctx.principal is not None:
            return ctx.principal.is_buyer or self._deny("staff accounts have no cart", CommonError.FORBIDDEN)
        if ctx.auth_problem:  # a token was sent but refused: never fall back to the device cart
            return self._deny(ctx.auth_problem, "UNAUTHENTICATED")
        token = device_token_of(info)
        if token is None:
            return self._deny("sign in or send an X-Device-Token header", "UNAUTHENTICATED")
        if not cart.DEVICE_TOKEN.match(token):
            return self._deny("X-Device-Token must be 16 to 64 characters of A-Z a-z 0-9 _ -",
                              CartError.INVALID_DEVICE_TOKEN)
        return True


def cart_owner(info: Info) -> CartOwner:
    """The owner of the caller's cart (call after `HasCart` allowed the request)."""
    principal = info.context.principal
    if principal is not None:
        return CartOwner(buyer_id=principal.id)
    return CartOwner(device_token=device_token_of(info))
