"""Shared by the top-up tests: a virtual-goods shop written with SQL (phone and email top-up
SKUs, stock in a warehouse with no regions, a REALTIME_API sandbox supplier whose contract
covers them), placing and paying a top-up over GraphQL and the payment sandbox, and a loop that
does what `ecom worker` does — relay the outbox, start the reactions, run the payment and
top-up jobs — until the order gets where the test waits for it."""

import asyncio
import functools
import json
import uuid
from types import SimpleNamespace

import httpx

from app.events import relay_outbox
from app.jobs import start_reactions
from app.signing import signed_headers
from tests.jobs import WAIT, run_burst
from tests.orders.helpers import key
from tests.payments.helpers import gid
from workers import payments as payment_jobs
from workers import topup as topup_jobs

PLACE = """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  paymentOrder { id payable orders { id status } } userErrors { code field } } }"""
PAY = """mutation($i: CreatePaymentInput!) { createPayment(input: $i) {
  payment { id amount authLevel } instructions { payUrl } userErrors { code } } }"""
ORDER = """query($id: ID!) { order(id: $id) { id status buyerStatus paymentStatus logisticsStatus afterSaleStatus
  refundedAmount rechargeAccount cancelReason history { fromStatus toStatus actor reason }
  refunds { amount status reason } } }"""
PRICE = 3000


async def make_shop(db, settings, contract: bool = True) -> SimpleNamespace:
    """A merchant selling a PHONE top-up (`phone`, 30.00) and an EMAIL one (`email`, 30.00), 1000
    of each in stock, and (`contract`) a sandbox REALTIME_API supplier covering both."""
    tag = uuid.uuid4().hex[:8]
    async with db.transaction() as c:
        category = await c.fetchval("INSERT INTO backend_categories (name) VALUES ($1) RETURNING id", f"tu-{tag}")
        merchant = await c.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, 'MARKETPLACE') RETURNING id",
                                    f"充值店-{tag}")
        warehouse = await c.fetchval("INSERT INTO warehouses (merchant_id, name) VALUES ($1, 'virtual') RETURNING id",
                                     merchant)
        product = await c.fetchval("INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                                   " VALUES ($1, $2, $3, 'VIRTUAL', 'LISTED') RETURNING id",
                                   merchant, category, f"话费 {tag}")
        physical = await c.fetchval("INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                                    " VALUES ($1, $2, $3, 'MERCHANT', 'LISTED') RETURNING id",
                                    merchant, category, f"手机壳 {tag}")
        skus = {}
        for n, (name, kind, pid) in enumerate((("phone", "PHONE", product), ("email", "EMAIL", product),
                                               ("case", None, physical)), 1):
            skus[name] = await c.fetchval(
                "INSERT INTO skus (product_id, merchant_id, code, spec_value_ids, price, recharge_account_kind)"
                " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", pid, merchant, f"T{tag}-{n}", [n], PRICE, kind)
            await c.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, 1000)",
                            skus[name], warehouse)
        code = f"sup-{tag}"
        supplier = None
        if contract:
            supplier = await c.fetchval(
                "INSERT INTO suppliers (name, kind, endpoint_url, secret) VALUES ($1, 'REALTIME_API', $2, $3)"
                " RETURNING id", f"充值供应商 {tag}", f"sandbox://topup/{code}", settings.sandbox_partner_secret)
            await c.executemany("INSERT INTO supplier_skus (supplier_id, sku_id, purchase_price, supplier_sku_code)"
                                " VALUES ($1, $2, 2900, $3)",
                                [(supplier, skus["phone"], f"CM-{tag}"), (supplier, skus["email"], f"GC-{tag}")])
    return SimpleNamespace(tag=tag, merchant=merchant, warehouse=warehouse, sku=skus, code=code, supplier=supplier)


def lines(*pairs: tuple[int, int]) -> list[dict]:
    return [{"skuId": gid("Sku", sku), "quantity": q} for sku, q in pairs]


async def place(api, token: str, sku: int, account: str | None, quantity: int = 1) -> dict:
    """placeOrder of one top-up line; the payload (userErrors included)."""
    i = {"idempotencyKey": key(), "lines": lines((sku, quantity)), "paymentChannel": "WECHAT"}
    if account is not None:
        i["rechargeAccount"] = account
    return (await api.ok(PLACE, {"i": i}, token=token))["placeOrder"]


async def place_and_pay(api, http: httpx.AsyncClient, token: str, sku: int, account: str,
                        quantity: int = 1) -> str:
    """A top-up placed and paid in the payment sandbox (its callback stored); its order's id."""
    placed = await place(api, token, sku, account, quantity)
    assert placed["userErrors"] == [], placed
    [order] = placed["paymentOrder"]["orders"]
    opened = (await api.ok(PAY, {"i": {"paymentOrderId": placed["paymentOrder"]["id"], "channel": "WECHAT"}},
                           token=token))["createPayment"]
    assert opened["userErrors"] == [] and opened["payment"]["authLevel"] == "NONE", opened
    paid = await http.post(opened["instructions"]["payUrl"])
    assert paid.status_code == 200, paid.text
    return order["id"]


async def run_until(settings, db, redis, predicate, what: str, reactions: bool = True):
    """Relay the outbox with the top-up reactions (unless not `reactions`: then the test runs
    the top-up job itself) and run the jobs until `predicate()` is truthy."""
    on_published = functools.partial(start_reactions, redis,
                                     {t: [r] for t, r in topup_jobs.REACTIONS.items()} if reactions else {})
    for _ in range(WAIT * 10):
        while await relay_outbox(db, redis, on_published=on_published):
            pass
        await run_burst(settings, db, payment_jobs, topup_jobs)
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def order_view(api, token: str, order_id: str) -> dict:
    return (await api.ok(ORDER, {"id": order_id}, token=token))["order"]


def status_is(api, token: str, order_id: str, status: str):
    async def check():
        view = await order_view(api, token, order_id)
        return view if view["status"] == status else None
    return check


async def supplier_call(http: httpx.AsyncClient, secret: str, method: str, path: str,
                        body: dict | None = None) -> httpx.Response:
    """A signed call to a sandbox supplier (`path` under /sandbox/topup/<code>)."""
    raw = b"" if body is None else json.dumps(body).encode()
    return await http.request(method, f"/sandbox/topup{path}", content=raw or None, headers=signed_headers(secret, raw))


async def recharges(http: httpx.AsyncClient, settings, code: str, purchase_id: int) -> int:
    """How many real recharges the sandbox supplier made for our purchase."""
    answer = await supplier_call(http, settings.sandbox_partner_secret, "GET", f"/{code}/v1/recharges/{purchase_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()["recharges"]
