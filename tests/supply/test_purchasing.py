"""Purchase orders and receiving: the status machine, partial and full receipts raising stock by
exactly what was counted, over-receiving refused (also by two receipts at once), prices copied
from the contract, back-in-stock events, and the supply events in the outbox."""

import asyncio
import random

import pytest

from app.catalog.errors import CatalogError
from app.errors import CommonError, DomainError
from app.supply import purchasing, suppliers
from app.supply.errors import SupplyError
from app.supply.purchasing import Quantity
from app.supply.status import PurchaseOrderAction
from tests.supply.helpers import (
    CANCEL_PO,
    CLOSE_PO,
    CREATE_PO,
    PO,
    POS,
    RECEIVE_PO,
    SET_SKU,
    SUBMIT_PO,
    SUSPEND,
    codes,
    create_supplier,
    gid,
    pk,
    platform_skus,
    stock_supplier_with,
    unique,
    warehouse_id,
)


@pytest.fixture(scope="module")
async def shop(db):
    skus = await platform_skus(db, "WAREHOUSE", 3)
    return {"a": skus[0], "b": skus[1], "c": skus[2], "shanghai": await warehouse_id(db, "上海仓")}


def lines(*items: tuple[int, int]) -> list[dict]:
    return [{"skuId": gid("Sku", sku), "quantity": q} for sku, q in items]


async def on_hand(db, sku: int, warehouse: int) -> int:
    return await db.fetchval("SELECT coalesce((SELECT on_hand FROM stock WHERE sku_id = $1 AND warehouse_id = $2), 0)",
                             sku, warehouse)


async def new_order(gql, tokens, shop, items, prices=None, submit=True, **fields) -> dict:
    supplier = await stock_supplier_with(gql, tokens, prices or {shop["a"]: 1000, shop["b"]: 2500})
    created = (await gql.ok(CREATE_PO, {"i": {"supplierId": supplier["id"], "warehouseId": gid("Warehouse", shop["shanghai"]),
                                              "lines": lines(*items), **fields}}, tokens["admin"]))["createPurchaseOrder"]
    assert created["userErrors"] == [], created
    po = created["purchaseOrder"]
    if submit:
        po = (await gql.ok(SUBMIT_PO, {"i": {"purchaseOrderId": po["id"]}}, tokens["admin"]))["submitPurchaseOrder"][
            "purchaseOrder"]
    return po


async def receive(gql, tokens, po_id, *items):
    return (await gql.ok(RECEIVE_PO, {"i": {"purchaseOrderId": po_id, "lines": lines(*items), "note": "dock 3"}},
                         tokens["admin"]))["receivePurchaseOrder"]


async def test_receiving_table(gql, tokens, db, shop):
    """10 of A and 5 of B ordered; each step: what is received, the codes, status after, received
    per line after, stock raised by."""
    a, b, wh = shop["a"], shop["b"], shop["shanghai"]
    po = await new_order(gql, tokens, shop, [(a, 10), (b, 5)])
    assert (po["status"], po["totalAmount"]) == ("ORDERED", 10 * 1000 + 5 * 2500)
    steps = [
        ([(a, 3)], [], "PARTIALLY_RECEIVED", (3, 0), {a: 3, b: 0}),
        ([(a, 8)], [SupplyError.OVER_RECEIVED], "PARTIALLY_RECEIVED", (3, 0), {a: 0, b: 0}),   # 7 outstanding
        ([(a, 2), (b, 6)], [SupplyError.OVER_RECEIVED], "PARTIALLY_RECEIVED", (3, 0), {a: 0, b: 0}),  # all or nothing
        ([(a, 0)], [CatalogError.INVALID_QUANTITY], "PARTIALLY_RECEIVED", (3, 0), {a: 0, b: 0}),
        ([(a, 1), (a, 1)], [SupplyError.DUPLICATE_LINE], "PARTIALLY_RECEIVED", (3, 0), {a: 0, b: 0}),
        ([(shop["c"], 1)], [SupplyError.NOT_CONTRACTED], "PARTIALLY_RECEIVED", (3, 0), {a: 0, b: 0}),
        ([(b, 5)], [], "PARTIALLY_RECEIVED", (3, 5), {a: 0, b: 5}),
        ([(a, 7)], [], "RECEIVED", (10, 5), {a: 7, b: 0}),
        ([(a, 1)], [CommonError.INVALID_TRANSITION], "RECEIVED", (10, 5), {a: 0, b: 0}),
    ]
    for n, (items, expected, status, received, raised) in enumerate(steps):
        before = {s: await on_hand(db, s, wh) for s in (a, b)}
        receipts_before = await db.fetchval("SELECT count(*) FROM inbound_receipts WHERE purchase_order_id = $1",
                                            pk("PurchaseOrder", po["id"]))
        payload = await receive(gql, tokens, po["id"], *items)
        assert codes(payload) == expected, n
        now = (await gql.ok(PO, {"id": po["id"]}, tokens["admin"]))["purchaseOrder"]
        assert now["status"] == status, n
        assert tuple(line["quantityReceived"] for line in now["lines"]) == received, n
        assert {s: await on_hand(db, s, wh) - before[s] for s in (a, b)} == raised, n
        assert len(now["receipts"]) == receipts_before + (0 if expected else 1), n
        if not expected:
            assert payload["receipt"]["lines"] == [{"skuId": gid("Sku", s), "quantity": q} for s, q in items]
    final = (await gql.ok(PO, {"id": po["id"]}, tokens["admin"]))["purchaseOrder"]
    assert [h["toStatus"] for h in final["history"]] == ["DRAFT", "ORDERED", "PARTIALLY_RECEIVED", "RECEIVED"]
    assert final["receivedAt"] is not None and all(line["outstanding"] == 0 for line in final["lines"])
    assert all(r["receivedBy"].startswith("staff:") and r["note"] == "dock 3" for r in final["receipts"])


async def test_status_machine(gql, tokens, shop):
    a = shop["a"]
    draft = await new_order(gql, tokens, shop, [(a, 2)], submit=False)
    assert codes(await receive(gql, tokens, draft["id"], (a, 1))) == [CommonError.INVALID_TRANSITION]
    assert codes((await gql.ok(CLOSE_PO, {"i": {"purchaseOrderId": draft["id"]}}, tokens["admin"]))
                 ["closePurchaseOrder"]) == [CommonError.INVALID_TRANSITION]
    cancelled = (await gql.ok(CANCEL_PO, {"i": {"purchaseOrderId": draft["id"], "reason": "typo"}}, tokens["admin"]))
    assert cancelled["cancelPurchaseOrder"]["purchaseOrder"]["status"] == "CANCELLED"
    assert codes((await gql.ok(SUBMIT_PO, {"i": {"purchaseOrderId": draft["id"]}}, tokens["admin"]))
                 ["submitPurchaseOrder"]) == [CommonError.INVALID_TRANSITION]

    ordered = await new_order(gql, tokens, shop, [(a, 2)])
    assert (await gql.ok(CANCEL_PO, {"i": {"purchaseOrderId": ordered["id"]}}, tokens["admin"]))[
        "cancelPurchaseOrder"]["purchaseOrder"]["status"] == "CANCELLED"

    partly = await new_order(gql, tokens, shop, [(a, 4)])
    await receive(gql, tokens, partly["id"], (a, 1))
    assert codes((await gql.ok(CANCEL_PO, {"i": {"purchaseOrderId": partly["id"]}}, tokens["admin"]))
                 ["cancelPurchaseOrder"]) == [CommonError.INVALID_TRANSITION]
    closed = (await gql.ok(CLOSE_PO, {"i": {"purchaseOrderId": partly["id"], "reason": "supplier out"}},
                           tokens["admin"]))["closePurchaseOrder"]["purchaseOrder"]
    assert closed["status"] == "CLOSED" and closed["endedAt"] is not None and closed["lines"][0]["outstanding"] == 3
    assert codes(await receive(gql, tokens, partly["id"], (a, 1))) == [CommonError.INVALID_TRANSITION]


async def test_creation_rules(gql, tokens, db, shop):
    a, b, c = shop["a"], shop["b"], shop["c"]
    supplier = await stock_supplier_with(gql, tokens, {a: 1000})
    drop = await create_supplier(gql, tokens, kind="DROPSHIP", endpointUrl="sandbox://fulfilment/p1",
                                 secret="a-partner-secret-of-some-length-42", deliveryRegionCodes=["310000"])
    acme_wh = await db.fetchval("SELECT id FROM warehouses WHERE merchant_id = 2 LIMIT 1")
    shanghai = gid("Warehouse", shop["shanghai"])
    cases = [
        ({"supplierId": supplier["id"], "warehouseId": shanghai, "lines": lines((b, 1))}, [SupplyError.NOT_CONTRACTED]),
        ({"supplierId": supplier["id"], "warehouseId": shanghai, "lines": lines((a, 1), (a, 2))},
         [SupplyError.DUPLICATE_LINE]),
        ({"supplierId": supplier["id"], "warehouseId": shanghai, "lines": []}, [CommonError.INVALID_VALUE]),
        ({"supplierId": supplier["id"], "warehouseId": gid("Warehouse", acme_wh), "lines": lines((a, 1))},
         [SupplyError.NOT_PLATFORM_WAREHOUSE]),
        ({"supplierId": supplier["id"], "warehouseId": drop["warehouse"]["id"], "lines": lines((a, 1))},
         [SupplyError.NOT_PLATFORM_WAREHOUSE]),
        ({"supplierId": drop["id"], "warehouseId": shanghai, "lines": lines((c, 1))}, [SupplyError.WRONG_SUPPLIER_KIND]),
        ({"supplierId": gid("Supplier", 10**9), "warehouseId": shanghai, "lines": lines((a, 1))}, [CommonError.NOT_FOUND]),
        ({"supplierId": supplier["id"], "warehouseId": shanghai, "lines": lines((a, 10_000_001))},
         [CatalogError.INVALID_QUANTITY]),
    ]
    before = await db.fetchval("SELECT count(*) FROM purchase_orders")
    for n, (i, expected) in enumerate(cases):
        assert codes((await gql.ok(CREATE_PO, {"i": i}, tokens["admin"]))["createPurchaseOrder"]) == expected, n
    assert await db.fetchval("SELECT count(*) FROM purchase_orders") == before


async def test_unit_price_is_the_contracts_at_creation(gql, tokens, shop):
    a = shop["a"]
    po = await new_order(gql, tokens, shop, [(a, 3)], prices={a: 1234})
    supplier_id = po["supplierId"]
    await gql.ok(SET_SKU, {"i": {"supplierId": supplier_id, "skuId": gid("Sku", a), "purchasePrice": 9999,
                                 "supplierSkuCode": "NEW"}}, tokens["admin"])
    now = (await gql.ok(PO, {"id": po["id"]}, tokens["admin"]))["purchaseOrder"]
    assert (now["lines"][0]["unitPrice"], now["lines"][0]["supplierSkuCode"], now["totalAmount"]) == (1234, f"S-{a}",
                                                                                                      3 * 1234)


async def test_suspended_supplier_takes_no_new_purchase_orders(gql, tokens, shop):
    a = shop["a"]
    draft = await new_order(gql, tokens, shop, [(a, 2)], submit=False)
    ordered = await new_order(gql, tokens, shop, [(a, 2)])
    for po in (draft, ordered):
        await gql.ok(SUSPEND, {"i": {"supplierId": po["supplierId"]}}, tokens["admin"])
    assert codes((await gql.ok(SUBMIT_PO, {"i": {"purchaseOrderId": draft["id"]}}, tokens["admin"]))
                 ["submitPurchaseOrder"]) == [SupplyError.SUPPLIER_SUSPENDED]
    again = (await gql.ok(CREATE_PO, {"i": {"supplierId": draft["supplierId"], "lines": lines((a, 1)),
                                            "warehouseId": gid("Warehouse", shop["shanghai"])}}, tokens["admin"]))
    assert codes(again["createPurchaseOrder"]) == [SupplyError.SUPPLIER_SUSPENDED]
    # goods already ordered still arrive
    assert (await receive(gql, tokens, ordered["id"], (a, 2)))["purchaseOrder"]["status"] == "RECEIVED"


async def test_two_receipts_at_once_never_over_receive(gql, tokens, db, shop):
    a, wh = shop["a"], shop["shanghai"]
    po = await new_order(gql, tokens, shop, [(a, 10)])
    po_id = pk("PurchaseOrder", po["id"])
    before = await on_hand(db, a, wh)
    gate = asyncio.Barrier(2)

    async def take(n: int) -> str:
        async with db.transaction() as conn:
            await gate.wait()          # both transactions are open before either receives
            try:
                await purchasing.receive(conn, f"staff:test{n}", po_id, [Quantity(a, 6)])
            except DomainError as exc:
                return exc.problems[0].code
            return "OK"
    results = sorted(await asyncio.gather(take(1), take(2)))
    assert results == ["OK", SupplyError.OVER_RECEIVED]
    assert await on_hand(db, a, wh) - before == 6
    assert await db.fetchval("SELECT quantity_received FROM purchase_order_lines WHERE purchase_order_id = $1",
                             po_id) == 6
    assert await db.fetchval("SELECT count(*) FROM inbound_receipts WHERE purchase_order_id = $1", po_id) == 1


async def test_receiving_a_sold_out_sku_puts_it_back_in_stock(gql, tokens, db, shop):
    sku = shop["c"]
    async with db.transaction() as conn:     # sold out everywhere (nothing reserved on this SKU in this module)
        await conn.execute("UPDATE stock SET on_hand = reserved WHERE sku_id = $1", sku)
    po = await new_order(gql, tokens, shop, [(sku, 5)], prices={sku: 100})
    last = await db.fetchval("SELECT max(id) FROM outbox")
    await receive(gql, tokens, po["id"], (sku, 2))
    await receive(gql, tokens, po["id"], (sku, 3))
    events = await db.fetch("SELECT topic, event_type, payload, merchant_id FROM outbox WHERE id > $1 ORDER BY id", last)
    states = [e["payload"]["stock_state"] for e in events if e["event_type"] == "STOCK_STATE_CHANGED"]
    assert states == ["IN_STOCK"]         # once: the second receipt found it in stock already
    supply = [(e["event_type"], e["merchant_id"]) for e in events if e["topic"] == "supply"]
    assert supply == [("INBOUND_RECEIVED", None), ("PURCHASE_ORDER_PARTIALLY_RECEIVED", None),
                      ("INBOUND_RECEIVED", None), ("PURCHASE_ORDER_RECEIVED", None)]
    assert [e["payload"]["lines"] for e in events if e["event_type"] == "INBOUND_RECEIVED"] == [
        [{"sku_id": sku, "quantity": 2}], [{"sku_id": sku, "quantity": 3}]]


async def test_lists_filter_by_supplier_and_status(gql, tokens, shop):
    a = shop["a"]
    po = await new_order(gql, tokens, shop, [(a, 1)], reference="REF-LIST-1")
    by_supplier = (await gql.ok(POS, {"s": po["supplierId"]}, tokens["admin"]))["purchaseOrders"]["edges"]
    assert [e["node"] for e in by_supplier] == [{"id": po["id"], "status": "ORDERED"}]
    ordered = {e["node"]["id"] for e in (await gql.ok(POS, {"st": "ORDERED"}, tokens["admin"]))["purchaseOrders"]["edges"]}
    assert po["id"] in ordered
    assert po["reference"] == "REF-LIST-1" and po["supplier"]["id"] == po["supplierId"]
    duplicate = (await gql.ok(CREATE_PO, {"i": {"supplierId": po["supplierId"], "lines": lines((a, 1)),
                                                "warehouseId": gid("Warehouse", shop["shanghai"]),
                                                "reference": "REF-LIST-1"}}, tokens["admin"]))
    assert codes(duplicate["createPurchaseOrder"]) == [CommonError.INVALID_VALUE]
    body = await gql(PO, {"id": gid("PurchaseOrder", 10**9)}, tokens["admin"])
    assert body["errors"][0]["extensions"]["code"] == CommonError.NOT_FOUND


class _Rollback(Exception):
    pass


async def test_random_receipt_sequences_match_a_plain_reference(db, shop):
    """20 seeded sequences of receipt attempts against a reference that just counts: a receipt is
    taken iff every quantity is 1..outstanding; stock rises by exactly what was taken; the status
    is ORDERED / PARTIALLY_RECEIVED / RECEIVED by what is outstanding."""
    rng = random.Random(20261201)
    a, b, wh = shop["a"], shop["b"], shop["shanghai"]
    async with db.transaction() as conn:
        supplier_id = (await suppliers.create_supplier(conn, "staff:r", name=unique("Reference"), kind="STOCK"))["id"]
        for sku in (a, b):
            await conn.execute("INSERT INTO supplier_skus (supplier_id, sku_id, purchase_price, supplier_sku_code)"
                               " VALUES ($1, $2, 100, 'R')", supplier_id, sku)
    for _ in range(20):
        ordered = {a: rng.randint(1, 10), b: rng.randint(1, 10)}
        try:
            async with db.transaction() as conn:
                po = await purchasing.create_purchase_order(conn, "staff:r", supplier_id, wh,
                                                            [Quantity(s, q) for s, q in ordered.items()])
                await purchasing.change_purchase_order(conn, "staff:r", po["id"], PurchaseOrderAction.SUBMIT)
                start = {s: await conn.fetchval("SELECT on_hand FROM stock WHERE sku_id = $1 AND warehouse_id = $2",
                                                s, wh) for s in (a, b)}
                received = {a: 0, b: 0}
                for _ in range(6):
                    attempt = {s: rng.randint(0, 8) for s in rng.sample([a, b], rng.randint(1, 2))}
                    status = await conn.fetchval("SELECT status FROM purchase_orders WHERE id = $1", po["id"])
                    taken = status != "RECEIVED" and all(1 <= q <= ordered[s] - received[s]
                                                         for s, q in attempt.items())
                    try:
                        async with conn.transaction():      # a savepoint: a refusal writes nothing
                            await purchasing.receive(conn, "staff:r", po["id"],
                                                     [Quantity(s, q) for s, q in attempt.items()])
                        assert taken, (ordered, received, attempt)
                        for s, q in attempt.items():
                            received[s] += q
                    except DomainError:
                        assert not taken, (ordered, received, attempt)
                    outstanding = sum(ordered.values()) - sum(received.values())
                    expected = "RECEIVED" if outstanding == 0 else (
                        "PARTIALLY_RECEIVED" if any(received.values()) else "ORDERED")
                    assert await conn.fetchval("SELECT status FROM purchase_orders WHERE id = $1", po["id"]) == expected
                    for s in (a, b):
                        assert await conn.fetchval("SELECT on_hand FROM stock WHERE sku_id = $1 AND warehouse_id = $2",
                                                   s, wh) == start[s] + received[s]
                raise _Rollback
        except _Rollback:
            pass

