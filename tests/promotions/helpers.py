"""Shared by the promotion tests: GraphQL documents and input builders (times are ISO strings
around now, money in cents)."""

from datetime import UTC, datetime, timedelta

PROMOTION_FIELDS = """id kind name merchantId status priority stackableWithCoupons startsAt endsAt
  funding { funder platformPercent } scope { whole categoryIds skuIds }
  rule { unitAmountOff promoUnitPrice perBuyerCap tiers { threshold amount } perEvery { step amount cap }
         rate thresholdAmount thresholdItems channel amount bundleItems { skuId quantity } bundlePrice
         giftSkuId giftQuantity }
  budget spent reviewNote"""
PROMOTION_PAYLOAD = f"promotion {{ {PROMOTION_FIELDS} }} userErrors {{ field code message }}"
CREATE = f"mutation($i: PromotionInput!) {{ createPromotion(input: $i) {{ {PROMOTION_PAYLOAD} }} }}"
UPDATE = f"mutation($i: UpdatePromotionInput!) {{ updatePromotion(input: $i) {{ {PROMOTION_PAYLOAD} }} }}"
STATUS = f"mutation($i: ChangeStatusInput!) {{ changePromotionStatus(input: $i) {{ {PROMOTION_PAYLOAD} }} }}"
LIST = f"""query($f: PromotionFilter, $first: Int, $after: String) {{
  promotions(filter: $f, first: $first, after: $after) {{
    edges {{ cursor node {{ {PROMOTION_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
ENROLMENT_PAYLOAD = "enrolments { promotionId skuId merchantId status note } userErrors { field code message }"
ENROL = f"mutation($i: EnrolSkusInput!) {{ enrolSkus(input: $i) {{ {ENROLMENT_PAYLOAD} }} }}"
REVIEW = f"mutation($i: ReviewEnrolmentsInput!) {{ reviewEnrolments(input: $i) {{ {ENROLMENT_PAYLOAD} }} }}"
REVIEW_PROMOTION = f"mutation($i: ReviewInput!) {{ reviewPromotion(input: $i) {{ {PROMOTION_PAYLOAD} }} }}"

TERMS = "kind name merchantId threshold amount rate cap categoryIds"
TEMPLATE_FIELDS = f"""id status terms {{ {TERMS} }} claimStartsAt claimEndsAt validDays validUntil totalStock issued
  perBuyerLimit funding {{ funder platformPercent }} reviewNote"""
TEMPLATE_PAYLOAD = f"template {{ {TEMPLATE_FIELDS} }} userErrors {{ field code message }}"
CREATE_TEMPLATE = f"mutation($i: CouponTemplateInput!) {{ createCouponTemplate(input: $i) {{ {TEMPLATE_PAYLOAD} }} }}"
UPDATE_TEMPLATE = (f"mutation($i: UpdateCouponTemplateInput!) {{ updateCouponTemplate(input: $i) "
                   f"{{ {TEMPLATE_PAYLOAD} }} }}")
TEMPLATE_STATUS = (f"mutation($i: ChangeStatusInput!) {{ changeCouponTemplateStatus(input: $i) "
                   f"{{ {TEMPLATE_PAYLOAD} }} }}")
WALLET_FIELDS = f"id templateId status claimedAt expiresAt usedAt terms {{ {TERMS} }}"
CLAIM = (f"mutation($t: ID!) {{ claimCoupon(input: {{templateId: $t}}) {{ coupon {{ {WALLET_FIELDS} }} "
         f"userErrors {{ field code message }} }} }}")
WALLET = f"""query($s: CouponWalletStatus!, $first: Int, $after: String) {{
  myCoupons(status: $s, first: $first, after: $after) {{ edges {{ node {{ {WALLET_FIELDS} }} }}
  pageInfo {{ hasNextPage endCursor }} counts {{ unused used expired }} }} }}"""
CLAIMABLE = """query($m: ID) { claimableCoupons(merchantId: $m) { edges { node {
  templateId terms { kind name merchantId amount } remaining perBuyerLimit claimed } } } }"""


def at(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def promotion_input(kind: str = "FULL_REDUCTION", **fields) -> dict:
    base = {"kind": kind, "name": f"{kind} test", "startsAt": at(hours=-1), "endsAt": at(days=7),
            "rule": {"tiers": [{"threshold": 30000, "amount": 3000}, {"threshold": 50000, "amount": 6000}]},
            "scope": {"whole": True}}
    return {**base, **fields}


def coupon_input(kind: str = "SHOP", **fields) -> dict:
    base = {"kind": kind, "name": f"{kind} coupon", "claimStartsAt": at(hours=-1), "claimEndsAt": at(days=7),
            "totalStock": 100, "threshold": 10000, "amount": 1000, "validDays": 7}
    return {**base, **fields}


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def nodes(connection: dict) -> list[dict]:
    return [edge["node"] for edge in connection["edges"]]
