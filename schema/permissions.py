"""Field permissions. Ownership of individual objects is checked in the services."""

from typing import Any

from strawberry.permission import BasePermission

from schema.context import Info


class _NeedsPrincipal(BasePermission):
    message = "authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def allowed(self, principal) -> bool:
        return True

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is None:
            self.message = info.context.auth_problem or "authentication required"
            self.error_extensions = {"code": "UNAUTHENTICATED"}
            return False
        if not self.allowed(principal):
            self.message = "not allowed for this account"
            self.error_extensions = {"code": "FORBIDDEN"}
            return False
        return True


class IsAuthenticated(_NeedsPrincipal):
    pass


class IsBuyer(_NeedsPrincipal):
    def allowed(self, principal) -> bool:
        return principal.is_buyer


class IsStaff(_NeedsPrincipal):
    """Merchant staff or admins; services narrow merchant staff to their own merchant."""

    def allowed(self, principal) -> bool:
        return principal.kind == "staff"


class IsAdmin(_NeedsPrincipal):
    def allowed(self, principal) -> bool:
        return principal.is_admin
