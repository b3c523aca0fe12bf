"""Onboarding end to end over real HTTP: a buyer applies with a licence upload, the back office
approves, the deposit is paid through the cashier in the payment sandbox and its signed callback
applied by the worker; the shop is then OPEN, its owner signs in, and the ledger holds
Dr CASH / Cr MERCHANT_DEPOSIT. Rejections carry their reason; applicants and shops see only their own."""

import pytest

from app.ids import decode_id
from app.ledger import journal
from app.ledger.accounts import Account
from tests.merchants.helpers import (
    APPLICATION,
    APPLY,
    APPROVE,
    DEPOSIT,
    MY_SHOP,
    PASSWORD,
    REJECT,
    STAFF_LOGIN,
    application_input,
    applied,
    category,
    codes,
    gid,
    licence,
    open_shop,
    pay_deposit,
    staff_token,
    top_codes,
)
from tests.payments.helpers import new_buyer

LIST = """query($s: MerchantApplicationStatus) { merchantApplications(status: $s, first: 100) {
  edges { node { id status } } } }"""
MINE = "{ myMerchantApplications { edges { node { id status } } } }"


@pytest.fixture(scope="module")
async def admin(db, settings):
    return await staff_token(db, settings)


async def test_application_review_deposit_and_open(api, http, db, settings, admin):
    shoes = await category(db)
    app = await applied(api, http, db, settings, [shoes])
    assert app.application["status"] == "PENDING_REVIEW" and app.application["merchantId"] is None
    assert app.application["history"][0]["toStatus"] == "PENDING_REVIEW"
    listed = (await api.ok(LIST, {"s": "PENDING_REVIEW"}, token=admin.token))["merchantApplications"]["edges"]
    assert app.id in [e["node"]["id"] for e in listed]
    # no deposit before approval
    early = (await api.ok(DEPOSIT, {"id": app.id}, token=app.buyer.token))["startMerchantDepositPayment"]
    assert codes(early) == ["DEPOSIT_NOT_DUE"]

    approved = (await api.ok(APPROVE, {"i": {"applicationId": app.id, "deposit": 300_000}},
                             token=admin.token))["approveMerchantApplication"]
    assert approved["userErrors"] == [] and approved["application"]["status"] == "APPROVED"
    assert approved["application"]["depositAmount"] == 300_000
    merchant = decode_id("Merchant", approved["application"]["merchantId"])
    assert await db.fetchval("SELECT status FROM merchants WHERE id = $1", merchant) == "PENDING_DEPOSIT"
    assert await db.fetchval("SELECT array_agg(category_id) FROM merchant_categories WHERE merchant_id = $1",
                             merchant) == [shoes]
    # the owner account exists but cannot sign in before the deposit is paid
    early_login = (await api.ok(STAFF_LOGIN, {"u": app.username, "p": PASSWORD}))["staffLogin"]
    assert codes(early_login) == ["INVALID_CREDENTIALS"]
    # review result: to the applicant (SMS outbox) and to the shop's console and the back office (outbox)
    assert await db.fetchval("SELECT template FROM buyer_notifications WHERE buyer_id = $1 ORDER BY id DESC LIMIT 1",
                             app.buyer.id) == "MERCHANT_APPLICATION_APPROVED"
    event = await db.fetchrow("SELECT * FROM outbox WHERE event_type = 'MERCHANT_APPLICATION_APPROVED'"
                              " AND (payload->>'application_id')::bigint = $1", app.pk)
    assert event["topic"] == "merchant" and event["merchant_id"] == merchant

    # asking twice gives the same payment order
    first = (await api.ok(DEPOSIT, {"id": app.id}, token=app.buyer.token))["startMerchantDepositPayment"]
    paid = await pay_deposit(api, http, db, settings, app.buyer.token, app.id)
    assert paid["paymentOrderId"] == first["depositPayment"]["paymentOrderId"]
    assert (paid["amount"], paid["payment"]["amount"]) == (300_000, 300_000)
    po = decode_id("PaymentOrder", paid["paymentOrderId"])
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PAID"
    assert await db.fetchval("SELECT count(*) FROM orders WHERE payment_order_id = $1", po) == 0

    assert await db.fetchval("SELECT status FROM merchants WHERE id = $1", merchant) == "OPEN"
    assert (await api.ok(APPLICATION, {"id": app.id}, token=app.buyer.token))["merchantApplication"]["status"] == \
        "OPENED"
    entry = await db.fetchrow("SELECT * FROM journal_entries WHERE id = $1", f"deposit:{merchant}:paid")
    assert (entry["kind"], entry["merchant_id"]) == ("DEPOSIT_PAID", merchant)
    postings = {(r["account"], r["owner_id"], r["amount"]) for r in await db.fetch(
        "SELECT account, owner_id, amount FROM postings WHERE entry_id = $1", entry["id"])}
    assert postings == {("CASH", 0, 300_000), ("MERCHANT_DEPOSIT", merchant, -300_000)}
    async with db.connection() as conn:
        assert (await journal.balances(conn, merchant, [Account.MERCHANT_DEPOSIT]))[Account.MERCHANT_DEPOSIT] == 300_000

    login = (await api.ok(STAFF_LOGIN, {"u": app.username, "p": PASSWORD}))["staffLogin"]
    assert login["userErrors"] == [] and login["viewer"]["merchantRole"] == "OWNER"
    assert login["viewer"]["merchantId"] == gid("Merchant", merchant)
    shop = (await api.ok(MY_SHOP, token=login["accessToken"]))["myShop"]
    assert (shop["status"], shop["deposit"], shop["categoryIds"]) == ("OPEN", 300_000, [gid("BackendCategory", shoes)])
    assert [(h["fromStatus"], h["toStatus"]) for h in shop["history"]] == [(None, "PENDING_DEPOSIT"),
                                                                          ("PENDING_DEPOSIT", "OPEN")]
    # the shop's console sees its own application, nobody else's
    assert (await api.ok(APPLICATION, {"id": app.id}, token=login["accessToken"]))["merchantApplication"]["id"] == app.id
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'MERCHANT_OPENED' AND merchant_id = $1",
                             merchant) == 1


async def test_rejection_carries_its_reason_and_the_applicant_may_apply_again(api, http, db, settings, admin):
    app = await applied(api, http, db, settings, [await category(db)])
    blank = (await api.ok(REJECT, {"i": {"applicationId": app.id, "reason": "  "}},
                          token=admin.token))["rejectMerchantApplication"]
    assert codes(blank) == ["REASON_REQUIRED"]
    out = (await api.ok(REJECT, {"i": {"applicationId": app.id, "reason": "营业执照模糊"}},
                        token=admin.token))["rejectMerchantApplication"]
    assert out["userErrors"] == [] and out["application"]["status"] == "REJECTED"
    assert out["application"]["rejectionReason"] == "营业执照模糊"
    assert out["application"]["history"][-1] == {"toStatus": "REJECTED", "reason": "营业执照模糊"}
    seen = (await api.ok(APPLICATION, {"id": app.id}, token=app.buyer.token))["merchantApplication"]
    assert (seen["status"], seen["rejectionReason"], seen["merchantId"]) == ("REJECTED", "营业执照模糊", None)
    note = await db.fetchrow("SELECT * FROM buyer_notifications WHERE buyer_id = $1 ORDER BY id DESC LIMIT 1",
                             app.buyer.id)
    assert note["template"] == "MERCHANT_APPLICATION_REJECTED" and note["payload"]["reason"] == "营业执照模糊"
    again = (await api.ok(REJECT, {"i": {"applicationId": app.id, "reason": "x"}},
                          token=admin.token))["rejectMerchantApplication"]
    assert codes(again) == ["INVALID_TRANSITION"]
    # a rejected applicant may apply again (the same names are free again)
    retry = (await api.ok(APPLY, {"i": app.input}, token=app.buyer.token))["applyForMerchant"]
    assert retry["userErrors"] == [] and retry["application"]["status"] == "PENDING_REVIEW"


async def test_refusals_at_application(api, http, db, settings, admin):
    shoes = await category(db)
    app = await applied(api, http, db, settings, [shoes])
    second = (await api.ok(APPLY, {"i": application_input([shoes], app.input["licenceUploadIds"])},
                           token=app.buyer.token))["applyForMerchant"]
    assert codes(second) == ["APPLICATION_IN_PROGRESS"]

    other = await new_buyer(db, settings)
    mine = await licence(http, other.token)
    taken = (await api.ok(APPLY, {"i": application_input([shoes], [mine], shopName=app.input["shopName"],
                                                         ownerUsername=app.username)},
                          token=other.token))["applyForMerchant"]
    assert sorted(codes(taken)) == ["SHOP_NAME_TAKEN", "USERNAME_TAKEN"]
    # someone else's upload, a bad credit code, an unknown category, a weak password
    stolen = (await api.ok(APPLY, {"i": application_input([shoes], app.input["licenceUploadIds"])},
                           token=other.token))["applyForMerchant"]
    assert [(e["code"], e["field"]) for e in stolen["userErrors"]] == [("NOT_FOUND", ["input", "licenceUploadIds", "0"])]
    bad = (await api.ok(APPLY, {"i": application_input([shoes], [mine], creditCode="123")},
                        token=other.token))["applyForMerchant"]
    assert [(e["code"], e["field"]) for e in bad["userErrors"]] == [("INVALID_VALUE", ["input", "creditCode"])]
    unknown = (await api.ok(APPLY, {"i": application_input([shoes, 10**12], [mine])},
                            token=other.token))["applyForMerchant"]
    assert [(e["code"], e["field"]) for e in unknown["userErrors"]] == [("UNKNOWN_CATEGORY", ["input", "categoryIds", "1"])]
    weak = (await api.ok(APPLY, {"i": application_input([shoes], [mine], ownerPassword="123")},
                         token=other.token))["applyForMerchant"]
    assert codes(weak) == ["WEAK_PASSWORD"]
    assert await db.fetchval("SELECT count(*) FROM merchant_applications WHERE buyer_id = $1", other.id) == 0
    # only admins review
    refused = await api(APPROVE, {"i": {"applicationId": app.id}}, token=other.token)
    assert top_codes(refused) == ["FORBIDDEN"]


async def test_applicants_and_shops_see_only_their_own(api, http, db, settings, admin):
    cat = await category(db)
    mine = await applied(api, http, db, settings, [cat])
    theirs = await applied(api, http, db, settings, [cat])
    assert top_codes(await api(APPLICATION, {"id": theirs.id}, token=mine.buyer.token)) == ["NOT_FOUND"]
    listed = (await api.ok(MINE, token=mine.buyer.token))["myMerchantApplications"]["edges"]
    assert [e["node"]["id"] for e in listed] == [mine.id]
    assert top_codes(await api(LIST, {}, token=mine.buyer.token)) == ["FORBIDDEN"]
    # a shop's staff see their shop's application only
    shop = await open_shop(api, http, db, settings, admin.token, [cat])
    assert top_codes(await api(APPLICATION, {"id": theirs.id}, token=shop.owner_token)) == ["NOT_FOUND"]
    assert (await api.ok(APPLICATION, {"id": theirs.id}, token=admin.token))["merchantApplication"]["id"] == theirs.id
