"""GraphQL for settlement (DOMAIN §10, §10.1): statements and their lines (merchant staff see
their merchant's, admins every one), the statement as CSV, settlement terms, the runs and the
ledger audit (back office), and settlement results live."""

from collections.abc import AsyncGenerator
from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from app.events import Event
from app.ledger import audit as ledger_audit
from app.ledger import statements as service
from app.ledger import terms as terms_service
from app.ledger.errors import LedgerError
from schema.context import Info
from schema.errors import user_error_type
from schema.events import live_events
from schema.ids import gid, input_pk, optional_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsStaff
from schema.scalars import Money

LedgerUserError = user_error_type("Ledger", LedgerError)


@strawberry.enum
class SettlementCycle(Enum):
    DAILY = "DAILY"          # every run: orders completed at least N days before its day
    WEEKLY = "WEEKLY"        # Sunday's run
    MONTHLY = "MONTHLY"      # the run of a month's last day


@strawberry.enum
class SettlementLineKind(Enum):
    SALE = "SALE"            # an order line's unrefunded units
    SHIPPING = "SHIPPING"    # an order's shipping (less any amount refunded with no units)
    REFUND = "REFUND"        # a refund after settlement, deducted
    CHARGE = "CHARGE"        # a charge the shop owes (a 免息 fee it funds; negative: credited back), deducted


@strawberry.type(description="One settled line; amounts in cents. net = receivable − commission + shipping − "
                             "deduction.")
class SettlementLine:
    id: strawberry.ID
    kind: SettlementLineKind
    order_id: strawberry.ID
    order_line_id: strawberry.ID | None
    refund_id: strawberry.ID | None
    quantity: int
    goods_amount: Money
    subsidy: Money
    receivable: Money
    commission_rate: str
    commission: Money
    shipping: Money
    deduction: Money
    net: Money

    @classmethod
    def of(cls, r) -> "SettlementLine":
        return cls(id=gid("SettlementLine", r["id"]), kind=SettlementLineKind(r["kind"]),
                   order_id=gid("Order", r["order_id"]), order_line_id=gid("OrderLine", r["order_line_id"]),
                   refund_id=gid("Refund", r["refund_id"]), quantity=r["quantity"], goods_amount=r["goods_amount"],
                   subsidy=r["subsidy"], receivable=r["receivable"], commission_rate=str(r["commission_rate"]),
                   commission=r["commission"], shipping=r["shipping"], deduction=r["deduction"], net=r["net"])


@strawberry.type(description="A merchant's statement of one settlement run: the sums of its lines. `net` is what "
                             "its available balance moved by (negative: carried, §10.1).")
class SettlementStatement:
    id: strawberry.ID
    merchant_id: strawberry.ID
    run_day: date
    cycle: str
    line_count: int
    goods_amount: Money
    subsidy: Money
    commission: Money
    shipping: Money
    refund_deductions: Money
    net: Money
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    merchant_pk: strawberry.Private[int]

    @classmethod
    def of(cls, r) -> "SettlementStatement":
        return cls(id=gid("SettlementStatement", r["id"]), merchant_id=gid("Merchant", r["merchant_id"]),
                   run_day=r["run_day"], cycle=r["cycle"], line_count=r["lines"], goods_amount=r["goods_amount"],
                   subsidy=r["subsidy"], commission=r["commission"], shipping=r["shipping"],
                   refund_deductions=r["refund_deductions"], net=r["net"], created_at=r["created_at"],
                   updated_at=r["updated_at"], pk=r["id"], merchant_pk=r["merchant_id"])

    @strawberry.field(description="Its lines in settlement order.")
    async def lines(self, info: Info, first: int = 50, after: str | None = None) -> Connection[SettlementLine]:
        async def act(conn) -> Connection[SettlementLine]:
            size = page_size(first)
            st = await service.statement_for(conn, info.context.caller, self.pk)
            return connection_of(await service.lines(conn, st, after_id(after), size + 1), size, after,
                                 SettlementLine.of)
        return await query(info, act)

    @strawberry.field(description="Every line as CSV (amounts in cents), a TOTAL row last: the download.")
    async def csv(self, info: Info) -> str:
        async def act(conn) -> str:
            return await service.as_csv(conn, await service.statement_for(conn, info.context.caller, self.pk))
        return await query(info, act)


@strawberry.type
class SettlementRun:
    run_day: date
    status: str
    lines: int
    statements: int
    started_at: datetime
    finished_at: datetime | None


@strawberry.type
class MerchantSettlementTerms:
    merchant_id: strawberry.ID
    cycle: SettlementCycle
    delay_days: int

    @classmethod
    def of(cls, t: terms_service.Terms) -> "MerchantSettlementTerms":
        return cls(merchant_id=gid("Merchant", t.merchant_id), cycle=SettlementCycle(t.cycle), delay_days=t.delay_days)


@strawberry.type(description="An entry whose postings do not sum to 0.")
class UnbalancedEntry:
    entry_id: str
    total: Money


@strawberry.type(description="An order that does not reconcile: paid = receivable + commission − subsidy + refunds, "
                             "paid = payable, refunds = refunded amount (docs/ledger.md).")
class OrderReconciliation:
    order_id: strawberry.ID
    payable: Money
    refunded_amount: Money
    paid: Money
    refunds: Money
    receivable: Money
    commission: Money
    subsidy: Money
    other: Money


@strawberry.type(description="A statement whose net is not its merchant's available movement in its run's entries.")
class StatementMismatch:
    merchant_id: strawberry.ID
    run_day: date
    statement_net: Money | None
    ledger_net: Money | None


@strawberry.type(description="`ecom ledger audit` as a query: ok when all of it holds.")
class LedgerAudit:
    ok: bool
    postings: int
    postings_total: Money
    entries: int
    unbalanced_entry_count: int
    unbalanced_entries: list[UnbalancedEntry]
    orders_checked: int
    unreconciled_order_count: int
    unreconciled_orders: list[OrderReconciliation]
    negative_pending_line_ids: list[strawberry.ID]
    settlement_entry_mismatches: list[str]
    statements_checked: int
    statement_mismatches: list[StatementMismatch]

    @classmethod
    def of(cls, r: ledger_audit.AuditResult) -> "LedgerAudit":
        return cls(
            ok=r.ok, postings=r.postings, postings_total=r.postings_total, entries=r.entries,
            unbalanced_entry_count=r.unbalanced_entries,
            unbalanced_entries=[UnbalancedEntry(entry_id=e, total=t) for e, t in r.unbalanced],
            orders_checked=r.orders_checked, unreconciled_order_count=r.unreconciled_orders,
            unreconciled_orders=[OrderReconciliation(
                order_id=gid("Order", o.order_id), payable=o.payable, refunded_amount=o.refunded_amount, paid=o.paid,
                refunds=o.refunds, receivable=o.receivable, commission=o.commission, subsidy=o.subsidy,
                other=o.other) for o in r.unreconciled],
            negative_pending_line_ids=[gid("OrderLine", line) for line, _ in r.negative_pending_lines],
            settlement_entry_mismatches=r.settlement_entry_mismatches,
            statements_checked=r.statements_checked,
            statement_mismatches=[StatementMismatch(merchant_id=gid("Merchant", s.merchant_id), run_day=s.run_day,
                                                    statement_net=s.statement_net, ledger_net=s.ledger_net)
                                  for s in r.statement_mismatches])


@strawberry.type(description="A settlement result (SETTLEMENT_COMPLETED: a statement written or changed).")
class SettlementEvent:
    event_id: str
    type: str
    statement_id: strawberry.ID | None
    merchant_id: strawberry.ID | None
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "SettlementEvent":
        return cls(event_id=str(ev.id), type=ev.type, statement_id=gid("SettlementStatement",
                                                                       ev.payload.get("statement_id")),
                   merchant_id=gid("Merchant", ev.merchant_id), payload=JSON(ev.payload), created_at=ev.created_at)


@strawberry.input
class SetMerchantSettlementTermsInput:
    merchant_id: strawberry.ID
    cycle: SettlementCycle
    delay_days: int = 7


@strawberry.type
class MerchantSettlementTermsPayload:
    terms: MerchantSettlementTerms | None = None
    user_errors: list[LedgerUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class LedgerQuery:
    @strawberry.field(permission_classes=[IsStaff], description=(
        "Settlement statements, newest first: merchant staff see their merchant's, admins every merchant's (or "
        "`merchantId`'s)."))
    async def settlement_statements(self, info: Info, merchant_id: strawberry.ID | None = None, first: int = 20,
                                    after: str | None = None) -> Connection[SettlementStatement]:
        async def act(conn) -> Connection[SettlementStatement]:
            size = page_size(first)
            rows = await service.statements(conn, info.context.caller, optional_pk("Merchant", merchant_id,
                                                                                   "merchantId"),
                                            after_id(after), size + 1)
            return connection_of(rows, size, after, SettlementStatement.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsStaff], description="A statement your merchant's (any, for admins).")
    async def settlement_statement(self, info: Info, id: strawberry.ID) -> SettlementStatement:
        return SettlementStatement.of(await query(info, lambda conn: service.statement_for(
            conn, info.context.caller, input_pk("SettlementStatement", id, "id"))))

    @strawberry.field(permission_classes=[IsStaff], description="A merchant's settlement terms (default DAILY T+7).")
    async def merchant_settlement_terms(self, info: Info, merchant_id: strawberry.ID | None = None) -> MerchantSettlementTerms:
        async def act(conn) -> MerchantSettlementTerms:
            merchant = service.merchant_scope(info.context.caller, optional_pk("Merchant", merchant_id, "merchantId"),
                                              required=True)
            return MerchantSettlementTerms.of(await terms_service.terms_of(conn, merchant))
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAdmin], description="Settlement runs, newest day first.")
    async def settlement_runs(self, info: Info, first: int = 20, after: str | None = None) -> Connection[SettlementRun]:
        async def act(conn) -> Connection[SettlementRun]:
            size = page_size(first)
            rows = await service.runs(conn, after_id(after), size + 1)
            return connection_of(rows, size, after, lambda r: SettlementRun(
                run_day=r["run_day"], status=r["status"], lines=r["lines"], statements=r["statements"],
                started_at=r["started_at"], finished_at=r["finished_at"]), key=lambda r: r["ordinal"])
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAdmin], description=(
        "The ledger audit (`ecom ledger audit`): all postings and every entry sum to 0, every order reconciles, "
        "every settlement entry is the sum of its lines, no line's pending is negative (none left once settled), "
        "every statement matches the ledger; lists at most `limit` problems of each kind."))
    async def ledger_audit(self, info: Info, limit: int = 20) -> LedgerAudit:
        return LedgerAudit.of(await query(info, lambda conn: ledger_audit.audit(conn, max(1, min(limit, 100)))))


@strawberry.type
class LedgerMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Set a merchant's settlement cycle (from the next "
                                                                   "run on).")
    async def set_merchant_settlement_terms(self, info: Info, input: SetMerchantSettlementTermsInput) -> MerchantSettlementTermsPayload:
        return await mutate(info, MerchantSettlementTermsPayload, lambda conn, who: terms_service.set_terms(
            conn, input_pk("Merchant", input.merchant_id, "merchantId"), input.cycle.value, input.delay_days,
            who.subject), lambda t: MerchantSettlementTermsPayload(terms=MerchantSettlementTerms.of(t)))


@strawberry.type
class LedgerSubscription:
    @strawberry.subscription(permission_classes=[IsStaff],
                             description="Settlement results of your merchant (every merchant's for admins).")
    async def settlement_events(self, info: Info) -> AsyncGenerator[SettlementEvent, None]:
        async for ev in live_events(info, "settlement"):
            yield SettlementEvent.from_event(ev)
