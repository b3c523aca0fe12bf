"""The dropship supplier's own system declares its stock over signed HTTP: its secret only,
all items or none, the same rule as the admin mutation."""

import json
import time

from app.signing import signed_headers
from app.supply.errors import SupplyError
from tests.supply.helpers import SECRET, SET_SKU, create_supplier, gid, pk, platform_skus


async def _supplier(gql, tokens, db) -> tuple[dict, list[int]]:
    supplier = await create_supplier(gql, tokens, kind="DROPSHIP", endpointUrl="sandbox://fulfilment/h1",
                                     secret=SECRET, deliveryRegionCodes=["440000"])
    skus = await platform_skus(db, "DROPSHIP", 2)
    for n, sku in enumerate(skus):
        await gql.ok(SET_SKU, {"i": {"supplierId": supplier["id"], "skuId": gid("Sku", sku), "purchasePrice": 100,
                                     "supplierSkuCode": f"H-{n}"}}, tokens["admin"])
    return supplier, skus


async def _post(gql, supplier_gid: str, body: dict, secret: str = SECRET, timestamp: int | None = None):
    raw = json.dumps(body).encode()
    return await gql.http.post(f"/partners/suppliers/{supplier_gid}/stock", content=raw,
                               headers=signed_headers(secret, raw, timestamp))


async def _available(db, warehouse: int, sku: int) -> int | None:
    return await db.fetchval("SELECT on_hand - reserved FROM stock WHERE warehouse_id = $1 AND sku_id = $2",
                             warehouse, sku)


async def test_signed_declaration_sets_every_item(gql, tokens, db):
    supplier, skus = await _supplier(gql, tokens, db)
    wh = pk("Warehouse", supplier["warehouse"]["id"])
    answer = await _post(gql, supplier["id"], {"items": [{"supplier_sku_code": "H-1", "available": 4},
                                                         {"supplier_sku_code": "H-0", "available": 9}]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"] == [{"supplier_sku_code": "H-1", "available": 4},
                                      {"supplier_sku_code": "H-0", "available": 9}]
    assert [await _available(db, wh, s) for s in skus] == [9, 4]


async def test_refusals_write_nothing(gql, tokens, db):
    supplier, skus = await _supplier(gql, tokens, db)
    wh = pk("Warehouse", supplier["warehouse"]["id"])
    good = {"items": [{"supplier_sku_code": "H-0", "available": 3}]}
    cases = [
        (await _post(gql, supplier["id"], good, secret="not-the-suppliers-secret-0000"), 401),
        (await _post(gql, supplier["id"], good, timestamp=int(time.time()) - 3600), 401),
        (await _post(gql, gid("Supplier", 10**9), good), 404),
        (await _post(gql, "garbage", good), 404),
        (await _post(gql, supplier["id"], {"items": [{"supplier_sku_code": "H-0", "available": "3"}]}), 400),
        (await _post(gql, supplier["id"], {"items": []}), 400),
    ]
    assert [a.status_code for a, _ in cases] == [s for _, s in cases]
    refused = await _post(gql, supplier["id"], {"items": [{"supplier_sku_code": "H-0", "available": 3},
                                                          {"supplier_sku_code": "NOPE", "available": 1}]})
    assert refused.status_code == 422
    assert [(p["code"], p["field"]) for p in refused.json()["problems"]] == [
        (SupplyError.NOT_CONTRACTED, ["items", "1", "supplier_sku_code"])]
    negative = await _post(gql, supplier["id"], {"items": [{"supplier_sku_code": "H-1", "available": -1}]})
    assert negative.status_code == 422 and negative.json()["problems"][0]["field"] == ["items", "0", "available"]
    assert [await _available(db, wh, s) for s in skus] == [None, None]
    # a STOCK supplier has no partner system: it cannot call in
    stock = await create_supplier(gql, tokens)
    assert (await _post(gql, stock["id"], good)).status_code == 404
