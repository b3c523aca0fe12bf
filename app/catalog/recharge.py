"""What a virtual SKU tops up (DOMAIN §0 scenario 3): a phone number or an email address, the
SKU's `recharge_account_kind`, and the practical check an account must pass for its kind.

The email check is deliberately the practical one, not RFC 5322: one `@`, a local part of
printable characters without spaces, and a domain of dot-separated letter/digit/hyphen labels
ending in an alphabetic top-level domain — what a supplier's recharge API accepts; quoted local
parts and IP-literal domains are refused."""

import re
from enum import StrEnum


class RechargeAccountKind(StrEnum):
    PHONE = "PHONE"
    EMAIL = "EMAIL"


DEFAULT_KIND = RechargeAccountKind.PHONE
PHONE = re.compile(r"^\+?[0-9]{6,20}$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_TLD = re.compile(r"^[A-Za-z]{2,63}$")
MAX_EMAIL = 254

RULES = {RechargeAccountKind.PHONE: "a phone number of 6 to 20 digits",
         RechargeAccountKind.EMAIL: "an email address like name@example.com"}


def is_email(account: str) -> bool:
    if len(account) > MAX_EMAIL or account.count("@") != 1:
        return False
    local, domain = account.split("@")
    labels = domain.split(".")
    return (1 <= len(local) <= 64 and bool(_LOCAL.match(local)) and len(labels) >= 2
            and all(_LABEL.match(label) for label in labels) and bool(_TLD.match(labels[-1])))


def valid_account(kind: RechargeAccountKind, account: str) -> bool:
    """Whether `account` is one a SKU of `kind` can recharge."""
    return bool(PHONE.match(account)) if kind is RechargeAccountKind.PHONE else is_email(account)


def kind_of(value: str | None) -> RechargeAccountKind:
    """A stored kind (NULL only on physical goods) as the enum."""
    return RechargeAccountKind(value) if value else DEFAULT_KIND
