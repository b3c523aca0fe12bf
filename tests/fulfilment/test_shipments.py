"""Shipments made at payment (one per warehouse and fulfilment kind, virtual goods none), and
the after-sale interfaces: `withdraw_units` before a parcel leaves (idempotent on its key, too
late once shipped) and `create_reship` (stock reserved by routing, events carrying the
after-sale)."""

from datetime import UTC, datetime

import httpx
import pytest

from app.db import StatementCount
from app.errors import DomainError
from app.fulfilment import shipments
from app.fulfilment.errors import FulfilmentError
from app.orders import service
from tests.fulfilment.helpers import make_partners, new_buyer_id, paid_order, parcels, stock, unpaid_order


@pytest.fixture(scope="module")
async def goods(db, settings):
    return await make_partners(db, settings.sandbox_partner_secret)


@pytest.fixture(scope="module")
async def http():
    async with httpx.AsyncClient() as client:
        yield client


async def _ship(db, shipment_id: int, carrier: str = "SF", tracking: str = "SF100") -> None:
    async with db.transaction() as conn:
        order_id = await conn.fetchval("SELECT order_id FROM shipments WHERE id = $1", shipment_id)
        await conn.execute("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", order_id)
        await shipments.ship(conn, [shipment_id], carrier, tracking, datetime.now(UTC), "test")


async def test_one_shipment_per_warehouse_and_kind(db, goods):
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 2, "gadget": 1, "shirt": 3})
    by_kind = await parcels(db, order.id)
    assert {k: (p["warehouse_id"], p["status"], p["merchant_id"]) for k, p in by_kind.items()} == {
        "WAREHOUSE": (goods.partner_wh, "PENDING", goods.merchant),
        "DROPSHIP": (goods.supplier_wh, "PENDING", goods.merchant),
        "MERCHANT": (goods.own_wh, "PENDING", goods.merchant)}
    lines = await db.fetch("SELECT shipment_id, order_line_id, quantity FROM shipment_lines"
                           " WHERE shipment_id = ANY($1) ORDER BY quantity", [p["id"] for p in by_kind.values()])
    assert [(r["shipment_id"], r["order_line_id"], r["quantity"]) for r in lines] == [
        (by_kind["DROPSHIP"]["id"], order.lines["gadget"], 1), (by_kind["WAREHOUSE"]["id"], order.lines["phone"], 2),
        (by_kind["MERCHANT"]["id"], order.lines["shirt"], 3)]
    paid = await db.fetchval("SELECT payload FROM outbox WHERE event_type = 'ORDER_PAID'"
                             " AND (payload->>'order_id')::bigint = $1", order.id)
    assert sorted(map(tuple, paid["shipments"])) == sorted((p["id"], k) for k, p in by_kind.items())
    history = await db.fetch("SELECT to_status, reason FROM shipment_status_history WHERE shipment_id = $1",
                             by_kind["WAREHOUSE"]["id"])
    assert [(h["to_status"], h["reason"]) for h in history] == [("PENDING", "ORDER_PAID")]


async def test_the_order_ships_when_every_parcel_has_left(db, goods):
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 1, "shirt": 1})
    by_kind = await parcels(db, order.id)
    on_hand, held = await stock(db, goods.phone.sku)
    await _ship(db, by_kind["WAREHOUSE"]["id"], "ZTO", "ZTO1")
    assert await stock(db, goods.phone.sku) == (on_hand - 1, held - 1)
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order.id) == "PAID"
    await _ship(db, by_kind["MERCHANT"]["id"], "SF", "SF2")
    row = await db.fetchrow("SELECT status, carrier, tracking_number FROM orders WHERE id = $1", order.id)
    assert tuple(row) == ("SHIPPED", "ZTO", "ZTO1")      # the first parcel to leave
    await _ship(db, by_kind["WAREHOUSE"]["id"], "ZTO", "ZTO1")   # again: nothing more
    assert await stock(db, goods.phone.sku) == (on_hand - 1, held - 1)
    notices = await db.fetch("SELECT template FROM buyer_notifications WHERE order_id = $1 ORDER BY id", order.id)
    assert [n["template"] for n in notices] == ["ORDER_PAID", "SHIPMENT_SHIPPED", "SHIPMENT_SHIPPED", "ORDER_SHIPPED"]


async def test_withdraw_units_before_the_parcel_leaves(db, settings, goods, http):
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 3, "shirt": 2})
    by_kind = await parcels(db, order.id)
    on_hand, held = await stock(db, goods.phone.sku)
    assert await shipments.withdraw_units(db, settings, http, "after-sale:1", order.lines["phone"], 1)
    assert await shipments.withdraw_units(db, settings, http, "after-sale:1", order.lines["phone"], 1)  # a retry
    assert await stock(db, goods.phone.sku) == (on_hand, held - 1)
    assert await db.fetchval("SELECT quantity FROM shipment_lines WHERE shipment_id = $1",
                             by_kind["WAREHOUSE"]["id"]) == 2
    with pytest.raises(DomainError) as refused:
        await shipments.withdraw_units(db, settings, http, "after-sale:2", order.lines["phone"], 3)
    assert refused.value.problems[0].code == FulfilmentError.INVALID_QUANTITY

    # the whole MERCHANT parcel withdrawn: CANCELLED; the other parcel leaving ships the order
    assert await shipments.withdraw_units(db, settings, http, "after-sale:3", order.lines["shirt"], 2)
    assert (await parcels(db, order.id))["MERCHANT"]["status"] == "CANCELLED"
    await _ship(db, by_kind["WAREHOUSE"]["id"])
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order.id) == "SHIPPED"
    # once shipped it is too late, and the answer is kept for the key
    assert not await shipments.withdraw_units(db, settings, http, "after-sale:4", order.lines["phone"], 1)
    assert not await shipments.withdraw_units(db, settings, http, "after-sale:4", order.lines["phone"], 1)
    assert await db.fetchval("SELECT count(*) FROM shipment_withdrawals WHERE key LIKE 'after-sale:%'") == 3


async def test_create_reship(db, goods):
    order = await paid_order(db, goods, await new_buyer_id(db), {"shirt": 1})
    await _ship(db, (await parcels(db, order.id))["MERCHANT"]["id"])
    on_hand, held = await stock(db, goods.shirt.sku)
    async with db.transaction() as conn:     # an exchange's case (shipments.after_sale_id → after_sales)
        case = await conn.fetchval(
            "INSERT INTO after_sales (order_id, buyer_id, merchant_id, kind, before_shipment, reason, goods_amount)"
            " SELECT id, buyer_id, merchant_id, 'EXCHANGE', false, 'WRONG_SIZE', 0 FROM orders WHERE id = $1"
            " RETURNING id", order.id)
        reship = await shipments.create_reship(conn, order.id, case, order.lines["shirt"], 1)
    row = await db.fetchrow("SELECT * FROM shipments WHERE id = $1", reship)
    assert (row["kind"], row["status"], row["after_sale_id"], row["warehouse_id"]) == ("MERCHANT", "PENDING", case,
                                                                                       goods.own_wh)
    assert await stock(db, goods.shirt.sku) == (on_hand, held + 1)
    await _ship(db, reship, "SF", "SF-RESHIP")
    assert await stock(db, goods.shirt.sku) == (on_hand - 1, held)
    events = await db.fetch("SELECT event_type, payload, merchant_id FROM outbox WHERE topic = 'fulfilment'"
                            " AND (payload->>'shipment_id')::bigint = $1 ORDER BY id", reship)
    assert [(e["event_type"], e["payload"]["after_sale_id"], e["merchant_id"]) for e in events] == [
        ("SHIPMENT_PENDING", case, goods.merchant), ("SHIPMENT_SHIPPED", case, goods.merchant)]
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order.id) == "SHIPPED"

    async with db.transaction() as conn:
        with pytest.raises(DomainError) as refused:
            await shipments.create_reship(conn, order.id, case, order.lines["shirt"], 5000)
    assert refused.value.problems[0].code == FulfilmentError.OUT_OF_STOCK


async def test_paying_a_batch_makes_its_shipments_in_constant_statements(db, goods):
    """The payment callback path is batched: making shipments must not cost a statement per order."""
    async def statements(n: int) -> int:
        buyer = await new_buyer_id(db)
        orders = [await unpaid_order(db, goods, buyer, {"phone": 1, "gadget": 1, "shirt": 1}) for _ in range(n)]
        async with db.transaction() as conn:
            with StatementCount() as count:
                moved = await service.mark_paid_many(conn, [(o.payment_order, None) for o in orders],
                                                     datetime.now(UTC), "provider:test")
        assert len(moved) == n
        assert await db.fetchval("SELECT count(*) FROM shipments WHERE order_id = ANY($1)", [o.id for o in orders]) \
            == 3 * n
        return count.value
    small, large = await statements(2), await statements(8)
    assert 0 < small == large
