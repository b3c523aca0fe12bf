"""Supplier onboarding, contracts, dropship declared stock and the stock guard, suspension, and
who may see any of it (admins only)."""

import pytest

from app.catalog.errors import CatalogError
from app.errors import CommonError
from app.supply.errors import SupplyError
from tests.cart.helpers import new_buyer
from tests.orders.helpers import PLACE, place_input
from tests.supply.helpers import (
    CONTRACT,
    DECLARE,
    REACTIVATE,
    REMOVE_SKU,
    SECRET,
    SET_SKU,
    SUPPLIER,
    SUPPLIERS,
    SUSPEND,
    UPDATE_SUPPLIER,
    codes,
    create_supplier,
    gid,
    pk,
    platform_skus,
    unique,
    warehouse_id,
)

SET_STOCK = """mutation($i: SetStockInput!) { setStock(input: $i) { stock { onHand } userErrors { code } } }"""
UPDATE_WAREHOUSE = """mutation($i: UpdateWarehouseInput!) { updateWarehouse(input: $i) { userErrors { code } } }"""
EAST = ["310000", "320000", "440000"]


async def dropship_supplier(gql, tokens, db, regions=EAST) -> tuple[dict, int]:
    """A new DROPSHIP supplier under contract for a fresh DROPSHIP SKU of the demo product."""
    supplier = await create_supplier(gql, tokens, kind="DROPSHIP", endpointUrl="sandbox://fulfilment/t1",
                                     secret=SECRET, deliveryRegionCodes=regions)
    sku = (await platform_skus(db, "DROPSHIP"))[0]
    data = await gql.ok(SET_SKU, {"i": {"supplierId": supplier["id"], "skuId": gid("Sku", sku), "purchasePrice": 100,
                                        "supplierSkuCode": "D-1"}}, tokens["admin"])
    assert data["setSupplierSku"]["userErrors"] == []
    return supplier, sku


async def test_onboarding_each_kind_and_the_secret_is_write_only(gql, tokens):
    stock = await create_supplier(gql, tokens, contactName="王", settlementTerms="NET_30")
    assert (stock["kind"], stock["status"], stock["endpointUrl"], stock["hasSecret"], stock["warehouse"]) == (
        "STOCK", "ACTIVE", None, False, None)
    assert stock["history"] == [{"fromStatus": None, "toStatus": "ACTIVE", "actor": stock["history"][0]["actor"],
                                 "reason": "onboarded"}]
    drop = await create_supplier(gql, tokens, kind="DROPSHIP", endpointUrl="https://partner.example.com/push",
                                 secret=SECRET, deliveryRegionCodes=["440000", "310000"])
    assert drop["hasSecret"] and drop["endpointUrl"] == "https://partner.example.com/push"
    assert drop["warehouse"]["merchantId"] == gid("Merchant", 1) and drop["warehouse"]["active"]
    assert drop["warehouse"]["regionCodes"] == ["310000", "440000"]
    api = await create_supplier(gql, tokens, kind="REALTIME_API", endpointUrl="sandbox://topup/x9", secret=SECRET)
    assert api["warehouse"] is None and api["hasSecret"]
    # the secret appears in no answer: not on create, not on read
    await gql.ok(SUPPLIER, {"id": drop["id"]}, tokens["admin"])
    assert SECRET not in gql.last_response.text


@pytest.mark.parametrize("fields, expected", [
    ({"kind": "DROPSHIP", "secret": SECRET, "deliveryRegionCodes": EAST}, [(SupplyError.ENDPOINT_REQUIRED, "endpointUrl")]),
    ({"kind": "REALTIME_API", "endpointUrl": "sandbox://topup/a"}, [(SupplyError.ENDPOINT_REQUIRED, "secret")]),
    ({"kind": "STOCK", "endpointUrl": "https://x.example"}, [(SupplyError.ENDPOINT_NOT_ALLOWED, "endpointUrl")]),
    ({"kind": "DROPSHIP", "endpointUrl": "ftp://x.example/a", "secret": SECRET, "deliveryRegionCodes": EAST},
     [(SupplyError.INVALID_ENDPOINT, "endpointUrl")]),
    ({"kind": "DROPSHIP", "endpointUrl": "sandbox://topup/a", "secret": SECRET, "deliveryRegionCodes": EAST},
     [(SupplyError.INVALID_ENDPOINT, "endpointUrl")]),          # the wrong sandbox service for the kind
    ({"kind": "REALTIME_API", "endpointUrl": "sandbox://topup/a b", "secret": SECRET},
     [(SupplyError.INVALID_ENDPOINT, "endpointUrl")]),
    ({"kind": "REALTIME_API", "endpointUrl": "sandbox://topup/a", "secret": "short"},
     [(SupplyError.WEAK_SECRET, "secret")]),
    ({"kind": "DROPSHIP", "endpointUrl": "sandbox://fulfilment/a", "secret": SECRET},
     [(SupplyError.REGIONS_REQUIRED, "deliveryRegionCodes")]),
    ({"kind": "DROPSHIP", "endpointUrl": "sandbox://fulfilment/a", "secret": SECRET, "deliveryRegionCodes": ["999999"]},
     [(CatalogError.UNKNOWN_REGION, "deliveryRegionCodes")]),
    ({"kind": "STOCK", "deliveryRegionCodes": EAST}, [(SupplyError.WRONG_SUPPLIER_KIND, "deliveryRegionCodes")]),
])
async def test_onboarding_refusals_write_nothing(gql, tokens, db, fields, expected):
    before = await db.fetchval("SELECT count(*) FROM suppliers")
    name = unique("Refused")
    payload = (await gql.ok("""mutation($i: CreateSupplierInput!) { createSupplier(input: $i) {
        supplier { id } userErrors { field code } } }""", {"i": {"name": name, **fields}}, tokens["admin"]))["createSupplier"]
    assert payload["supplier"] is None
    assert [(e["code"], e["field"][1]) for e in payload["userErrors"]] == [(c.value, f) for c, f in expected]
    assert await db.fetchval("SELECT count(*) FROM suppliers") == before


async def test_names_are_unique_and_updates_keep_the_kind(gql, tokens, db):
    drop = await create_supplier(gql, tokens, kind="DROPSHIP", endpointUrl="sandbox://fulfilment/u1", secret=SECRET,
                                 deliveryRegionCodes=["310000"])
    again = (await gql.ok("""mutation($i: CreateSupplierInput!) { createSupplier(input: $i) { userErrors { code } } }""",
                          {"i": {"name": drop["name"].upper(), "kind": "STOCK"}}, tokens["admin"]))["createSupplier"]
    assert codes(again) == [SupplyError.DUPLICATE_SUPPLIER_NAME]
    new_secret = "another-secret-0123456789"
    updated = (await gql.ok(UPDATE_SUPPLIER, {"i": {"id": drop["id"], "endpointUrl": "sandbox://fulfilment/u2",
                                                    "secret": new_secret, "deliveryRegionCodes": ["440000"],
                                                    "contactPhone": "123"}}, tokens["admin"]))["updateSupplier"]
    assert updated["userErrors"] == [] and updated["supplier"]["contactPhone"] == "123"
    assert updated["supplier"]["warehouse"]["regionCodes"] == ["440000"]
    assert new_secret not in gql.last_response.text
    # the warehouse pushes go to follows the supplier's endpoint and secret
    wh = await db.fetchrow("SELECT endpoint_url, secret FROM warehouses WHERE id = $1",
                           pk("Warehouse", drop["warehouse"]["id"]))
    assert tuple(wh) == ("sandbox://fulfilment/u2", new_secret)
    stock = await create_supplier(gql, tokens)
    refused = (await gql.ok(UPDATE_SUPPLIER, {"i": {"id": stock["id"], "secret": new_secret}},
                            tokens["admin"]))["updateSupplier"]
    assert codes(refused) == [SupplyError.ENDPOINT_NOT_ALLOWED]


async def test_contract_rules(gql, tokens, db):
    stock = await create_supplier(gql, tokens)
    drop, _ = await dropship_supplier(gql, tokens, db)
    api = await create_supplier(gql, tokens, kind="REALTIME_API", endpointUrl="sandbox://topup/c1", secret=SECRET)
    warehouse_sku, dropship_sku, virtual_sku = [(await platform_skus(db, f))[0]
                                                for f in ("WAREHOUSE", "DROPSHIP", "VIRTUAL")]
    acme_sku = await db.fetchval("SELECT id FROM skus WHERE merchant_id = 2 ORDER BY id LIMIT 1")
    cases = [  # (supplier, SKU, price, code, expected codes)
        (stock, warehouse_sku, 4200, "EC-1", []),
        (stock, warehouse_sku, 4300, "EC-1b", []),                       # a second set changes the line
        (stock, dropship_sku, 100, "x", [SupplyError.FULFILMENT_MISMATCH]),
        (stock, virtual_sku, 100, "x", [SupplyError.FULFILMENT_MISMATCH]),
        (stock, acme_sku, 100, "x", [SupplyError.NOT_PLATFORM_SKU]),
        (stock, warehouse_sku, -1, "x", [CommonError.INVALID_VALUE]),
        (stock, warehouse_sku, 100, " ", [CommonError.INVALID_VALUE]),
        (drop, dropship_sku, 100, "D-2", []),
        (drop, warehouse_sku, 100, "x", [SupplyError.FULFILMENT_MISMATCH]),
        (api, virtual_sku, 2900, "T-1", []),
        (api, warehouse_sku, 100, "x", [SupplyError.FULFILMENT_MISMATCH]),
    ]
    for supplier, sku, price, code, expected in cases:
        payload = (await gql.ok(SET_SKU, {"i": {"supplierId": supplier["id"], "skuId": gid("Sku", sku),
                                                "purchasePrice": price, "supplierSkuCode": code}},
                                tokens["admin"]))["setSupplierSku"]
        assert codes(payload) == expected, (supplier["kind"], sku, price, code)
    line = await db.fetchrow("SELECT * FROM supplier_skus WHERE supplier_id = $1", pk("Supplier", stock["id"]))
    assert (line["purchase_price"], line["supplier_sku_code"]) == (4300, "EC-1b")
    gone = (await gql.ok(REMOVE_SKU, {"i": {"supplierId": stock["id"], "skuId": gid("Sku", warehouse_sku)}},
                         tokens["admin"]))["removeSupplierSku"]
    assert gone == {"removed": True, "userErrors": []}
    again = (await gql.ok(REMOVE_SKU, {"i": {"supplierId": stock["id"], "skuId": gid("Sku", warehouse_sku)}},
                          tokens["admin"]))["removeSupplierSku"]
    assert codes(again) == [CommonError.NOT_FOUND]


async def test_contract_lines_page_by_sku(gql, tokens, db):
    stock = await create_supplier(gql, tokens)
    skus = await platform_skus(db, "WAREHOUSE", 5)
    for n, sku in enumerate(skus):
        await gql.ok(SET_SKU, {"i": {"supplierId": stock["id"], "skuId": gid("Sku", sku), "purchasePrice": 100 + n,
                                     "supplierSkuCode": f"C{n}"}}, tokens["admin"])
    seen, after = [], None
    while True:
        page = (await gql.ok(CONTRACT, {"id": stock["id"], "after": after}, tokens["admin"]))["supplier"]["contractLines"]
        seen += [e["node"]["skuId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [gid("Sku", s) for s in sorted(skus)]


async def test_declared_stock_is_what_is_left_to_sell_never_below_reserved(gql, tokens, db, settings):
    supplier, sku = await dropship_supplier(gql, tokens, db)
    wh = pk("Warehouse", supplier["warehouse"]["id"])
    declared = (await gql.ok(DECLARE, {"i": {"supplierId": supplier["id"], "skuId": gid("Sku", sku), "available": 7}},
                             tokens["admin"]))["declareSupplierStock"]
    assert declared["stock"] | {"warehouse": None} == {"skuId": gid("Sku", sku), "onHand": 7, "reserved": 0,
                                                       "available": 7, "warehouse": None}
    await db.fetchval("UPDATE stock SET reserved = 2 WHERE sku_id = $1 AND warehouse_id = $2", sku, wh)  # orders hold 2
    for available, on_hand in ((3, 5), (0, 2), (12, 14)):
        stock = (await gql.ok(DECLARE, {"i": {"supplierId": supplier["id"], "skuId": gid("Sku", sku),
                                              "available": available}}, tokens["admin"]))["declareSupplierStock"]["stock"]
        assert (stock["onHand"], stock["reserved"], stock["available"]) == (on_hand, 2, available)
    await db.fetchval("UPDATE stock SET reserved = 0 WHERE sku_id = $1 AND warehouse_id = $2", sku, wh)
    lines = (await gql.ok(CONTRACT, {"id": supplier["id"]}, tokens["admin"]))["supplier"]["contractLines"]["edges"]
    assert lines[0]["node"]["declaredAvailable"] == 14
    # refusals: negative, a SKU not in the contract, a supplier that is not DROPSHIP
    other_sku = (await platform_skus(db, "DROPSHIP", 2))[1]
    stock_supplier = await create_supplier(gql, tokens)
    for i, expected in (({"supplierId": supplier["id"], "skuId": gid("Sku", sku), "available": -1},
                         CatalogError.INVALID_QUANTITY),
                        ({"supplierId": supplier["id"], "skuId": gid("Sku", other_sku), "available": 1},
                         SupplyError.NOT_CONTRACTED),
                        ({"supplierId": stock_supplier["id"], "skuId": gid("Sku", sku), "available": 1},
                         SupplyError.WRONG_SUPPLIER_KIND)):
        assert codes((await gql.ok(DECLARE, {"i": i}, tokens["admin"]))["declareSupplierStock"]) == [expected]
    # ending the contract line takes the declared units off sale
    await gql.ok(REMOVE_SKU, {"i": {"supplierId": supplier["id"], "skuId": gid("Sku", sku)}}, tokens["admin"])
    assert await db.fetchval("SELECT on_hand - reserved FROM stock WHERE sku_id = $1 AND warehouse_id = $2",
                             sku, wh) == 0


async def test_dropship_stock_lives_only_in_a_supplier_warehouse(gql, tokens, db):
    supplier, dropship_sku = await dropship_supplier(gql, tokens, db)
    shanghai = await warehouse_id(db, "上海仓")
    supplier_wh = supplier["warehouse"]["id"]
    warehouse_sku = (await platform_skus(db, "WAREHOUSE"))[0]
    for sku, wh in ((dropship_sku, gid("Warehouse", shanghai)), (warehouse_sku, supplier_wh)):
        for doc, field, extra in ((SET_STOCK, "setStock", {"onHand": 5}),
                                  (SET_STOCK.replace("SetStockInput", "AdjustStockInput").replace("setStock", "adjustStock"),
                                   "adjustStock", {"delta": 5})):
            payload = (await gql.ok(doc, {"i": {"skuId": gid("Sku", sku), "warehouseId": wh, **extra}},
                                    tokens["admin"]))[field]
            assert codes(payload) == [CatalogError.WAREHOUSE_KIND_MISMATCH]
    refused = (await gql.ok(UPDATE_WAREHOUSE, {"i": {"id": supplier_wh, "active": True}},
                            tokens["admin"]))["updateWarehouse"]
    assert codes(refused) == [CatalogError.SUPPLIER_WAREHOUSE]


async def test_dropship_order_reserves_in_the_supplier_warehouse_and_suspension_stops_sales(gql, tokens, db, settings):
    supplier, sku = await dropship_supplier(gql, tokens, db, regions=["440000"])
    wh = pk("Warehouse", supplier["warehouse"]["id"])
    # only this supplier's units are on sale: the demo supplier's are declared elsewhere, take them off
    demo_wh = await db.fetchval("SELECT warehouse_id FROM stock WHERE sku_id = $1 AND warehouse_id <> $2 LIMIT 1", sku, wh)
    demo_supplier = await db.fetchval("SELECT supplier_id FROM warehouses WHERE id = $1", demo_wh)
    await gql.ok(DECLARE, {"i": {"supplierId": gid("Supplier", demo_supplier), "skuId": gid("Sku", sku), "available": 0}},
                 tokens["admin"])
    await gql.ok(DECLARE, {"i": {"supplierId": supplier["id"], "skuId": gid("Sku", sku), "available": 4}},
                 tokens["admin"])
    _, buyer = await new_buyer(db, settings)
    placed = (await gql.ok(PLACE, {"i": place_input([{"skuId": gid("Sku", sku), "quantity": 3}])}, buyer))["placeOrder"]
    assert placed["userErrors"] == [], placed
    reservations = await db.fetch("SELECT warehouse_id, quantity FROM stock_reservations WHERE sku_id = $1"
                                  " AND status = 'RESERVED'", sku)
    assert [tuple(r) for r in reservations] == [(wh, 3)]
    assert tuple(await db.fetchrow("SELECT on_hand, reserved FROM stock WHERE sku_id = $1 AND warehouse_id = $2",
                                   sku, wh)) == (4, 3)

    def state_events():
        return db.fetch("SELECT payload->>'stock_state' AS state FROM outbox WHERE event_type = 'STOCK_STATE_CHANGED'"
                        " AND (payload->>'sku_id')::bigint = $1 ORDER BY id", sku)
    before = len(await state_events())
    suspended = (await gql.ok(SUSPEND, {"i": {"supplierId": supplier["id"], "reason": "late shipments"}},
                              tokens["admin"]))["suspendSupplier"]
    assert suspended["supplier"]["status"] == "SUSPENDED" and not suspended["supplier"]["warehouse"]["active"]
    assert [r["state"] for r in (await state_events())[before:]] == ["OUT_OF_STOCK"]
    refused = (await gql.ok(PLACE, {"i": place_input([{"skuId": gid("Sku", sku), "quantity": 1}])}, buyer))["placeOrder"]
    assert refused["paymentOrder"] is None and refused["userErrors"]
    again = (await gql.ok(SUSPEND, {"i": {"supplierId": supplier["id"]}}, tokens["admin"]))["suspendSupplier"]
    assert codes(again) == [CommonError.INVALID_TRANSITION]
    back = (await gql.ok(REACTIVATE, {"i": {"supplierId": supplier["id"]}}, tokens["admin"]))["reactivateSupplier"]
    assert back["supplier"]["status"] == "ACTIVE" and back["supplier"]["warehouse"]["active"]
    assert [r["state"] for r in (await state_events())[before:]] == ["OUT_OF_STOCK", "IN_STOCK"]
    assert [h["toStatus"] for h in back["supplier"]["history"]] == ["ACTIVE", "SUSPENDED", "ACTIVE"]
    events = await db.fetch("SELECT event_type, merchant_id FROM outbox WHERE topic = 'supply'"
                            " AND (payload->>'supplier_id')::bigint = $1 ORDER BY id", pk("Supplier", supplier["id"]))
    assert [tuple(e) for e in events] == [("SUPPLIER_SUSPENDED", None), ("SUPPLIER_REACTIVATED", None)]


async def test_filters_and_not_found(gql, tokens):
    api = await create_supplier(gql, tokens, kind="REALTIME_API", endpointUrl="sandbox://topup/f1", secret=SECRET)
    kinds = {e["node"]["kind"] for e in (await gql.ok(SUPPLIERS, {"k": "REALTIME_API"}, tokens["admin"]))
             ["suppliers"]["edges"]}
    assert kinds == {"REALTIME_API"}
    assert api["id"] in {e["node"]["id"] for e in (await gql.ok(SUPPLIERS, {"s": "ACTIVE"}, tokens["admin"]))
                         ["suppliers"]["edges"]}
    body = await gql(SUPPLIER, {"id": gid("Supplier", 10**9)}, tokens["admin"])
    assert body["errors"][0]["extensions"]["code"] == CommonError.NOT_FOUND


OPERATIONS = [
    (SUPPLIERS, {}),
    (SUPPLIER, {"id": gid("Supplier", 1)}),
    ("query { purchaseOrders(first: 5) { edges { node { id } } } }", {}),
    ("query($id: ID!) { purchaseOrder(id: $id) { id } }", {"id": gid("PurchaseOrder", 1)}),
    ("""mutation { createSupplier(input: {name: "x", kind: STOCK}) { userErrors { code } } }""", {}),
    (SUSPEND, {"i": {"supplierId": gid("Supplier", 1)}}),
    (DECLARE, {"i": {"supplierId": gid("Supplier", 1), "skuId": gid("Sku", 1), "available": 1}}),
    ("""mutation($i: ReceivePurchaseOrderInput!) { receivePurchaseOrder(input: $i) { userErrors { code } } }""",
     {"i": {"purchaseOrderId": gid("PurchaseOrder", 1), "lines": [{"skuId": gid("Sku", 1), "quantity": 1}]}}),
]


@pytest.mark.parametrize("document, variables", OPERATIONS)
async def test_merchants_and_buyers_cannot_see_or_call_any_of_it(gql, tokens, document, variables):
    for who, code in (("acme", "FORBIDDEN"), ("buyer", "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        body = await gql(document, variables, tokens[who] if who else None)
        assert body.get("data") is None or all(v is None for v in body["data"].values()), (who, body)
        assert body["errors"][0]["extensions"]["code"] == code, (who, body)


async def test_a_product_holding_stock_cannot_switch_to_or_from_dropship(gql, tokens, db):
    draft = await db.fetchrow("SELECT p.id FROM products p WHERE p.merchant_id = 1 AND p.status = 'DRAFT'"
                              " AND p.fulfillment_type = 'WAREHOUSE' ORDER BY id LIMIT 1")
    update = """mutation($i: UpdateProductInput!) { updateProduct(input: $i) {
        product { fulfillmentType } userErrors { field code } } }"""
    variables = {"i": {"productId": gid("Product", draft["id"]), "fulfillmentType": "DROPSHIP"}}
    async with db.transaction() as conn:
        await conn.execute("UPDATE stock SET on_hand = 5 WHERE sku_id IN (SELECT id FROM skus WHERE product_id = $1)"
                           " AND reserved = 0", draft["id"])
    refused = (await gql.ok(update, variables, tokens["admin"]))["updateProduct"]
    assert [(e["code"], e["field"][-1]) for e in refused["userErrors"]] == [
        (CatalogError.WAREHOUSE_KIND_MISMATCH, "fulfillmentType")]
    async with db.transaction() as conn:
        await conn.execute("UPDATE stock SET on_hand = 0 WHERE sku_id IN (SELECT id FROM skus WHERE product_id = $1)",
                           draft["id"])
    switched = (await gql.ok(update, variables, tokens["admin"]))["updateProduct"]
    assert switched["userErrors"] == [] and switched["product"]["fulfillmentType"] == "DROPSHIP"
