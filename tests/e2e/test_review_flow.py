"""A review end to end over real HTTP and websockets: the buyer uploads a photo (multipart, to
uvicorn), reviews a received line with it, the merchant console hears REVIEW_CREATED live and
replies, the product shows the rating, and anyone can now fetch the photo — which was private
until the review."""

import pytest

from app.ids import encode_id
from tests.e2e.conftest import Subscriber
from tests.reviews.helpers import CREATE, PRODUCT, PRODUCT_REVIEWS, REPLY, make_order, make_shop
from tests.uploads.helpers import image_bytes, new_buyer, new_merchant_staff

REVIEW_EVENTS = "subscription { merchantReviewEvents { eventId type reviewId productId merchantId payload } }"


@pytest.fixture(scope="module")
def settings(settings, tmp_path_factory):
    return settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("data")})


async def test_upload_review_reply(server, http, db, settings, redis):
    shop, elsewhere = await make_shop(db, products=1), await make_shop(db, products=1)
    staff = await new_merchant_staff(db, settings, shop.merchant)
    stranger = await new_merchant_staff(db, settings, elsewhere.merchant)
    buyer = await new_buyer(db, settings, nickname="王小明")
    order = await make_order(db, shop, buyer.id)
    web = http.http
    sent = await web.post("/uploads", headers={"authorization": f"Bearer {buyer.token}"},
                          data={"purpose": "REVIEW_IMAGE"}, files={"file": ("me.webp", image_bytes("WEBP"), "image/webp")})
    assert sent.status_code == 201, sent.text
    photo = sent.json()
    assert (await web.get(photo["url"])).status_code == 404          # private until published

    async with Subscriber.open(server, staff.token, REVIEW_EVENTS, "merchantReviewEvents", "review") as console, \
            Subscriber.open(server, stranger.token, REVIEW_EVENTS, "merchantReviewEvents", "review") as other:
        await console.ready(redis, shop.merchant)
        await other.ready(redis, elsewhere.merchant)
        created = (await http.ok(CREATE, {"i": {"orderLineId": encode_id("OrderLine", order.lines[0]), "rating": 4,
                                                "text": "不错", "imageIds": [photo["id"]]}}, buyer.token))["createReview"]
        assert created["userErrors"] == []
        review_id = created["review"]["id"]
        heard = await console.event(lambda e: e["reviewId"] == review_id)
        assert (heard["type"], heard["productId"], heard["payload"]["rating"]) == \
            ("REVIEW_CREATED", encode_id("Product", shop.items[0].product), 4)
        replied = (await http.ok(REPLY, {"i": {"reviewId": review_id, "text": "谢谢"}}, staff.token))["replyToReview"]
        assert replied["userErrors"] == []
        await console.event(lambda e: e["reviewId"] == review_id and e["type"] == "REVIEW_REPLIED")
        assert all(e["reviewId"] != review_id for e in other.received)

    public = await web.get(photo["url"])
    assert (public.status_code, public.headers["content-type"]) == (200, "image/webp")
    product = encode_id("Product", shop.items[0].product)
    assert (await http.ok(PRODUCT, {"id": product}))["product"] == {"ratingAverage": 4.0, "ratingCount": 1}
    shown = (await http.ok(PRODUCT_REVIEWS, {"p": product}))["productReviews"]["edges"][0]["node"]
    assert (shown["buyerName"], shown["reply"], shown["images"][0]["url"]) == ("王***明", "谢谢", photo["url"])
