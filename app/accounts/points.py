"""Points and member levels (DOMAIN §1, docs/accounts.md "Points and levels").

- A completed order earns floor(paid cents / 100) points: 1 per whole yuan of what the buyer
  paid for it, shipping included (its payable less anything refunded before completion).
- A refund confirmed after completion takes points back in proportion: after each refund the
  order's points taken back in total are round-half-up(granted × refunded since the grant /
  paid at the grant). Computing the total from the cumulative refund (not each refund's own
  share) means rounding never drifts: the take-backs never exceed the grant, and a full refund
  takes back exactly the grant.
- Lifetime points are the points an account has earned and kept (grants − take-backs); the
  level is the threshold lookup of lifetime points, so a take-back can lower it (a refunded
  purchase never counted). `points` is the spendable balance: equal to lifetime today, apart
  once points can be redeemed.

Every change is a `points_ledger` row (one grant per order, one take-back per refunded total
reached, both unique), the buyer's totals and level in the same transaction as the order
change that caused it, a POINTS_CHANGED event (topic "account") and, when the level rises, a
buyer notification.
"""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.events import emit_many

# lifetime points at which each level starts: level 0 below 1,000, level 1 from 1,000, …
LEVEL_THRESHOLDS: tuple[int, ...] = (0, 1_000, 5_000, 20_000, 50_000)
GRANT, TAKE_BACK = "ORDER_COMPLETED", "REFUND_TAKEN_BACK"


def level_for(lifetime_points: int) -> int:
    return bisect.bisect_right(LEVEL_THRESHOLDS, lifetime_points) - 1


def points_for(paid_cents: int) -> int:
    """1 point per whole yuan paid."""
    return max(paid_cents, 0) // 100


def taken_back_total(granted: int, basis: int, refunded_since: int) -> int:
    """Points an order has given back in total once `refunded_since` cents of the `basis` it
    earned `granted` on are refunded: half-up, never more than the grant."""
    if basis <= 0 or refunded_since <= 0:
        return 0
    refunded_since = min(refunded_since, basis)
    return min(granted, (2 * granted * refunded_since + basis) // (2 * basis))


@dataclass(frozen=True)
class PaidOrder:
    """An order as completion sees it: whose, and what was paid for it (payable − refunded)."""
    order_id: int
    buyer_id: int
    paid: int


@dataclass
class _Balance:
    points: int
    lifetime: int
    level: int
    start_level: int


async def _lock_buyers(conn: asyncpg.Connection, buyer_ids: Sequence[int]) -> dict[int, _Balance]:
    """In id order, so two batches never wait on each other in a cycle."""
    rows = await conn.fetch("SELECT id, points, lifetime_points, member_level FROM buyers"
                            " WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", sorted(set(buyer_ids)))
    return {r["id"]: _Balance(r["points"], r["lifetime_points"], r["member_level"], r["member_level"]) for r in rows}


async def credit_completed(conn: asyncpg.Connection, orders: Sequence[PaidOrder], now: datetime) -> None:
    """The completion hook (app/orders/service.complete_due), in its transaction: each order's
    points once, however often completion runs."""
    earning = [o for o in orders if points_for(o.paid) > 0]
    if not earning:
        return
    balances = await _lock_buyers(conn, [o.buyer_id for o in earning])
    credited = {r["order_id"] for r in await conn.fetch(
        "SELECT order_id FROM points_ledger WHERE order_id = ANY($1::bigint[]) AND kind = $2",
        [o.order_id for o in earning], GRANT)}
    entries = []
    for o in sorted(earning, key=lambda o: o.order_id):
        if o.order_id in credited or o.buyer_id not in balances:
            continue
        b = balances[o.buyer_id]
        points = points_for(o.paid)
        b.points += points
        b.lifetime += points
        b.level = level_for(b.lifetime)
        entries.append((o.buyer_id, o.order_id, GRANT, points, o.paid, 0, b.level))
    await _record(conn, entries, balances, now)


async def take_back_refunded(conn: asyncpg.Connection, order_id: int, buyer_id: int, payable: int,
                             refunded_total: int, now: datetime) -> None:
    """The refund hook (app/orders/service.count_refund), in its transaction, after the order's
    refunded total became `refunded_total`: nothing unless the order was credited points."""
    grant = await conn.fetchrow("SELECT points, basis FROM points_ledger WHERE order_id = $1 AND kind = $2",
                                order_id, GRANT)
    if grant is None:
        return
    balances = await _lock_buyers(conn, [buyer_id])
    already = -(await conn.fetchval("SELECT coalesce(sum(points), 0)::bigint FROM points_ledger"
                                    " WHERE order_id = $1 AND kind = $2", order_id, TAKE_BACK))
    refunded_since = refunded_total - (payable - grant["basis"])
    due = taken_back_total(grant["points"], grant["basis"], refunded_since) - already
    if due <= 0 or buyer_id not in balances:
        return
    b = balances[buyer_id]
    b.points -= due
    b.lifetime -= due
    b.level = level_for(b.lifetime)
    await _record(conn, [(buyer_id, order_id, TAKE_BACK, -due, grant["basis"], refunded_total, b.level)],
                  balances, now)


async def _record(conn: asyncpg.Connection, entries: list[tuple], balances: dict[int, _Balance],
                  now: datetime) -> None:
    """Ledger rows, the buyers' new totals and levels, events, level-up notices."""
    if not entries:
        return
    await conn.execute(
        "INSERT INTO points_ledger (buyer_id, order_id, kind, points, basis, refunded, level_after, created_at)"
        " SELECT *, $8::timestamptz FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[],"
        " $6::bigint[], $7::int[])", *map(list, zip(*entries)), now)
    changed = sorted({e[0] for e in entries})
    await conn.execute(
        "UPDATE buyers b SET points = t.points, lifetime_points = t.lifetime, member_level = t.level"
        " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[]) AS t(id, points, lifetime, level)"
        " WHERE b.id = t.id", changed, [balances[i].points for i in changed],
        [balances[i].lifetime for i in changed], [balances[i].level for i in changed])
    risen = [i for i in changed if balances[i].level > balances[i].start_level]
    if risen:
        await conn.execute(
            "INSERT INTO buyer_notifications (buyer_id, channel, template, payload)"
            " SELECT t.id, 'PUSH', 'MEMBER_LEVEL_UP', jsonb_build_object('from', t.from_level, 'to', t.to_level)"
            " FROM unnest($1::bigint[], $2::int[], $3::int[]) AS t(id, from_level, to_level)",
            risen, [balances[i].start_level for i in risen], [balances[i].level for i in risen])
    await emit_many(conn, "account", [
        ("POINTS_CHANGED", {"buyer_id": buyer_id, "order_id": order_id, "kind": kind, "points": points,
                            "balance": balances[buyer_id].points, "level": level}, None)
        for buyer_id, order_id, kind, points, _, _, level in entries])


async def account_of(conn: asyncpg.Connection, buyer_id: int) -> asyncpg.Record:
    """The buyer's points, lifetime points and level."""
    return await conn.fetchrow("SELECT points, lifetime_points, member_level FROM buyers WHERE id = $1", buyer_id)


async def history_of(conn: asyncpg.Connection, buyer_id: int, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """The buyer's points ledger, newest first."""
    return await conn.fetch(
        "SELECT id, order_id, kind, points, level_after, created_at FROM points_ledger"
        " WHERE buyer_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        buyer_id, after_id, limit)
