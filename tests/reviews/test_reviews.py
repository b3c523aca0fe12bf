"""Reviews end to end through GraphQL: once per received line, the product's rating worked by
hand, the order's review sub-status and the 待评价 tab, images made public, masked names, the
merchant's one reply to its own reviews only."""

import httpx
import pytest

from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.demo import REVIEW_BUYER_PHONE, seed_demo
from app.errors import CommonError
from app.ids import encode_id
from app.reviews.errors import ReviewError
from app.reviews.service import masked_name
from app.uploads.errors import UploadError
from app.uploads.service import UploadPurpose
from tests.reviews.helpers import (
    COUNTS,
    CREATE,
    MERCHANT_REVIEWS,
    MY_REVIEWS,
    ORDER,
    PRODUCT,
    PRODUCT_REVIEWS,
    REPLY,
    make_order,
    make_shop,
)
from tests.uploads.helpers import new_admin, new_buyer, new_merchant_staff, stored_upload


def gid(kind: str, pk: int) -> str:
    return encode_id(kind, pk)


async def review(gql, token, line: int, rating: int, text: str = "", images: list[str] | None = None) -> dict:
    return (await gql.ok(CREATE, {"i": {"orderLineId": gid("OrderLine", line), "rating": rating, "text": text,
                                        "imageIds": images or []}}, token))["createReview"]


def codes(payload) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def test_ratings_add_up_exactly(gql, db, settings):
    shop = await make_shop(db, products=1)
    product = gid("Product", shop.items[0].product)
    assert (await gql.ok(PRODUCT, {"id": product}))["product"] == {"ratingAverage": None, "ratingCount": 0}
    # 5, 4, 4 → 13 / 3 = 4.333… → 4.33; then 1 → 14 / 4 = 3.5; then 2 → 16 / 5 = 3.2
    expected = [(5, 5.0, 1), (4, 4.5, 2), (4, 4.33, 3), (1, 3.5, 4), (2, 3.2, 5)]
    for rating, average, count in expected:
        buyer = await new_buyer(db, settings)
        order = await make_order(db, shop, buyer.id)
        assert codes(await review(gql, buyer.token, order.lines[0], rating)) == []
        assert (await gql.ok(PRODUCT, {"id": product}))["product"] == {"ratingAverage": average, "ratingCount": count}
    assert await db.fetchrow("SELECT rating_sum, rating_count FROM products WHERE id = $1",
                             shop.items[0].product) == (16, 5)


async def test_every_line_reviewed_once_empties_the_to_review_tab(gql, db, settings):
    shop = await make_shop(db, products=2)
    buyer = await new_buyer(db, settings, nickname="张小三")
    order = await make_order(db, shop, buyer.id, gift=True)
    order_id = gid("Order", order.id)
    assert (await gql.ok(ORDER, {"id": order_id}, buyer.token))["order"] == {
        "status": "RECEIVED", "reviewStatus": "PENDING", "buyerStatus": "TO_REVIEW"}
    assert (await gql.ok(COUNTS, token=buyer.token))["myOrderCounts"] == {"toReview": 1, "done": 0}

    first = await review(gql, buyer.token, order.lines[0], 5, "  很好用  ")
    assert codes(first) == []
    r = first["review"]
    assert (r["rating"], r["text"], r["specLabel"], r["buyerName"], r["reply"]) == (5, "很好用", "黑色", "张***三", None)
    assert (await gql.ok(ORDER, {"id": order_id}, buyer.token))["order"]["reviewStatus"] == "PENDING"

    again = await review(gql, buyer.token, order.lines[0], 1)
    assert codes(again) == [(ReviewError.ALREADY_REVIEWED, ["input", "orderLineId"])]
    gift = await review(gql, buyer.token, order.gift_line, 5)
    assert codes(gift) == [(ReviewError.NOT_REVIEWABLE, ["input", "orderLineId"])]

    assert codes(await review(gql, buyer.token, order.lines[1], 3)) == []
    assert (await gql.ok(ORDER, {"id": order_id}, buyer.token))["order"] == {
        "status": "RECEIVED", "reviewStatus": "DONE", "buyerStatus": "DONE"}
    assert (await gql.ok(COUNTS, token=buyer.token))["myOrderCounts"] == {"toReview": 0, "done": 1}
    history = await db.fetch("SELECT to_status, reason FROM order_status_history WHERE order_id = $1", order.id)
    assert [(h["to_status"], h["reason"]) for h in history] == [("RECEIVED", "REVIEWED")]
    events = await db.fetch("SELECT topic, event_type, merchant_id FROM outbox WHERE topic IN ('review', 'order')"
                            " AND (payload->>'order_id')::bigint = $1 ORDER BY id", order.id)
    assert [(e["topic"], e["event_type"], e["merchant_id"]) for e in events] == [
        ("review", "REVIEW_CREATED", shop.merchant), ("order", "ORDER_REVIEWED", shop.merchant),
        ("review", "REVIEW_CREATED", shop.merchant)]
    mine = (await gql.ok(MY_REVIEWS, token=buyer.token))["myReviews"]["edges"]
    assert [e["node"]["rating"] for e in mine] == [3, 5]


@pytest.mark.parametrize("status", ["PENDING_PAYMENT", "PAID", "SHIPPED", "CANCELLED", "CLOSED"])
async def test_only_received_or_completed_orders_are_reviewed(gql, db, settings, status):
    shop = await make_shop(db, products=1)
    buyer = await new_buyer(db, settings)
    order = await make_order(db, shop, buyer.id, status=status)
    assert codes(await review(gql, buyer.token, order.lines[0], 4)) == [
        (ReviewError.NOT_RECEIVED, ["input", "orderLineId"])]
    completed = await make_order(db, shop, buyer.id, status="COMPLETED")
    assert codes(await review(gql, buyer.token, completed.lines[0], 4)) == []


async def test_inputs_are_checked(gql, db, settings):
    shop = await make_shop(db, products=1)
    buyer, other = await new_buyer(db, settings), await new_buyer(db, settings)
    order = await make_order(db, shop, buyer.id)
    line = order.lines[0]
    assert codes(await review(gql, other.token, line, 5)) == [(CommonError.NOT_FOUND, ["input", "orderLineId"])]
    for rating in (0, 6, -1):
        assert codes(await review(gql, buyer.token, line, rating)) == [
            (ReviewError.INVALID_RATING, ["input", "rating"])]
    assert codes(await review(gql, buyer.token, line, 5, "好" * 501)) == [
        (ReviewError.TEXT_TOO_LONG, ["input", "text"])]
    ids = [gid("Upload", await stored_upload(db, settings, buyer.principal)) for _ in range(10)]
    assert codes(await review(gql, buyer.token, line, 5, images=ids)) == [(CommonError.TOO_MANY, ["input", "imageIds"])]
    theirs = gid("Upload", await stored_upload(db, settings, other.principal))
    evidence = gid("Upload", await stored_upload(db, settings, buyer.principal, UploadPurpose.AFTER_SALE_EVIDENCE))
    refused = await review(gql, buyer.token, line, 5, images=[ids[0], theirs, evidence, "junk"])
    assert codes(refused) == [(CommonError.INVALID_ID, ["input", "imageIds", "3"])]
    refused = await review(gql, buyer.token, line, 5, images=[ids[0], theirs, evidence])
    assert codes(refused) == [(CommonError.NOT_FOUND, ["input", "imageIds", "1"]),
                              (UploadError.WRONG_PURPOSE, ["input", "imageIds", "2"])]
    # nothing was written by the refusals
    assert await db.fetchval("SELECT count(*) FROM reviews WHERE order_line_id = $1", line) == 0
    assert await db.fetchrow("SELECT rating_sum, rating_count FROM products WHERE id = $1",
                             shop.items[0].product) == (0, 0)
    assert codes(await review(gql, buyer.token, line, 5, "  ")) == []


async def test_images_become_public_with_the_review(app, gql, db, settings):
    shop = await make_shop(db, products=1)
    buyer = await new_buyer(db, settings)
    order = await make_order(db, shop, buyer.id)
    images = [gid("Upload", await stored_upload(db, settings, buyer.principal)) for _ in range(2)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        assert (await http.get(f"/uploads/{images[0]}")).status_code == 404
        created = await review(gql, buyer.token, order.lines[0], 4, "看图", images)
        assert codes(created) == []
        shown = created["review"]["images"]
        assert [i["id"] for i in shown] == images and shown[0]["width"] == 64
        assert [(await http.get(i["url"])).status_code for i in shown] == [200, 200]


async def test_product_reviews_newest_first_paged_and_public(gql, db, settings):
    shop = await make_shop(db, products=1)
    names = ["", "李", "王小明"]
    for n, name in enumerate(names):
        buyer = await new_buyer(db, settings, nickname=name)
        order = await make_order(db, shop, buyer.id)
        assert codes(await review(gql, buyer.token, order.lines[0], n + 3, f"第{n}条")) == []
    product = gid("Product", shop.items[0].product)
    page = (await gql.ok(PRODUCT_REVIEWS, {"p": product, "first": 2}))["productReviews"]
    assert [(e["node"]["text"], e["node"]["buyerName"]) for e in page["edges"]] == [("第2条", "王***明"),
                                                                                  ("第1条", "李***")]
    assert page["pageInfo"]["hasNextPage"]
    rest = (await gql.ok(PRODUCT_REVIEWS, {"p": product, "first": 2, "after": page["pageInfo"]["endCursor"]}))
    assert [(e["node"]["text"], e["node"]["buyerName"]) for e in rest["productReviews"]["edges"]] == [
        ("第0条", "匿名用户")]


def test_masked_names():
    assert [masked_name(n) for n in ("", "  ", "李", "李四", "王小明", "Alexander")] == [
        "匿名用户", "匿名用户", "李***", "李***四", "王***明", "A***r"]


async def test_the_merchant_replies_once_to_its_own_reviews(gql, db, settings):
    shop, elsewhere = await make_shop(db, products=1), await make_shop(db, products=1)
    staff = await new_merchant_staff(db, settings, shop.merchant)
    stranger = await new_merchant_staff(db, settings, elsewhere.merchant)
    admin = await new_admin(db, settings)
    buyer = await new_buyer(db, settings)
    created = await review(gql, buyer.token, (await make_order(db, shop, buyer.id)).lines[0], 2, "太慢")
    review_id = created["review"]["id"]

    async def reply(token, text="抱歉，已改进"):
        return (await gql.ok(REPLY, {"i": {"reviewId": review_id, "text": text}}, token))["replyToReview"]
    assert codes(await reply(stranger.token)) == [(CommonError.NOT_FOUND, ["input", "reviewId"])]
    assert codes(await reply(staff.token, "")) == [(CommonError.INVALID_VALUE, ["input", "text"])]
    assert codes(await reply(staff.token, "长" * 501)) == [(ReviewError.TEXT_TOO_LONG, ["input", "text"])]
    assert [e["node"]["id"] for e in (await gql.ok(MERCHANT_REVIEWS, {"u": True}, staff.token))["merchantReviews"][
        "edges"]] == [review_id]
    done = await reply(staff.token)
    assert codes(done) == [] and done["review"]["reply"] == "抱歉，已改进" and done["review"]["repliedAt"]
    assert codes(await reply(staff.token, "again")) == [(ReviewError.ALREADY_REPLIED, ["input", "reviewId"])]
    assert codes(await reply(admin.token, "again")) == [(ReviewError.ALREADY_REPLIED, ["input", "reviewId"])]
    assert (await gql.ok(MERCHANT_REVIEWS, {"u": True}, staff.token))["merchantReviews"]["edges"] == []
    assert (await gql.ok(MERCHANT_REVIEWS, {"u": False}, stranger.token))["merchantReviews"]["edges"] == []
    assert (await gql.ok(MERCHANT_REVIEWS, {"u": False}, staff.token))["merchantReviews"]["edges"][0]["node"][
        "reply"] == "抱歉，已改进"


async def test_roles(gql, db, settings):
    staff = await new_merchant_staff(db, settings)
    buyer = await new_buyer(db, settings)
    body = await gql(CREATE, {"i": {"orderLineId": gid("OrderLine", 1), "rating": 5}}, staff.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await gql(REPLY, {"i": {"reviewId": gid("Review", 1), "text": "x"}}, buyer.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql(MY_REVIEWS))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_demo_review_buyer_can_review_its_received_order(gql, db, settings, tokens):
    await seed_demo(db, progress=lambda _: None)        # a second run adds nothing
    buyer_id = await db.fetchval("SELECT id FROM buyers WHERE phone = $1", REVIEW_BUYER_PHONE)
    lines = await db.fetch("SELECT l.id FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.buyer_id = $1"
                           " ORDER BY l.id", buyer_id)
    assert len(lines) == 2
    async with db.transaction() as conn:
        token = (await open_session(conn, settings, Principal(kind="buyer", id=buyer_id))).access_token
    assert (await gql.ok(COUNTS, token=token))["myOrderCounts"]["toReview"] == 1
    for line in lines:
        assert codes(await review(gql, token, line["id"], 5, "演示")) == []
    assert (await gql.ok(COUNTS, token=token))["myOrderCounts"] == {"toReview": 0, "done": 1}
