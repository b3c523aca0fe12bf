"""Who is calling: decoded from the access token, checked by schema/permissions.py."""

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Principal:
    kind: Literal["buyer", "staff"]
    id: int
    staff_kind: Literal["ADMIN", "MERCHANT"] | None = None
    merchant_id: int | None = None
    merchant_role: Literal["OWNER", "OPERATOR"] | None = None
    session_id: str = ""   # the sign-in this token belongs to (claim `sid`); ending it ends the token
    expires_at: int = 0

    @property
    def subject(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_admin(self) -> bool:
        return self.kind == "staff" and self.staff_kind == "ADMIN"

    @property
    def is_buyer(self) -> bool:
        return self.kind == "buyer"

    @property
    def is_merchant_staff(self) -> bool:
        return self.kind == "staff" and self.staff_kind == "MERCHANT"

    @property
    def staff_merchant_id(self) -> int:
        """The merchant a merchant staff member works for."""
        assert self.merchant_id is not None, "a merchant staff member's token always names the merchant"
        return self.merchant_id

    def can_manage_merchant(self, merchant_id: int | None) -> bool:
        """Admins manage every merchant and the platform's own rows (`None`); staff their own."""
        return self.is_admin or (self.is_merchant_staff and self.merchant_id == merchant_id)
