"""Roles, declared once on each field (`permission_classes=[IsStaff]`). Services never re-check
roles; they check ownership only (a merchant's staff act on their merchant's rows, a buyer on
their own).

Permission objects are shared by every request: a denial raises its coded error instead of
writing a per-request message onto the object.
"""

from typing import Any

from strawberry.permission import BasePermission

from app.auth.principal import Principal
from app.merchants.staff import is_owner
from schema.context import Info
from schema.errors import PublicError


class _NeedsPrincipal(BasePermission):
    message = "authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}
    refusal = "not allowed for this account"

    def allowed(self, principal: Principal) -> bool:
        return True

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is None:
            raise PublicError(info.context.auth_problem or "authentication required", "UNAUTHENTICATED")
        if not self.allowed(principal):
            raise PublicError(self.refusal, "FORBIDDEN")
        return True


class IsAuthenticated(_NeedsPrincipal):
    pass


class IsBuyer(_NeedsPrincipal):
    refusal = "only buyers may do this"

    def allowed(self, principal: Principal) -> bool:
        return principal.is_buyer


class IsStaff(_NeedsPrincipal):
    """Merchant staff or admins; services narrow merchant staff to their own merchant."""
    refusal = "only merchant staff and platform operators may do this"

    def allowed(self, principal: Principal) -> bool:
        return principal.kind == "staff"


class IsMerchantStaff(_NeedsPrincipal):
    """A merchant's staff only, not operators (enrolling SKUs in a platform promotion is a
    merchant's act)."""
    refusal = "only merchant staff may do this"

    def allowed(self, principal: Principal) -> bool:
        return principal.is_merchant_staff


class IsAdmin(_NeedsPrincipal):
    refusal = "only platform operators may do this"

    def allowed(self, principal: Principal) -> bool:
        return principal.is_admin


class IsMerchantOwner(_NeedsPrincipal):
    """A merchant's OWNER only: operators may not withdraw (DOMAIN §10); the one check is
    app/merchants/staff.py `is_owner`."""
    refusal = "only the merchant's owner may do this"

    def allowed(self, principal: Principal) -> bool:
        return is_owner(principal)
