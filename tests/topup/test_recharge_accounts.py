"""Recharge accounts per SKU kind (DOMAIN §0 scenario 3: "a phone number or an email"): the
check itself as a table, placement refusing a bad account for the SKU's kind, a checkout mixing
kinds (one recharge account per order) or mixing top-ups with physical goods, and the kind set
where SKUs are written and read back on the Sku type."""

import pytest

from app.catalog.recharge import RechargeAccountKind, valid_account
from app.orders.errors import OrderError
from tests.catalog.product_helpers import CREATE, make_catalog, phone_input
from tests.orders.helpers import key
from tests.payments.helpers import new_buyer
from tests.topup.helpers import PLACE, lines, make_shop, place

PHONE, EMAIL = RechargeAccountKind.PHONE, RechargeAccountKind.EMAIL
ACCOUNTS = [
    # (kind, account, valid)
    (PHONE, "13912345678", True),
    (PHONE, "+8613912345678", True),
    (PHONE, "123456", True),                          # 6 digits: the shortest
    (PHONE, "12345", False),
    (PHONE, "1" * 21, False),
    (PHONE, "139 1234 5678", False),
    (PHONE, "139-1234-5678", False),
    (PHONE, "someone@example.com", False),
    (PHONE, "", False),
    (EMAIL, "someone@example.com", True),
    (EMAIL, "first.last+tag@mail.example.co.uk", True),
    (EMAIL, "o'brien@example.ie", True),
    (EMAIL, "someone@example", False),                # no top-level domain
    (EMAIL, "someone@@example.com", False),
    (EMAIL, "some one@example.com", False),
    (EMAIL, ".someone@example.com", False),
    (EMAIL, "some..one@example.com", False),
    (EMAIL, "someone@-example.com", False),
    (EMAIL, "someone@example.c0m", False),
    (EMAIL, "someone@[127.0.0.1]", False),
    (EMAIL, '"quoted"@example.com', False),
    (EMAIL, "a" * 65 + "@example.com", False),        # local part over 64
    (EMAIL, "13912345678", False),
    (EMAIL, "", False),
]


@pytest.mark.parametrize(("kind", "account", "valid"), ACCOUNTS)
def test_account_check_per_kind(kind, account, valid):
    assert valid_account(kind, account) is valid


async def test_placement_checks_the_account_for_the_skus_kind(server, api, db, settings):
    shop = await make_shop(db, settings)
    buyer = await new_buyer(db, settings)
    for kind, account, valid in [(PHONE, "13912345678", True), (PHONE, "someone@example.com", False),
                                 (EMAIL, "someone@example.com", True), (EMAIL, "13912345678", False),
                                 (EMAIL, "someone@example", False)]:
        placed = await place(api, buyer.token, shop.sku[kind.value.lower()], account)
        expected = [] if valid else [{"code": OrderError.INVALID_RECHARGE_ACCOUNT, "field": ["input", "rechargeAccount"]}]
        assert placed["userErrors"] == expected, (kind, account)
    missing = await place(api, buyer.token, shop.sku["email"], None)
    assert missing["userErrors"] == [{"code": OrderError.RECHARGE_ACCOUNT_REQUIRED, "field": ["input", "rechargeAccount"]}]


async def test_one_recharge_account_per_checkout(server, api, db, settings):
    shop = await make_shop(db, settings)
    buyer = await new_buyer(db, settings)
    for pairs, code in [(((shop.sku["phone"], 1), (shop.sku["email"], 1)), OrderError.MIXED_RECHARGE_ACCOUNT_KINDS),
                        (((shop.sku["phone"], 1), (shop.sku["case"], 1)), OrderError.MIXED_VIRTUAL_AND_PHYSICAL)]:
        i = {"idempotencyKey": key(), "lines": lines(*pairs), "paymentChannel": "WECHAT",
             "rechargeAccount": "13912345678"}
        out = (await api.ok(PLACE, {"i": i}, token=buyer.token))["placeOrder"]
        assert out["userErrors"] == [{"code": code, "field": ["input", "lines"]}]
    assert await db.fetchval("SELECT count(*) FROM orders WHERE buyer_id = $1", buyer.id) == 0



async def test_sku_kind_is_written_and_read(server, api, db, settings, tokens):
    """VIRTUAL SKUs default to PHONE and may be EMAIL; physical goods have none."""
    cat = await make_catalog(db)
    create = CREATE.replace("product { ", "product { skus { code rechargeAccountKind } ", 1)
    virtual = phone_input(cat, colours=1, fulfillmentType="VIRTUAL")
    virtual["skus"][0]["rechargeAccountKind"] = "EMAIL"
    out = (await api.ok(create, {"i": virtual}, token=tokens["acme"]))["createProduct"]
    assert out["userErrors"] == []
    assert [s["rechargeAccountKind"] for s in out["product"]["skus"]] == ["EMAIL", "PHONE"]
    physical = phone_input(cat, colours=1)
    physical["skus"][0]["rechargeAccountKind"] = "EMAIL"
    out = (await api.ok(create, {"i": physical}, token=tokens["acme"]))["createProduct"]
    assert [s["rechargeAccountKind"] for s in out["product"]["skus"]] == [None, None]
