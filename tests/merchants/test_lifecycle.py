"""The shop lifecycle over real HTTP: a suspended shop's products disappear from search and
product pages and cannot be put in a cart or ordered, while its paid order still ships; closing
waits for unfinished orders, after-sales and debts, then the deposit is refunded through the
payment sandbox and DEPOSIT_RETURNED posted. A shop sells only in its approved categories."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.ids import decode_id
from app.ledger import journal
from app.ledger.accounts import PLATFORM, Account
from app.orders import service as orders
from tests.merchants.helpers import (
    PASSWORD,
    SHOP_CHANGE,
    STAFF_LOGIN,
    category,
    codes,
    gid,
    listed_product,
    open_shop,
    staff_token,
    top_codes,
)
from tests.orders.helpers import PLACE, SHIP, place_input
from tests.payments.helpers import add_payment, new_buyer, run_jobs, sandbox_pay, settle_refunds

SEARCH = """query($p: Money!) { products(priceMin: $p, priceMax: $p, first: 50) { edges { node { id } } } }"""
PRODUCT = "query($id: ID!) { product(id: $id) { id status } }"
ADD = """mutation($s: ID!) { addCartLine(input: {skuId: $s, quantity: 1}) { userErrors { code } } }"""
CREATE = """mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id } userErrors { code } } }"""


@pytest.fixture(scope="module")
async def admin(db, settings):
    return await staff_token(db, settings)


def _change(op: str) -> str:
    return SHOP_CHANGE.format(op=op)


async def _shop_change(api, admin, op: str, merchant: int, reason: str = "平台巡检") -> dict:
    return (await api.ok(_change(op), {"i": {"merchantId": gid("Merchant", merchant), "reason": reason}},
                         token=admin.token))[op]


async def _visible(api, token, goods) -> bool:
    found = (await api.ok(SEARCH, {"p": goods.price}, token=token))["products"]["edges"]
    return gid("Product", goods.product) in [e["node"]["id"] for e in found]


async def _paid_order(api, http, db, settings, buyer, goods) -> int:
    out = (await api.ok(PLACE, {"i": place_input([{"skuId": gid("Sku", goods.sku), "quantity": 1}])},
                        token=buyer.token))["placeOrder"]
    assert out["userErrors"] == [], out
    po = decode_id("PaymentOrder", out["paymentOrder"]["id"])
    async with db.transaction() as conn:
        payment = await add_payment(conn, po)
    await sandbox_pay(http, settings, [(payment, out["paymentOrder"]["payable"])])
    await run_jobs(settings, db)
    [order] = out["paymentOrder"]["orders"]
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", decode_id("Order", order["id"])) == "PAID"
    return decode_id("Order", order["id"])


async def test_suspend_hides_products_but_open_orders_ship_and_closing_waits(api, http, db, settings, admin):
    cat = await category(db)
    shop = await open_shop(api, http, db, settings, admin.token, [cat])
    goods = await listed_product(db, shop.merchant, cat, 400_000 + uuid.uuid4().int % 99_999)
    buyer = await new_buyer(db, settings)
    assert await _visible(api, buyer.token, goods)
    order = await _paid_order(api, http, db, settings, buyer, goods)

    out = await _shop_change(api, admin, "suspendShop", shop.merchant)
    assert out["userErrors"] == [] and out["shop"]["status"] == "SUSPENDED"
    assert not await _visible(api, buyer.token, goods)
    assert not await _visible(api, None, goods)
    assert top_codes(await api(PRODUCT, {"id": gid("Product", goods.product)}, token=buyer.token)) == ["NOT_FOUND"]
    assert (await api.ok(PRODUCT, {"id": gid("Product", goods.product)}, token=shop.owner_token))["product"]
    assert codes((await api.ok(ADD, {"s": gid("Sku", goods.sku)}, token=buyer.token))["addCartLine"]) == \
        ["NOT_AVAILABLE"]
    refused = (await api.ok(PLACE, {"i": place_input([{"skuId": gid("Sku", goods.sku), "quantity": 1}])},
                            token=buyer.token))["placeOrder"]
    assert codes(refused) == ["NOT_AVAILABLE"]
    # its paid order is still fulfilled
    shipped = (await api.ok(SHIP, {"id": gid("Order", order)}, token=shop.owner_token))["shipOrder"]
    assert shipped["userErrors"] == [] and shipped["order"]["status"] == "SHIPPED"
    assert codes(await _shop_change(api, admin, "suspendShop", shop.merchant)) == ["INVALID_TRANSITION"]
    assert codes(await _shop_change(api, admin, "closeShop", shop.merchant)) == ["SHOP_HAS_OPEN_ORDERS"]

    back = await _shop_change(api, admin, "reactivateShop", shop.merchant, "整改完成")
    assert back["shop"]["status"] == "OPEN"
    assert await _visible(api, buyer.token, goods)
    history = await db.fetch("SELECT from_status, to_status, reason FROM merchant_status_history"
                             " WHERE merchant_id = $1 ORDER BY id", shop.merchant)
    assert [(h["from_status"], h["to_status"]) for h in history][-2:] == [("OPEN", "SUSPENDED"), ("SUSPENDED", "OPEN")]
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'MERCHANT_SUSPENDED'"
                             " AND merchant_id = $1", shop.merchant) == 1

    # the order finishes: received, then completed
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await orders.confirm_receipt(conn, buyer.id, order, now)
        assert await orders.complete_due(conn, now + timedelta(seconds=1), now + timedelta(seconds=1)) >= 1
    # an after-sale in progress still holds the closing
    case = await db.fetchval(
        "INSERT INTO after_sales (order_id, buyer_id, merchant_id, kind, before_shipment, reason, goods_amount)"
        " VALUES ($1, $2, $3, 'RETURN_REFUND', false, 'QUALITY', 100) RETURNING id", order, buyer.id, shop.merchant)
    assert codes(await _shop_change(api, admin, "closeShop", shop.merchant)) == ["SHOP_HAS_OPEN_AFTER_SALES"]
    await db.fetchval("UPDATE after_sales SET status = 'CANCELLED' WHERE id = $1 RETURNING id", case)
    # a debt (negative available balance) holds it too, until covered
    debt = journal.transfer(500, (Account.MERCHANT_AVAILABLE, shop.merchant), (Account.CASH, PLATFORM))
    async with db.transaction() as conn:
        await journal.post(conn, [journal.Entry(f"test-debt:{shop.merchant}", "ADJUSTMENT", now, debt,
                                                merchant_id=shop.merchant)])
    assert codes(await _shop_change(api, admin, "closeShop", shop.merchant)) == ["SHOP_HAS_DEBTS"]
    cover = journal.transfer(500, (Account.CASH, PLATFORM), (Account.MERCHANT_AVAILABLE, shop.merchant))
    async with db.transaction() as conn:
        await journal.post(conn, [journal.Entry(f"test-cover:{shop.merchant}", "ADJUSTMENT", now, cover,
                                                merchant_id=shop.merchant)])

    closed = await _shop_change(api, admin, "closeShop", shop.merchant, "商家主动退出")
    assert closed["userErrors"] == [] and (closed["shop"]["status"], closed["shop"]["deposit"]) == ("CLOSED", 0)
    payment = decode_id("Payment", shop.deposit["payment"]["id"])
    refund = await db.fetchrow("SELECT * FROM refunds WHERE payment_id = $1", payment)
    assert (refund["amount"], refund["reason"], refund["order_id"]) == (200_000, "DEPOSIT_RETURNED", None)
    postings = {(r["account"], r["owner_id"], r["amount"]) for r in await db.fetch(
        "SELECT account, owner_id, amount FROM postings WHERE entry_id = $1", f"deposit:{shop.merchant}:returned")}
    assert postings == {("MERCHANT_DEPOSIT", shop.merchant, 200_000), ("CASH", 0, -200_000)}
    assert await db.fetchval("SELECT kind FROM journal_entries WHERE id = $1",
                             f"deposit:{shop.merchant}:returned") == "DEPOSIT_RETURNED"
    await settle_refunds(settings, db, [refund["id"]])
    assert await db.fetchval("SELECT status FROM refunds WHERE id = $1", refund["id"]) == "SUCCEEDED"
    login = (await api.ok(STAFF_LOGIN, {"u": shop.app.username, "p": PASSWORD}))["staffLogin"]
    assert codes(login) == ["ACCOUNT_BLOCKED"]
    assert codes(await _shop_change(api, admin, "closeShop", shop.merchant)) == ["INVALID_TRANSITION"]
    assert not await _visible(api, buyer.token, goods)


async def test_a_shop_sells_only_in_its_approved_categories(api, http, db, settings, admin):
    parent = await db.fetchval("INSERT INTO backend_categories (name, is_leaf) VALUES ($1, false) RETURNING id",
                               f"p-{uuid.uuid4().hex[:8]}")
    child = await db.fetchval("INSERT INTO backend_categories (name, parent_id, depth) VALUES ($1, $2, 2)"
                              " RETURNING id", f"c-{uuid.uuid4().hex[:8]}", parent)
    elsewhere = await category(db)
    shop = await open_shop(api, http, db, settings, admin.token, [parent])

    def product(cat: int) -> dict:
        return {"categoryId": gid("BackendCategory", cat), "title": "球鞋", "fulfillmentType": "MERCHANT",
                "skus": [{"code": f"S{uuid.uuid4().hex[:8]}", "price": 19_900}]}
    ok = (await api.ok(CREATE, {"i": product(child)}, token=shop.owner_token))["createProduct"]
    assert ok["userErrors"] == [] and ok["product"]["id"]
    refused = (await api.ok(CREATE, {"i": product(elsewhere)}, token=shop.owner_token))["createProduct"]
    assert codes(refused) == ["CATEGORY_NOT_ALLOWED"]


async def test_only_admins_change_a_shops_status(api, http, db, settings, admin):
    shop = await open_shop(api, http, db, settings, admin.token, [await category(db)])
    body = await api(_change("suspendShop"), {"i": {"merchantId": gid("Merchant", shop.merchant), "reason": "x"}},
                     token=shop.owner_token)
    assert top_codes(body) == ["FORBIDDEN"]
    assert codes(await _shop_change(api, admin, "suspendShop", shop.merchant, " ")) == ["REASON_REQUIRED"]
    assert await db.fetchval("SELECT status FROM merchants WHERE id = $1", shop.merchant) == "OPEN"
