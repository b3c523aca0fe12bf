"""Moving an after-sale case (no money here, so payments may call it): the AFTER_SALE machine's
move plus what follows every move — the buyer's notification, the lines freed when a case ends,
the order's after-sale sub-status (IN_PROGRESS while any case of it is open, DONE when the
last one closes), and, on a refund, the order's review status (a line refunded in full is no
longer waited for). `refund_settled` is what the payment domain calls when a case's refund
succeeded."""

from datetime import datetime

import asyncpg

from app.aftersale.status import AFTER_SALE_MACHINE, BUYER_NOTICES, FINAL, AfterSaleAction, AfterSaleStatus
from app.orders import service as orders
from app.reviews import service as reviews

A, S = AfterSaleAction, AfterSaleStatus
# a column an action stamps with the time of the move
_STAMPS = {A.APPROVE: "decided_at", A.REJECT: "decided_at", A.OVERRULE: "decided_at",
           A.SHIP_RETURN: "return_shipped_at"}


async def move(conn: asyncpg.Connection, case_ids: list[int], action: AfterSaleAction, now: datetime, actor: str,
               reason: str | None = None, sets: str = "", args: tuple = ()) -> list[asyncpg.Record]:
    """Move the cases still in a status `action` leaves; `sets` (SQL) may use $6 onwards. A CLOSE
    keeps `reason` as the case's close reason. Returns their rows before the move (the others
    left out)."""
    target = AFTER_SALE_MACHINE.transitions[action][1]
    # t: the state machine's alias of the table in its UPDATE
    stamps = ["updated_at = $4", "close_reason = COALESCE($5, t.close_reason)"]
    if action in _STAMPS:
        stamps.append(f"{_STAMPS[action]} = $4")
    if target in FINAL:
        stamps.append("closed_at = $4")
    rows = await AFTER_SALE_MACHINE.move(
        conn, case_ids, action, actor=actor, reason=reason, sets=", ".join([*stamps, *([sets] if sets else [])]),
        args=(now, reason if action == A.CLOSE else None, *args),
        payload=lambda r: {"order_id": r["order_id"], "buyer_id": r["buyer_id"], "kind": r["kind"]})
    if not rows:
        return rows
    channel = BUYER_NOTICES.get(target)
    if channel:
        await conn.execute(
            "INSERT INTO buyer_notifications (buyer_id, order_id, channel, template, payload)"
            " SELECT t.buyer_id, t.order_id, $4, $5, jsonb_build_object('after_sale_id', t.id, 'reason', $6::text)"
            " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t(buyer_id, order_id, id)",
            [r["buyer_id"] for r in rows], [r["order_id"] for r in rows], [r["id"] for r in rows], channel,
            f"AFTER_SALE_{target.value}", reason)
    if target in FINAL:
        await conn.execute("UPDATE after_sale_lines SET open = false, refunded = $2 WHERE after_sale_id = ANY($1)",
                           [r["id"] for r in rows], target == S.REFUNDED)
        for order_id in sorted({r["order_id"] for r in rows}):
            await sync_order(conn, order_id)
            if target == S.REFUNDED:
                await reviews.line_refunded(conn, order_id, actor)
    return rows


async def sync_order(conn: asyncpg.Connection, order_id: int) -> None:
    """The order's after-sale sub-status from its cases."""
    open_case = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM after_sales WHERE order_id = $1"
                                    " AND status <> ALL($2::text[]))", order_id, [s.value for s in FINAL])
    await orders.set_aftersale_status(conn, order_id, open_case)


async def refund_settled(conn: asyncpg.Connection, after_sale_id: int, now: datetime, actor: str) -> None:
    """The provider confirmed the case's refund: REFUNDED (once; a replay finds it moved on)."""
    await move(conn, [after_sale_id], A.SETTLE, now, actor)
