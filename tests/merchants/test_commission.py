"""Commission rates with effective dates: table tests worked by hand (a rate set from tomorrow does
not apply to an order placed today and applies to one placed tomorrow; an override beats its
category; the undated columns stay the base), refusals, and a property test of `rates_in_force`
against a deliberately simple reference over random histories of changes."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.auth.principal import Principal
from app.checkout.lines import CheckoutItem
from app.checkout.preview import CheckoutRequest
from app.errors import DomainError
from app.ids import decode_id
from app.merchants import commission
from app.orders import placement
from tests.merchants.helpers import category, codes, gid, listed_product, staff_token
from tests.orders.helpers import PLACE, place_input
from tests.payments.helpers import new_buyer

SET_CATEGORY = """mutation($i: SetCategoryCommissionFromInput!) { setCategoryCommissionFrom(input: $i) {
  change { id categoryId merchantId rate effectiveFrom setBy } userErrors { field code } } }"""
SET_MERCHANT = """mutation($i: SetMerchantCommissionFromInput!) { setMerchantCommissionFrom(input: $i) {
  change { id rate effectiveFrom } userErrors { field code } } }"""
CHANGES = """query($c: ID) { commissionRateChanges(categoryId: $c) { rate merchantId effectiveFrom } }"""
ADMIN = Principal(kind="staff", id=1, staff_kind="ADMIN")


@pytest.fixture(scope="module")
async def admin(db, settings):
    return await staff_token(db, settings)


async def _shop(db, cat: int, kind: str = "MARKETPLACE") -> int:
    merchant = await db.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, $2) RETURNING id",
                                 f"佣金店 {uuid.uuid4().hex[:8]}", kind)
    await db.fetchval("INSERT INTO merchant_categories (merchant_id, category_id) VALUES ($1, $2) RETURNING 1",
                      merchant, cat)
    return merchant


async def _rate(db, merchant: int, product: int, at: datetime) -> Decimal:
    async with db.connection() as conn:
        return (await commission.rates_in_force(conn, merchant, [product], at))[product]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


async def test_a_rate_from_tomorrow_rates_orders_placed_tomorrow_not_today(api, db, settings, admin):
    cat = await category(db, rate="0.0500")
    shop = await _shop(db, cat)
    goods = await listed_product(db, shop, cat, 10_000)
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    out = (await api.ok(SET_CATEGORY, {"i": {"categoryId": gid("BackendCategory", cat), "rate": "0.0800",
                                             "effectiveFrom": tomorrow.isoformat()}},
                        token=admin.token))["setCategoryCommissionFrom"]
    assert out["userErrors"] == [] and (out["change"]["rate"], out["change"]["merchantId"]) == ("0.0800", None)
    assert out["change"]["effectiveFrom"].startswith(tomorrow.isoformat() + "T00:00:00")

    # an order placed today stores today's rate, 5%
    buyer = await new_buyer(db, settings)
    placed = (await api.ok(PLACE, {"i": place_input([{"skuId": gid("Sku", goods.sku), "quantity": 2}])},
                           token=buyer.token))["placeOrder"]
    assert placed["userErrors"] == []
    order = decode_id("Order", placed["paymentOrder"]["orders"][0]["id"])
    assert await db.fetchval("SELECT commission_rate FROM order_lines WHERE order_id = $1", order) == Decimal("0.0500")
    # one placed tomorrow (10:00 UTC) stores tomorrow's, 8%
    request = placement.PlacementRequest(
        checkout=CheckoutRequest(items=[CheckoutItem(goods.sku, 2)], region_code="440305"),
        idempotency_key=uuid.uuid4().hex,
        address=placement.Address("张三", "13800138000", "440305", "科技园南区 1 栋"))
    later = await placement.place_order(db, buyer.id, request, placement.PlacementFacts(),
                                        _midnight(tomorrow) + timedelta(hours=10), timedelta(minutes=30))
    assert await db.fetchval("SELECT l.commission_rate FROM order_lines l JOIN orders o ON o.id = l.order_id"
                             " WHERE o.payment_order_id = $1", later.payment_order_id) == Decimal("0.0800")

    # the rate in force at each moment, worked by hand:
    #   category: 5% (undated) until tomorrow 00:00, then 8%
    #   this shop's override: 3% from the day after tomorrow
    #   another shop's undated override 4% beats the category's dated 8%; its dated 2% from day+2 beats both
    #   a self-operated shop: always 0
    day2 = tomorrow + timedelta(days=1)
    set_override = (await api.ok(SET_MERCHANT, {"i": {"merchantId": gid("Merchant", shop),
                                                      "categoryId": gid("BackendCategory", cat), "rate": "0.03",
                                                      "effectiveFrom": day2.isoformat()}},
                                 token=admin.token))["setMerchantCommissionFrom"]
    assert set_override["userErrors"] == [] and set_override["change"]["rate"] == "0.0300"
    other = await _shop(db, cat)
    other_goods = await listed_product(db, other, cat, 10_000)
    await db.fetchval("INSERT INTO merchant_commission_rates (merchant_id, category_id, commission_rate)"
                      " VALUES ($1, $2, 0.0400) RETURNING 1", other, cat)
    async with db.transaction() as conn:
        await commission.set_rate(conn, ADMIN, cat, other, "0.02", day2, datetime.now(UTC))
    own = await _shop(db, cat, "SELF_OPERATED")
    own_goods = await listed_product(db, own, cat, 10_000)
    cases = [  # (shop, product, moment, rate)
        (shop, goods.product, _midnight(tomorrow) - timedelta(microseconds=1), "0.0500"),
        (shop, goods.product, _midnight(tomorrow), "0.0800"),
        (shop, goods.product, _midnight(day2) - timedelta(seconds=1), "0.0800"),
        (shop, goods.product, _midnight(day2), "0.0300"),
        (other, other_goods.product, datetime.now(UTC), "0.0400"),
        (other, other_goods.product, _midnight(tomorrow) + timedelta(hours=1), "0.0400"),
        (other, other_goods.product, _midnight(day2) + timedelta(hours=1), "0.0200"),
        (own, own_goods.product, _midnight(day2) + timedelta(hours=1), "0"),
    ]
    assert [await _rate(db, m, p, at) for m, p, at, _ in cases] == [Decimal(r) for *_, r in cases]
    listed = (await api.ok(CHANGES, {"c": gid("BackendCategory", cat)}, token=admin.token))["commissionRateChanges"]
    assert [c["rate"] for c in listed] == ["0.0200", "0.0300", "0.0800"]   # latest start first, then latest made


async def test_a_merchants_override_covers_the_subtree_of_its_category(db):
    """Worked by hand: leaf 7% (undated), the merchant's override on the parent 6% (undated),
    its dated override on the leaf 1% from day+2; the nearest override wins, dated before undated."""
    parent = await db.fetchval("INSERT INTO backend_categories (name, is_leaf, commission_rate) VALUES ($1, false,"
                               " 0.0900) RETURNING id", f"p-{uuid.uuid4().hex[:8]}")
    leaf = await db.fetchval("INSERT INTO backend_categories (name, parent_id, depth, commission_rate)"
                             " VALUES ($1, $2, 2, 0.0700) RETURNING id", f"l-{uuid.uuid4().hex[:8]}", parent)
    shop = await _shop(db, parent)
    goods = await listed_product(db, shop, leaf, 5_000)
    stranger = await _shop(db, parent)
    their_goods = await listed_product(db, stranger, leaf, 5_000)
    now = datetime.now(UTC)
    day2 = now.date() + timedelta(days=2)
    assert await _rate(db, shop, goods.product, now) == Decimal("0.0700")          # the leaf's own rate
    await db.fetchval("INSERT INTO merchant_commission_rates (merchant_id, category_id, commission_rate)"
                      " VALUES ($1, $2, 0.0600) RETURNING 1", shop, parent)
    async with db.transaction() as conn:
        await commission.set_rate(conn, ADMIN, leaf, shop, "0.01", day2, now)
        with pytest.raises(DomainError) as refused:       # a category's own rate is its leaf's
            await commission.set_rate(conn, ADMIN, parent, None, "0.02", day2, now)
        assert refused.value.problems[0].field == ("categoryId",)
    assert [await _rate(db, shop, goods.product, at) for at in (now, _midnight(day2))] == \
        [Decimal("0.0600"), Decimal("0.0100")]
    assert await _rate(db, stranger, their_goods.product, _midnight(day2)) == Decimal("0.0700")


async def test_refusals(api, db, settings, admin):
    cat = await category(db)
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    today = datetime.now(UTC).date().isoformat()

    async def set_rate(rate: str, day: str, token: str = admin.token) -> list[str]:
        return codes((await api.ok(SET_CATEGORY, {"i": {"categoryId": gid("BackendCategory", cat), "rate": rate,
                                                        "effectiveFrom": day}}, token=token))[
            "setCategoryCommissionFrom"])
    assert await set_rate("0.05", yesterday) == ["COMMISSION_DATE_IN_PAST"]
    assert await set_rate("1.5", today) == ["INVALID_VALUE"]
    assert await set_rate("0.12345", today) == ["INVALID_VALUE"]
    assert await db.fetchval("SELECT count(*) FROM commission_rates WHERE category_id = $1", cat) == 0
    # from today means from now: the change starts no earlier than it was made
    before = datetime.now(UTC)
    assert await set_rate("0.06", today) == []
    assert await db.fetchval("SELECT effective_from FROM commission_rates WHERE category_id = $1", cat) >= before
    buyer = await new_buyer(db, settings)
    body = await api(SET_CATEGORY, {"i": {"categoryId": gid("BackendCategory", cat), "rate": "0.01",
                                          "effectiveFrom": today}}, token=buyer.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


BASE = datetime(2031, 3, 1, 9, 30, tzinfo=UTC)     # "now" of the generated histories
changes = st.lists(st.tuples(st.booleans(), st.integers(0, 6), st.integers(0, 10_000)), max_size=8)


def _reference(history, legacy_category: Decimal, legacy_override: Decimal | None, at: datetime) -> Decimal:
    """The latest dated change of a key in force at `at`: the merchant's, else the undated override,
    else the category's, else the undated category rate."""
    def latest(override: bool) -> Decimal | None:
        starts: dict[datetime, Decimal] = {}
        for is_override, day, rate in history:
            start = max(_midnight(BASE.date() + timedelta(days=day)), BASE)
            if is_override == override and start <= at:
                starts[start] = Decimal(rate) / 10_000      # a later change of the same start replaces it
        return starts[max(starts)] if starts else None
    for rate in (latest(True), legacy_override, latest(False)):
        if rate is not None:
            return rate
    return legacy_category


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=changes, legacy=st.integers(0, 10_000), override=st.none() | st.integers(0, 10_000),
       at_day=st.integers(-1, 7), at_hour=st.integers(0, 23))
async def test_rates_in_force_match_the_reference(db, history, legacy, override, at_day, at_hour):
    cat = await category(db, rate=str(Decimal(legacy) / 10_000))
    shop = await _shop(db, cat)
    goods = await listed_product(db, shop, cat, 1_000)
    if override is not None:
        await db.fetchval("INSERT INTO merchant_commission_rates (merchant_id, category_id, commission_rate)"
                          " VALUES ($1, $2, $3) RETURNING 1", shop, cat, Decimal(override) / 10_000)
    async with db.transaction() as conn:
        for is_override, day, rate in history:
            await commission.set_rate(conn, ADMIN, cat, shop if is_override else None, Decimal(rate) / 10_000,
                                      BASE.date() + timedelta(days=day), BASE)
    at = _midnight(BASE.date() + timedelta(days=at_day)) + timedelta(hours=at_hour)
    expected = _reference(history, Decimal(legacy) / 10_000,
                          None if override is None else Decimal(override) / 10_000, at)
    assert await _rate(db, shop, goods.product, at) == expected
