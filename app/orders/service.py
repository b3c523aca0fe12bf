"""Order status changes after placement (DOMAIN §5): payment, cancellation before payment (buyer
or timeout), shipment, receipt, completion and closing after a full refund.

Each change is `ORDER_MACHINE.move` (app/state_machine.py): a guarded
`UPDATE … WHERE status = ANY($from)` on rows the caller locked (payment order first, then its
orders), history rows and outbox events in the same transaction, so a change applied twice — a retried job, a duplicate callback, a timeout racing a
payment — has exactly one effect: the second finds the status moved on and changes nothing.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg

from app.accounts import points
from app.auth.principal import Principal
from app.catalog import reservations
from app.credit import repayments as credit_repayments
from app.errors import CommonError, DomainError, NotFound
from app.events import emit
from app.fulfilment import shipments
from app.ledger import postings as ledger
from app.merchants import deposits as merchant_deposits
from app.orders.errors import OrderError
from app.orders.status import ORDER_MACHINE, SUB_STATUSES, OrderEvent, OrderStatus
from app.promotions import usage as promotion_usage

# order changes the buyer is told about (DOMAIN §12 buyer notification outbox), and how
BUYER_NOTICES: dict[OrderEvent, str] = {
    OrderEvent.PAY: "PUSH", OrderEvent.SHIP: "SMS", OrderEvent.CANCEL: "PUSH", OrderEvent.CLOSE: "PUSH",
    OrderEvent.DELIVER: "SMS",
}


async def _move(conn: asyncpg.Connection, order_ids: list[int], event: OrderEvent, at_column: str, now: datetime,
                actor: str, reason: str | None = None, extra_sets: str = "", extra_args: tuple = (),
                only_if: str = "true", extra: dict | None = None,
                per_order: dict[int, dict] | None = None) -> list[asyncpg.Record]:
    """Move the orders that are still in a status `event` leaves (and meet `only_if`) through
    `ORDER_MACHINE`: its sub-statuses and `at_column` set (`extra_sets` may use $5 onwards), one
    history row and one ORDER_<status> event per order (`per_order` adds to one order's
    payload), and for the changes buyers hear about one buyer notification per order, all
    set-based. Returns their rows *before* the change."""
    sets = ", ".join([*(f"{k} = '{v}'" for k, v in SUB_STATUSES.get(event, {}).items()), f"{at_column} = $4",
                      *([extra_sets] if extra_sets else [])])
    orders = await ORDER_MACHINE.move(
        conn, order_ids, event, actor=actor, reason=reason, sets=sets, args=(now, *extra_args), only_if=only_if,
        payload=lambda o: {"payment_order_id": o["payment_order_id"], "buyer_id": o["buyer_id"],
                           "payable": o["payable"], **(extra or {}), **(per_order or {}).get(o["id"], {})})
    channel = BUYER_NOTICES.get(event)
    if channel and orders:
        await conn.execute(
            "INSERT INTO buyer_notifications (buyer_id, order_id, channel, template, payload)"
            " SELECT t.buyer_id, t.order_id, $3, $4, jsonb_build_object('order_id', t.order_id, 'reason', $5::text,"
            "   'extra', $6::jsonb)"
            " FROM unnest($1::bigint[], $2::bigint[]) AS t(buyer_id, order_id)",
            [o["buyer_id"] for o in orders], [o["id"] for o in orders], channel, f"ORDER_{event.value}", reason,
            extra or {})
    return orders


async def lock_payment_order(conn: asyncpg.Connection, payment_order_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM payment_orders WHERE id = $1 FOR UPDATE", payment_order_id)


async def order_ids_of(conn: asyncpg.Connection, payment_order_ids: list[int]) -> list[int]:
    """The orders (one per merchant) of payment orders, by id."""
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM orders WHERE payment_order_id = ANY($1::bigint[]) ORDER BY id", payment_order_ids)]


async def mark_paid(conn: asyncpg.Connection, payment_order_id: int, now: datetime, actor: str,
                    payment_id: int | None = None) -> bool:
    """PENDING_PAYMENT → PAID for one payment order (see `mark_paid_many`); False (and no change)
    when it is no longer pending."""
    return bool(await mark_paid_many(conn, [(payment_order_id, payment_id)], now, actor))


async def mark_paid_many(conn: asyncpg.Connection, paid: list[tuple[int, int | None]], now: datetime,
                         actor: str) -> set[int]:
    """PENDING_PAYMENT → PAID for payment orders (each paid by its payment; None when there was
    nothing to pay) and their orders, in a constant number of statements: stock stays reserved
    and each order gets its shipments (app/fulfilment), named in its ORDER_PAID event (which
    starts their pushes); the event also says whether the order is a top-up (`virtual`), so the
    top-up job starts for those only without a lookup. Returns the payment orders that moved;
    the others were no longer pending and are left as they are."""
    rows = await conn.fetch(
        "UPDATE payment_orders po SET status = 'PAID', paid_at = $3, paid_by_payment_id = t.payment_id"
        " FROM unnest($1::bigint[], $2::bigint[]) AS t(id, payment_id)"
        " WHERE po.id = t.id AND po.status = 'PENDING_PAYMENT' RETURNING po.id, po.kind, po.merchant_id, po.payable",
        [p for p, _ in paid], [pay for _, pay in paid], now)
    moved = {r["id"] for r in rows}
    if not moved:
        return moved
    deposits = [r for r in rows if r["kind"] == "DEPOSIT"]
    if deposits:     # a merchant's deposit (app/orders/deposits.py): no goods, the shop opens
        await merchant_deposits.deposits_paid(conn, deposits, now, actor)
    repaid = [r["id"] for r in rows if r["kind"] == "REPAYMENT"]
    if repaid:       # a credit repayment (app/orders/repayments.py): no goods, the bills are paid
        await credit_repayments.repayments_paid(conn, repaid, now)
    order_ids = await order_ids_of(conn, list(moved))
    parcels = await shipments.create_for_orders(conn, order_ids, now, actor)
    virtual = {r["order_id"] for r in await conn.fetch(
        "SELECT DISTINCT l.order_id FROM order_lines l JOIN products p ON p.id = l.product_id"
        " WHERE l.order_id = ANY($1::bigint[]) AND p.fulfillment_type = 'VIRTUAL'", order_ids)}
    await _move(conn, order_ids, OrderEvent.PAY, "paid_at", now, actor,
                per_order={o: {"shipments": parcels.get(o, []), "virtual": o in virtual} for o in order_ids})
    # the money goes from clearing onto each merchant's pending with the paid status (app/ledger)
    await ledger.split(conn, order_ids, now)
    return moved


async def cancel_unpaid(conn: asyncpg.Connection, payment_order_id: int, now: datetime, actor: str,
                        reason: str) -> bool:
    """PENDING_PAYMENT → CANCELLED, giving back everything placement took: stock reservations,
    coupons (unused again; expiry still applies) and promotion budgets and per-buyer units.
    False (and no change) when the payment order is no longer pending."""
    moved = await conn.fetchval(
        "UPDATE payment_orders SET status = 'CANCELLED', cancelled_at = $2 WHERE id = $1 AND status = 'PENDING_PAYMENT'"
        " RETURNING id", payment_order_id, now)
    if moved is None:
        return False
    await credit_repayments.repayment_cancelled(conn, payment_order_id, now)     # if it was one
    order_ids = await order_ids_of(conn, [payment_order_id])
    await _move(conn, order_ids, OrderEvent.CANCEL, "cancelled_at", now, actor, reason, "cancel_reason = $5", (reason,))
    # coupons, then budgets, then stock: the order placement takes them in, so a cancellation and
    # a placement never wait on each other in a cycle
    await promotion_usage.give_back(conn, payment_order_id)
    await reservations.release_for_orders(conn, order_ids)
    return True


async def cancel_by_buyer(conn: asyncpg.Connection, principal: Principal, order_id: int, now: datetime) -> None:
    """A buyer cancels an unpaid order: the whole checkout (every merchant's order of the
    payment order) is cancelled, since it is paid at once."""
    row = await conn.fetchrow("SELECT payment_order_id, status FROM orders WHERE id = $1 AND buyer_id = $2",
                              order_id, principal.id)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "order not found", "orderId")
    await lock_payment_order(conn, row["payment_order_id"])
    if not await cancel_unpaid(conn, row["payment_order_id"], now, principal.subject, "BUYER_CANCELLED"):
        await _refuse(conn, order_id, OrderEvent.CANCEL)


async def cancel_one_due(conn: asyncpg.Connection, now: datetime) -> bool:
    """The payment-timeout job's step: cancel one unpaid payment order past its deadline (False:
    none left). SKIP LOCKED lets several workers share the work, the conditional update makes the
    cancellation happen once even against a payment callback applied at the same moment; and one
    payment order per transaction keeps a cancellation's locks in placement's order (coupons,
    budgets, stock by SKU) — a batch would hold one order's stock while taking the next's."""
    due = await conn.fetchval("SELECT id FROM payment_orders WHERE status = 'PENDING_PAYMENT' AND expires_at <= $1"
                              " ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED", now)
    return due is not None and await cancel_unpaid(conn, due, now, "system:timeout", "PAYMENT_TIMEOUT")


async def ship(conn: asyncpg.Connection, principal: Principal, order_id: int, carrier: str, tracking_number: str,
               now: datetime) -> None:
    """The merchant ships a paid order from the console: its MERCHANT parcels leave with the
    carrier and tracking number given (app/fulfilment: stock deducted, the order SHIPPED once
    every parcel has left). Not while the buyer's refund of it is under way (its stock is
    already released)."""
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not 1 <= len(carrier) <= 50 or not 1 <= len(tracking_number) <= 50:
        raise DomainError.of(OrderError.INVALID_TRACKING, "give a carrier and a tracking number of 1 to 50 characters",
                             "trackingNumber")
    order = await conn.fetchrow("SELECT merchant_id, aftersale_status FROM orders WHERE id = $1 FOR UPDATE", order_id)
    if order is None or not principal.can_manage_merchant(order["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, "order not found", "orderId")
    if order["aftersale_status"] == "IN_PROGRESS":
        raise DomainError.of(OrderError.AFTERSALE_IN_PROGRESS, "the buyer is being refunded for this order", "orderId")
    if not await shipments.ship_merchant_parcels(conn, order_id, carrier, tracking_number, now, principal.subject):
        await _refuse(conn, order_id, OrderEvent.SHIP)


async def lock_order(conn: asyncpg.Connection, order_id: int) -> None:
    """Fulfilment's parcels of one order change under the order's lock (app/fulfilment/shipments)."""
    await conn.execute("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", order_id)


async def mark_shipped(conn: asyncpg.Connection, order_id: int, carrier: str | None, tracking_number: str | None,
                       now: datetime, actor: str) -> bool:
    """PAID → SHIPPED once every parcel has left (app/fulfilment decides), with the first
    parcel's carrier and tracking number; False when it had moved on."""
    return bool(await _move(conn, [order_id], OrderEvent.SHIP, "shipped_at", now, actor, None,
                            "carrier = $5, tracking_number = $6", (carrier, tracking_number),
                            extra={"carrier": carrier, "tracking_number": tracking_number}))


async def mark_signed(conn: asyncpg.Connection, order_id: int, now: datetime, actor: str) -> bool:
    """Every parcel of a shipped order was signed for: the logistics sub-status becomes SIGNED
    (the system status stays SHIPPED: receipt is the buyer's confirmation or the auto-confirm),
    with a history row, an ORDER_SIGNED event and a buyer notification; False when it was."""
    order = await conn.fetchrow("UPDATE orders SET logistics_status = 'SIGNED' WHERE id = $1 AND status = 'SHIPPED'"
                                " AND logistics_status = 'SHIPPED' RETURNING *", order_id)
    if order is None:
        return False
    await conn.execute("INSERT INTO order_status_history (order_id, from_status, to_status, actor, reason, at)"
                       " VALUES ($1, 'SHIPPED', 'SHIPPED', $2, 'SIGNED', $3)", order_id, actor, now)
    await emit(conn, "order", "ORDER_SIGNED",
               {"order_id": order_id, "payment_order_id": order["payment_order_id"], "buyer_id": order["buyer_id"],
                "from": "SHIPPED", "to": "SHIPPED", "payable": order["payable"], "actor": actor, "reason": "SIGNED"},
               merchant_id=order["merchant_id"])
    await conn.execute("INSERT INTO buyer_notifications (buyer_id, order_id, channel, template, payload)"
                       " VALUES ($1, $2, 'PUSH', 'ORDER_SIGNED', jsonb_build_object('order_id', $2::bigint))",
                       order["buyer_id"], order_id)
    return True


async def confirm_receipt(conn: asyncpg.Connection, buyer_id: int, order_id: int, now: datetime) -> None:
    """SHIPPED → RECEIVED by the buyer, for their own order only."""
    if await conn.fetchval("SELECT buyer_id FROM orders WHERE id = $1", order_id) != buyer_id:
        raise NotFound.of(CommonError.NOT_FOUND, "order not found", "orderId")
    if not await _receive(conn, [order_id], now, f"buyer:{buyer_id}"):
        await _refuse(conn, order_id, OrderEvent.RECEIVE)


async def confirm_due_receipts(conn: asyncpg.Connection, now: datetime, shipped_before: datetime,
                               limit: int = 200) -> int:
    """The auto-confirm job: orders shipped before `shipped_before` are received."""
    due = await conn.fetch("SELECT id FROM orders WHERE status = 'SHIPPED' AND shipped_at <= $1"
                           " ORDER BY shipped_at LIMIT $2 FOR UPDATE SKIP LOCKED", shipped_before, limit)
    return await _receive(conn, [r["id"] for r in due], now, "system:auto-confirm")


async def _receive(conn: asyncpg.Connection, order_ids: list[int], now: datetime, actor: str) -> int:
    return len(await _move(conn, order_ids, OrderEvent.RECEIVE, "received_at", now, actor))


async def complete_due(conn: asyncpg.Connection, now: datetime, received_before: datetime, limit: int = 200) -> int:
    """The completion job: orders received before `received_before` (the review window over) and
    with no after-sale open are COMPLETED — eligible for settlement, and no longer a new user's."""
    due = await conn.fetch("SELECT id FROM orders WHERE status = 'RECEIVED' AND received_at <= $1"
                           " AND aftersale_status <> 'IN_PROGRESS' ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED",
                           received_before, limit)
    completed = await _move(conn, [r["id"] for r in due], OrderEvent.COMPLETE, "completed_at", now,
                            "system:review-window", only_if="aftersale_status <> 'IN_PROGRESS'")
    await points.credit_completed(conn, [points.PaidOrder(o["id"], o["buyer_id"], o["payable"] - o["refunded_amount"])
                                         for o in completed], now)
    return len(completed)


async def close_refunded(conn: asyncpg.Connection, order_id: int, now: datetime, actor: str, reason: str) -> bool:
    """A fully refunded order is CLOSED (after-sale DONE) with its history row and event; False
    when it is not in a status CLOSE leaves (e.g. already closed) or not fully refunded."""
    return bool(await _move(conn, [order_id], OrderEvent.CLOSE, "closed_at", now, actor, reason,
                            only_if="refunded_amount = payable"))


async def count_refund(conn: asyncpg.Connection, order_id: int, amount: int, now: datetime, actor: str,
                       reason: str) -> None:
    """The provider confirmed `amount` back for the order: PARTIALLY_REFUNDED, or REFUNDED and
    then CLOSED. Points the order earned at completion are taken back in proportion."""
    order = await conn.fetchrow(
        "UPDATE orders SET refunded_amount = refunded_amount + $2,"
        " payment_status = CASE WHEN refunded_amount + $2 = payable THEN 'REFUNDED' ELSE 'PARTIALLY_REFUNDED' END"
        " WHERE id = $1 RETURNING refunded_amount, payable, buyer_id, status", order_id, amount)
    if order["status"] == OrderStatus.COMPLETED:
        await points.take_back_refunded(conn, order_id, order["buyer_id"], order["payable"],
                                        order["refunded_amount"], now)
    if order["refunded_amount"] == order["payable"]:
        await close_refunded(conn, order_id, now, actor, reason)


async def cancel_paid(conn: asyncpg.Connection, buyer_id: int, order_id: int,
                      refund: Callable[[int, int], Awaitable[asyncpg.Record]]) -> asyncpg.Record:
    """The buyer cancels a paid order before shipment (REFUND_ONLY): `refund(payment id, amount)`
    (payments' refund primitive) refunds its payable from the payment that paid it, its stock
    goes back, its shipments are cancelled, and it shows as an after-sale in progress
    until the refund succeeds and closes it. Virtual goods have no after-sale (DOMAIN §0, §9): a
    top-up is delivered at once. Returns the refund."""
    owner = await conn.fetchrow("SELECT payment_order_id FROM orders WHERE id = $1 AND buyer_id = $2",
                                order_id, buyer_id)
    if owner is None:
        raise NotFound.of(CommonError.NOT_FOUND, "order not found", "orderId")
    po = await lock_payment_order(conn, owner["payment_order_id"])     # payment order first, like every path
    assert po is not None, "an order's payment order exists (foreign key)"
    order = await conn.fetchrow("SELECT * FROM orders WHERE id = $1 FOR UPDATE", order_id)
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM order_lines l JOIN products p ON p.id = l.product_id"
                           " WHERE l.order_id = $1 AND p.fulfillment_type = 'VIRTUAL')", order_id):
        raise DomainError.of(OrderError.VIRTUAL_NO_AFTERSALE, "virtual goods cannot be cancelled once paid",
                             "orderId")
    if order["status"] != OrderStatus.PAID or order["logistics_status"] != "PENDING":
        raise DomainError.of(CommonError.INVALID_TRANSITION,
                             "only a paid order that has not shipped can be cancelled for a refund", "orderId")
    if order["aftersale_status"] != "NONE":
        raise DomainError.of(OrderError.AFTERSALE_IN_PROGRESS, "this order already has an after-sale request",
                             "orderId")
    return await _refund_unshipped(conn, po, order, refund, f"buyer:{buyer_id}", "BUYER_CANCELLED")


async def _refund_unshipped(conn: asyncpg.Connection, po: asyncpg.Record, order: asyncpg.Record,
                            refund: Callable[[int, int], Awaitable[asyncpg.Record]], actor: str,
                            reason: str) -> asyncpg.Record:
    """Refund a paid order that never left (its payment order and it locked): the refund of what
    is left of its payable, its stock back, its fulfilment request cancelled, and the after-sale
    sub-status IN_PROGRESS until the refund succeeds and closes it."""
    order_id = order["id"]
    refunded = await refund(po["paid_by_payment_id"], order["payable"] - order["refunded_amount"])
    await reservations.release_for_orders(conn, [order_id])
    await conn.execute("UPDATE orders SET aftersale_status = 'IN_PROGRESS', cancel_reason = $2"
                       " WHERE id = $1", order_id, reason)
    await shipments.cancel_for_order(conn, order_id, datetime.now(UTC), actor, reason)
    # the system status stays PAID until the refund settles; the history still shows who asked, when
    await conn.execute("INSERT INTO order_status_history (order_id, from_status, to_status, actor, reason)"
                       " VALUES ($1, $2, $2, $3, 'REFUND_REQUESTED')", order_id, order["status"], actor)
    await emit(conn, "order", "ORDER_REFUND_REQUESTED",
               {"order_id": order_id, "payment_order_id": order["payment_order_id"], "buyer_id": order["buyer_id"],
                "from": order["status"], "to": order["status"], "payable": order["payable"],
                "actor": actor, "reason": reason, "refund_id": refunded["id"],
                "amount": refunded["amount"]}, merchant_id=order["merchant_id"])
    return refunded


async def set_aftersale_status(conn: asyncpg.Connection, order_id: int, in_progress: bool) -> None:
    """The after-sale domain tells the order whether a case of it is open (售后中) or the last
    one closed; a closed order stays DONE."""
    await conn.execute("UPDATE orders SET aftersale_status = CASE WHEN $2 AND status <> 'CLOSED' THEN 'IN_PROGRESS'"
                       " ELSE 'DONE' END WHERE id = $1", order_id, in_progress)


async def lock_paid_order(conn: asyncpg.Connection, order_id: int) -> asyncpg.Record | None:
    """A paid order with its payment order locked first, like every path (None: not PAID)."""
    po_id = await conn.fetchval("SELECT payment_order_id FROM orders WHERE id = $1", order_id)
    if po_id is None:
        return None
    await lock_payment_order(conn, po_id)
    order = await conn.fetchrow("SELECT * FROM orders WHERE id = $1 FOR UPDATE", order_id)
    return order if order["status"] == OrderStatus.PAID else None


async def deliver_virtual(conn: asyncpg.Connection, order_id: int, now: datetime, actor: str,
                          account: str) -> bool:
    """The supplier recharged a paid top-up (payment order locked, `lock_paid_order`): PAID →
    RECEIVED (logistics SIGNED) with an SMS to the buyer that the account was topped up, the
    stock reservation deducted, and COMPLETED at once — a top-up has no after-sale (DOMAIN §9)
    and nothing left to wait for. False when the order is no longer PAID."""
    moved = await _move(conn, [order_id], OrderEvent.DELIVER, "received_at", now, actor, "TOPPED_UP",
                        only_if="aftersale_status = 'NONE'", extra={"recharge_account": account})
    if not moved:
        return False
    await reservations.deduct_for_order(conn, order_id)
    await _move(conn, [order_id], OrderEvent.COMPLETE, "completed_at", now, actor, "TOPPED_UP")
    return True


async def refund_undelivered(conn: asyncpg.Connection, order: asyncpg.Record, now: datetime, actor: str,
                             reason: str, refund: Callable[[int, int], Awaitable[asyncpg.Record]]) -> asyncpg.Record | None:
    """A paid top-up the supplier did not recharge (`order` locked by `lock_paid_order`): refunded
    in full like a buyer's cancellation (after-sale IN_PROGRESS, then CLOSED by the refund), the
    buyer told why. An order with nothing paid is closed at once (None: no refund)."""
    if order["aftersale_status"] != "NONE":
        return None
    if order["payable"] - order["refunded_amount"] <= 0:
        await reservations.release_for_orders(conn, [order["id"]])
        await close_refunded(conn, order["id"], now, actor, reason)
        return None
    po = await conn.fetchrow("SELECT * FROM payment_orders WHERE id = $1", order["payment_order_id"])
    refunded = await _refund_unshipped(conn, po, order, refund, actor, reason)
    await conn.execute(
        "INSERT INTO buyer_notifications (buyer_id, order_id, channel, template, payload)"
        " VALUES ($1, $2, 'SMS', $3, jsonb_build_object('order_id', $2::bigint, 'reason', $3::text,"
        "   'amount', $4::bigint))", order["buyer_id"], order["id"], reason, refunded["amount"])
    return refunded


async def send_buyer_notifications(conn: asyncpg.Connection, send: Callable[[asyncpg.Record], Awaitable[bool]],
                                   now: datetime, limit: int = 200) -> int:
    """Deliver pending buyer notifications through `send(row)` and mark SENT those it delivered
    (False: not delivered, tried again next time); rows another sender holds are skipped, so
    several workers never send one twice. Returns how many rows were handled."""
    rows = await conn.fetch("SELECT n.*, b.phone FROM buyer_notifications n JOIN buyers b ON b.id = n.buyer_id"
                            " WHERE n.status = 'PENDING' ORDER BY n.id LIMIT $1 FOR UPDATE OF n SKIP LOCKED", limit)
    sent = [row["id"] for row in rows if await send(row)]
    await conn.execute("UPDATE buyer_notifications SET status = 'SENT', sent_at = $2 WHERE id = ANY($1::bigint[])",
                       sent, now)
    return len(rows)


async def _refuse(conn: asyncpg.Connection, order_id: int, event: OrderEvent) -> None:
    status = await conn.fetchval("SELECT status FROM orders WHERE id = $1", order_id)
    ORDER_MACHINE.target(OrderStatus(status), event)     # raises INVALID_TRANSITION
    raise DomainError.of(CommonError.INVALID_TRANSITION, "the order changed meanwhile; reload it", "orderId")


async def mark_reviewed(conn: asyncpg.Connection, order_id: int, actor: str) -> bool:
    """Every reviewable line of the order is reviewed: its review sub-status becomes DONE (the
    order leaves the 待评价 tab), recorded in its history; the system status is unchanged. False
    when it was DONE already."""
    order = await conn.fetchrow("UPDATE orders SET review_status = 'DONE' WHERE id = $1 AND review_status = 'PENDING'"
                                " RETURNING status, merchant_id, payment_order_id, buyer_id, payable", order_id)
    if order is None:
        return False
    await conn.execute("INSERT INTO order_status_history (order_id, from_status, to_status, actor, reason)"
                       " VALUES ($1, $2, $2, $3, 'REVIEWED')", order_id, order["status"], actor)
    await emit(conn, "order", "ORDER_REVIEWED",
               {"order_id": order_id, "payment_order_id": order["payment_order_id"], "buyer_id": order["buyer_id"],
                "from": order["status"], "to": order["status"], "payable": order["payable"], "actor": actor},
               merchant_id=order["merchant_id"])
    return True
OPEN_STATUSES = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.RECEIVED)


async def lock_open_orders(conn: asyncpg.Connection, buyer_id: int) -> list[int]:
    """Account deletion's check: locks every order of the buyer (in id order, as completion does)
    and returns the open ones — not yet completed, cancelled or closed, or with an after-sale in
    progress — so none can open or move on before the deletion commits."""
    rows = await conn.fetch("SELECT id, status, aftersale_status FROM orders WHERE buyer_id = $1"
                            " ORDER BY id FOR UPDATE", buyer_id)
    return [r["id"] for r in rows if r["status"] in OPEN_STATUSES or r["aftersale_status"] == "IN_PROGRESS"]


async def mask_buyer_personal_data(conn: asyncpg.Connection, buyer_id: int) -> int:
    """Account deletion: the receiver, phone and street of every order's address snapshot, and a
    top-up's recharge account, are masked; amounts, lines, history and the region stay, as
    money records and settlement need them. Returns the orders changed."""
    return int((await conn.execute(
        "UPDATE orders SET"
        " address = CASE WHEN address IS NULL THEN NULL ELSE address || jsonb_build_object("
        "   'receiver', '*', 'phone', repeat('*', length(address->>'phone')), 'detail', '*') END,"
        " recharge_account = CASE WHEN recharge_account IS NULL THEN NULL"
        "   ELSE repeat('*', length(recharge_account)) END"
        " WHERE buyer_id = $1 AND (address IS NOT NULL OR recharge_account IS NOT NULL)", buyer_id)).split()[-1])
