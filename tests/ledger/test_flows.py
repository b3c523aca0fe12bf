"""The ledger through the real paths: a payment callback from the sandbox provider captures
and splits (in the paid transaction, once however often it is replayed), after-sale refunds
confirmed by the provider's signed callback lower pending before settlement and become a
recovery after it, the next run deducts it, and the audit holds (DOMAIN §10.1)."""

from datetime import UTC, datetime, timedelta

import pytest

from app.config import Settings
from app.ledger import settlement
from app.ledger.audit import audit
from tests.aftersale.helpers import paid_order, settle, ship_and_receive
from tests.aftersale.test_flows import APPROVE, INSPECT, REQUEST, RETURN, _ok, _pk, _request, staff_token
from tests.ledger.helpers import merchant_balances
from tests.payments.helpers import new_buyer
from tests.servers import _empty_job_queue, api, app_settings, http, port, server

__all__ = ["_empty_job_queue", "api", "http", "port", "server"]


@pytest.fixture(scope="module")
def settings(database_url, services, port) -> Settings:
    return app_settings(database_url, services[1], port)


async def test_capture_split_refunds_before_and_after_settlement_through_the_real_paths(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    # 2 units paying 2.00 and 1 unit paying 5.00, shipping 3.00: payable 10.00
    order = await paid_order(http, db, settings, buyer, [(2, 200), (1, 500)], shipping=300)
    entries = {r["id"]: r["kind"] for r in await db.fetch("SELECT id, kind FROM journal_entries WHERE id = ANY($1)",
                                                           [f"payment:{order.payment}:capture", f"order:{order.id}:split"])}
    assert sorted(entries.values()) == ["PAYMENT_CAPTURE", "PAYMENT_SPLIT"]
    assert (await merchant_balances(db, order.merchant))["MERCHANT_PENDING"] == 1000
    await db.fetchval("UPDATE order_lines SET commission_rate = 0.10 WHERE order_id = $1 RETURNING 1", order.id)

    # one unit of the first line back before shipment: 1.00 off pending
    first = await _ok(api, REQUEST, _request(order, 0, 1), buyer.token, "requestAfterSale")
    await settle(settings, db, _pk(first))
    assert (await merchant_balances(db, order.merchant))["MERCHANT_PENDING"] == 900

    await ship_and_receive(db, order.id, received_days_ago=9)
    await db.fetchval("UPDATE orders SET status = 'COMPLETED', completed_at = now() - interval '8 days'"
                      " WHERE id = $1 RETURNING 1", order.id)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    await settlement.run(db, yesterday)
    # 1.00 − 0.10 commission, 5.00 − 0.50, shipping 3.00 whole
    assert await merchant_balances(db, order.merchant) == {
        "MERCHANT_PENDING": 0, "MERCHANT_AVAILABLE": 840, "MERCHANT_REFUND_RECOVERY": 0}

    # the 5.00 unit returned after settlement: the buyer gets 5.00 now, the merchant owes 5.00 − 0.50
    merchant = await staff_token(db, settings, order.merchant)
    rest = await _ok(api, REQUEST, _request(order, 1, 1, "RETURN_REFUND", "QUALITY_PROBLEM"), buyer.token,
                     "requestAfterSale")
    await _ok(api, APPROVE, {"i": {"afterSaleId": rest["id"]}}, merchant, "approveAfterSale")
    await _ok(api, RETURN, {"i": {"afterSaleId": rest["id"], "carrier": "SF", "trackingNumber": "SF77"}},
              buyer.token, "submitReturnShipment")
    await _ok(api, INSPECT, {"i": {"afterSaleId": rest["id"], "accept": True}}, merchant, "inspectReturn")
    await settle(settings, db, _pk(rest))
    assert await merchant_balances(db, order.merchant) == {
        "MERCHANT_PENDING": 0, "MERCHANT_AVAILABLE": 840, "MERCHANT_REFUND_RECOVERY": 450}
    today = datetime.now(UTC).date()
    await settlement.run(db, today)
    assert await merchant_balances(db, order.merchant) == {
        "MERCHANT_PENDING": 0, "MERCHANT_AVAILABLE": 390, "MERCHANT_REFUND_RECOVERY": 0}
    refunds = await db.fetch("SELECT id FROM refunds WHERE order_id = $1", order.id)
    ids = [f"refund:{r['id']}{suffix}" for r in refunds for suffix in ("", ":paid")]
    assert len(refunds) == 2 and await db.fetchval("SELECT count(*) FROM journal_entries WHERE id = ANY($1)", ids) == 4
    async with db.connection() as conn:
        result = await audit(conn)
    assert result.ok, result
