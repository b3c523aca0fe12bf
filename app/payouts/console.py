"""The merchant console's figures (issue 10 item 7): per day and per product over a date range
(UTC days, both ends included), each one set-based statement, and the merchant score (§10).

| figure | from |
|---|---|
| orders, sales | orders paid on the day (`paid_at`): their count and what buyers paid (`payable`, shipping included); per product the lines' `paid_amount` and units |
| refunds | refunds that succeeded on the day (`settled_at`) for the merchant's orders; per product the refunded lines of after-sales closed on the day |
| commission | SETTLEMENT entries of the merchant: their postings to PLATFORM_COMMISSION (per product: their settlement_lines' order lines) |
| settlement | SETTLEMENT entries of the merchant: what their postings moved into its MERCHANT_AVAILABLE |

The score (0–100, one decimal, half-up) over the last `merchant_score_window_days`:
`0.6 × rating part + 0.4 × after-sale part`, rating part = 20 × mean rating of the window's
reviews (80, i.e. four stars, with none), after-sale part = 100 × (1 − min(1, after-sales ÷ orders
paid)), after-sales counted except cancelled or rejected ones (100 with no orders).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import asyncpg

from app.aftersale.reads import merchant_case_count
from app.errors import DomainError
from app.payouts.errors import PayoutError
from app.reviews.reads import merchant_rating_totals

MAX_DAYS = 366
MAX_PRODUCTS = 500


@dataclass(frozen=True)
class Score:
    score: Decimal
    rating_part: Decimal
    after_sale_part: Decimal
    reviews: int
    mean_rating: Decimal | None
    orders: int
    after_sales: int


def check_range(first: date, last: date) -> None:
    if first > last or (last - first).days >= MAX_DAYS:
        raise DomainError.of(PayoutError.INVALID_DATE_RANGE, f"from ≤ to, at most {MAX_DAYS} days", "from")


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return datetime.combine(first, time(), UTC), datetime.combine(last + timedelta(days=1), time(), UTC)


_DAILY = """
WITH days AS (SELECT d::date AS day FROM generate_series($2::date, $3::date, interval '1 day') d),
sold AS (SELECT (paid_at AT TIME ZONE 'UTC')::date AS day, count(*) AS orders, sum(payable) AS sales
         FROM orders WHERE merchant_id = $1 AND paid_at >= $4 AND paid_at < $5 GROUP BY 1),
refunded AS (SELECT (r.settled_at AT TIME ZONE 'UTC')::date AS day, sum(r.amount) AS refunds
             FROM refunds r JOIN orders o ON o.id = r.order_id
             WHERE o.merchant_id = $1 AND r.status = 'SUCCEEDED' AND r.settled_at >= $4 AND r.settled_at < $5
             GROUP BY 1),
settled AS (SELECT (p.occurred_at AT TIME ZONE 'UTC')::date AS day,
                   -sum(p.amount) FILTER (WHERE p.account = 'PLATFORM_COMMISSION') AS commission,
                   -sum(p.amount) FILTER (WHERE p.account = 'MERCHANT_AVAILABLE' AND p.owner_id = $1) AS settlement
            FROM journal_entries e JOIN postings p ON p.entry_id = e.id
            WHERE e.kind = 'SETTLEMENT' AND e.merchant_id = $1 AND e.occurred_at >= $4 AND e.occurred_at < $5
            GROUP BY 1)
SELECT days.day, coalesce(sold.orders, 0) AS orders, coalesce(sold.sales, 0) AS sales,
       coalesce(refunded.refunds, 0) AS refunds, coalesce(settled.commission, 0) AS commission,
       coalesce(settled.settlement, 0) AS settlement
FROM days LEFT JOIN sold USING (day) LEFT JOIN refunded USING (day) LEFT JOIN settled USING (day)
ORDER BY days.day
"""

_PRODUCTS = """
WITH sold AS (SELECT l.product_id, count(DISTINCT o.id) AS orders, sum(l.quantity) AS units, sum(l.paid_amount) AS sales
              FROM orders o JOIN order_lines l ON l.order_id = o.id
              WHERE o.merchant_id = $1 AND o.paid_at >= $2 AND o.paid_at < $3 GROUP BY 1),
refunded AS (SELECT l.product_id, sum(asl.amount) AS refunds
             FROM after_sales a JOIN after_sale_lines asl ON asl.after_sale_id = a.id
             JOIN order_lines l ON l.id = asl.order_line_id
             WHERE a.merchant_id = $1 AND asl.refunded AND a.closed_at >= $2 AND a.closed_at < $3 GROUP BY 1),
-- a settlement run's entries post one sum per account; their lines (product through the order
-- line) are in settlement_lines (docs/settlement.md); postings that name an order line count too
settled AS (SELECT l.product_id, sum(x.commission) AS commission, sum(x.settlement) AS settlement
            FROM (SELECT p.order_line_id,
                         -sum(p.amount) FILTER (WHERE p.account = 'PLATFORM_COMMISSION') AS commission,
                         -sum(p.amount) FILTER (WHERE p.account = 'MERCHANT_AVAILABLE' AND p.owner_id = $1)
                           AS settlement
                  FROM journal_entries e JOIN postings p ON p.entry_id = e.id
                  WHERE e.kind = 'SETTLEMENT' AND e.merchant_id = $1 AND e.occurred_at >= $2 AND e.occurred_at < $3
                    AND p.order_line_id IS NOT NULL
                  GROUP BY 1
                  UNION ALL
                  SELECT s.order_line_id, s.commission, s.net
                  FROM settlement_lines s JOIN journal_entries e ON e.id = s.entry_id
                  WHERE s.merchant_id = $1 AND s.kind = 'SALE' AND e.occurred_at >= $2 AND e.occurred_at < $3) x
            JOIN order_lines l ON l.id = x.order_line_id
            GROUP BY 1),
touched AS (SELECT product_id FROM sold UNION SELECT product_id FROM refunded UNION SELECT product_id FROM settled)
SELECT touched.product_id, pr.title, coalesce(sold.orders, 0) AS orders, coalesce(sold.units, 0) AS units,
       coalesce(sold.sales, 0) AS sales, coalesce(refunded.refunds, 0) AS refunds,
       coalesce(settled.commission, 0) AS commission, coalesce(settled.settlement, 0) AS settlement
FROM touched JOIN products pr ON pr.id = touched.product_id
LEFT JOIN sold USING (product_id) LEFT JOIN refunded USING (product_id) LEFT JOIN settled USING (product_id)
ORDER BY coalesce(sold.sales, 0) DESC, touched.product_id LIMIT $4
"""


async def daily(conn: asyncpg.Connection, merchant_id: int, first: date, last: date) -> list[asyncpg.Record]:
    check_range(first, last)
    return await conn.fetch(_DAILY, merchant_id, first, last, *_bounds(first, last))


async def by_product(conn: asyncpg.Connection, merchant_id: int, first: date, last: date) -> list[asyncpg.Record]:
    check_range(first, last)
    return await conn.fetch(_PRODUCTS, merchant_id, *_bounds(first, last), MAX_PRODUCTS)


def _half_up(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def score_of(reviews: int, rating_total: int, orders: int, after_sales: int) -> Score:
    """The formula (module docstring), exact in fractions and rounded once."""
    mean = Fraction(rating_total, reviews) if reviews else None
    rating_part = 20 * mean if mean is not None else Fraction(80)
    after_sale_part = 100 * (1 - min(Fraction(1), Fraction(after_sales, orders))) if orders else Fraction(100)
    total = Fraction(3, 5) * rating_part + Fraction(2, 5) * after_sale_part
    return Score(_half_up(total), _half_up(rating_part), _half_up(after_sale_part), reviews,
                 None if mean is None else (Decimal(mean.numerator) / Decimal(mean.denominator)).quantize(
                     Decimal("0.01"), ROUND_HALF_UP), orders, after_sales)


async def score(conn: asyncpg.Connection, merchant_id: int, now: datetime, window_days: int) -> Score:
    since = now - timedelta(days=window_days)
    reviews, total = await merchant_rating_totals(conn, merchant_id, since)
    orders = await conn.fetchval("SELECT count(*) FROM orders WHERE merchant_id = $1 AND paid_at >= $2",
                                 merchant_id, since)
    return score_of(reviews, total, orders, await merchant_case_count(conn, merchant_id, since))
