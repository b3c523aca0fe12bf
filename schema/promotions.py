"""GraphQL for promotions, coupons and freight templates (DOMAIN §4.1): staff manage them,
buyers claim coupons and read their wallet. Resolvers decode ids and run one service call through
schema/mutations.py (`mutate` for changes, `query` for reads), then map rows onto types; the
rules live in app/promotions/. Roles are declared on the fields (operators review); services
check ownership only.
"""

from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeAlias

import asyncpg
import strawberry

from app.merchants.errors import ShopError
from app.pricing import model as m
from app.promotions import coupons, freight, lifecycle, service
from app.promotions.coupons import WalletStatus
from app.promotions.errors import PromotionError
from schema.context import Info
from schema.errors import user_error_type
from schema.ids import gid, input_pk, input_pks, optional_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, Edge, PageInfo, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsBuyer, IsMerchantStaff, IsStaff
from schema.pricing import Funder
from schema.scalars import Money

# The engine's enums are the GraphQL enums (registered here, aliased for annotations).
strawberry.enum(m.PromotionKind, name="PromotionKind")
strawberry.enum(m.PromotionStatus, name="PromotionStatus")
strawberry.enum(m.CouponKind, name="CouponKind")
strawberry.enum(WalletStatus, name="CouponWalletStatus")
PromotionKind: TypeAlias = m.PromotionKind
PromotionStatus: TypeAlias = m.PromotionStatus
CouponKind: TypeAlias = m.CouponKind
CouponWalletStatus: TypeAlias = WalletStatus


@strawberry.enum(name="PromotionAction", description=(
    "PUBLISH: DRAFT → ACTIVE (a merchant's one asking platform funding → PENDING_REVIEW); PAUSE ⇄ RESUME; "
    "END: final. Operators decide PENDING_REVIEW with reviewPromotion / reviewCouponTemplate."))
class StatusAction(Enum):
    """app.promotions.lifecycle.OWNER_ACTIONS, spelled out for the type checker
    (tests/test_api_contract.py keeps them equal)."""
    PUBLISH = "PUBLISH"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    END = "END"


@strawberry.enum
class EnrolmentStatus(Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
PromotionUserError = user_error_type("Promotion", PromotionError, ShopError)


# ---------------------------------------------------------------- shared shapes


@strawberry.type(description="Who pays a discount: PLATFORM, MERCHANT, or SPLIT with the platform's percent.")
class Funding:
    funder: Funder
    platform_percent: int


@strawberry.input
class FundingInput:
    funder: Funder
    platform_percent: int = 0


def _funding_of(row: Any) -> Funding | None:
    return None if row["funder"] is None else Funding(funder=Funder(row["funder"]),
                                                      platform_percent=row["platform_percent"])


def _funding_in(value: FundingInput | None) -> m.Funding | None:
    return None if value is None else m.Funding(m.Funder(value.funder.value), value.platform_percent)


# ---------------------------------------------------------------- promotions


@strawberry.type
class Tier:
    threshold: Money
    amount: Money


@strawberry.type(description="Per every `step`, `amount` off, at most `cap`.")
class PerEvery:
    step: Money
    amount: Money
    cap: Money | None


@strawberry.type
class BundleItem:
    sku_id: strawberry.ID
    quantity: int


@strawberry.type(description="The kind's rule; fields other kinds use are null. Money in cents, `rate` = percent "
                             "paid (90 = 10% off).")
class PromotionRule:
    unit_amount_off: Money | None
    promo_unit_price: Money | None
    per_buyer_cap: int | None
    deposit_per_unit: Money | None
    tiers: list[Tier]
    per_every: PerEvery | None
    rate: int | None
    threshold_amount: Money | None
    threshold_items: int | None
    channel: str | None
    amount: Money | None
    bundle_items: list[BundleItem]
    bundle_price: Money | None
    gift_sku_id: strawberry.ID | None
    gift_quantity: int | None

    @classmethod
    def from_json(cls, r: dict) -> "PromotionRule":
        every = r.get("per_every")
        return cls(
            unit_amount_off=r.get("unit_amount_off"), promo_unit_price=r.get("promo_unit_price"),
            per_buyer_cap=r.get("per_buyer_cap"), deposit_per_unit=r.get("deposit_per_unit"),
            tiers=[Tier(threshold=t["threshold"], amount=t["amount"]) for t in r.get("tiers") or ()],
            per_every=PerEvery(step=every["step"], amount=every["amount"], cap=every.get("cap")) if every else None,
            rate=r.get("rate"), threshold_amount=r.get("threshold_amount"), threshold_items=r.get("threshold_items"),
            channel=r.get("channel"), amount=r.get("amount"),
            bundle_items=[BundleItem(sku_id=gid("Sku", i["sku_id"]), quantity=i["quantity"])
                          for i in r.get("bundle_items") or ()],
            bundle_price=r.get("bundle_price"), gift_sku_id=gid("Sku", r.get("gift_sku_id")),
            gift_quantity=r.get("gift_quantity"))


@strawberry.type(description="Lines in scope: every line (of the merchant, for a shop promotion), else those of "
                             "the categories (and their subcategories) and the approved SKUs.")
class PromotionScope:
    whole: bool
    category_ids: list[strawberry.ID]
    sku_ids: list[strawberry.ID] = strawberry.field(description="Approved SKUs (at most 1,000 shown).")


@strawberry.type
class Promotion:
    id: strawberry.ID
    kind: PromotionKind
    name: str
    merchant_id: strawberry.ID | None = strawberry.field(description="Null for a platform promotion.")
    status: PromotionStatus
    priority: int
    stackable_with_coupons: bool
    starts_at: datetime
    ends_at: datetime
    funding: Funding | None = strawberry.field(description="Null: the default funder (DOMAIN §4.6).")
    scope: PromotionScope
    rule: PromotionRule
    budget: Money | None
    spent: Money = strawberry.field(description="Discount given so far by placed, not cancelled orders.")
    review_note: str
    created_at: datetime

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "Promotion":
        return cls(
            id=gid("Promotion", r["id"]), kind=PromotionKind(r["kind"]), name=r["name"],
            merchant_id=gid("Merchant", r["merchant_id"]), status=PromotionStatus(r["status"]),
            priority=r["priority"], stackable_with_coupons=r["stackable_with_coupons"], starts_at=r["starts_at"],
            ends_at=r["ends_at"], funding=_funding_of(r),
            scope=PromotionScope(whole=r["whole_scope"], category_ids=[gid("Category", c) for c in r["category_ids"]],
                                 sku_ids=[gid("Sku", s) for s in r["scope_sku_ids"]]),
            rule=PromotionRule.from_json(r["rule"]), budget=r["budget"], spent=r["given"],
            review_note=r["review_note"], created_at=r["created_at"])


@strawberry.input
class TierInput:
    threshold: Money
    amount: Money


@strawberry.input
class PerEveryInput:
    step: Money
    amount: Money
    cap: Money | None = None


@strawberry.input
class BundleItemInput:
    sku_id: strawberry.ID
    quantity: int = 1


@strawberry.input(description="Give the fields of the promotion's kind only: DIRECT/PRESALE unitAmountOff or "
                              "promoUnitPrice (+perBuyerCap; PRESALE depositPerUnit); FULL_REDUCTION tiers or "
                              "perEvery; FULL_DISCOUNT rate with thresholdAmount or thresholdItems; PAYMENT channel, "
                              "amount (+thresholdAmount); BUNDLE bundleItems, bundlePrice; GIFT thresholdAmount, "
                              "giftSkuId (+giftQuantity).")
class PromotionRuleInput:
    unit_amount_off: Money | None = None
    promo_unit_price: Money | None = None
    per_buyer_cap: int | None = None
    deposit_per_unit: Money | None = None
    tiers: list[TierInput] | None = None
    per_every: PerEveryInput | None = None
    rate: int | None = None
    threshold_amount: Money | None = None
    threshold_items: int | None = None
    channel: str | None = None
    amount: Money | None = None
    bundle_items: list[BundleItemInput] | None = None
    bundle_price: Money | None = None
    gift_sku_id: strawberry.ID | None = None
    gift_quantity: int | None = None


@strawberry.input(description="No scope for PAYMENT (the whole order) and BUNDLE (its items). A platform "
                              "promotion may start with none and take merchants' enrolled SKUs.")
class PromotionScopeInput:
    whole: bool = False
    category_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    sku_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input(description="`merchantId`: admins choose (null = a platform promotion); merchant staff always "
                              "create for their own shop.")
class PromotionInput:
    kind: PromotionKind
    name: str
    starts_at: datetime
    ends_at: datetime
    rule: PromotionRuleInput
    scope: PromotionScopeInput = strawberry.field(default_factory=PromotionScopeInput)
    merchant_id: strawberry.ID | None = None
    priority: int = 0
    stackable_with_coupons: bool = True
    funding: FundingInput | None = None
    budget: Money | None = None


def _rule(r: PromotionRuleInput) -> dict:
    rule = {k: v for k, v in vars(r).items() if v is not None and k not in ("tiers", "per_every", "bundle_items",
                                                                              "gift_sku_id")}
    if r.tiers is not None:
        rule["tiers"] = [{"threshold": t.threshold, "amount": t.amount} for t in r.tiers]
    if r.per_every is not None:
        rule["per_every"] = {"step": r.per_every.step, "amount": r.per_every.amount, "cap": r.per_every.cap}
    if r.bundle_items is not None:
        rule["bundle_items"] = [{"sku_id": input_pk("Sku", i.sku_id, "rule", "bundleItems", str(n), "skuId"),
                                 "quantity": i.quantity} for n, i in enumerate(r.bundle_items)]
    if r.gift_sku_id is not None:
        rule["gift_sku_id"] = input_pk("Sku", r.gift_sku_id, "rule", "giftSkuId")
    return rule


def _promotion_draft(i: PromotionInput) -> service.PromotionDraft:
    return service.PromotionDraft(
        kind=m.PromotionKind(i.kind.value), name=i.name, starts_at=i.starts_at, ends_at=i.ends_at, rule=_rule(i.rule),
        priority=i.priority, stackable_with_coupons=i.stackable_with_coupons, funding=_funding_in(i.funding),
        whole_scope=i.scope.whole,
        category_ids=tuple(input_pks("Category", i.scope.category_ids, "scope", "categoryIds")),
        sku_ids=tuple(input_pks("Sku", i.scope.sku_ids, "scope", "skuIds")), budget=i.budget)


@strawberry.input
class UpdatePromotionInput:
    id: strawberry.ID
    promotion: PromotionInput = strawberry.field(description="The whole new content; kind and owner cannot change.")


@strawberry.input
class ChangeStatusInput:
    id: strawberry.ID
    action: StatusAction
    note: str | None = strawberry.field(default=None, description="Why (kept in the status history).")


@strawberry.input(description="An operator's decision on a PENDING_REVIEW promotion or coupon: ACTIVE, or back to "
                              "DRAFT with `note` (required to reject; shown as `reviewNote`).")
class ReviewInput:
    id: strawberry.ID
    approve: bool
    note: str | None = None


@strawberry.type(description="One status change: who (`staff:<id>`), when, from (null: created), to, why.")
class PromotionStatusChange:
    from_status: PromotionStatus | None
    to_status: PromotionStatus
    actor: str
    reason: str | None
    at: datetime

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "PromotionStatusChange":
        return cls(from_status=PromotionStatus(r["from_status"]) if r["from_status"] else None,
                   to_status=PromotionStatus(r["to_status"]), actor=r["actor"], reason=r["reason"],
                   at=r["created_at"])


@strawberry.input
class PromotionFilter:
    platform: bool | None = None
    merchant_id: strawberry.ID | None = None
    status: PromotionStatus | None = None
    kind: PromotionKind | None = None


@strawberry.type
class PromotionPayload:
    promotion: Promotion | None = None
    user_errors: list[PromotionUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="A merchant's SKU put forward for a platform promotion (报名).")
class Enrolment:
    promotion_id: strawberry.ID
    sku_id: strawberry.ID
    merchant_id: strawberry.ID
    status: EnrolmentStatus
    note: str
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, e: service.Enrolment) -> "Enrolment":
        return cls(promotion_id=gid("Promotion", e.promotion_id), sku_id=gid("Sku", e.sku_id),
                   merchant_id=gid("Merchant", e.merchant_id), status=EnrolmentStatus(e.status), note=e.note,
                   created_at=e.created_at, decided_at=e.decided_at)


@strawberry.input
class EnrolSkusInput:
    promotion_id: strawberry.ID
    sku_ids: list[strawberry.ID]


@strawberry.input(description="Decide pending enrolments; `note` is required to reject.")
class ReviewEnrolmentsInput:
    promotion_id: strawberry.ID
    sku_ids: list[strawberry.ID]
    approve: bool
    note: str | None = None


@strawberry.type
class EnrolmentPayload:
    enrolments: list[Enrolment] = strawberry.field(default_factory=list)
    user_errors: list[PromotionUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


# ---------------------------------------------------------------- coupons


@strawberry.type(description="Terms of a coupon: `amount` off, or `rate` percent paid with at most `cap` off, when "
                             "the amount in scope reaches `threshold`; `categoryIds` empty = every category.")
class CouponTerms:
    kind: CouponKind
    name: str
    merchant_id: strawberry.ID | None
    threshold: Money
    amount: Money | None
    rate: int | None
    cap: Money | None
    category_ids: list[strawberry.ID]

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "CouponTerms":
        return cls(kind=CouponKind(r["kind"]), name=r["name"], merchant_id=gid("Merchant", r["merchant_id"]),
                   threshold=r["threshold"], amount=r["amount"], rate=r["rate"], cap=r["cap"],
                   category_ids=[gid("Category", c) for c in r["category_ids"]])


@strawberry.type
class CouponTemplate:
    id: strawberry.ID
    terms: CouponTerms
    status: PromotionStatus
    claim_starts_at: datetime
    claim_ends_at: datetime
    valid_days: int | None
    valid_until: datetime | None
    total_stock: int
    issued: int
    per_buyer_limit: int
    funding: Funding | None
    review_note: str

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "CouponTemplate":
        return cls(id=gid("CouponTemplate", r["id"]), terms=CouponTerms.from_row(r),
                   status=PromotionStatus(r["status"]), claim_starts_at=r["claim_starts_at"],
                   claim_ends_at=r["claim_ends_at"], valid_days=r["valid_days"], valid_until=r["valid_until"],
                   total_stock=r["total_stock"], issued=r["issued"], per_buyer_limit=r["per_buyer_limit"],
                   funding=_funding_of(r), review_note=r["review_note"])


@strawberry.type(description="A coupon being handed out now.")
class ClaimableCoupon:
    template_id: strawberry.ID
    terms: CouponTerms
    claim_ends_at: datetime
    valid_days: int | None
    valid_until: datetime | None
    remaining: int
    per_buyer_limit: int
    claimed: int = strawberry.field(description="How many you hold (0 when not signed in).")


@strawberry.type(description="A coupon in your wallet; `id` is what checkout takes in `couponIds`.")
class WalletCoupon:
    id: strawberry.ID
    template_id: strawberry.ID
    terms: CouponTerms
    status: CouponWalletStatus
    claimed_at: datetime
    expires_at: datetime
    used_at: datetime | None


@strawberry.type
class WalletCounts:
    unused: int
    used: int
    expired: int


@strawberry.type(description="Your coupons in one state, newest claim first, and how many you have in each state.")
class Wallet:
    edges: list[Edge[WalletCoupon]]
    page_info: PageInfo
    counts: WalletCounts


@strawberry.input(description="SHOP coupons: merchant staff for their shop (admins name `merchantId`); PLATFORM and "
                              "NEW_USER: operators. Give `amount`, or `rate` (+`cap`); `validDays` or `validUntil`.")
class CouponTemplateInput:
    kind: CouponKind
    name: str
    claim_starts_at: datetime
    claim_ends_at: datetime
    total_stock: int
    threshold: Money = 0
    amount: Money | None = None
    rate: int | None = None
    cap: Money | None = None
    category_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    valid_days: int | None = None
    valid_until: datetime | None = None
    per_buyer_limit: int = 1
    merchant_id: strawberry.ID | None = None
    funding: FundingInput | None = None


def _coupon_draft(i: CouponTemplateInput) -> coupons.CouponDraft:
    return coupons.CouponDraft(
        kind=m.CouponKind(i.kind.value), name=i.name, claim_starts_at=i.claim_starts_at,
        claim_ends_at=i.claim_ends_at, total_stock=i.total_stock, threshold=i.threshold, amount=i.amount, rate=i.rate,
        cap=i.cap, category_ids=tuple(input_pks("Category", i.category_ids, "categoryIds")),
        valid_days=i.valid_days, valid_until=i.valid_until, per_buyer_limit=i.per_buyer_limit,
        funding=_funding_in(i.funding))


@strawberry.input
class UpdateCouponTemplateInput:
    id: strawberry.ID
    template: CouponTemplateInput


@strawberry.type
class CouponTemplatePayload:
    template: CouponTemplate | None = None
    user_errors: list[PromotionUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input
class ClaimCouponInput:
    template_id: strawberry.ID


@strawberry.type
class ClaimCouponPayload:
    coupon: WalletCoupon | None = None
    user_errors: list[PromotionUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


# ---------------------------------------------------------------- freight


@strawberry.type
class RegionFee:
    region_code: str
    fee: Money


@strawberry.type(description="Shipping per merchant: `fee` by province (else `defaultFee`), free when the "
                             "merchant's amount after its shop promotions and shop coupon reaches `freeThreshold`.")
class FreightTemplate:
    merchant_id: strawberry.ID
    default_fee: Money
    free_threshold: Money | None
    regions: list[RegionFee]


@strawberry.input
class RegionFeeInput:
    region_code: str
    fee: Money


@strawberry.input
class FreightTemplateInput:
    merchant_id: strawberry.ID
    default_fee: Money
    free_threshold: Money | None = None
    regions: list[RegionFeeInput] = strawberry.field(default_factory=list)


@strawberry.type
class FreightTemplatePayload:
    template: FreightTemplate | None = None
    user_errors: list[PromotionUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


def _freight(merchant_id: int, d: freight.FreightDraft) -> FreightTemplate:
    return FreightTemplate(merchant_id=gid("Merchant", merchant_id), default_fee=d.default_fee,
                           free_threshold=d.free_threshold,
                           regions=[RegionFee(region_code=c, fee=f) for c, f in d.fee_by_region])


# ---------------------------------------------------------------- resolvers


def _now() -> datetime:
    return datetime.now(UTC)


def _wallet_coupon(r: asyncpg.Record) -> WalletCoupon:
    return WalletCoupon(id=gid("Coupon", r["id"]), template_id=gid("CouponTemplate", r["template_id"]),
                        terms=CouponTerms.from_row(r), status=WalletStatus(r["wallet_status"]),
                        claimed_at=r["claimed_at"], expires_at=r["expires_at"], used_at=r["used_at"])


def _claimable(r: asyncpg.Record) -> ClaimableCoupon:
    return ClaimableCoupon(template_id=gid("CouponTemplate", r["id"]), terms=CouponTerms.from_row(r),
                           claim_ends_at=r["claim_ends_at"], valid_days=r["valid_days"],
                           valid_until=r["valid_until"], remaining=r["total_stock"] - r["issued"],
                           per_buyer_limit=r["per_buyer_limit"], claimed=r["held"])


async def _history(info: Info, table: lifecycle.Table, type_name: str, global_id: str, first: int,
                   after: str | None) -> Connection[PromotionStatusChange]:
    first = page_size(first)
    rows = await query(info, lambda conn: lifecycle.status_history(
        conn, table, info.context.caller, input_pk(type_name, global_id, "id"), after_id(after), first + 1))
    return connection_of(rows, first, after, PromotionStatusChange.from_row)


@strawberry.type
class PromotionQuery:
    @strawberry.field(permission_classes=[IsStaff], description=(
        "Newest first. Merchant staff: their shop's promotions, or with `platform: true` the platform's (to enrol "
        "in); operators: all."))
    async def promotions(self, info: Info, filter: PromotionFilter | None = None, first: int = 20,
                         after: str | None = None) -> Connection[Promotion]:
        f, first = filter or PromotionFilter(), page_size(first)

        async def act(conn):
            return await service.list_promotions(conn, info.context.principal, service.PromotionFilter(
                platform=f.platform, merchant_id=optional_pk("Merchant", f.merchant_id, "filter", "merchantId"),
                status=f.status.value if f.status else None, kind=f.kind.value if f.kind else None),
                after_id(after), first + 1)
        return connection_of(await query(info, act), first, after, Promotion.from_row)

    @strawberry.field(permission_classes=[IsStaff])
    async def promotion(self, info: Info, id: strawberry.ID) -> Promotion:
        return Promotion.from_row(await query(info, lambda conn: service.get_promotion(
            conn, info.context.caller, input_pk("Promotion", id, "id"))))

    @strawberry.field(permission_classes=[IsStaff], description=(
        "Every status change of a promotion, oldest first (the first: its creation). Merchant staff: their shop's; "
        "operators: all."))
    async def promotion_status_history(self, info: Info, id: strawberry.ID, first: int = 20,
                                       after: str | None = None) -> Connection[PromotionStatusChange]:
        return await _history(info, lifecycle.PROMOTIONS, "Promotion", id, first, after)

    @strawberry.field(permission_classes=[IsStaff], description="Operators: every merchant's; merchants: their own.")
    async def promotion_enrolments(self, info: Info, promotion_id: strawberry.ID,
                                   status: EnrolmentStatus | None = None) -> list[Enrolment]:
        rows = await query(info, lambda conn: service.enrolments(
            conn, info.context.caller, input_pk("Promotion", promotion_id, "promotionId"),
            status=status.value if status else None))
        return [Enrolment.of(e) for e in rows]

    @strawberry.field(permission_classes=[IsStaff], description="Merchant staff: their shop's; operators: all.")
    async def coupon_templates(self, info: Info, platform: bool | None = None, status: PromotionStatus | None = None,
                               first: int = 20, after: str | None = None) -> Connection[CouponTemplate]:
        first = page_size(first)
        rows = await query(info, lambda conn: coupons.list_templates(
            conn, info.context.caller, platform, status.value if status else None, after_id(after), first + 1))
        return connection_of(rows, first, after, CouponTemplate.from_row)

    @strawberry.field(permission_classes=[IsStaff])
    async def coupon_template(self, info: Info, id: strawberry.ID) -> CouponTemplate:
        return CouponTemplate.from_row(await query(info, lambda conn: coupons.get_template(
            conn, info.context.caller, input_pk("CouponTemplate", id, "id"))))

    @strawberry.field(permission_classes=[IsStaff], description=(
        "Every status change of a coupon template, oldest first (the first: its creation)."))
    async def coupon_template_status_history(self, info: Info, id: strawberry.ID, first: int = 20,
                                             after: str | None = None) -> Connection[PromotionStatusChange]:
        return await _history(info, lifecycle.COUPON_TEMPLATES, "CouponTemplate", id, first, after)

    @strawberry.field(description="Coupons handed out now (a merchant's, or all), newest first; anyone may look.")
    async def claimable_coupons(self, info: Info, merchant_id: strawberry.ID | None = None, first: int = 20,
                                after: str | None = None) -> Connection[ClaimableCoupon]:
        principal, first, now = info.context.principal, page_size(first), _now()
        buyer = principal.id if principal is not None and principal.is_buyer else None
        rows = await query(info, lambda conn: coupons.claimable(
            conn, buyer, optional_pk("Merchant", merchant_id, "merchantId"), now, after_id(after), first + 1))
        return connection_of(rows, first, after, _claimable)

    @strawberry.field(permission_classes=[IsBuyer], description="Your coupons in one state, newest claim first.")
    async def my_coupons(self, info: Info, status: CouponWalletStatus = WalletStatus.UNUSED, first: int = 20,
                         after: str | None = None) -> Wallet:
        buyer, first, now = info.context.caller.id, page_size(first), _now()

        async def act(conn):
            return (await coupons.wallet(conn, buyer, WalletStatus(status.value), now, after_id(after), first + 1),
                    await coupons.wallet_counts(conn, buyer, now))
        rows, counts = await query(info, act)
        page = connection_of(rows, first, after, _wallet_coupon)
        return Wallet(edges=page.edges, page_info=page.page_info,
                      counts=WalletCounts(unused=counts[WalletStatus.UNUSED], used=counts[WalletStatus.USED],
                                          expired=counts[WalletStatus.EXPIRED]))

    @strawberry.field(permission_classes=[IsStaff], description="Null when the merchant has none (it ships free).")
    async def freight_template(self, info: Info, merchant_id: strawberry.ID) -> FreightTemplate | None:
        async def act(conn):
            pk = input_pk("Merchant", merchant_id, "merchantId")
            found = await freight.get_template(conn, info.context.principal, pk)
            return None if found is None else _freight(pk, found)
        return await query(info, act)


def _promotion_payload(info: Info):
    """The payload of a change to promotion `pk`, read after the commit as the caller sees it."""
    async def present(pk: int) -> PromotionPayload:
        return PromotionPayload(promotion=Promotion.from_row(await query(
            info, lambda conn: service.get_promotion(conn, info.context.caller, pk))))
    return present


def _template_payload(info: Info):
    async def present(pk: int) -> CouponTemplatePayload:
        return CouponTemplatePayload(template=CouponTemplate.from_row(await query(
            info, lambda conn: coupons.get_template(conn, info.context.caller, pk))))
    return present


def _on(type_name: str, global_id: str, act):
    """`act(conn, caller, pk)` on the object a client id names (decoded at `id`); returns the pk."""
    async def run(conn, who) -> int:
        pk = input_pk(type_name, global_id, "id")
        await act(conn, who, pk)
        return pk
    return run


@strawberry.type
class PromotionMutation:
    @strawberry.mutation(permission_classes=[IsStaff], description="Created as a DRAFT; PUBLISH it to run it.")
    async def create_promotion(self, info: Info, input: PromotionInput) -> PromotionPayload:
        return await mutate(info, PromotionPayload, lambda conn, who: service.create_promotion(
            conn, who, optional_pk("Merchant", input.merchant_id, "merchantId"), _promotion_draft(input)),
            _promotion_payload(info))

    @strawberry.mutation(permission_classes=[IsStaff], description="Only a DRAFT can change.")
    async def update_promotion(self, info: Info, input: UpdatePromotionInput) -> PromotionPayload:
        return await mutate(info, PromotionPayload, _on("Promotion", input.id, lambda conn, who, pk: (
            service.update_promotion(conn, who, pk, _promotion_draft(input.promotion)))), _promotion_payload(info))

    @strawberry.mutation(permission_classes=[IsStaff])
    async def change_promotion_status(self, info: Info, input: ChangeStatusInput) -> PromotionPayload:
        return await mutate(info, PromotionPayload, _on("Promotion", input.id, lambda conn, who, pk: (
            lifecycle.change_status(conn, lifecycle.PROMOTIONS, who, pk, lifecycle.Action(input.action.value),
                                    input.note, _now()))), _promotion_payload(info))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Operators decide a promotion in PENDING_REVIEW.")
    async def review_promotion(self, info: Info, input: ReviewInput) -> PromotionPayload:
        return await mutate(info, PromotionPayload, _on("Promotion", input.id, lambda conn, who, pk: (
            lifecycle.review(conn, lifecycle.PROMOTIONS, who, pk, input.approve, input.note, _now()))),
            _promotion_payload(info))

    @strawberry.mutation(permission_classes=[IsMerchantStaff], description=(
        "Merchants put their SKUs forward for a running platform promotion (报名); operators decide."))
    async def enrol_skus(self, info: Info, input: EnrolSkusInput) -> EnrolmentPayload:
        return await mutate(info, EnrolmentPayload, lambda conn, who: service.enrol_skus(
            conn, who, input_pk("Promotion", input.promotion_id, "promotionId"),
            input_pks("Sku", input.sku_ids, "skuIds"), _now()), _enrolments)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def review_enrolments(self, info: Info, input: ReviewEnrolmentsInput) -> EnrolmentPayload:
        return await mutate(info, EnrolmentPayload, lambda conn, who: service.review_enrolments(
            conn, who, input_pk("Promotion", input.promotion_id, "promotionId"),
            input_pks("Sku", input.sku_ids, "skuIds"), input.approve, input.note), _enrolments)

    @strawberry.mutation(permission_classes=[IsStaff], description="Created as a DRAFT; PUBLISH it to hand it out.")
    async def create_coupon_template(self, info: Info, input: CouponTemplateInput) -> CouponTemplatePayload:
        return await mutate(info, CouponTemplatePayload, lambda conn, who: coupons.create_template(
            conn, who, optional_pk("Merchant", input.merchant_id, "merchantId"), _coupon_draft(input)),
            _template_payload(info))

    @strawberry.mutation(permission_classes=[IsStaff], description="Only a DRAFT can change.")
    async def update_coupon_template(self, info: Info, input: UpdateCouponTemplateInput) -> CouponTemplatePayload:
        return await mutate(info, CouponTemplatePayload, _on("CouponTemplate", input.id, lambda conn, who, pk: (
            coupons.update_template(conn, who, pk, _coupon_draft(input.template)))), _template_payload(info))

    @strawberry.mutation(permission_classes=[IsStaff])
    async def change_coupon_template_status(self, info: Info, input: ChangeStatusInput) -> CouponTemplatePayload:
        return await mutate(info, CouponTemplatePayload, _on("CouponTemplate", input.id, lambda conn, who, pk: (
            lifecycle.change_status(conn, lifecycle.COUPON_TEMPLATES, who, pk, lifecycle.Action(input.action.value),
                                    input.note, _now()))), _template_payload(info))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Operators decide a coupon in PENDING_REVIEW.")
    async def review_coupon_template(self, info: Info, input: ReviewInput) -> CouponTemplatePayload:
        return await mutate(info, CouponTemplatePayload, _on("CouponTemplate", input.id, lambda conn, who, pk: (
            lifecycle.review(conn, lifecycle.COUPON_TEMPLATES, who, pk, input.approve, input.note, _now()))),
            _template_payload(info))

    @strawberry.mutation(permission_classes=[IsBuyer], description="One coupon into your wallet; never more than "
                                                                   "the stock or your limit, however many tap at once.")
    async def claim_coupon(self, info: Info, input: ClaimCouponInput) -> ClaimCouponPayload:
        now = _now()

        async def present(pk: int) -> ClaimCouponPayload:
            row = await query(info, lambda conn: coupons.wallet_coupon(conn, info.context.caller.id, pk, now))
            return ClaimCouponPayload(coupon=_wallet_coupon(row))
        return await mutate(info, ClaimCouponPayload, lambda conn, who: coupons.claim(
            conn, who.id, input_pk("CouponTemplate", input.template_id, "templateId"), now), present)

    @strawberry.mutation(permission_classes=[IsStaff], description="Replace a merchant's freight template.")
    async def set_freight_template(self, info: Info, input: FreightTemplateInput) -> FreightTemplatePayload:
        draft = freight.FreightDraft(input.default_fee, input.free_threshold,
                                     tuple((r.region_code, r.fee) for r in input.regions))

        async def act(conn, who) -> int:
            pk = input_pk("Merchant", input.merchant_id, "merchantId")
            await freight.set_template(conn, who, pk, draft)
            return pk
        return await mutate(info, FreightTemplatePayload, act,
                            lambda pk: FreightTemplatePayload(template=_freight(pk, draft)))


def _enrolments(found: list[service.Enrolment]) -> EnrolmentPayload:
    return EnrolmentPayload(enrolments=[Enrolment.of(e) for e in found])
