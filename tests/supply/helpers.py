"""Shared by the supply tests: GraphQL documents and small builders over the demo catalog."""

import uuid

from app.ids import decode_id, encode_id

SUPPLIER_FIELDS = """id name kind status contactName contactPhone settlementTerms endpointUrl hasSecret
  warehouse { id merchantId active regionCodes }
  history { fromStatus toStatus actor reason }"""
SUPPLIER_PAYLOAD = f"supplier {{ {SUPPLIER_FIELDS} }} userErrors {{ field code message }}"
CREATE_SUPPLIER = f"mutation($i: CreateSupplierInput!) {{ createSupplier(input: $i) {{ {SUPPLIER_PAYLOAD} }} }}"
UPDATE_SUPPLIER = f"mutation($i: UpdateSupplierInput!) {{ updateSupplier(input: $i) {{ {SUPPLIER_PAYLOAD} }} }}"
SUSPEND = f"mutation($i: SupplierStatusInput!) {{ suspendSupplier(input: $i) {{ {SUPPLIER_PAYLOAD} }} }}"
REACTIVATE = f"mutation($i: SupplierStatusInput!) {{ reactivateSupplier(input: $i) {{ {SUPPLIER_PAYLOAD} }} }}"
SET_SKU = """mutation($i: SetSupplierSkuInput!) { setSupplierSku(input: $i) {
  contractLine { supplierId skuId purchasePrice supplierSkuCode declaredAvailable } userErrors { field code } } }"""
REMOVE_SKU = """mutation($i: RemoveSupplierSkuInput!) { removeSupplierSku(input: $i) { removed userErrors { field code } } }"""
DECLARE = """mutation($i: DeclareSupplierStockInput!) { declareSupplierStock(input: $i) {
  stock { skuId onHand reserved available warehouse { id } } userErrors { field code message } } }"""
SUPPLIER = f"query($id: ID!) {{ supplier(id: $id) {{ {SUPPLIER_FIELDS} }} }}"
CONTRACT = """query($id: ID!, $after: String) { supplier(id: $id) { contractLines(first: 2, after: $after) {
  edges { cursor node { skuId purchasePrice supplierSkuCode declaredAvailable } } pageInfo { hasNextPage endCursor } } } }"""
SUPPLIERS = """query($k: SupplierKind, $s: SupplierStatus) { suppliers(kind: $k, status: $s, first: 100) {
  edges { node { id name kind status } } } }"""

PO_FIELDS = """id supplierId warehouseId reference status totalAmount createdBy orderedAt receivedAt endedAt
  supplier { id name }
  lines { id skuId supplierSkuCode unitPrice quantityOrdered quantityReceived outstanding }
  receipts { id warehouseId receivedBy note receivedAt lines { skuId quantity } }
  history { fromStatus toStatus actor }"""
PO_PAYLOAD = f"purchaseOrder {{ {PO_FIELDS} }} receipt {{ id lines {{ skuId quantity }} }} userErrors {{ field code message }}"
CREATE_PO = f"mutation($i: CreatePurchaseOrderInput!) {{ createPurchaseOrder(input: $i) {{ {PO_PAYLOAD} }} }}"
SUBMIT_PO = f"mutation($i: PurchaseOrderActionInput!) {{ submitPurchaseOrder(input: $i) {{ {PO_PAYLOAD} }} }}"
CANCEL_PO = f"mutation($i: PurchaseOrderActionInput!) {{ cancelPurchaseOrder(input: $i) {{ {PO_PAYLOAD} }} }}"
CLOSE_PO = f"mutation($i: PurchaseOrderActionInput!) {{ closePurchaseOrder(input: $i) {{ {PO_PAYLOAD} }} }}"
RECEIVE_PO = f"mutation($i: ReceivePurchaseOrderInput!) {{ receivePurchaseOrder(input: $i) {{ {PO_PAYLOAD} }} }}"
PO = f"query($id: ID!) {{ purchaseOrder(id: $id) {{ {PO_FIELDS} }} }}"
POS = """query($s: ID, $st: PurchaseOrderStatus) { purchaseOrders(supplierId: $s, status: $st, first: 100) {
  edges { node { id status } } } }"""

SECRET = "a-partner-secret-of-some-length-42"


def gid(type_name: str, pk: int) -> str:
    return encode_id(type_name, pk)


def pk(type_name: str, global_id: str) -> int:
    return decode_id(type_name, global_id)


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


async def platform_skus(db, fulfilment: str, n: int = 3) -> list[int]:
    """Listed platform SKUs fulfilled `fulfilment`, well stocked first."""
    rows = await db.fetch(
        "SELECT k.id FROM skus k JOIN products p ON p.id = k.product_id WHERE k.merchant_id = 1"
        " AND p.fulfillment_type = $1 AND p.status = 'LISTED' ORDER BY k.id LIMIT $2", fulfilment, n)
    return [r["id"] for r in rows]


async def warehouse_id(db, name_prefix: str) -> int:
    return await db.fetchval("SELECT id FROM warehouses WHERE name LIKE $1 || '%'", name_prefix)


async def create_supplier(gql, tokens, **fields) -> dict:
    data = await gql.ok(CREATE_SUPPLIER, {"i": {"name": unique("Supplier"), "kind": "STOCK", **fields}},
                        tokens["admin"])
    payload = data["createSupplier"]
    assert payload["userErrors"] == [], payload
    return payload["supplier"]


async def stock_supplier_with(gql, tokens, sku_prices: dict[int, int]) -> dict:
    supplier = await create_supplier(gql, tokens)
    for sku, price in sku_prices.items():
        data = await gql.ok(SET_SKU, {"i": {"supplierId": supplier["id"], "skuId": gid("Sku", sku),
                                            "purchasePrice": price, "supplierSkuCode": f"S-{sku}"}}, tokens["admin"])
        assert data["setSupplierSku"]["userErrors"] == []
    return supplier
