"""免息 (interest-free) subsidies in the ledger (DOMAIN §8 / §8.1): the subsidiser is charged the
schedule's fee when the loan is made and credited back in proportion when a refund lowers it."""

from datetime import datetime

from app.ledger.accounts import PLATFORM, Account
from app.ledger.journal import Entry, transfer


def subsidy_entry(entry_id: str, subsidiser: str | None, fee: int, now: datetime) -> Entry:
    """The platform as subsidiser: Dr PLATFORM_SUBSIDY / Cr CREDIT_FEE_INCOME by `fee` (negative:
    credited back). A merchant-funded fee is kept on the loan (`subsidy_fee`) for the merchant's
    settlement: no posting here (an entry with no postings records the fact once)."""
    amount = fee if subsidiser == "PLATFORM" else 0
    return Entry(entry_id, "CREDIT_SUBSIDY", now,
                 transfer(amount, (Account.PLATFORM_SUBSIDY, PLATFORM), (Account.CREDIT_FEE_INCOME, PLATFORM)))
