"""The postings of sales and refunds (DOMAIN §10.1), called by the payment and order paths inside
their own transaction, so money and status commit together:

- `capture`: a succeeded payment lands in CLEARING (Dr CASH / Cr CLEARING), entry
  `payment:<id>:capture` — also a payment that arrives after its order was cancelled, which
  then stays in clearing until its refund takes it out again (`post_refund`, order None).
- `split`: a paid order's money leaves CLEARING onto its merchant's pending, per line (its paid
  amount) and for the shipping, entry `order:<id>:split` — a replayed callback posts once.
- `post_refund`: a confirmed refund, per line of the unit split (§4.6), owed to the buyer on
  REFUNDS (`refund:<id>`) and paid out of CASH (`refund:<id>:paid`): before the line is settled
  it lowers the merchant's pending; after, the buyer is paid at once and the merchant owes
  `paid + subsidy − commission returned` on MERCHANT_REFUND_RECOVERY, deducted by its next
  settlement run (app/ledger/settlement.py).

docs/ledger.md has the accounts each movement touches, with a worked example.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import asyncpg

from app.aftersale import amounts, units
from app.credit import PROVIDER as CREDIT
from app.ledger.accounts import PLATFORM, Account
from app.ledger.journal import Entry, Posting, post, transfer

# refunds whose money movement their own domain posts: a returned deposit (app/merchants/lifecycle.py)
# and an overpayment sent back to a credit repayment's payment (app/credit/repayments.py)
OWN_REFUND_ENTRIES = ("DEPOSIT_RETURNED", "OVERPAYMENT_RETURNED")


def commission(rate: Decimal, receivable: int) -> int:
    """round-half-up(rate × receivable) in whole cents (§10.1)."""
    return int((rate * receivable).quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def capture(conn: asyncpg.Connection, payments: list[tuple[int, int]], now: datetime,
                  paying: bool = True) -> None:
    """Succeeded payments, (id, amount) each, into clearing — from cash, or for a CREDIT payment
    from the buyer's credit receivable (§10.1: the buyer's payment debits credit receivables
    instead of cash). Except a deposit or a credit repayment paying its still pending payment
    order: their own entries (app/merchants/deposits.py, app/credit/repayments.py) record that
    money; one paid late, or money refunded at once (`paying` False), is captured like any late
    payment."""
    rows = await conn.fetch(
        "SELECT p.id, p.provider, po.buyer_id, po.kind <> 'GOODS' AND po.status = 'PENDING_PAYMENT' AS own_entry"
        " FROM payments p JOIN payment_orders po ON po.id = p.payment_order_id WHERE p.id = ANY($1::bigint[])",
        [pid for pid, _ in payments])
    facts = {r["id"]: r for r in rows}
    entries = []
    for pid, amount in payments:
        f = facts[pid]
        if paying and f["own_entry"]:
            continue
        source = ((Account.CREDIT_RECEIVABLES, f["buyer_id"]) if f["provider"] == CREDIT
                  else (Account.CASH, PLATFORM))
        entries.append(Entry(f"payment:{pid}:capture", "PAYMENT_CAPTURE", now,
                             transfer(amount, source, (Account.CLEARING, PLATFORM))))
    await post(conn, entries)


async def split(conn: asyncpg.Connection, order_ids: list[int], now: datetime) -> None:
    """Paid orders' money from clearing onto their merchants' pending: one posting per line (its
    paid amount) and one for the shipping, against one CLEARING debit of the order's payable."""
    if not order_ids:
        return
    orders = await conn.fetch("SELECT id, merchant_id, payable, shipping FROM orders WHERE id = ANY($1::bigint[])"
                              " ORDER BY id", order_ids)
    lines: dict[int, list[asyncpg.Record]] = {}
    for r in await conn.fetch("SELECT id, order_id, paid_amount FROM order_lines WHERE order_id = ANY($1::bigint[])"
                              " ORDER BY id", order_ids):
        lines.setdefault(r["order_id"], []).append(r)
    entries = []
    for o in orders:
        m = o["merchant_id"]
        postings = [Posting(Account.CLEARING, o["payable"], PLATFORM, o["id"])]
        postings += [Posting(Account.MERCHANT_PENDING, -line["paid_amount"], m, o["id"], line["id"])
                     for line in lines.get(o["id"], [])]
        postings.append(Posting(Account.MERCHANT_PENDING, -o["shipping"], m, o["id"]))
        entries.append(Entry(f"order:{o['id']}:split", "PAYMENT_SPLIT", now, postings, merchant_id=m,
                             order_id=o["id"]))
    await post(conn, entries)


@dataclass(frozen=True)
class LinePart:
    """What one refund takes from one line."""
    order_line_id: int
    units: list[int]
    paid: int
    subsidy: int
    commission_returned: int
    after_settlement: bool

    @property
    def recovery(self) -> int:
        return self.paid + self.subsidy - self.commission_returned if self.after_settlement else 0


async def _line_parts(conn: asyncpg.Connection, order_id: int, taken: dict[int, list[int]] | None
                      ) -> list[LinePart]:
    """The parts of a refund of `taken` units per line (None: every unit not refunded yet, a
    whole-order refund), from the unit split of each line's paid amount and of its subsidy."""
    lines = await conn.fetch(
        "SELECT l.id, l.quantity, l.paid_amount, l.commission_rate, l.item_discount_platform"
        "  + coalesce((SELECT sum(s.platform_amount) FROM order_line_shares s WHERE s.order_line_id = l.id), 0)"
        "  AS subsidy,"
        " EXISTS (SELECT 1 FROM settlement_lines sl WHERE sl.kind = 'SALE' AND sl.order_line_id = l.id) AS settled"
        " FROM order_lines l WHERE l.order_id = $1 ORDER BY l.id", order_id)
    before: dict[int, list[int]] = {}
    for r in await conn.fetch("SELECT order_line_id, units FROM ledger_refund_lines WHERE order_id = $1"
                              " AND order_line_id IS NOT NULL", order_id):
        before.setdefault(r["order_line_id"], []).extend(r["units"])
    parts = []
    for line in lines:
        done = before.get(line["id"], [])
        if taken is None:
            now_units = amounts.next_units(line["quantity"], done, line["quantity"])
        else:
            now_units = taken.get(line["id"], [])
        if not now_units:
            continue
        qty, paid, sub, rate = line["quantity"], line["paid_amount"], int(line["subsidy"]), line["commission_rate"]
        receivable_before = (paid - amounts.units_amount(paid, qty, done)) + (sub - amounts.units_amount(sub, qty, done))
        p, s = amounts.units_amount(paid, qty, now_units), amounts.units_amount(sub, qty, now_units)
        returned = commission(rate, receivable_before) - commission(rate, receivable_before - p - s)
        parts.append(LinePart(line["id"], now_units, p, s, returned, line["settled"]))
    return parts


async def _order_level_left(conn: asyncpg.Connection, order_id: int, shipping: int) -> int:
    return shipping - await conn.fetchval("SELECT coalesce(sum(paid_amount), 0) FROM ledger_refund_lines"
                                          " WHERE order_id = $1 AND order_line_id IS NULL", order_id)


async def post_refund(conn: asyncpg.Connection, refund: asyncpg.Record, now: datetime) -> None:
    """A refund the provider confirmed (the caller holds its order's lock, so no settlement run
    settles the order's lines meanwhile): entry `refund:<id>`. A refund of no order (a late or
    duplicate payment) comes out of clearing."""
    if refund["reason"] in OWN_REFUND_ENTRIES:
        return
    entry_id, amount = f"refund:{refund['id']}", refund["amount"]
    provider = await conn.fetchval("SELECT provider FROM payments WHERE id = $1", refund["payment_id"])
    # the provider paid it back on the original channel: what the buyer is owed leaves cash. A
    # CREDIT payment's refund is settled by the credit system instead (`refund:<id>:credit`,
    # app/credit: against the loan, or the receivable of a payment that never made one)
    paid_out = [] if provider == CREDIT else [Entry(f"{entry_id}:paid", "REFUND_PAID", now, transfer(
        amount, (Account.REFUNDS, PLATFORM), (Account.CASH, PLATFORM), order_id=refund["order_id"]),
        order_id=refund["order_id"])]
    if refund["order_id"] is None:
        await post(conn, [Entry(entry_id, "REFUND", now,
                                transfer(amount, (Account.CLEARING, PLATFORM), (Account.REFUNDS, PLATFORM))),
                          *paid_out])
        return
    order = await conn.fetchrow("SELECT id, merchant_id, shipping FROM orders WHERE id = $1", refund["order_id"])
    oid, m = order["id"], order["merchant_id"]
    taken = await units.case_units(conn, refund["after_sale_id"]) if refund["after_sale_id"] is not None else None
    parts = await _line_parts(conn, oid, taken)
    # the rest is order-level: the shipping (only ever refunded before the order ships), or an
    # amount refunded with no units (a goodwill refund: what is not the order's units + shipping)
    order_level = amount - sum(p.paid for p in parts)
    # (a refund of the rest after goodwill refunds is goodwill too: what it takes back is less
    # than its units' paid amount, and the order it empties is closed, never settled)
    if taken is None and (order_level < 0 or order_level != await _order_level_left(conn, oid, order["shipping"])):
        parts, order_level = [], amount
    if order_level < 0:
        raise ValueError(f"refund {refund['id']}: {amount} is less than its units' paid amount")
    order_settled = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM settlement_lines WHERE order_id = $1 AND kind IN ('SALE', 'SHIPPING'))", oid)
    postings: list[Posting] = []
    for p in parts:
        line = p.order_line_id
        if not p.after_settlement:
            postings += transfer(p.paid, (Account.MERCHANT_PENDING, m), (Account.REFUNDS, PLATFORM), order_id=oid,
                                 order_line_id=line)
            continue
        postings += [Posting(Account.MERCHANT_REFUND_RECOVERY, p.recovery, m, oid, line),
                     Posting(Account.PLATFORM_COMMISSION, p.commission_returned, PLATFORM, oid, line),
                     Posting(Account.PLATFORM_SUBSIDY, -p.subsidy, PLATFORM, oid, line),
                     Posting(Account.REFUNDS, -p.paid, PLATFORM, oid, line)]
    owed_by = Account.MERCHANT_REFUND_RECOVERY if order_settled else Account.MERCHANT_PENDING
    postings += transfer(order_level, (owed_by, m), (Account.REFUNDS, PLATFORM), order_id=oid)
    written = await post(conn, [Entry(entry_id, "REFUND", now, postings, merchant_id=m, order_id=oid), *paid_out])
    if not written:
        return
    rows: list[tuple[int | None, list[int], int, int, int, bool, int]] = [(p.order_line_id, p.units, p.paid, p.subsidy, p.commission_returned, p.after_settlement, p.recovery)
            for p in parts]
    if order_level:
        rows.append((None, [], order_level, 0, 0, order_settled, order_level if order_settled else 0))
    await conn.execute(
        "INSERT INTO ledger_refund_lines (refund_id, order_id, merchant_id, occurred_at, order_line_id, units,"
        " paid_amount, subsidy_amount, commission_returned, after_settlement, recovery)"
        " SELECT $1, $2, $3, $4, t.line, string_to_array(t.units, ',')::int[], t.paid, t.sub, t.ret, t.after, t.rec"
        " FROM unnest($5::bigint[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bool[], $11::bigint[])"
        " AS t(line, units, paid, sub, ret, after, rec)",
        refund["id"], oid, m, now, [r[0] for r in rows], [",".join(map(str, r[1])) for r in rows],
        [r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows], [r[5] for r in rows], [r[6] for r in rows])
