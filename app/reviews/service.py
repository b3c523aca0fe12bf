"""Reviews (DOMAIN §2, §5; docs/reviews.md): once the order is received, its buyer rates each
order line once (1–5, text, images); the product's rating sum and count move in the same
transaction (app/catalog/ratings.py), and when every reviewable line of the order is reviewed
its review sub-status becomes DONE (app/orders/service.py `mark_reviewed`), which empties the
待评价 tab. The merchant replies once to a review of its own products.

Reviewable: orders RECEIVED or COMPLETED (a CLOSED order was refunded in full), lines that are
not gifts and not refunded in full through after-sales (asked of app/aftersale). The order row is locked first, so two reviews of one order landing together see
each other when they decide whether the order is done.
"""

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from app.aftersale.units import refunded_units
from app.auth.principal import Principal
from app.catalog.ratings import add_rating
from app.errors import CommonError, DomainError, NotFound
from app.events import emit
from app.orders.service import mark_reviewed
from app.reviews.errors import ReviewError
from app.uploads.service import UploadPurpose, attach

MAX_TEXT = 500
MAX_IMAGES = 9
REVIEWABLE_STATUSES = ("RECEIVED", "COMPLETED")
ANONYMOUS = "匿名用户"


def masked_name(nickname: str) -> str:
    """What the public sees of a reviewer: the first and last characters of the nickname."""
    name = nickname.strip()
    if not name:
        return ANONYMOUS
    return f"{name[0]}***" if len(name) == 1 else f"{name[0]}***{name[-1]}"


def _text(value: str, field: str, required: bool = False) -> str:
    text = value.strip()
    if "\x00" in text:
        raise DomainError.of(CommonError.INVALID_VALUE, "text must not contain NUL characters", field)
    if len(text) > MAX_TEXT:
        raise DomainError.of(ReviewError.TEXT_TOO_LONG, f"at most {MAX_TEXT} characters", field)
    if required and not text:
        raise DomainError.of(CommonError.INVALID_VALUE, "write a reply", field)
    return text


async def create_review(conn: asyncpg.Connection, buyer_id: int, order_line_id: int, rating: int, text: str,
                        image_ids: Sequence[int], now: datetime) -> int:
    line = await conn.fetchrow(
        "SELECT l.order_id, l.product_id, l.spec_label, l.quantity, l.gift_of_promotion_id, o.buyer_id, o.merchant_id,"
        " o.status"
        " FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.id = $1 FOR UPDATE OF o", order_line_id)
    if line is None or line["buyer_id"] != buyer_id:
        raise NotFound.of(CommonError.NOT_FOUND, "order line not found", "orderLineId")
    if line["status"] not in REVIEWABLE_STATUSES:
        raise DomainError.of(ReviewError.NOT_RECEIVED, "review an order once it is received", "orderLineId")
    if line["gift_of_promotion_id"] is not None:
        raise DomainError.of(ReviewError.NOT_REVIEWABLE, "gifts are not reviewed", "orderLineId")
    if (await refunded_units(conn, [order_line_id])).get(order_line_id, 0) >= line["quantity"]:
        raise DomainError.of(ReviewError.REFUNDED, "every unit of this line was refunded", "orderLineId")
    if not 1 <= rating <= 5:
        raise DomainError.of(ReviewError.INVALID_RATING, "rating is 1 to 5", "rating")
    body = _text(text, "text")
    if len(image_ids) > MAX_IMAGES:
        raise DomainError.of(CommonError.TOO_MANY, f"at most {MAX_IMAGES} images", "imageIds")
    if len(set(image_ids)) != len(image_ids):
        raise DomainError.of(CommonError.INVALID_VALUE, "an image is given twice", "imageIds")
    review_id = await conn.fetchval(
        "INSERT INTO reviews (order_line_id, order_id, product_id, merchant_id, buyer_id, rating, body, spec_label,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (order_line_id) DO NOTHING RETURNING id",
        order_line_id, line["order_id"], line["product_id"], line["merchant_id"], buyer_id, rating, body,
        line["spec_label"], now)
    if review_id is None:
        raise DomainError.of(ReviewError.ALREADY_REVIEWED, "this line is reviewed already", "orderLineId")
    actor = f"buyer:{buyer_id}"
    if image_ids:
        await attach(conn, actor, list(image_ids), UploadPurpose.REVIEW_IMAGE, None, public=True, field=("imageIds",))
        await conn.execute("INSERT INTO review_images (review_id, position, upload_id)"
                           " SELECT $1, p - 1, u FROM unnest($2::bigint[]) WITH ORDINALITY AS t(u, p)",
                           review_id, list(image_ids))
    await add_rating(conn, line["product_id"], rating)
    await _done_if_all_reviewed(conn, line["order_id"], actor)
    await emit(conn, "review", "REVIEW_CREATED",
               {"review_id": review_id, "order_id": line["order_id"], "order_line_id": order_line_id,
                "product_id": line["product_id"], "rating": rating}, merchant_id=line["merchant_id"])
    return review_id


async def _done_if_all_reviewed(conn: asyncpg.Connection, order_id: int, actor: str) -> None:
    """The order's review status is DONE once each line that is neither a gift nor refunded in
    full has its review (the caller holds the order's lock)."""
    waiting = await conn.fetch(
        "SELECT l.id, l.quantity FROM order_lines l WHERE l.order_id = $1 AND l.gift_of_promotion_id IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.order_line_id = l.id)", order_id)
    refunded = await refunded_units(conn, [w["id"] for w in waiting]) if waiting else {}
    if all(refunded.get(w["id"], 0) >= w["quantity"] for w in waiting):
        await mark_reviewed(conn, order_id, actor)


async def line_refunded(conn: asyncpg.Connection, order_id: int, actor: str) -> None:
    """An after-sale refunded units of the order (its order row locked by the refund): a line
    refunded in full no longer holds up the review status, so the other lines may have finished
    it. Orders not received (or closed) are left as they are."""
    status = await conn.fetchval("SELECT status FROM orders WHERE id = $1 FOR UPDATE", order_id)
    if status in REVIEWABLE_STATUSES:
        await _done_if_all_reviewed(conn, order_id, actor)


async def reply_to_review(conn: asyncpg.Connection, principal: Principal, review_id: int, text: str,
                          now: datetime) -> None:
    """The merchant's one reply; a review of another merchant's product is not found."""
    review = await conn.fetchrow("SELECT merchant_id, product_id, reply IS NOT NULL AS replied FROM reviews"
                                 " WHERE id = $1 FOR UPDATE", review_id)
    if review is None or not principal.can_manage_merchant(review["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, "review not found", "reviewId")
    reply = _text(text, "text", required=True)
    if review["replied"]:
        raise DomainError.of(ReviewError.ALREADY_REPLIED, "this review has its reply", "reviewId")
    await conn.execute("UPDATE reviews SET reply = $2, replied_by = $3, replied_at = $4 WHERE id = $1",
                       review_id, reply, principal.subject, now)
    await emit(conn, "review", "REVIEW_REPLIED", {"review_id": review_id, "product_id": review["product_id"]},
               merchant_id=review["merchant_id"])
