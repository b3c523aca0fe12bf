"""CREDIT at the cashier (DOMAIN §8 / §8.1). The credit system is the CREDIT channel's provider,
run in-process (`PROVIDER`): the cashier asks it to `approve` a payment in real time — blacklist,
then `OVERDUE_BILLS` before `INSUFFICIENT_LIMIT`, then the plan (tier, amount, categories) — and
the approval freezes the amount on the line in the same transaction as the payment row, with
one conditional UPDATE, so two payments at once can never overspend a limit. Its success then
goes the way every provider's does (a stored notification applied by app/payments/callbacks.py),
and when that pays the order `succeeded` makes the loan. A refund of a CREDIT payment is
`refunded`: it lowers the loan (§8.1), or releases the frozen amount of a payment that never
paid its order.
"""

from datetime import datetime
from decimal import Decimal

import asyncpg

from app.config import get_settings
from app.credit import financing, lines, plans, repayments
from app.credit.errors import CreditApprovalError
from app.credit.loans import create_loan
from app.credit.schedule import Installment
from app.credit.subsidies import charge_subsidy
from app.errors import DomainError
from app.events import emit
from app.ledger.accounts import PLATFORM, Account
from app.ledger.journal import Entry, post, transfer


async def approve(conn: asyncpg.Connection, payment: asyncpg.Record, buyer_id: int, periods: int | None,
                  now: datetime) -> None:
    """Approve `payment` (just written, CREATED) on `periods` installments, or raise with the
    first reason it is refused; the approval is logged. Freezes the amount."""
    if periods is None:
        raise DomainError.of(CreditApprovalError.INSTALLMENT_PERIODS_REQUIRED, "choose 3, 6, 9 or 12 installments",
                             "installmentPeriods")
    line = await lines.line_of(conn, buyer_id, lock=True)
    if line is None:
        raise DomainError.of(CreditApprovalError.NO_CREDIT_LINE, "apply for a credit line first", "channel")
    facts = await conn.fetchrow(
        """
        SELECT EXISTS (SELECT 1 FROM risk_blacklist b JOIN buyers u ON u.id = $1
                       WHERE (b.kind = 'BUYER' AND b.value = u.id::text) OR (b.kind = 'PHONE' AND b.value = u.phone))
                   AS blacklisted,
               EXISTS (SELECT 1 FROM bills WHERE buyer_id = $1 AND status IN ('PENDING', 'OVERDUE')
                       AND (status = 'OVERDUE' OR due_on + $2::int < $3::date)
                       AND principal + fee + penalty > paid_principal + paid_fee + paid_penalty) AS overdue,
               (SELECT array_agg(DISTINCT l.sku_id) FROM orders o JOIN order_lines l ON l.order_id = o.id
                WHERE o.payment_order_id = $4) AS skus,
               (SELECT array_agg(DISTINCT o.merchant_id) FROM orders o WHERE o.payment_order_id = $4) AS merchants
        """, buyer_id, get_settings().credit_grace_days, now.date(), payment["payment_order_id"])
    amount = payment["amount"]
    if facts["blacklisted"]:
        raise DomainError.of(CreditApprovalError.CREDIT_REFUSED, "credit cannot be used for this payment", "channel")
    if facts["overdue"]:
        raise DomainError.of(CreditApprovalError.OVERDUE_BILLS, "repay your overdue bills first", "channel")
    if lines.available(line) < amount:
        raise DomainError.of(CreditApprovalError.INSUFFICIENT_LIMIT,
                             f"your available credit is {lines.available(line)} cents", "channel")
    if not facts["skus"]:        # a deposit or anything else that is not goods is never lent for
        raise DomainError.of(CreditApprovalError.PLAN_NOT_AVAILABLE, "only goods are sold on installments", "channel")
    choice = await plans.plans_for(conn, buyer_id, amount, facts["skus"], facts["merchants"], now)
    plan = next((p for p in choice.plans if p.periods == periods), None)
    if plan is None:
        why = choice.unavailable.value if choice.unavailable else f"no {periods}-period plan"
        raise DomainError.of(CreditApprovalError.PLAN_NOT_AVAILABLE, f"this installment plan is not available ({why})",
                             "installmentPeriods")
    frozen = await conn.fetchval(
        "UPDATE credit_lines SET frozen = frozen + $2, updated_at = $3 WHERE buyer_id = $1"
        " AND credit_limit - outstanding_principal - frozen >= $2 RETURNING frozen", buyer_id, amount, now)
    if frozen is None:        # the line is locked above; kept as the guard of the invariant
        raise DomainError.of(CreditApprovalError.INSUFFICIENT_LIMIT, "not enough available credit", "channel")
    await conn.execute(
        "INSERT INTO credit_payments (payment_id, buyer_id, amount, periods, rate_percent, interest_free, subsidiser,"
        " subsidiser_merchant_id, subsidy_fee, installments, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
        " $10, $11)", payment["id"], buyer_id, amount, periods, plan.rate_percent, plan.interest_free, plan.subsidiser,
        plan.subsidiser_merchant_id, plan.subsidy_fee,
        [{"principal": x.principal, "fee": x.fee} for x in plan.installments], now)
    await log_decision(conn, buyer_id, payment["id"], "ALLOW", "CREDIT_PAYMENT_APPROVED", now,
                       {"amount": amount, "periods": periods, "tier": line["tier"]})


async def log_decision(conn: asyncpg.Connection, buyer_id: int, payment_id: int | None, decision: str, rule: str,
                       now: datetime, detail: dict | None = None) -> None:
    """The risk log of a credit payment decision (a refused payment has no payment row: None)."""
    await conn.execute("INSERT INTO risk_decisions (stage, buyer_id, decision, rule, detail, created_at)"
                       " VALUES ('CREDIT', $1, $2, $3, $4, $5)", buyer_id, decision, rule,
                       {"payment_id": payment_id, **(detail or {})}, now)


async def succeeded(conn: asyncpg.Connection, payment_id: int, now: datetime) -> int | None:
    """The CREDIT payment paid its order: the frozen amount becomes the loan (and its bills);
    financed at once when financing is at payment. Returns the loan id (None: not a credit
    payment, or done before)."""
    cp = await conn.fetchrow("SELECT * FROM credit_payments WHERE payment_id = $1 FOR UPDATE", payment_id)
    if cp is None or cp["status"] != "FROZEN":
        return None
    await lines.line_of(conn, cp["buyer_id"], lock=True)
    plan = plans.Plan(cp["periods"], Decimal(cp["rate_percent"]), cp["interest_free"], cp["subsidiser"],
                      cp["subsidiser_merchant_id"], [Installment(x["principal"], x["fee"]) for x in cp["installments"]],
                      cp["subsidy_fee"])
    loan_id = await create_loan(conn, cp["buyer_id"], payment_id, cp["amount"], plan, now)
    await conn.execute("UPDATE credit_payments SET status = 'LOANED', loan_id = $2 WHERE payment_id = $1",
                       payment_id, loan_id)
    await charge_subsidy(conn, await conn.fetchrow("SELECT * FROM loans WHERE id = $1", loan_id), plan.subsidy_fee,
                         f"loan:{loan_id}:subsidy", now)
    await emit(conn, "credit", "LOAN_CREATED", {"buyer_id": cp["buyer_id"], "loan_id": loan_id,
                                                "payment_id": payment_id, "principal": cp["amount"],
                                                "periods": cp["periods"]})
    if get_settings().credit_financing_time == "PAYMENT":
        await financing.finance(conn, loan_id, now)
    return loan_id


async def refunded(conn: asyncpg.Connection, payment_id: int, refund_id: int, amount: int, now: datetime) -> None:
    """A refund of the CREDIT payment, once per refund: the loan is lowered per §8.1, or — the
    payment never paid its order — its frozen amount is released."""
    cp = await conn.fetchrow("SELECT * FROM credit_payments WHERE payment_id = $1 FOR UPDATE", payment_id)
    if cp is None:
        return
    if cp["status"] == "LOANED":
        await repayments.refund_loan(conn, cp["loan_id"], amount, f"refund:{refund_id}", now)
    elif cp["status"] == "FROZEN":
        await conn.execute("UPDATE credit_lines SET frozen = frozen - $2, updated_at = $3 WHERE buyer_id = $1",
                           cp["buyer_id"], cp["amount"], now)
        await conn.execute("UPDATE credit_payments SET status = 'RELEASED' WHERE payment_id = $1", payment_id)
        # the late payment's capture debited the receivable: its refund takes it back
        await post(conn, [Entry(f"refund:{refund_id}:credit", "CREDIT_REFUND", now, transfer(
            amount, (Account.REFUNDS, PLATFORM), (Account.CREDIT_RECEIVABLES, cp["buyer_id"])))])
