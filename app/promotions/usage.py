"""What a placed order takes from promotions, and gives back when it is cancelled unpaid: the
buyer's coupons (USED by the payment order) and promotion budgets and per-buyer units
(`promotion_usages`). Promotions own these tables; orders call these functions.

Each take is a guarded UPDATE, so a checkout that lost a race for a coupon or the last of a
budget learns it (False) and nothing oversteps; each give-back changes only what is still taken,
so giving back twice changes nothing. Coupons are taken before budgets, as are they given back:
placements and cancellations never wait on each other in a cycle.
"""

from datetime import datetime

import asyncpg


async def use_coupons(conn: asyncpg.Connection, buyer_id: int, coupon_ids: list[int], payment_order_id: int,
                      now: datetime) -> bool:
    """Mark the buyer's coupons USED by the payment order; False when one was no longer usable."""
    if not coupon_ids:
        return True
    used = await conn.fetchval(
        "WITH used AS (UPDATE buyer_coupons SET status = 'USED', used_at = $3, payment_order_id = $4"
        " WHERE id = ANY($1::bigint[]) AND buyer_id = $2 AND status = 'UNUSED' AND expires_at > $3 RETURNING 1)"
        " SELECT count(*) FROM used", coupon_ids, buyer_id, now, payment_order_id)
    return used == len(coupon_ids)


async def take_budgets(conn: asyncpg.Connection, buyer_id: int, payment_order_id: int,
                       usage: dict[int, tuple[int, int]]) -> bool:
    """Record each promotion's (units, amount) used by the payment order and take the amount from
    budgeted promotions; False when a budget would be exceeded. Only budgeted promotions keep a
    running `spent` (a counter every checkout under an unbudgeted promotion would otherwise
    update: one more hot row, and table bloat)."""
    ids = sorted(usage)
    if not ids:
        return True
    return await conn.fetchval(
        "WITH budgeted AS (SELECT id FROM promotions WHERE id = ANY($1::bigint[]) AND budget IS NOT NULL),"
        " taken AS (UPDATE promotions p SET spent = p.spent + u.amount"
        "   FROM unnest($1::bigint[], $2::bigint[]) AS u(id, amount)"
        "   WHERE p.id = u.id AND p.budget IS NOT NULL AND p.spent + u.amount <= p.budget RETURNING 1),"
        " recorded AS (INSERT INTO promotion_usages (payment_order_id, promotion_id, buyer_id, units, amount)"
        "   SELECT $3, u.id, $4, u.units, u.amount FROM unnest($1::bigint[], $5::int[], $2::bigint[])"
        "   AS u(id, units, amount) RETURNING 1)"
        " SELECT (SELECT count(*) FROM budgeted) = (SELECT count(*) FROM taken)",  # WITH writes run regardless
        ids, [usage[i][1] for i in ids], payment_order_id, buyer_id, [usage[i][0] for i in ids])


async def give_back(conn: asyncpg.Connection, payment_order_id: int) -> None:
    """An unpaid payment order was cancelled: its coupons are unused again (expiry still applies),
    its budgets and per-buyer units released."""
    await conn.execute("UPDATE buyer_coupons SET status = 'UNUSED', used_at = NULL, payment_order_id = NULL"
                       " WHERE payment_order_id = $1 AND status = 'USED'", payment_order_id)
    await conn.execute(
        """
        WITH given_back AS (
            UPDATE promotion_usages SET released = true WHERE payment_order_id = $1 AND NOT released
            RETURNING promotion_id, amount)
        UPDATE promotions p SET spent = p.spent - g.amount
        FROM (SELECT * FROM given_back ORDER BY promotion_id) g
        WHERE p.id = g.promotion_id AND g.amount > 0 AND p.budget IS NOT NULL
        """, payment_order_id)
