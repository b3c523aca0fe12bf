"""After-sale use cases (DOMAIN §9), one transaction each, the connection passed in.

Every change to a case locks its payment order, then its order, then the case — the order
every refund path takes (app/orders cancel_paid) — so two requests on one order, a review and a
refund settling, or a timer and the buyer never interleave. What must happen after the commit
comes back as an `Outcome`: a refund to send (app.payments.jobs.enqueue_refund) or units to take
out of fulfilment first (workers/aftersale.py `withdraw_and_refund`, HTTP outside any
transaction).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from app.aftersale import amounts, cases
from app.aftersale.errors import AfterSaleError
from app.aftersale.status import AfterSaleAction, AfterSaleKind, AfterSaleReason, AfterSaleStatus
from app.auth.principal import Principal
from app.config import Settings
from app.errors import CommonError, DomainError, NotFound
from app.events import emit
from app.fulfilment import shipments
from app.payments.refunds import request_refund
from app.risk import rules as risk
from app.uploads import service as uploads

A, S, K = AfterSaleAction, AfterSaleStatus, AfterSaleKind
MAX_EVIDENCE = 9
EVIDENCE = "AFTER_SALE_EVIDENCE"
MAX_LINES = 50


@dataclass(frozen=True)
class LineClaim:
    order_line_id: int
    quantity: int


@dataclass(frozen=True)
class Outcome:
    after_sale_id: int
    refund_id: int | None = None      # enqueue its submission after the commit
    withdraw: bool = False            # enqueue withdraw_and_refund after the commit


# ---------------------------------------------------------------- the buyer


async def request(conn: asyncpg.Connection, settings: Settings, buyer_id: int, order_id: int, kind: AfterSaleKind,
                  claims: list[LineClaim], reason: AfterSaleReason, description: str, evidence: list[int],
                  now: datetime) -> Outcome:
    """Open a case on units of the order's lines: the next free units of each line's unit split
    (amounts.next_units). A refund-only before shipment is approved at once when the auto rule
    and risk (a buyer with many recent after-sales is reviewed) allow it; everything else waits
    for the merchant's review."""
    description = description.strip()
    if reason == AfterSaleReason.OTHER and not description:
        raise DomainError.of(AfterSaleError.REASON_REQUIRED, "say what is wrong when the reason is OTHER",
                             "description")
    if len(description) > 500:
        raise DomainError.of(CommonError.INVALID_VALUE, "at most 500 characters", "description")
    if not 1 <= len(claims) <= MAX_LINES:
        raise DomainError.of(CommonError.TOO_MANY, f"claim 1 to {MAX_LINES} lines", "lines")
    if len(evidence) > MAX_EVIDENCE:
        raise DomainError.of(CommonError.TOO_MANY, f"at most {MAX_EVIDENCE} evidence images", "evidence")
    owner = await conn.fetchrow("SELECT payment_order_id FROM orders WHERE id = $1 AND buyer_id = $2",
                                order_id, buyer_id)
    if owner is None:
        raise NotFound.of(CommonError.NOT_FOUND, "order not found", "orderId")
    await conn.execute("SELECT 1 FROM payment_orders WHERE id = $1 FOR UPDATE", owner["payment_order_id"])
    order = await conn.fetchrow("SELECT * FROM orders WHERE id = $1 FOR UPDATE", order_id)
    lines = {r["id"]: r for r in await conn.fetch(
        "SELECT l.*, p.fulfillment_type FROM order_lines l JOIN products p ON p.id = l.product_id"
        " WHERE l.order_id = $1", order_id)}
    if any(line["fulfillment_type"] == "VIRTUAL" for line in lines.values()):
        raise DomainError.of(AfterSaleError.VIRTUAL_NO_AFTERSALE, "virtual goods have no after-sale", "orderId")
    before_shipment = _check_order(settings, order, kind, now)
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM refunds WHERE order_id = $1 AND after_sale_id IS NULL"
                           " AND status <> 'FAILED')", order_id):
        raise DomainError.of(AfterSaleError.REFUND_IN_PROGRESS, "this order is being refunded as a whole", "orderId")
    picked = await _pick_units(conn, lines, claims)
    if len(set(evidence)) != len(evidence):
        raise DomainError.of(CommonError.INVALID_VALUE, "each image once", "evidence")
    # the buyer's own AFTER_SALE_EVIDENCE uploads, readable from now on by the reviewing merchant
    await uploads.attach(conn, f"buyer:{buyer_id}", evidence, EVIDENCE, order["merchant_id"], field=("evidence",))
    goods = sum(amount for _, _, amount in picked.values())
    case_id = await conn.fetchval(
        "INSERT INTO after_sales (order_id, buyer_id, merchant_id, kind, before_shipment, reason, description,"
        " goods_amount, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        order_id, buyer_id, order["merchant_id"], kind.value, before_shipment, reason.value, description, goods, now)
    await conn.execute(
        "INSERT INTO after_sale_lines (after_sale_id, order_line_id, quantity, units, amount)"
        " SELECT $1, t.line, cardinality(string_to_array(t.units, ',')), string_to_array(t.units, ',')::int[], t.amount"
        " FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS t(line, units, amount)",
        case_id, list(picked), [",".join(map(str, u)) for u, _, _ in picked.values()],
        [a for _, _, a in picked.values()])
    await conn.execute("INSERT INTO after_sale_evidence (after_sale_id, upload_id, position)"
                       " SELECT $1, u, n FROM unnest($2::bigint[]) WITH ORDINALITY AS t(u, n)", case_id, evidence)
    await conn.execute("INSERT INTO after_sale_status_history (after_sale_id, from_status, to_status, actor, reason)"
                       " VALUES ($1, NULL, 'REQUESTED', $2, $3)", case_id, f"buyer:{buyer_id}", reason.value)
    await emit(conn, "aftersale", "AFTER_SALE_REQUESTED",
               {"after_sale_id": case_id, "order_id": order_id, "buyer_id": buyer_id, "kind": kind.value,
                "from": None, "to": "REQUESTED", "goods_amount": goods}, merchant_id=order["merchant_id"])
    await cases.sync_order(conn, order_id)
    if kind == K.REFUND_ONLY and before_shipment and _auto_approved(settings, goods) \
            and await _risk_allows_auto_approval(conn, settings, buyer_id, case_id, now):
        return await _approve(conn, await _case(conn, case_id), now, "system:auto-approve")
    return Outcome(case_id)


async def _risk_allows_auto_approval(conn: asyncpg.Connection, settings: Settings, buyer_id: int, case_id: int,
                                     now: datetime) -> bool:
    """Risk's word on the auto-approval, from the buyer's other after-sales in its window,
    logged in the request's transaction (the decision holds only if the case is created)."""
    recent = await conn.fetchval(
        "SELECT count(*) FROM after_sales WHERE buyer_id = $1 AND id <> $2 AND created_at > $3", buyer_id, case_id,
        now - timedelta(days=settings.risk_after_sale_window_days))
    decision = risk.after_sale_auto_approval(recent, settings.risk_after_sale_max_requests,
                                             settings.risk_after_sale_window_days)
    await risk.record(conn, "AFTER_SALE", buyer_id, decision)
    return decision.allowed


def _check_order(settings: Settings, order: asyncpg.Record, kind: AfterSaleKind, now: datetime) -> bool:
    """Whether the order may have this kind of case now; True when it has not shipped."""
    status = order["status"]
    if status == "PAID" and order["logistics_status"] == "PENDING":
        if kind != K.REFUND_ONLY:
            raise DomainError.of(AfterSaleError.ORDER_NOT_ELIGIBLE, "nothing to return before the order ships", "kind")
        return True
    if status == "SHIPPED" and kind == K.REFUND_ONLY:
        return False
    if status in ("RECEIVED", "COMPLETED"):
        if now > order["received_at"] + timedelta(days=settings.aftersale_window_days):
            raise DomainError.of(AfterSaleError.WINDOW_CLOSED,
                                 f"after-sales are open {settings.aftersale_window_days} days after receipt",
                                 "orderId")
        return False
    raise DomainError.of(AfterSaleError.ORDER_NOT_ELIGIBLE, f"an order that is {status} has no after-sale of this kind",
                         "orderId")


def _auto_approved(settings: Settings, goods: int) -> bool:
    limit = settings.aftersale_auto_approve_max_amount
    return settings.aftersale_auto_approve_before_shipment and (limit is None or goods <= limit)


async def _pick_units(conn: asyncpg.Connection, lines: dict[int, asyncpg.Record],
                      claims: list[LineClaim]) -> dict[int, tuple[list[int], int, int]]:
    """Per claimed line: the units taken, the quantity and their amount."""
    picked: dict[int, tuple[list[int], int, int]] = {}
    for n, claim in enumerate(claims):
        line = lines.get(claim.order_line_id)
        if line is None:
            raise NotFound.of(CommonError.NOT_FOUND, "not a line of this order", "lines", str(n), "orderLineId")
        if claim.order_line_id in picked or claim.quantity < 1:
            raise DomainError.of(CommonError.INVALID_VALUE, "each line once, with a quantity of at least 1",
                                 "lines", str(n))
        held = await conn.fetch("SELECT units, open FROM after_sale_lines WHERE order_line_id = $1"
                                " AND (open OR refunded)", line["id"])
        if any(h["open"] for h in held):
            raise DomainError.of(AfterSaleError.LINE_HAS_OPEN_AFTERSALE, "this line already has an after-sale open",
                                 "lines", str(n), "orderLineId")
        units = amounts.next_units(line["quantity"], [u for h in held for u in h["units"]], claim.quantity)
        if len(units) < claim.quantity:
            raise DomainError.of(AfterSaleError.NOT_ENOUGH_UNITS, f"{len(units)} units of this line are left",
                                 "lines", str(n), "quantity")
        picked[line["id"]] = (units, claim.quantity, amounts.units_amount(line["paid_amount"], line["quantity"], units))
    return picked


async def cancel(conn: asyncpg.Connection, buyer_id: int, case_id: int, now: datetime) -> None:
    """The buyer withdraws a case still under review, approved (not a refund already under way)
    or rejected."""
    case = await _lock_buyer_case(conn, buyer_id, case_id)
    if case["kind"] == K.REFUND_ONLY and case["status"] == S.APPROVED:
        raise DomainError.of(CommonError.INVALID_TRANSITION, "this refund is already under way", "afterSaleId")
    await _move_or_refuse(conn, case, A.CANCEL, now, f"buyer:{buyer_id}")


async def submit_return(conn: asyncpg.Connection, buyer_id: int, case_id: int, carrier: str, tracking: str,
                        now: datetime) -> None:
    """The buyer ships the goods back (approved return or exchange): the merchant inspects next."""
    carrier, tracking = shipments.check_tracking(carrier, tracking)
    case = await _lock_buyer_case(conn, buyer_id, case_id)
    if case["kind"] == K.REFUND_ONLY:
        raise DomainError.of(CommonError.INVALID_TRANSITION, "a refund-only after-sale has nothing to return",
                             "afterSaleId")
    await _move_or_refuse(conn, case, A.SHIP_RETURN, now, f"buyer:{buyer_id}", sets="return_carrier = $6,"
                          " return_tracking = $7", args=(carrier, tracking))


async def escalate(conn: asyncpg.Connection, buyer_id: int, case_id: int, now: datetime) -> None:
    """The buyer disagrees with a rejection: the platform decides."""
    case = await _lock_buyer_case(conn, buyer_id, case_id)
    await _move_or_refuse(conn, case, A.ESCALATE, now, f"buyer:{buyer_id}")


async def confirm_exchange(conn: asyncpg.Connection, buyer_id: int, case_id: int, now: datetime) -> None:
    """The buyer received the exchange's new goods: done, no money moved."""
    case = await _lock_buyer_case(conn, buyer_id, case_id)
    await _move_or_refuse(conn, case, A.RECEIVE_EXCHANGE, now, f"buyer:{buyer_id}")


async def reship_signed(conn: asyncpg.Connection, case_id: int, now: datetime) -> bool:
    """The carrier delivered the exchange's reship: COMPLETED (False: already, or not reshipping)."""
    if await lock_case(conn, case_id) is None:
        return False
    return bool(await cases.move(conn, [case_id], A.RECEIVE_EXCHANGE, now, "system:logistics"))


# ---------------------------------------------------------------- the merchant (or the platform)


async def approve(conn: asyncpg.Connection, principal: Principal, case_id: int, now: datetime) -> Outcome:
    case = await _lock_staff_case(conn, principal, case_id)
    return await _approve(conn, case, now, principal.subject)


async def reject(conn: asyncpg.Connection, principal: Principal, case_id: int, reason: str, now: datetime) -> None:
    """No to a request under review, with the reason the buyer sees (and may escalate)."""
    reason = _reason(reason)
    case = await _lock_staff_case(conn, principal, case_id)
    if case["status"] != S.REQUESTED:      # a return is refused by inspect_return
        raise DomainError.of(CommonError.INVALID_TRANSITION, f"the after-sale is {case['status']}, not under review",
                             "afterSaleId")
    await _move_or_refuse(conn, case, A.REJECT, now, principal.subject, reason, "rejection_reason = $6", (reason,))


async def inspect_return(conn: asyncpg.Connection, principal: Principal, case_id: int, accept: bool,
                         reason: str | None, now: datetime) -> Outcome:
    """The returned goods arrived: accepted ⇒ the refund (RETURN_REFUND) or the reship (EXCHANGE);
    refused ⇒ REJECTED with the reason (the buyer may escalate)."""
    case = await _lock_staff_case(conn, principal, case_id)
    if case["status"] != S.RETURN_SHIPPED:
        raise DomainError.of(CommonError.INVALID_TRANSITION, f"no return to inspect: the after-sale is "
                                                             f"{case['status']}", "afterSaleId")
    if not accept:
        text = _reason(reason or "")
        await _move_or_refuse(conn, case, A.REJECT, now, principal.subject, text, "rejection_reason = $6", (text,))
        return Outcome(case_id)
    return await _after_return(conn, case, now, principal.subject)


async def decide_escalation(conn: asyncpg.Connection, principal: Principal, case_id: int, for_buyer: bool,
                            reason: str, now: datetime) -> Outcome:
    """The platform's word on an escalated case, overriding the merchant: for the buyer, the case
    goes on where the rejection stopped it (approved, or its return accepted); against, it is
    CLOSED with the reason."""
    reason = _reason(reason)
    case = await _lock_staff_case(conn, principal, case_id)
    if case["status"] != S.ESCALATED:
        raise DomainError.of(CommonError.INVALID_TRANSITION, f"the after-sale is {case['status']}, not escalated",
                             "afterSaleId")
    if not for_buyer:
        await cases.move(conn, [case_id], A.CLOSE, now, principal.subject, f"ESCALATION_REJECTED: {reason}")
        return Outcome(case_id)
    if case["return_shipped_at"] is not None:
        return await _after_return(conn, case, now, principal.subject)
    await cases.move(conn, [case_id], A.OVERRULE, now, principal.subject, reason)
    return await _after_approval(conn, await _case(conn, case_id), now, principal.subject)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise DomainError.of(AfterSaleError.REASON_REQUIRED, "give a reason of 1 to 500 characters", "reason")
    return reason


async def _approve(conn: asyncpg.Connection, case: asyncpg.Record, now: datetime, actor: str) -> Outcome:
    await _move_or_refuse(conn, case, A.APPROVE, now, actor)
    return await _after_approval(conn, await _case(conn, case["id"]), now, actor)


async def _after_approval(conn: asyncpg.Connection, case: asyncpg.Record, now: datetime, actor: str) -> Outcome:
    """A refund-only goes to the refund — first out of fulfilment when the order has not shipped;
    a return waits for the buyer's parcel."""
    if case["kind"] != K.REFUND_ONLY:
        return Outcome(case["id"])
    if case["before_shipment"] and case["withdrawn_at"] is None:
        return Outcome(case["id"], withdraw=True)
    return Outcome(case["id"], refund_id=await start_refund(conn, case, now, actor))


async def _after_return(conn: asyncpg.Connection, case: asyncpg.Record, now: datetime, actor: str) -> Outcome:
    if case["kind"] == K.EXCHANGE:
        # the same SKU again, stock reserved and shipped like any parcel (app/fulfilment)
        for line in await conn.fetch("SELECT order_line_id, quantity FROM after_sale_lines WHERE after_sale_id = $1"
                                     " ORDER BY order_line_id", case["id"]):
            await shipments.create_reship(conn, case["order_id"], case["id"], line["order_line_id"], line["quantity"])
        await cases.move(conn, [case["id"]], A.RESHIP, now, actor)
        return Outcome(case["id"])
    return Outcome(case["id"], refund_id=await start_refund(conn, case, now, actor))


async def start_refund(conn: asyncpg.Connection, case: asyncpg.Record, now: datetime, actor: str) -> int | None:
    """REFUNDING, with a refund of the case's units to the payment that paid the order (and the
    order's shipping when this refund leaves none of its units unrefunded before it shipped).
    The caller holds the order's lock. None when there is nothing to pay back (gift units): the
    case is REFUNDED at once."""
    order = await conn.fetchrow("SELECT o.*, po.paid_by_payment_id FROM orders o JOIN payment_orders po"
                                " ON po.id = o.payment_order_id WHERE o.id = $1", case["order_id"])
    left = await conn.fetchval(
        "SELECT (SELECT sum(quantity) FROM order_lines WHERE order_id = $1)"
        " - (SELECT coalesce(sum(l.quantity), 0) FROM after_sale_lines l JOIN after_sales a ON a.id = l.after_sale_id"
        "    WHERE a.order_id = $1 AND (a.status IN ('REFUNDING', 'REFUNDED') OR a.id = $2))", case["order_id"],
        case["id"])
    unshipped = order["status"] == "PAID" and order["logistics_status"] == "PENDING"
    shipping = order["shipping"] if amounts.refunds_shipping(case["before_shipment"] and unshipped, left) else 0
    amount = case["goods_amount"] + shipping
    await cases.move(conn, [case["id"]], A.REFUND, now, actor, sets="shipping_amount = $6", args=(shipping,))
    if amount == 0:
        await cases.move(conn, [case["id"]], A.SETTLE, now, actor)
        return None
    refund = await request_refund(conn, order["paid_by_payment_id"], order["id"], amount, f"AFTER_SALE_{case['kind']}",
                                  f"after-sale:{case['id']}", after_sale_id=case["id"])
    return refund["id"]


# ---------------------------------------------------------------- withdrawal before shipment


async def refund_withdrawn(conn: asyncpg.Connection, case_id: int, withdrawn_lines: set[int],
                           now: datetime) -> int | None:
    """After the units' withdrawal from fulfilment: the lines withdrawn are refunded (the refund's
    id); lines too late to withdraw (they shipped) leave the case, their units free for an
    after-sale once received; nothing withdrawn ⇒ CLOSED, telling the buyer so."""
    case = await lock_case(conn, case_id)
    if case is None or case["status"] != S.APPROVED or case["kind"] != K.REFUND_ONLY:
        return None
    if not withdrawn_lines:
        await cases.move(conn, [case_id], A.CLOSE, now, "system:fulfilment",
                         "TOO_LATE_SHIPPED: the goods have shipped; ask for an after-sale once you receive them")
        return None
    await conn.execute("DELETE FROM after_sale_lines WHERE after_sale_id = $1 AND order_line_id <> ALL($2::bigint[])",
                       case_id, list(withdrawn_lines))
    case = await conn.fetchrow(
        "UPDATE after_sales SET withdrawn_at = $2, goods_amount = (SELECT sum(amount) FROM after_sale_lines"
        " WHERE after_sale_id = $1) WHERE id = $1 RETURNING *", case_id, now)
    return await start_refund(conn, case, now, "system:fulfilment")


# ---------------------------------------------------------------- timers


async def approve_one_silent(conn: asyncpg.Connection, settings: Settings, now: datetime) -> Outcome | None:
    """The merchant left one request unanswered for the review days: approved (None: none due).
    One case a transaction, locked in the refund path's order; SKIP LOCKED lets workers share."""
    due = await conn.fetchrow(
        "SELECT a.id FROM after_sales a JOIN orders o ON o.id = a.order_id JOIN payment_orders po"
        " ON po.id = o.payment_order_id WHERE a.status = 'REQUESTED' AND a.created_at <= $1 ORDER BY a.created_at"
        " LIMIT 1 FOR UPDATE OF po SKIP LOCKED", now - timedelta(days=settings.aftersale_merchant_review_days))
    if due is None:
        return None
    case = await lock_case(conn, due["id"])
    assert case is not None
    return await _approve(conn, case, now, "system:merchant-silent")


async def close_silent(conn: asyncpg.Connection, settings: Settings, now: datetime, limit: int = 200) -> int:
    """Close, set-based, the approved returns the buyer never shipped and the rejections the
    buyer never escalated; orders another transaction holds wait for the next run."""
    orders = [r["id"] for r in await conn.fetch(
        "SELECT o.id FROM orders o WHERE o.id IN (SELECT order_id FROM after_sales WHERE"
        " (status = 'APPROVED' AND kind <> 'REFUND_ONLY' AND decided_at <= $1)"
        " OR (status = 'REJECTED' AND decided_at <= $2)) ORDER BY o.id LIMIT $3 FOR UPDATE OF o SKIP LOCKED",
        now - timedelta(days=settings.aftersale_return_days), now - timedelta(days=settings.aftersale_escalation_days),
        limit)]
    if not orders:
        return 0
    closed = 0
    for status, days, why in ((S.APPROVED, settings.aftersale_return_days, "BUYER_SILENT: no return shipped"),
                              (S.REJECTED, settings.aftersale_escalation_days, "REJECTION_FINAL: not escalated")):
        ids = [r["id"] for r in await conn.fetch(
            "SELECT id FROM after_sales WHERE order_id = ANY($1::bigint[]) AND status = $2 AND kind <> $3"
            " AND decided_at <= $4 ORDER BY id FOR UPDATE", orders, status.value,
            "REFUND_ONLY" if status == S.APPROVED else "", now - timedelta(days=days))]
        closed += len(await cases.move(conn, ids, A.CLOSE, now, "system:timeout", why))
    return closed


async def approved_unwithdrawn(conn: asyncpg.Connection, approved_before: datetime, limit: int = 100) -> list[int]:
    """Refund-only cases before shipment still waiting for their withdrawal (a lost job)."""
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM after_sales WHERE status = 'APPROVED' AND kind = 'REFUND_ONLY' AND before_shipment"
        " AND decided_at < $1 ORDER BY id LIMIT $2", approved_before, limit)]


# ---------------------------------------------------------------- locks and reads


async def lock_case(conn: asyncpg.Connection, case_id: int) -> asyncpg.Record | None:
    """Lock a case the way every path does: its payment order, its order, then the case."""
    order_id = await conn.fetchval("SELECT order_id FROM after_sales WHERE id = $1", case_id)
    if order_id is None:
        return None
    await conn.execute("SELECT 1 FROM payment_orders WHERE id = (SELECT payment_order_id FROM orders WHERE id = $1)"
                       " FOR UPDATE", order_id)
    await conn.execute("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", order_id)
    return await conn.fetchrow("SELECT * FROM after_sales WHERE id = $1 FOR UPDATE", case_id)


async def _case(conn: asyncpg.Connection, case_id: int) -> asyncpg.Record:
    return await conn.fetchrow("SELECT * FROM after_sales WHERE id = $1", case_id)


async def _lock_buyer_case(conn: asyncpg.Connection, buyer_id: int, case_id: int) -> asyncpg.Record:
    case = await lock_case(conn, case_id)
    if case is None or case["buyer_id"] != buyer_id:
        raise NotFound.of(CommonError.NOT_FOUND, "after-sale not found", "afterSaleId")
    return case


async def _lock_staff_case(conn: asyncpg.Connection, principal: Principal, case_id: int) -> asyncpg.Record:
    """Merchant staff act on their merchant's cases, admins on every case (self-operated ones too)."""
    case = await lock_case(conn, case_id)
    if case is None or not principal.can_manage_merchant(case["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, "after-sale not found", "afterSaleId")
    return case


async def _move_or_refuse(conn: asyncpg.Connection, case: asyncpg.Record, action: AfterSaleAction, now: datetime,
                          actor: str, reason: str | None = None, sets: str = "", args: tuple = ()) -> None:
    cases.AFTER_SALE_MACHINE.target(S(case["status"]), action)          # INVALID_TRANSITION
    await cases.move(conn, [case["id"]], action, now, actor, reason, sets, args)


async def case_for(conn: asyncpg.Connection, principal: Principal, case_id: int) -> asyncpg.Record:
    """A case its buyer, its merchant's staff or an admin may read; anyone else: not found."""
    row = await conn.fetchrow("SELECT * FROM after_sales WHERE id = $1", case_id)
    if row is None or not (row["buyer_id"] == principal.id if principal.is_buyer
                           else principal.can_manage_merchant(row["merchant_id"])):
        raise NotFound.of(CommonError.NOT_FOUND, "after-sale not found", "id")
    return row


async def buyer_cases(conn: asyncpg.Connection, buyer_id: int, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM after_sales WHERE buyer_id = $1 AND ($2::bigint IS NULL OR id < $2)"
                            " ORDER BY id DESC LIMIT $3", buyer_id, after_id, limit)


async def queue(conn: asyncpg.Connection, principal: Principal, status: str | None, after_id: int | None,
                limit: int) -> list[asyncpg.Record]:
    """The review queue: merchant staff see their merchant's cases, admins every case (the
    self-operated merchant's among them)."""
    merchant = None if principal.is_admin else principal.staff_merchant_id
    return await conn.fetch(
        "SELECT * FROM after_sales WHERE ($1::bigint IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR status = $2)"
        " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4", merchant, status, after_id, limit)
