"""Repaying loans and refunding credit orders (DOMAIN §8 / §8.1), on the arithmetic of
app/credit/schedule.py. What this module adds is the bookkeeping around it, in the caller's
transaction with the loan's row lock:

- a repayment (an amount, or the early payoff) is requested, then applied once its money
  arrived: the bills record what was paid, the line's outstanding principal falls by the
  principal repaid (restoring the limit), a funder is passed the principal of its loan, the loan
  is PAID_OFF when nothing is owed; what arrives beyond what is owed — or after the loan closed —
  is overpayment (溢缴款);
- a refund of a credit order lowers the loan per §8.1 (full refund: closed, everything waived,
  everything repaid returned), buys back a funded loan's removed principal, and records the
  overpayment owed back to the buyer.

Ledger (docs/ledger.md): a repayment is Dr CASH / Cr CREDIT_RECEIVABLES (principal),
CREDIT_FEE_INCOME, CREDIT_PENALTY_INCOME, OVERPAYMENT (excess); a funded loan's principal then
goes on to its funder (Dr FUNDER / Cr CASH). Fees are income when paid, so the receivable is the
principal only. A refund of R settles what the order refund owes the buyer (Dr REFUNDS R) by
lowering the receivable (Cr CREDIT_RECEIVABLES) and owing back what was repaid (Cr OVERPAYMENT;
its fee and penalty part taken back from income).
"""

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import asyncpg

from app.credit import financing
from app.credit.errors import CreditError
from app.credit.schedule import Bill, Refunded, allocate, fee_after_refund, owed, payoff, refund
from app.credit.subsidies import charge_subsidy
from app.errors import CommonError, DomainError, NotFound
from app.events import emit
from app.ledger.accounts import PLATFORM, Account
from app.ledger.journal import Entry, Posting, post, posted, transfer
from app.orders import repayments as payment_orders


def _bill(r: asyncpg.Record) -> Bill:
    return Bill(r["period"], r["due_on"], r["principal"], r["fee"], r["penalty"], r["paid_principal"], r["paid_fee"],
                r["paid_penalty"])


async def _locked(conn: asyncpg.Connection, loan_id: int) -> tuple[asyncpg.Record, list[Bill]]:
    loan = await conn.fetchrow("SELECT * FROM loans WHERE id = $1 FOR UPDATE", loan_id)
    if loan is None:
        raise NotFound.of(CommonError.NOT_FOUND, "loan not found", "loanId")
    rows = await conn.fetch("SELECT * FROM bills WHERE loan_id = $1 ORDER BY period FOR UPDATE", loan_id)
    return loan, [_bill(r) for r in rows]


async def _store_bills(conn: asyncpg.Connection, loan_id: int, bills: list[Bill], now: datetime) -> None:
    """Write the bills' amounts back, one statement; a bill owing nothing is PAID (or CLOSED when
    nothing was ever paid on it, e.g. refunded away)."""
    await conn.execute(
        """
        UPDATE bills b SET principal = n.principal, fee = n.fee, penalty = n.penalty,
               paid_principal = n.paid_principal, paid_fee = n.paid_fee, paid_penalty = n.paid_penalty,
               status = CASE WHEN n.principal + n.fee + n.penalty > n.paid_principal + n.paid_fee + n.paid_penalty
                             THEN b.status
                             WHEN n.paid_principal + n.paid_fee + n.paid_penalty > 0 THEN 'PAID' ELSE 'CLOSED' END,
               paid_at = CASE WHEN b.paid_at IS NULL AND n.paid_principal + n.paid_fee + n.paid_penalty > 0
                               AND n.principal + n.fee + n.penalty = n.paid_principal + n.paid_fee + n.paid_penalty
                              THEN $9 ELSE b.paid_at END
        FROM unnest($2::int[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
             AS n (period, principal, fee, penalty, paid_principal, paid_fee, paid_penalty)
        WHERE b.loan_id = $1 AND b.period = n.period
        """, loan_id, [b.period for b in bills], [b.principal for b in bills], [b.fee for b in bills],
        [b.penalty for b in bills], [b.paid_principal for b in bills], [b.paid_fee for b in bills],
        [b.paid_penalty for b in bills], now)


async def _overpay(conn: asyncpg.Connection, loan: asyncpg.Record, source: str, fact_id: str, amount: int,
                   now: datetime) -> None:
    """Record what is owed back to the buyer, once per fact; app/credit/overpayments.py sends it
    back through the repayments' payments."""
    if amount > 0:
        await conn.execute("INSERT INTO credit_overpayments (buyer_id, loan_id, source, fact_id, amount, created_at)"
                           " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (fact_id) DO NOTHING",
                           loan["buyer_id"], loan["id"], source, fact_id, amount, now)


async def overpayment_refund_settled(conn: asyncpg.Connection, refund: asyncpg.Record, now: datetime) -> None:
    """A refund carrying an overpayment back was confirmed (app/payments/refunds.settle_refund):
    the overpayment is that much returned (Dr OVERPAYMENT / Cr CASH), RETURNED once all of it is."""
    back = await conn.fetchrow("UPDATE credit_overpayment_returns SET settled = true WHERE refund_id = $1"
                               " AND NOT settled RETURNING overpayment_id, amount", refund["id"])
    if back is None:
        return
    op = await conn.fetchrow("UPDATE credit_overpayments SET returned = returned + $2,"
                             " status = CASE WHEN returned + $2 = amount THEN 'RETURNED' ELSE status END"
                             " WHERE id = $1 RETURNING *", back["overpayment_id"], back["amount"])
    await post(conn, [Entry(f"refund:{refund['id']}:overpayment", "OVERPAYMENT_RETURNED", now,
                            transfer(back["amount"], (Account.OVERPAYMENT, op["buyer_id"]), (Account.CASH, PLATFORM)))])
    await emit(conn, "credit", "OVERPAYMENT_RETURNED", {"buyer_id": op["buyer_id"], "overpayment_id": op["id"],
                                                        "amount": back["amount"], "status": op["status"]})


# ---------------------------------------------------------------- repayments

async def request_repayment(conn: asyncpg.Connection, buyer_id: int, loan_id: int, amount: int | None, now: datetime,
                            expires_at: datetime) -> asyncpg.Record:
    """A repayment of `amount` (None: the early payoff) of the buyer's own loan, with the payment
    order the buyer pays it with at the cashier (until `expires_at`); returns the repayment. More
    than is owed is refused."""
    loan, bills = await _locked(conn, loan_id)
    if loan["buyer_id"] != buyer_id:
        raise NotFound.of(CommonError.NOT_FOUND, "loan not found", "loanId")
    if loan["status"] != "ACTIVE":
        raise DomainError.of(CreditError.LOAN_NOT_ACTIVE, "the loan is paid off or closed", "loanId")
    kind = "PAYOFF" if amount is None else "AMOUNT"
    if amount is None:
        amount = payoff(bills, now.date()).amount
    elif not 0 < amount <= owed(bills):
        raise DomainError.of(CreditError.INVALID_REPAYMENT, f"repay 1 to {owed(bills)} cents", "amount")
    rid = await conn.fetchval("INSERT INTO credit_repayments (buyer_id, loan_id, kind, amount, created_at)"
                              " VALUES ($1, $2, $3, $4, $5) RETURNING id", buyer_id, loan_id, kind, amount, now)
    po = await payment_orders.open_repayment_payment_order(conn, buyer_id, amount, f"credit-repayment:{rid}",
                                                           expires_at)
    return await conn.fetchrow("UPDATE credit_repayments SET payment_order_id = $2 WHERE id = $1 RETURNING *",
                               rid, po["id"])


async def repayments_paid(conn: asyncpg.Connection, payment_order_ids: list[int], now: datetime) -> None:
    """Their payment orders were paid (app/orders/service.mark_paid_many): apply the repayments,
    noting the channel the buyer paid with."""
    rows = await conn.fetch(
        "UPDATE credit_repayments r SET channel = p.channel FROM payment_orders po JOIN payments p"
        " ON p.id = po.paid_by_payment_id WHERE po.id = r.payment_order_id AND r.payment_order_id = ANY($1::bigint[])"
        " RETURNING r.id", payment_order_ids)
    for r in sorted(rows, key=lambda r: r["id"]):
        await apply_repayment(conn, r["id"], now)


async def repayment_cancelled(conn: asyncpg.Connection, payment_order_id: int, now: datetime) -> None:
    """Its payment order timed out or was cancelled unpaid: the repayment failed."""
    await conn.execute("UPDATE credit_repayments SET status = 'FAILED', applied_at = $2"
                       " WHERE payment_order_id = $1 AND status = 'PENDING'", payment_order_id, now)


async def apply_repayment(conn: asyncpg.Connection, repayment_id: int, now: datetime) -> str:
    """The repayment's money arrived: apply it (once). A payoff whose amount still clears the
    loan waives the later fees; one that no longer does (a penalty day since) is applied as an
    amount. Returns the repayment's status."""
    rep = await conn.fetchrow("SELECT * FROM credit_repayments WHERE id = $1 FOR UPDATE", repayment_id)
    if rep is None:
        raise NotFound.of(CommonError.NOT_FOUND, "repayment not found")
    if rep["status"] != "PENDING":
        return rep["status"]
    loan, bills = await _locked(conn, rep["loan_id"])
    amount, fact = rep["amount"], f"repayment:{repayment_id}"
    if loan["status"] != "ACTIVE":          # arrived after closure: all of it is owed back at once
        await _overpay(conn, loan, "LATE_REPAYMENT", fact, amount, now)
        await _settle(conn, rep, loan, [], amount, now)
        return "SUCCEEDED"
    if rep["kind"] == "PAYOFF":
        plan = payoff(bills, now.date())
        if amount >= plan.amount:
            bills = [replace(b, fee=b.paid_fee) if b.period in plan.waived_fees else b for b in bills]
    usable = min(amount, owed(bills))
    parts = allocate(bills, usable) if usable else []
    by_period = {a.period: a for a in parts}
    bills = [b if b.period not in by_period else replace(
        b, paid_penalty=b.paid_penalty + by_period[b.period].penalty, paid_fee=b.paid_fee + by_period[b.period].fee,
        paid_principal=b.paid_principal + by_period[b.period].principal) for b in bills]
    await _store_bills(conn, loan["id"], bills, now)
    principal = sum(a.principal for a in parts)
    await conn.execute("UPDATE credit_lines SET outstanding_principal = outstanding_principal - $2, updated_at = $3"
                       " WHERE buyer_id = $1", loan["buyer_id"], principal, now)
    if owed(bills) == 0:
        await conn.execute("UPDATE loans SET status = 'PAID_OFF', closed_at = $2 WHERE id = $1", loan["id"], now)
    await _overpay(conn, loan, "LATE_REPAYMENT", fact, amount - usable, now)
    await _settle(conn, rep, loan, parts, amount - usable, now)
    if principal and loan["funding"] == "FUNDED":      # the funder's loan: its principal goes on to it
        await conn.execute("UPDATE funders SET capital = capital + $2 WHERE id = $1", loan["funder_id"], principal)
        await conn.execute("INSERT INTO funder_capital_moves (funder_id, loan_id, kind, amount, actor, created_at)"
                           " VALUES ($1, $2, 'REPAID', $3, 'system:repayment', $4)", loan["funder_id"], loan["id"],
                           principal, now)
        await post(conn, [Entry(f"{fact}:funder", "CREDIT_REPAYMENT", now,
                                transfer(principal, (Account.FUNDER, loan["funder_id"]), (Account.CASH, PLATFORM)))])
    return "SUCCEEDED"


async def _settle(conn: asyncpg.Connection, rep: asyncpg.Record, loan: asyncpg.Record, parts, overpaid: int,
                  now: datetime) -> None:
    principal, fee, penalty = (sum(getattr(a, k) for a in parts) for k in ("principal", "fee", "penalty"))
    buyer = loan["buyer_id"]
    await post(conn, [Entry(f"repayment:{rep['id']}", "CREDIT_REPAYMENT", now, [
        Posting(Account.CASH, rep["amount"]), Posting(Account.CREDIT_RECEIVABLES, -principal, buyer),
        Posting(Account.CREDIT_FEE_INCOME, -fee), Posting(Account.CREDIT_PENALTY_INCOME, -penalty),
        Posting(Account.OVERPAYMENT, -overpaid, buyer)])])
    await conn.execute(
        "UPDATE credit_repayments SET status = 'SUCCEEDED', applied_at = $2, overpaid = $3, allocation = $4 WHERE id = $1",
        rep["id"], now, overpaid, [{"period": a.period, "penalty": a.penalty, "fee": a.fee, "principal": a.principal}
                                   for a in parts])
    await emit(conn, "credit", "CREDIT_REPAID", {"buyer_id": buyer, "loan_id": loan["id"], "repayment_id": rep["id"],
                                                 "amount": rep["amount"], "principal": principal, "fee": fee,
                                                 "penalty": penalty, "overpaid": overpaid})


# ---------------------------------------------------------------- refunds of credit orders

async def refund_loan(conn: asyncpg.Connection, loan_id: int, amount: int, fact_id: str, now: datetime) -> Refunded | None:
    """A refund of `amount` of the order a loan paid for (§8.1), once per `fact_id` (the refund);
    None when it was applied before."""
    entry_id = f"{fact_id}:credit"
    loan, bills = await _locked(conn, loan_id)
    if await posted(conn, [entry_id]):
        return None
    rate = Decimal(0) if loan["interest_free"] else Decimal(loan["rate_percent"])
    full = loan["refunded"] + amount == loan["principal"]
    penalty_paid = sum(b.paid_penalty for b in bills)
    out = refund(bills, loan["principal"], rate, loan["refunded"], amount)
    await _store_bills(conn, loan_id, out.bills, now)
    status = "CLOSED" if full else ("PAID_OFF" if owed(out.bills) == 0 else loan["status"])
    subsidy = (fee_after_refund(loan["subsidy_fee"], loan["principal"], Decimal(loan["rate_percent"]),
                                loan["refunded"] + amount) if loan["interest_free"] else 0)
    await conn.execute("UPDATE loans SET refunded = refunded + $2, status = $3, subsidy_fee = $4,"
                       " closed_at = CASE WHEN $3 <> 'ACTIVE' THEN coalesce(closed_at, $5) END WHERE id = $1",
                       loan_id, amount, status, subsidy, now)
    await conn.execute("UPDATE credit_lines SET outstanding_principal = outstanding_principal - $2, updated_at = $3"
                       " WHERE buyer_id = $1", loan["buyer_id"], out.principal_lowered, now)
    await _overpay(conn, loan, "REFUND", fact_id, out.overpayment, now)
    principal_back = amount - out.principal_lowered
    penalty_back = penalty_paid if full else 0
    fee_back = out.overpayment - principal_back - penalty_back
    buyer = loan["buyer_id"]
    await post(conn, [Entry(entry_id, "CREDIT_REFUND", now, [
        Posting(Account.REFUNDS, amount), Posting(Account.CREDIT_RECEIVABLES, -out.principal_lowered, buyer),
        Posting(Account.CREDIT_FEE_INCOME, fee_back), Posting(Account.CREDIT_PENALTY_INCOME, penalty_back),
        Posting(Account.OVERPAYMENT, -out.overpayment, buyer)])])
    await charge_subsidy(conn, loan, subsidy - loan["subsidy_fee"], f"{fact_id}:subsidy", now)   # credited back
    await financing.buy_back(conn, loan_id, out.principal_lowered, fact_id, now)
    await emit(conn, "credit", "LOAN_REFUNDED", {"buyer_id": buyer, "loan_id": loan_id, "amount": amount,
                                                  "closed": full, "overpayment": out.overpayment})
    return out


async def overpayments(conn: asyncpg.Connection, buyer_id: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM credit_overpayments WHERE buyer_id = $1 ORDER BY id DESC", buyer_id)


async def buyer_repayments(conn: asyncpg.Connection, buyer_id: int, after_id: int | None,
                           limit: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM credit_repayments WHERE buyer_id = $1 AND ($2::bigint IS NULL OR id < $2)"
                            " ORDER BY id DESC LIMIT $3", buyer_id, after_id, limit)
