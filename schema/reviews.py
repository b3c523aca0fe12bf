"""GraphQL for reviews (DOMAIN §2; docs/reviews.md): the buyer reviews a received order line,
the merchant replies once, the public reads a product's reviews with masked names; the
merchant console hears of new reviews live."""

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import asyncpg
import strawberry
from strawberry.scalars import JSON

from app.events import Event
from app.ids import encode_id
from app.reviews import reads, service
from app.reviews.errors import ReviewError
from app.uploads.errors import UploadError
from schema.context import Info
from schema.errors import user_error_type
from schema.events import live_events
from schema.ids import gid, input_pk, input_pks, optional_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsBuyer, IsStaff

ReviewUserError = user_error_type("Review", ReviewError, UploadError)


@strawberry.type(description="A review image: GET `url` with the bearer token, or without one (review images are "
                             "public once the review is published).")
class ReviewImage:
    id: strawberry.ID
    url: str
    width: int
    height: int


@strawberry.type(description="A buyer's rating of one order line, and the merchant's reply.")
class Review:
    id: strawberry.ID
    product_id: strawberry.ID
    order_line_id: strawberry.ID
    rating: int = strawberry.field(description="1 to 5.")
    text: str
    spec_label: str = strawberry.field(description="The SKU bought, e.g. 黑色 / 256GB.")
    buyer_name: str = strawberry.field(description="The reviewer's nickname, masked (张***三).")
    images: list[ReviewImage]
    created_at: datetime
    reply: str | None
    replied_at: datetime | None

    @classmethod
    def of(cls, r: asyncpg.Record) -> "Review":
        images = []
        for i in r["images"]:
            image_id = encode_id("Upload", i["id"])
            images.append(ReviewImage(id=strawberry.ID(image_id), url=f"/uploads/{image_id}", width=i["width"],
                                      height=i["height"]))
        return cls(id=gid("Review", r["id"]), product_id=gid("Product", r["product_id"]),
                   order_line_id=gid("OrderLine", r["order_line_id"]), rating=r["rating"], text=r["body"],
                   spec_label=r["spec_label"], buyer_name=service.masked_name(r["nickname"]), images=images,
                   created_at=r["created_at"], reply=r["reply"], replied_at=r["replied_at"])


@strawberry.input(description="`imageIds`: up to 9 REVIEW_IMAGE uploads of yours (POST /uploads); they become "
                              "public with the review.")
class CreateReviewInput:
    order_line_id: strawberry.ID
    rating: int
    text: str = ""
    image_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class ReplyToReviewInput:
    review_id: strawberry.ID
    text: str


@strawberry.type
class ReviewPayload:
    review: Review | None = None
    user_errors: list[ReviewUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="A review event: REVIEW_CREATED, REVIEW_REPLIED.")
class ReviewEvent:
    event_id: str
    type: str
    review_id: strawberry.ID | None
    product_id: strawberry.ID | None
    merchant_id: strawberry.ID | None
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "ReviewEvent":
        return cls(event_id=str(ev.id), type=ev.type, review_id=gid("Review", ev.payload.get("review_id")),
                   product_id=gid("Product", ev.payload.get("product_id")), merchant_id=gid("Merchant", ev.merchant_id),
                   payload=JSON(ev.payload), created_at=ev.created_at)


async def _review_payload(info: Info, review_id: int) -> ReviewPayload:
    return ReviewPayload(review=Review.of(await query(info, lambda conn: reads.review(conn, review_id))))


@strawberry.type
class ReviewQuery:
    @strawberry.field(description="A product's reviews, newest first; open to everyone.")
    async def product_reviews(self, info: Info, product_id: strawberry.ID, first: int = 20,
                              after: str | None = None) -> Connection[Review]:
        async def act(conn) -> Connection[Review]:
            size = page_size(first)
            rows = await reads.product_reviews(conn, input_pk("Product", product_id, "productId"), after_id(after),
                                               size + 1)
            return connection_of(rows, size, after, Review.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsBuyer], description="Your reviews, newest first.")
    async def my_reviews(self, info: Info, first: int = 20, after: str | None = None) -> Connection[Review]:
        async def act(conn) -> Connection[Review]:
            size = page_size(first)
            rows = await reads.buyer_reviews(conn, info.context.caller.id, after_id(after), size + 1)
            return connection_of(rows, size, after, Review.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsStaff], description=(
        "Merchant staff: reviews of your merchant's products; admins: `merchantId`'s, or all. `unreplied`: only those "
        "waiting for a reply."))
    async def merchant_reviews(self, info: Info, merchant_id: strawberry.ID | None = None, unreplied: bool = False,
                               first: int = 20, after: str | None = None) -> Connection[Review]:
        async def act(conn) -> Connection[Review]:
            size = page_size(first)
            rows = await reads.merchant_reviews(conn, info.context.caller,
                                                optional_pk("Merchant", merchant_id, "merchantId"), unreplied,
                                                after_id(after), size + 1)
            return connection_of(rows, size, after, Review.of)
        return await query(info, act)


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Review a line of a received order, once: the product's rating moves, and when every line is reviewed the "
        "order leaves the 待评价 tab."))
    async def create_review(self, info: Info, input: CreateReviewInput) -> ReviewPayload:
        async def act(conn, who) -> int:
            line = input_pk("OrderLine", input.order_line_id, "orderLineId")
            images = input_pks("Upload", input.image_ids, "imageIds")
            return await service.create_review(conn, who.id, line, input.rating, input.text, images,
                                               datetime.now(UTC))
        return await mutate(info, ReviewPayload, act, lambda pk: _review_payload(info, pk))

    @strawberry.mutation(permission_classes=[IsStaff], description="Reply to a review of your merchant's product, once.")
    async def reply_to_review(self, info: Info, input: ReplyToReviewInput) -> ReviewPayload:
        async def act(conn, who) -> int:
            pk = input_pk("Review", input.review_id, "reviewId")
            await service.reply_to_review(conn, who, pk, input.text, datetime.now(UTC))
            return pk
        return await mutate(info, ReviewPayload, act, lambda pk: _review_payload(info, pk))


@strawberry.type
class ReviewSubscription:
    @strawberry.subscription(permission_classes=[IsStaff], description=(
        "Live review events of your merchant (merchant staff) or of every merchant (admins)."))
    async def merchant_review_events(self, info: Info) -> AsyncGenerator[ReviewEvent, None]:
        async for ev in live_events(info, "review"):
            yield ReviewEvent.from_event(ev)
