"""The product lifecycle over GraphQL: platform review with reasons, listing, edits sending a
product back to review, refused transitions, and the history and outbox rows they leave."""

import pytest

from tests.catalog.product_helpers import (
    ACTIONS,
    CREATE,
    PRICE,
    UPDATE,
    act,
    counts,
    create_phone,
    gid,
    make_catalog,
    phone_input,
    pk,
)

HISTORY = """query($p: ID!) { productStatusHistory(productId: $p) { fromStatus toStatus actor reason at } }"""
QUEUE = """query($first: Int!, $after: String) { productReviewQueue(first: $first, after: $after) {
  edges { node { id status } } pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture(scope="module")
async def cat(db, tokens):
    return await make_catalog(db)


async def events_of(db, product_id: str) -> list[str]:
    rows = await db.fetch("SELECT event_type FROM outbox WHERE payload->>'product_id' = $1 ORDER BY id",
                          str(pk("Product", product_id)))
    return [r["event_type"] for r in rows]


async def test_review_flow_with_rejection_fix_and_relisting(gql, tokens, cat, db):
    acme, admin = tokens["acme"], tokens["admin"]
    product = await create_phone(gql, acme, cat)
    pid = product["id"]
    assert (await act(gql, acme, "submitProductForReview", pid))["product"]["status"] == "PENDING_REVIEW"

    rejected = await act(gql, admin, "rejectProduct", pid, reason="主图模糊")
    assert rejected["userErrors"] == []
    assert (rejected["product"]["status"], rejected["product"]["rejectReason"]) == ("DRAFT", "主图模糊")

    fixed = (await gql.ok(UPDATE, {"i": {"productId": pid, "images": [{"url": "https://img.example.com/sharp.jpg"}]}},
                          token=acme))["updateProduct"]
    assert fixed["userErrors"] == [] and fixed["product"]["images"] == [{"url": "https://img.example.com/sharp.jpg"}]
    assert (await act(gql, acme, "submitProductForReview", pid))["product"]["rejectReason"] is None
    assert (await act(gql, admin, "approveProduct", pid))["product"]["status"] == "APPROVED"
    assert (await act(gql, acme, "listProduct", pid))["product"]["status"] == "LISTED"
    assert (await act(gql, acme, "delistProduct", pid))["product"]["status"] == "DELISTED"
    assert (await act(gql, acme, "listProduct", pid))["product"]["status"] == "LISTED"

    history = (await gql.ok(HISTORY, {"p": pid}, token=acme))["productStatusHistory"]
    assert [(h["fromStatus"], h["toStatus"]) for h in history] == [
        (None, "DRAFT"), ("DRAFT", "PENDING_REVIEW"), ("PENDING_REVIEW", "DRAFT"), ("DRAFT", "PENDING_REVIEW"),
        ("PENDING_REVIEW", "APPROVED"), ("APPROVED", "LISTED"), ("LISTED", "DELISTED"), ("DELISTED", "LISTED")]
    assert history[2]["reason"] == "主图模糊" and history[2]["actor"].startswith("staff:")
    assert await events_of(db, pid) == [
        "PRODUCT_CREATED", "PRODUCT_SUBMITTED", "PRODUCT_REJECTED", "PRODUCT_UPDATED", "PRODUCT_SUBMITTED",
        "PRODUCT_APPROVED", "PRODUCT_LISTED", "PRODUCT_DELISTED", "PRODUCT_LISTED"]
    assert await db.fetchval("SELECT DISTINCT merchant_id FROM outbox WHERE payload->>'product_id' = $1",
                             str(pk("Product", pid))) == 2


async def test_editing_an_approved_marketplace_product_sends_it_back_to_review(gql, tokens, cat, db):
    product = await create_phone(gql, tokens["acme"], cat)
    await act(gql, tokens["acme"], "submitProductForReview", product["id"])
    await act(gql, tokens["admin"], "approveProduct", product["id"])
    out = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "title": "新标题"}},
                        token=tokens["acme"]))["updateProduct"]
    assert out["userErrors"] == [] and out["product"]["status"] == "DRAFT"
    last = (await gql.ok(HISTORY, {"p": product["id"]}, token=tokens["acme"]))["productStatusHistory"][-1]
    assert (last["fromStatus"], last["toStatus"], last["reason"]) == ("APPROVED", "DRAFT", "edited; needs review again")


async def test_platform_products_skip_review_and_stay_approved_when_edited(gql, tokens, cat):
    admin = tokens["admin"]
    out = (await gql.ok(CREATE, {"i": phone_input(cat, merchantId=gid("Merchant", 1))}, token=admin))["createProduct"]
    pid = out["product"]["id"]
    assert (await act(gql, admin, "submitProductForReview", pid))["product"]["status"] == "APPROVED"
    edited = (await gql.ok(UPDATE, {"i": {"productId": pid, "subtitle": "自营"}}, token=admin))["updateProduct"]
    assert edited["product"]["status"] == "APPROVED"


async def refused(gql, token: str, action: str, product_id: str, **extra) -> str:
    """The code of a top-level refusal (a role the field requires)."""
    body = await gql(ACTIONS[action], {"i": {"productId": product_id, **extra}}, token=token)
    assert body["data"] is None
    return body["errors"][0]["extensions"]["code"]


async def test_refused_transitions_write_nothing(gql, tokens, cat, db):
    acme, admin, lumen = tokens["acme"], tokens["admin"], tokens["lumen"]
    product = await create_phone(gql, acme, cat)
    pid = product["id"]
    before = await counts(db)

    def errors(out):
        return [(e["code"], e["field"]) for e in out["userErrors"]]
    assert errors(await act(gql, acme, "listProduct", pid)) == [("INVALID_TRANSITION", ["input", "action"])]
    assert await refused(gql, acme, "approveProduct", pid) == "FORBIDDEN"      # the field is admin-only
    assert errors(await act(gql, lumen, "submitProductForReview", pid)) == [("NOT_FOUND", ["input", "productId"])]
    assert errors(await act(gql, admin, "approveProduct", pid)) == [("INVALID_TRANSITION", ["input", "action"])]
    assert errors(await act(gql, acme, "submitProductForReview", "%%%")) == [("INVALID_ID", ["input", "productId"])]
    assert errors(await act(gql, acme, "scheduleProductListing", pid, at="2030-01-01T00:00:00Z")) == [
        ("INVALID_TRANSITION", ["input", "productId"])]
    assert await counts(db) == before

    await act(gql, acme, "submitProductForReview", pid)
    before = await counts(db)
    assert errors(await act(gql, admin, "rejectProduct", pid, reason="  ")) == [
        ("REASON_REQUIRED", ["input", "reason"])]
    assert await refused(gql, acme, "rejectProduct", pid, reason="no") == "FORBIDDEN"
    out = (await gql.ok(UPDATE, {"i": {"productId": pid, "title": "x"}}, token=acme))["updateProduct"]
    assert errors(out) == [("INVALID_TRANSITION", ["input", "productId"])]
    assert await counts(db) == before


async def test_listed_and_recycled_products_refuse_edits(gql, tokens, cat, db):
    acme = tokens["acme"]
    product = await create_phone(gql, acme, cat)
    pid = product["id"]
    for step, who in (("submitProductForReview", acme), ("approveProduct", tokens["admin"]), ("listProduct", acme)):
        await act(gql, who, step, pid)
    out = (await gql.ok(UPDATE, {"i": {"productId": pid, "title": "x"}}, token=acme))["updateProduct"]
    assert out["userErrors"][0]["code"] == "INVALID_TRANSITION" and "delist" in out["userErrors"][0]["message"]
    assert (await act(gql, acme, "recycleProduct", pid))["userErrors"][0]["code"] == "INVALID_TRANSITION"
    await act(gql, acme, "delistProduct", pid)
    assert (await act(gql, acme, "recycleProduct", pid))["product"]["status"] == "RECYCLED"
    out = (await gql.ok(UPDATE, {"i": {"productId": pid, "title": "x"}}, token=acme))["updateProduct"]
    assert out["userErrors"][0]["code"] == "INVALID_TRANSITION"
    out = (await gql.ok(PRICE, {"i": {"skuId": product["skus"][0]["id"], "price": 5}}, token=acme))["updateSkuPrice"]
    assert out["userErrors"][0]["code"] == "INVALID_TRANSITION"
    assert (await act(gql, acme, "listProduct", pid))["userErrors"][0]["code"] == "INVALID_TRANSITION"


async def test_review_queue_is_oldest_first_and_admin_only(gql, tokens, cat):
    acme = tokens["acme"]
    first = await create_phone(gql, acme, cat)
    second = await create_phone(gql, acme, cat)
    await act(gql, acme, "submitProductForReview", second["id"])
    await act(gql, acme, "submitProductForReview", first["id"])
    ids = []
    after = None
    while True:
        page = (await gql.ok(QUEUE, {"first": 1, "after": after}, token=tokens["admin"]))["productReviewQueue"]
        ids += [e["node"]["id"] for e in page["edges"]]
        assert all(e["node"]["status"] == "PENDING_REVIEW" for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert ids.index(second["id"]) < ids.index(first["id"])
    denied = await gql(QUEUE, {"first": 5}, token=acme)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_history_is_for_the_owner_and_admins(gql, tokens, cat):
    product = await create_phone(gql, tokens["acme"], cat)
    assert len((await gql.ok(HISTORY, {"p": product["id"]}, token=tokens["admin"]))["productStatusHistory"]) == 1
    body = await gql(HISTORY, {"p": product["id"]}, token=tokens["lumen"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await gql(HISTORY, {"p": "nope"}, token=tokens["lumen"])
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_schedule_listing_sets_and_cancels(gql, tokens, cat, db):
    acme = tokens["acme"]
    product = await create_phone(gql, acme, cat)
    await act(gql, acme, "submitProductForReview", product["id"])
    await act(gql, tokens["admin"], "approveProduct", product["id"])
    out = await act(gql, acme, "scheduleProductListing", product["id"], at="2031-05-01T08:00:00+08:00")
    assert out["userErrors"] == [] and out["product"]["status"] == "APPROVED"
    at = await db.fetchval("SELECT scheduled_listing_at FROM products WHERE id = $1", pk("Product", product["id"]))
    assert at.isoformat() == "2031-05-01T00:00:00+00:00"
    await act(gql, acme, "scheduleProductListing", product["id"], at=None)
    assert await db.fetchval("SELECT scheduled_listing_at FROM products WHERE id = $1",
                             pk("Product", product["id"])) is None


async def test_required_attributes_are_needed_to_submit_not_to_save(gql, tokens, db):
    own = await make_catalog(db)
    await db.fetchval("UPDATE attributes SET required = true WHERE id = $1", pk("Attribute", own.model))
    product = await create_phone(gql, tokens["acme"], own, attributes=[])
    out = await act(gql, tokens["acme"], "submitProductForReview", product["id"])
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("MISSING_ATTRIBUTE", ["input", "productId"])]
    assert "型号" in out["userErrors"][0]["message"]
    fixed = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "attributes": [
        {"attributeId": own.model, "valueId": own.model_values[1]}]}}, token=tokens["acme"]))["updateProduct"]
    assert fixed["userErrors"] == []
    assert (await act(gql, tokens["acme"], "submitProductForReview", product["id"]))["userErrors"] == []
