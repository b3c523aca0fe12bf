"""Refunds without units (goodwill, or a refund of what is left) on the ledger: a 3.00 goodwill
refund of a 10.00 order, then the 7.00 left refunded, both at order level — the merchant's
pending goes to 0, the entries balance and the order reconciles (it once failed: the second
refund was taken for a whole-units refund worth more than it)."""

from app.ledger.audit import audit, report
from tests.ledger.helpers import T0, L, _refund_row, market, merchant_balances, place_paid


async def test_a_goodwill_refund_then_the_rest(db):
    mk = await market(db, merchants=1)
    async with db.transaction() as conn:
        order = await place_paid(conn, mk, 0, [L(2, 300), L(1, 400)])          # 6.00 + 4.00
        await _refund_row(conn, order, 300, T0, None)                          # goodwill 3.00
    assert (await merchant_balances(db, order.merchant_id))["MERCHANT_PENDING"] == 700
    async with db.transaction() as conn:
        await _refund_row(conn, order, 700, T0, None)                          # the rest
    assert (await merchant_balances(db, order.merchant_id))["MERCHANT_PENDING"] == 0
    async with db.connection() as conn:
        result = await audit(conn)
    assert result.ok, report(result)
