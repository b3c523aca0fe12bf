"""GraphQL for consumer credit (DOMAIN §8; docs/credit.md): the buyer applies and reads their
credit line and applications; trial pricing lists the installment plans (`CheckoutPricing.
installmentPlans`); the back office reads applications and decisions, changes limits and
configures plans, excluded categories and interest-free offers."""

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

import asyncpg
import strawberry

from app.credit import financing, lines, loans, plans
from app.credit.errors import CreditError
from schema.context import Info
from schema.errors import user_error_type
from schema.ids import gid, input_pk, optional_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsBuyer
from schema.scalars import Money

CreditUserError = user_error_type("Credit", CreditError)


@strawberry.enum
class CreditTier(Enum):
    A = "A"
    B = "B"
    C = "C"


@strawberry.enum
class CreditApplicationStatus(Enum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@strawberry.enum(description="Why a checkout lists no installment plan.")
class InstallmentUnavailable(Enum):
    NOT_SIGNED_IN = "NOT_SIGNED_IN"
    NO_CREDIT_LINE = "NO_CREDIT_LINE"
    INSUFFICIENT_LIMIT = "INSUFFICIENT_LIMIT"
    CATEGORY_NOT_ELIGIBLE = "CATEGORY_NOT_ELIGIBLE"
    AMOUNT_NOT_ELIGIBLE = "AMOUNT_NOT_ELIGIBLE"


@strawberry.type(description="A credit limit change by the back office.")
class CreditLimitChange:
    from_limit: Money
    to_limit: Money
    reason: str
    actor: str
    created_at: datetime


@strawberry.type(description="A buyer's revolving credit line: limit = available + outstanding principal + frozen "
                             "(available is 0 when a cut left the limit below what is in use).")
class CreditLine:
    buyer_id: strawberry.ID
    tier: CreditTier
    limit: Money
    available: Money
    outstanding_principal: Money
    frozen: Money
    due_day: int = strawberry.field(description="Bills fall due on this day of each month (1–28).")
    created_at: datetime
    buyer_pk: strawberry.Private[int]

    @classmethod
    def of(cls, r: asyncpg.Record) -> "CreditLine":
        return cls(buyer_id=gid("Buyer", r["buyer_id"]), tier=CreditTier(r["tier"]), limit=r["credit_limit"],
                   available=lines.available(r), outstanding_principal=r["outstanding_principal"], frozen=r["frozen"],
                   due_day=r["due_day"], created_at=r["created_at"], buyer_pk=r["buyer_id"])

    @strawberry.field(description="Newest first.")
    async def limit_changes(self, info: Info) -> list[CreditLimitChange]:
        rows = await query(info, lambda conn: lines.limit_changes(conn, self.buyer_pk))
        return [CreditLimitChange(from_limit=r["from_limit"], to_limit=r["to_limit"], reason=r["reason"],
                                  actor=r["actor"], created_at=r["created_at"]) for r in rows]


@strawberry.type(description="A scoring rule that fired, with its points (docs/credit.md lists them all).")
class CreditRule:
    rule: str
    points: int


@strawberry.type(description="An application for a credit line and the scorer's decision.")
class CreditApplication:
    id: strawberry.ID
    buyer_id: strawberry.ID
    status: CreditApplicationStatus
    tier: CreditTier | None
    limit: Money = strawberry.field(description="The approved limit; 0 when rejected.")
    score: int
    reason: str | None = strawberry.field(description="Why it was rejected: INVALID_ID, AGE_NOT_ELIGIBLE, BLACKLISTED, "
                                                      "ID_ALREADY_USED, PHONE_NOT_VERIFIED, INCOME_TOO_LOW, "
                                                      "SCORE_TOO_LOW.")
    rules: list[CreditRule]
    id_number: str = strawberry.field(description="Masked (110**********1234).")
    monthly_income: Money
    created_at: datetime

    @classmethod
    def of(cls, r: asyncpg.Record) -> "CreditApplication":
        return cls(id=gid("CreditApplication", r["id"]), buyer_id=gid("Buyer", r["buyer_id"]),
                   status=CreditApplicationStatus(r["status"]), tier=CreditTier(r["tier"]) if r["tier"] else None,
                   limit=r["credit_limit"], score=r["score"], reason=r["reason"],
                   rules=[CreditRule(rule=x["rule"], points=x["points"]) for x in r["rules"]],
                   id_number=r["id_number_mask"], monthly_income=r["monthly_income"], created_at=r["created_at"])


@strawberry.type
class InstallmentBill:
    period: int
    principal: Money
    fee: Money
    amount: Money


@strawberry.type(description="One way to pay the checkout in installments (等本等费): period 1 carries the "
                             "remainders, every later period the same amount.")
class InstallmentPlan:
    periods: int
    rate_percent: Decimal = strawberry.field(description="The plan's total fee in percent of the principal.")
    interest_free: bool = strawberry.field(description="免息: the buyer's fee is 0; the subsidiser pays the fee.")
    subsidiser: str | None = strawberry.field(description="PLATFORM or MERCHANT, for an interest-free plan.")
    first_period_amount: Money
    per_period_amount: Money = strawberry.field(description="What each period after the first costs.")
    total_fee: Money = strawberry.field(description="What the buyer pays in fees over the plan.")
    total_amount: Money
    schedule: list[InstallmentBill]

    @classmethod
    def of(cls, p: plans.Plan) -> "InstallmentPlan":
        bills = [InstallmentBill(period=i, principal=x.principal, fee=x.fee, amount=x.amount)
                 for i, x in enumerate(p.installments, 1)]
        return cls(periods=p.periods, rate_percent=p.rate_percent, interest_free=p.interest_free,
                   subsidiser=p.subsidiser, first_period_amount=bills[0].amount, per_period_amount=bills[-1].amount,
                   total_fee=p.total_fee, total_amount=sum(b.amount for b in bills), schedule=bills)


@strawberry.type(description="The plans this checkout may be paid with on credit, or why there are none.")
class InstallmentPlans:
    plans: list[InstallmentPlan]
    unavailable_reason: InstallmentUnavailable | None
    available_limit: Money


async def installment_plans(info: Info, payable: int, sku_ids: list[int], merchant_ids: list[int]) -> InstallmentPlans:
    """For CheckoutPricing.installmentPlans: the caller's plans for a priced checkout."""
    principal = info.context.principal
    buyer_id = principal.id if principal is not None and principal.is_buyer else None
    choice = await query(info, lambda conn: plans.plans_for(conn, buyer_id, payable, sku_ids, merchant_ids,
                                                            datetime.now(UTC)))
    return InstallmentPlans(plans=[InstallmentPlan.of(p) for p in choice.plans],
                            unavailable_reason=InstallmentUnavailable(choice.unavailable.value)
                            if choice.unavailable else None, available_limit=choice.available_limit)


@strawberry.type
class CreditPlanConfig:
    tier: CreditTier
    periods: int
    rate_percent: Decimal
    min_amount: Money
    max_amount: Money | None
    enabled: bool


@strawberry.type(description="免息: plans of these period counts cost the buyer no fee; the subsidiser pays it.")
class InterestFreeOffer:
    id: strawberry.ID
    periods: list[int]
    subsidiser: str
    merchant_id: strawberry.ID | None
    min_amount: Money
    starts_at: datetime
    ends_at: datetime


def _offer(r: asyncpg.Record) -> InterestFreeOffer:
    return InterestFreeOffer(id=gid("InterestFreeOffer", r["id"]), periods=list(r["periods"]),
                             subsidiser=r["subsidiser"], merchant_id=gid("Merchant", r["merchant_id"]),
                             min_amount=r["min_amount"], starts_at=r["starts_at"], ends_at=r["ends_at"])


@strawberry.type(description="One period of a loan: what it asks and what was paid of it.")
class CreditBill:
    id: strawberry.ID
    loan_id: strawberry.ID
    period: int
    due_on: date
    principal: Money
    fee: Money
    penalty: Money = strawberry.field(description="Accrued while overdue (§8.1: per day on unpaid principal + fee).")
    paid_principal: Money
    paid_fee: Money
    paid_penalty: Money
    owed: Money
    status: str = strawberry.field(description="PENDING, OVERDUE, PAID or CLOSED.")

    @classmethod
    def of(cls, r: asyncpg.Record) -> "CreditBill":
        owed = r["principal"] - r["paid_principal"] + r["fee"] - r["paid_fee"] + r["penalty"] - r["paid_penalty"]
        return cls(id=gid("CreditBill", r["id"]), loan_id=gid("Loan", r["loan_id"]), period=r["period"],
                   due_on=r["due_on"], principal=r["principal"], fee=r["fee"], penalty=r["penalty"],
                   paid_principal=r["paid_principal"], paid_fee=r["paid_fee"], paid_penalty=r["paid_penalty"],
                   owed=owed, status=r["status"])


@strawberry.type(description="A credit payment's loan and its bills.")
class Loan:
    id: strawberry.ID
    principal: Money
    periods: int
    rate_percent: Decimal
    interest_free: bool
    status: str = strawberry.field(description="ACTIVE, PAID_OFF or CLOSED.")
    funding: str = strawberry.field(description="PENDING, FUNDED (sold to a funder), SELF_FUNDED (自持) or NEVER.")
    created_at: datetime
    bills: list[CreditBill]


def _loans(rows: list[asyncpg.Record], bills: dict[int, list[asyncpg.Record]]) -> list[Loan]:
    return [Loan(id=gid("Loan", r["id"]), principal=r["principal"], periods=r["periods"], rate_percent=r["rate_percent"],
                 interest_free=r["interest_free"], status=r["status"], funding=r["funding"], created_at=r["created_at"],
                 bills=[CreditBill.of(b) for b in bills[r["id"]]]) for r in rows]


@strawberry.type(description="A funder (资金方) that buys loans, with its asset rules.")
class CreditFunder:
    id: strawberry.ID
    name: str
    kind: str = strawberry.field(description="DIRECT_LENDING, TRUST or FACTORING.")
    capital: Money = strawberry.field(description="What it may still lend.")
    max_amount: Money
    periods: list[int]
    min_tier: CreditTier = strawberry.field(description="The worst buyer tier it takes (A is best).")
    priority: int
    active: bool
    loans: int
    assets: Money = strawberry.field(description="Principal of its loans, net of refunds.")


def _funder(r: asyncpg.Record) -> CreditFunder:
    return CreditFunder(id=gid("Funder", r["id"]), name=r["name"], kind=r["kind"], capital=r["capital"],
                  max_amount=r["max_amount"], periods=list(r["periods"]), min_tier=CreditTier(r["min_tier"]),
                  priority=r["priority"], active=r["active"], loans=r["loans"], assets=r["assets"])


@strawberry.input
class CreateFunderInput:
    name: str
    kind: str
    capital: Money
    max_amount: Money
    periods: list[int]
    min_tier: CreditTier
    priority: int = 0


@strawberry.input(description="`addCapital` tops the capital up; `active: false` stops new loans going to it.")
class UpdateFunderInput:
    funder_id: strawberry.ID
    add_capital: Money = Money(0)
    active: bool | None = None
    priority: int | None = None


@strawberry.type
class CreditFunderPayload:
    funder: CreditFunder | None = None
    user_errors: list[CreditUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


async def _funder_payload(info: Info, funder_id: int) -> CreditFunderPayload:
    rows = await query(info, financing.funders)
    return CreditFunderPayload(funder=next(_funder(r) for r in rows if r["id"] == funder_id))


@strawberry.input(description="`monthlyIncome` in cents; `phone` must be your account's verified phone.")
class ApplyForCreditInput:
    id_number: str
    monthly_income: Money
    phone: str
    due_day: int = 10


@strawberry.input
class ChangeCreditLimitInput:
    buyer_id: strawberry.ID
    limit: Money
    reason: str


@strawberry.input
class SetCreditPlanInput:
    tier: CreditTier
    periods: int
    rate_percent: Decimal
    min_amount: Money = Money(1)
    max_amount: Money | None = None
    enabled: bool = True


@strawberry.input
class SetCreditCategoryExcludedInput:
    category_id: strawberry.ID
    excluded: bool


@strawberry.input
class CreateInterestFreeOfferInput:
    periods: list[int]
    subsidiser: str = strawberry.field(description="PLATFORM, or MERCHANT with merchantId.")
    starts_at: datetime
    ends_at: datetime
    merchant_id: strawberry.ID | None = None
    min_amount: Money = Money(1)


@strawberry.type
class CreditApplicationPayload:
    application: CreditApplication | None = None
    credit_line: CreditLine | None = None
    user_errors: list[CreditUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class CreditLinePayload:
    credit_line: CreditLine | None = None
    user_errors: list[CreditUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class CreditPlansPayload:
    plans: list[CreditPlanConfig] = strawberry.field(default_factory=list)
    excluded_category_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    user_errors: list[CreditUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class InterestFreeOfferPayload:
    offer: InterestFreeOffer | None = None
    user_errors: list[CreditUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


async def _plans_payload(info: Info) -> CreditPlansPayload:
    async def act(conn) -> CreditPlansPayload:
        rows = await plans.all_plans(conn)
        return CreditPlansPayload(
            plans=[CreditPlanConfig(tier=CreditTier(r["tier"]), periods=r["periods"], rate_percent=r["rate_percent"],
                                    min_amount=r["min_amount"], max_amount=r["max_amount"], enabled=r["enabled"])
                   for r in rows],
            excluded_category_ids=[gid("BackendCategory", c) for c in await plans.excluded_categories(conn)])
    return await query(info, act)


async def _line(info: Info, buyer_id: int) -> CreditLine | None:
    row = await query(info, lambda conn: lines.line_of(conn, buyer_id))
    return CreditLine.of(row) if row else None


@strawberry.type
class CreditQuery:
    @strawberry.field(permission_classes=[IsBuyer], description="Your credit line; null before an approval.")
    async def my_credit_line(self, info: Info) -> CreditLine | None:
        return await _line(info, info.context.caller.id)

    @strawberry.field(permission_classes=[IsBuyer], description="Your credit applications, newest first.")
    async def my_credit_applications(self, info: Info, first: int = 20,
                                     after: str | None = None) -> Connection[CreditApplication]:
        async def act(conn) -> Connection[CreditApplication]:
            size = page_size(first)
            rows = await lines.applications(conn, info.context.caller.id, None, after_id(after), size + 1)
            return connection_of(rows, size, after, CreditApplication.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsBuyer], description="Your loans, newest first, each with its bills.")
    async def my_loans(self, info: Info, first: int = 20, after: str | None = None) -> Connection[Loan]:
        async def act(conn) -> Connection[Loan]:
            size = page_size(first)
            rows = await loans.buyer_loans(conn, info.context.caller.id, after_id(after), size + 1)
            bills = await loans.bills_of(conn, [r["id"] for r in rows])
            page = dict(zip([r["id"] for r in rows], _loans(rows, bills), strict=True))
            return connection_of(rows, size, after, lambda r: page[r["id"]])
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAdmin], description="The overdue list: every overdue bill, in bill order.")
    async def overdue_bills(self, info: Info, first: int = 50, after: str | None = None) -> Connection[CreditBill]:
        async def act(conn) -> Connection[CreditBill]:
            size = page_size(first)
            rows = await loans.overdue_bills(conn, after_id(after), size + 1)
            return connection_of(rows, size, after, CreditBill.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAdmin], description="Funders by priority, with their capital and assets.")
    async def funders(self, info: Info) -> list[CreditFunder]:
        return [_funder(r) for r in await query(info, financing.funders)]

    @strawberry.field(permission_classes=[IsAdmin], description="Every credit application and its decision, newest "
                                                                "first; `buyerId` / `status` narrow it.")
    async def credit_applications(self, info: Info, buyer_id: strawberry.ID | None = None,
                                  status: CreditApplicationStatus | None = None, first: int = 20,
                                  after: str | None = None) -> Connection[CreditApplication]:
        async def act(conn) -> Connection[CreditApplication]:
            size = page_size(first)
            rows = await lines.applications(conn, optional_pk("Buyer", buyer_id, "buyerId"),
                                            status.value if status else None, after_id(after), size + 1)
            return connection_of(rows, size, after, CreditApplication.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAdmin], description="A buyer's credit line.")
    async def credit_line(self, info: Info, buyer_id: strawberry.ID) -> CreditLine | None:
        return await _line(info, input_pk("Buyer", buyer_id, "buyerId"))

    @strawberry.field(permission_classes=[IsAdmin], description="Installment plans per tier and excluded categories.")
    async def credit_plans(self, info: Info) -> CreditPlansPayload:
        return await _plans_payload(info)

    @strawberry.field(permission_classes=[IsAdmin], description="Interest-free offers, newest first.")
    async def interest_free_offers(self, info: Info) -> list[InterestFreeOffer]:
        return [_offer(r) for r in await query(info, plans.offers)]


@strawberry.type
class CreditMutation:
    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Apply for a credit line: decided at once by the scorer (docs/credit.md); a rejection is an application "
        "with status REJECTED and its reason, not an error."))
    async def apply_for_credit(self, info: Info, input: ApplyForCreditInput) -> CreditApplicationPayload:
        settings = info.context.settings

        async def act(conn, who) -> int:
            return await lines.apply(conn, settings, who.id, input.id_number, input.monthly_income, input.phone,
                                     input.due_day, datetime.now(UTC))

        async def present(application_id: int) -> CreditApplicationPayload:
            row = await query(info, lambda conn: lines.application(conn, application_id))
            return CreditApplicationPayload(application=CreditApplication.of(row),
                                            credit_line=await _line(info, row["buyer_id"]))
        return await mutate(info, CreditApplicationPayload, act, present)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Raise or cut a buyer's limit, with a reason (the buyer is notified; CREDIT_LIMIT_CHANGED reaches marketing)."))
    async def change_credit_limit(self, info: Info, input: ChangeCreditLimitInput) -> CreditLinePayload:
        async def act(conn, who) -> int:
            buyer = input_pk("Buyer", input.buyer_id, "buyerId")
            await lines.change_limit(conn, who.subject, buyer, input.limit, input.reason, datetime.now(UTC))
            return buyer

        async def present(buyer: int) -> CreditLinePayload:
            return CreditLinePayload(credit_line=await _line(info, buyer))
        return await mutate(info, CreditLinePayload, act, present)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Set a tier's plan of a period count.")
    async def set_credit_plan(self, info: Info, input: SetCreditPlanInput) -> CreditPlansPayload:
        async def act(conn, who) -> None:
            await plans.set_plan(conn, input.tier.value, input.periods, input.rate_percent, input.min_amount,
                                 input.max_amount, input.enabled)
        return await mutate(info, CreditPlansPayload, act, lambda _: _plans_payload(info))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Exclude a backend category (and its subtree) from installments, or include it again."))
    async def set_credit_category_excluded(self, info: Info, input: SetCreditCategoryExcludedInput) -> CreditPlansPayload:
        async def act(conn, who) -> None:
            await plans.set_category_excluded(conn, input_pk("BackendCategory", input.category_id, "categoryId"),
                                              input.excluded)
        return await mutate(info, CreditPlansPayload, act, lambda _: _plans_payload(info))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Offer interest-free installments (免息).")
    async def create_interest_free_offer(self, info: Info, input: CreateInterestFreeOfferInput) -> InterestFreeOfferPayload:
        async def act(conn, who) -> int:
            return await plans.create_offer(conn, input.periods, input.subsidiser,
                                            optional_pk("Merchant", input.merchant_id, "merchantId"), input.min_amount,
                                            input.starts_at, input.ends_at)

        async def present(offer_id: int) -> InterestFreeOfferPayload:
            rows = await query(info, plans.offers)
            return InterestFreeOfferPayload(offer=next(_offer(r) for r in rows if r["id"] == offer_id))
        return await mutate(info, InterestFreeOfferPayload, act, present)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Add a funder with its capital and asset rules.")
    async def create_funder(self, info: Info, input: CreateFunderInput) -> CreditFunderPayload:
        async def act(conn, who) -> int:
            return await financing.create_funder(conn, who.subject, input.name, input.kind, input.capital,
                                                 input.max_amount, input.periods, input.min_tier.value, input.priority,
                                                 datetime.now(UTC))
        return await mutate(info, CreditFunderPayload, act, lambda pk: _funder_payload(info, pk))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Top up a funder's capital, pause it, or change its "
                                                                   "priority.")
    async def update_funder(self, info: Info, input: UpdateFunderInput) -> CreditFunderPayload:
        async def act(conn, who) -> int:
            pk = input_pk("Funder", input.funder_id, "funderId")
            await financing.update_funder(conn, who.subject, pk, input.add_capital, input.active, input.priority,
                                          datetime.now(UTC))
            return pk
        return await mutate(info, CreditFunderPayload, act, lambda pk: _funder_payload(info, pk))
