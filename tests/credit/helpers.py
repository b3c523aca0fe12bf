"""Shared by the credit tests: valid resident ID numbers and the GraphQL documents."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from app.credit import lines
from app.credit.loans import create_loan
from app.credit.plans import Plan
from app.credit.schedule import schedule
from tests.cart.helpers import new_buyer


def resident_id(first17: str) -> str:
    """The check character by the ISO 7064 MOD 11-2 recursion (not the weighted sum the code uses)."""
    p = 0
    for c in first17:
        p = ((p + int(c)) * 2) % 11
    check = (12 - p) % 11
    return first17 + ("X" if check == 10 else str(check))


def new_id(born: str | None = None) -> str:
    """A valid ID number, different each call (a random district, sequence and, unless `born`
    (YYYYMMDD) is given, a birthday between 1981 and 2000): two applicants sharing one would be
    refused as ID_ALREADY_USED."""
    r = uuid.uuid4().int
    if born is None:
        born = (date(1981, 1, 1) + timedelta(days=r % 7300)).strftime("%Y%m%d")
    return resident_id(f"1101{(r >> 16) % 18 + 1:02d}{born}{(r >> 32) % 1000:03d}")


LINE_FIELDS = "buyerId tier limit available outstandingPrincipal frozen dueDay"
APPLICATION_FIELDS = "id status tier limit score reason rules { rule points } idNumber monthlyIncome"
APPLY = f"""mutation($i: ApplyForCreditInput!) {{ applyForCredit(input: $i) {{
  application {{ {APPLICATION_FIELDS} }} creditLine {{ {LINE_FIELDS} }} userErrors {{ field code message }} }} }}"""
MY_LINE = f"query {{ myCreditLine {{ {LINE_FIELDS} limitChanges {{ fromLimit toLimit reason actor }} }} }}"
CHANGE_LIMIT = f"""mutation($i: ChangeCreditLimitInput!) {{ changeCreditLimit(input: $i) {{
  creditLine {{ {LINE_FIELDS} }} userErrors {{ field code message }} }} }}"""


async def make_loan(db, settings, principal: int = 300000, periods: int = 3, rate: str = "2.3", tier: str | None = None,
                    at=None) -> int:
    """A buyer with a credit line (its tier forced to `tier` when given) and a loan of `principal`
    made the way a credit payment makes it: frozen first, then create_loan."""
    buyer_id, _ = await new_buyer(db, settings)
    phone = await db.fetchval("SELECT phone FROM buyers WHERE id = $1", buyer_id)
    async with db.transaction() as conn:
        await lines.apply(conn, settings, buyer_id, new_id(), 2_000_000, phone, 10, datetime.now(UTC))
        await conn.execute("UPDATE credit_lines SET frozen = $2, tier = coalesce($3, tier) WHERE buyer_id = $1",
                           buyer_id, principal, tier)
        plan = Plan(periods, Decimal(rate), False, None, None, schedule(principal, periods, Decimal(rate)), 0)
        return await create_loan(conn, buyer_id, None, principal, plan, at or datetime(2026, 1, 15, 9, tzinfo=UTC))
