"""Settlement and refund postings with numbers worked by hand (DOMAIN §10.1): commission half-up
on odd cents, platform-funded discounts paid as subsidy, shipping settled whole with no
commission, refunds of k units before and after settlement, the shipping refund rule, negative
results carried, held lines, late payments staying in clearing, re-runs changing nothing."""

from datetime import date

from app.ledger import settlement
from app.ledger.accounts import PLATFORM, Account
from app.ledger.audit import audit
from app.ledger.journal import Entry, balances, post, transfer
from app.ledger.postings import capture, post_refund
from app.ledger.terms import set_terms
from tests.ledger.helpers import (
    L,
    at,
    complete,
    market,
    merchant_balances,
    open_case,
    place_paid,
    refund_units,
    refund_whole_order,
)


async def _statement(db, merchant: int, day: date):
    return await db.fetchrow("SELECT * FROM settlement_statements WHERE merchant_id = $1 AND run_day = $2",
                             merchant, day)


async def _ok(db):
    async with db.connection() as conn:
        result = await audit(conn)
    assert result.ok, result


async def test_commission_half_up_subsidy_and_shipping_settle_t_plus_7(db):
    mk = await market(db)
    async with db.transaction() as conn:
        # line 0: 3 × 10.00, 1.00 off by the merchant, 2.50 off by a platform coupon, rate 6.5 %
        #   paid 30.00 − 1.00 − 2.50 = 26.50; receivable 26.50 + 2.50 subsidy = 29.00;
        #   commission 6.5 % × 29.00 = 1.885 → 1.89 (half-up); net 27.11
        # line 1: 1 × 3.33 at 5 %: commission 0.1665 → 0.17; net 3.16
        # shipping 8.00 whole, no commission; payable 26.50 + 3.33 + 8.00 = 37.83
        order = await place_paid(conn, mk, 0, [L(3, 1000, item_m=100, share_p=250, rate="0.0650"),
                                               L(1, 333, rate="0.05")], shipping=800)
        await complete(conn, order, at(date(2026, 11, 2), 10))
    assert order.payable == 3783
    assert await merchant_balances(db, order.merchant_id) == {
        "MERCHANT_PENDING": 3783, "MERCHANT_AVAILABLE": 0, "MERCHANT_REFUND_RECOVERY": 0}
    await settlement.run(db, date(2026, 11, 8))          # completed 11-02: not yet 7 days before 11-08
    assert await _statement(db, order.merchant_id, date(2026, 11, 8)) is None
    await settlement.run(db, date(2026, 11, 9))
    st = await _statement(db, order.merchant_id, date(2026, 11, 9))
    assert (st["lines"], st["goods_amount"], st["subsidy"], st["commission"], st["shipping"], st["net"]) == \
        (3, 2983, 250, 206, 800, 3827)
    assert await merchant_balances(db, order.merchant_id) == {
        "MERCHANT_PENDING": 0, "MERCHANT_AVAILABLE": 3827, "MERCHANT_REFUND_RECOVERY": 0}
    lines = await db.fetch("SELECT kind, goods_amount, subsidy, receivable, commission, net FROM settlement_lines"
                           " WHERE order_id = $1 ORDER BY kind, order_line_id", order.id)
    assert [tuple(r) for r in lines] == [("SALE", 2650, 250, 2900, 189, 2711), ("SALE", 333, 0, 333, 17, 316),
                                         ("SHIPPING", 0, 0, 0, 0, 800)]
    # re-running the day changes nothing: no posting, no statement update, no event
    counts = await db.fetchrow("SELECT (SELECT count(*) FROM postings) p, (SELECT count(*) FROM outbox) e,"
                               " (SELECT max(updated_at) FROM settlement_statements) u")
    again = await settlement.run(db, date(2026, 11, 9))
    assert again.lines == 0 and again.statements_changed == 0
    assert counts == await db.fetchrow("SELECT (SELECT count(*) FROM postings) p, (SELECT count(*) FROM outbox) e,"
                                       " (SELECT max(updated_at) FROM settlement_statements) u")
    await _ok(db)


async def test_refund_of_k_units_before_settlement_lowers_pending_and_settles_the_rest(db):
    mk = await market(db)
    async with db.transaction() as conn:
        # 3 × 10.01 with 1.00 platform-funded: paid 29.03 splits 9.68, 9.68, 9.67; subsidy 1.00 splits 0.34, 0.33, 0.33
        order = await place_paid(conn, mk, 0, [L(3, 1001, share_p=100, rate="0.05")])
        await complete(conn, order, at(date(2026, 11, 2)))
        await refund_units(conn, order, {0: 2}, at(date(2026, 11, 3)))    # units 0 and 1: 19.36 back
    assert (await merchant_balances(db, order.merchant_id))["MERCHANT_PENDING"] == 2903 - 1936
    await settlement.run(db, date(2026, 11, 9))
    # the unit left: 9.67 paid + 0.33 subsidy = 10.00; commission 0.50; net 9.50
    st = await _statement(db, order.merchant_id, date(2026, 11, 9))
    assert (st["goods_amount"], st["subsidy"], st["commission"], st["net"]) == (967, 33, 50, 950)
    assert await merchant_balances(db, order.merchant_id) == {
        "MERCHANT_PENDING": 0, "MERCHANT_AVAILABLE": 950, "MERCHANT_REFUND_RECOVERY": 0}
    await _ok(db)


async def test_refund_of_k_units_after_settlement_is_deducted_once_in_the_next_run(db):
    mk = await market(db)
    async with db.transaction() as conn:
        order = await place_paid(conn, mk, 0, [L(3, 1001, share_p=100, rate="0.05")])
        await complete(conn, order, at(date(2026, 11, 2)))
    await settlement.run(db, date(2026, 11, 9))
    # receivable 30.03, commission 1.5015 → 1.50, net 28.53
    assert (await _statement(db, order.merchant_id, date(2026, 11, 9)))["net"] == 2853
    async with db.connection() as conn:
        platform_before = await balances(conn, PLATFORM, [Account.PLATFORM_COMMISSION, Account.PLATFORM_SUBSIDY])
    async with db.transaction() as conn:
        await refund_units(conn, order, {0: 1}, at(date(2026, 11, 10)))
    # unit 0: 9.68 paid, 0.34 subsidy; commission before 1.50, after round(5 % × 20.01) = 1.00: 0.50 returned;
    # the merchant owes 9.68 + 0.34 − 0.50 = 9.52, the buyer got 9.68 at once
    assert await merchant_balances(db, order.merchant_id) == {
        "MERCHANT_PENDING": 0, "MERCHANT_AVAILABLE": 2853, "MERCHANT_REFUND_RECOVERY": 952}
    async with db.connection() as conn:
        platform = await balances(conn, PLATFORM, [Account.PLATFORM_COMMISSION, Account.PLATFORM_SUBSIDY])
    assert platform[Account.PLATFORM_COMMISSION] == platform_before[Account.PLATFORM_COMMISSION] - 50
    assert platform[Account.PLATFORM_SUBSIDY] == platform_before[Account.PLATFORM_SUBSIDY] - 34
    await settlement.run(db, date(2026, 11, 10))
    st = await _statement(db, order.merchant_id, date(2026, 11, 10))
    assert (st["lines"], st["refund_deductions"], st["net"]) == (1, 952, -952)
    # 28.53 − 9.52 = 19.01 = what the two units left earn: 20.01 − 1.00
    assert await merchant_balances(db, order.merchant_id) == {
        "MERCHANT_PENDING": 0, "MERCHANT_AVAILABLE": 1901, "MERCHANT_REFUND_RECOVERY": 0}
    await settlement.run(db, date(2026, 11, 10))
    await settlement.run(db, date(2026, 11, 11))
    assert await _statement(db, order.merchant_id, date(2026, 11, 11)) is None
    assert (await merchant_balances(db, order.merchant_id))["MERCHANT_AVAILABLE"] == 1901
    await _ok(db)


async def test_shipping_goes_back_only_with_a_whole_order_refund_before_it_ships(db):
    mk = await market(db)
    async with db.transaction() as conn:
        # cancelled before shipment: 2 × 5.00 + 6.00 shipping, all 16.00 back, nothing reaches the merchant
        cancelled = await place_paid(conn, mk, 0, [L(2, 500)], shipping=600)
        await refund_whole_order(conn, cancelled, at(date(2026, 11, 2)))
        # received, then both units returned: the goods come back, the shipping is the merchant's
        returned = await place_paid(conn, mk, 1, [L(2, 500, rate="0.10")], shipping=600)
        await complete(conn, returned, at(date(2026, 11, 2)))
        await refund_units(conn, returned, {0: 2}, at(date(2026, 11, 3)))
    assert await merchant_balances(db, cancelled.merchant_id) == {
        "MERCHANT_PENDING": 0, "MERCHANT_AVAILABLE": 0, "MERCHANT_REFUND_RECOVERY": 0}
    assert (await merchant_balances(db, returned.merchant_id))["MERCHANT_PENDING"] == 600
    await settlement.run(db, date(2026, 11, 9))
    st = await _statement(db, returned.merchant_id, date(2026, 11, 9))
    # the line is listed with no unit left (commission 0), the shipping settles whole
    assert (st["lines"], st["goods_amount"], st["commission"], st["shipping"], st["net"]) == (2, 0, 0, 600, 600)
    await _ok(db)


async def test_a_negative_result_is_carried_as_a_negative_available_balance(db):
    mk = await market(db, merchants=1)
    m = mk.shops[0].merchant
    async with db.transaction() as conn:
        first = await place_paid(conn, mk, 0, [L(1, 1000, rate="0.10")])
        await complete(conn, first, at(date(2026, 11, 2)))
    await settlement.run(db, date(2026, 11, 9))                       # +9.00
    async with db.transaction() as conn:
        # the merchant's 9.00 leaves (as a paid-out withdrawal would), then the buyer returns the unit
        await post(conn, [Entry(f"test:withdrawn:{m}", "WITHDRAWAL_PAID", at(date(2026, 11, 9), 20), transfer(
            900, (Account.MERCHANT_AVAILABLE, m), (Account.CASH, PLATFORM)))])
        await refund_units(conn, first, {0: 1}, at(date(2026, 11, 10)))   # owes 10.00 − 1.00 = 9.00
        second = await place_paid(conn, mk, 0, [L(1, 500, rate="0.10")])
        await complete(conn, second, at(date(2026, 11, 4)))
    await settlement.run(db, date(2026, 11, 10))
    assert (await _statement(db, m, date(2026, 11, 10)))["net"] == -900
    assert (await merchant_balances(db, m))["MERCHANT_AVAILABLE"] == -900
    await settlement.run(db, date(2026, 11, 11))                      # the 5.00 sale covers part: +4.50
    assert (await _statement(db, m, date(2026, 11, 11)))["net"] == 450
    assert (await merchant_balances(db, m))["MERCHANT_AVAILABLE"] == -450


async def test_a_line_under_an_after_sale_is_held_and_settles_in_a_later_run(db):
    mk = await market(db, merchants=1)
    async with db.transaction() as conn:
        order = await place_paid(conn, mk, 0, [L(2, 1000, rate="0.05"), L(1, 400, rate="0.05")])
        await complete(conn, order, at(date(2026, 11, 2)))
        case = await open_case(conn, order, {0: 1}, at(date(2026, 11, 5)))
    await settlement.run(db, date(2026, 11, 9))
    st = await _statement(db, order.merchant_id, date(2026, 11, 9))
    assert (st["lines"], st["goods_amount"], st["commission"]) == (1, 400, 20)       # line 1 only
    async with db.transaction() as conn:          # the merchant rejects the return: the case ends, no refund
        await conn.execute("UPDATE after_sale_lines SET open = false WHERE after_sale_id = $1", case)
        await conn.execute("UPDATE after_sales SET status = 'CLOSED' WHERE id = $1", case)
    await settlement.run(db, date(2026, 11, 10))
    st = await _statement(db, order.merchant_id, date(2026, 11, 10))
    assert (st["lines"], st["goods_amount"], st["commission"], st["net"]) == (1, 2000, 100, 1900)
    await _ok(db)


async def test_weekly_terms_settle_on_sundays_only(db):
    mk = await market(db, merchants=1)
    m = mk.shops[0].merchant
    async with db.transaction() as conn:
        await set_terms(conn, m, "WEEKLY", 3, "admin:test")
    async with db.transaction() as conn:
        order = await place_paid(conn, mk, 0, [L(1, 1000, rate="0")])
        await complete(conn, order, at(date(2026, 11, 2)))
    await settlement.run(db, date(2026, 11, 6))                       # a Friday
    assert await _statement(db, m, date(2026, 11, 6)) is None
    await settlement.run(db, date(2026, 11, 8))                       # Sunday
    st = await _statement(db, m, date(2026, 11, 8))
    assert (st["cycle"], st["net"]) == ("WEEKLY T+3", 1000)


async def test_a_payment_after_its_order_was_cancelled_stays_in_clearing_and_is_refunded_from_it(db):
    mk = await market(db, merchants=1)
    async with db.transaction() as conn:
        po = await conn.fetchval(
            "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
            " shipping_total, payable, pricing, expires_at, status) VALUES ($1, 'late-payment-1', 't', 700, 0, 0, 700,"
            " '{}', now(), 'CANCELLED') RETURNING id", mk.buyer)
        payment = await conn.fetchval(
            "INSERT INTO payments (payment_order_id, provider, channel, amount, auth_level, status)"
            " VALUES ($1, 'sandbox', 'WECHAT', 700, 'NONE', 'SUCCEEDED') RETURNING id", po)
        await capture(conn, [(payment, 700)], at(date(2026, 11, 2)))
        refund = await conn.fetchrow("INSERT INTO refunds (payment_id, amount, reason, idempotency_key, status)"
                                     " VALUES ($1, 700, 'LATE_PAYMENT', 'late-1', 'SUCCEEDED') RETURNING *", payment)
        await post_refund(conn, refund, at(date(2026, 11, 3)))
    rows = await db.fetch("SELECT entry_id, account, amount FROM postings WHERE entry_id IN ($1, $2, $3)"
                          " ORDER BY entry_id, account", f"payment:{payment}:capture", f"refund:{refund['id']}",
                          f"refund:{refund['id']}:paid")
    assert [tuple(r) for r in rows] == [(f"payment:{payment}:capture", "CASH", 700),
                                        (f"payment:{payment}:capture", "CLEARING", -700),
                                        (f"refund:{refund['id']}", "CLEARING", 700),
                                        (f"refund:{refund['id']}", "REFUNDS", -700),
                                        (f"refund:{refund['id']}:paid", "CASH", -700),
                                        (f"refund:{refund['id']}:paid", "REFUNDS", 700)]
    assert not await db.fetchval("SELECT count(*) FROM postings WHERE account LIKE 'MERCHANT%' AND owner_id = $1",
                                 mk.shops[0].merchant)


async def test_the_daily_cron_settles_yesterday_and_missed_days_once(db):
    """workers/settlement.py: every day of the last week without a finished run is settled,
    oldest first; ticking again changes nothing. A run for a day not over yet is refused."""
    from datetime import UTC, datetime, timedelta

    import pytest

    from app.errors import DomainError
    from workers.settlement import settle_due_days
    mk = await market(db, merchants=1)
    today = datetime.now(UTC).date()
    async with db.transaction() as conn:
        order = await place_paid(conn, mk, 0, [L(1, 1000, rate="0.05")])
        await complete(conn, order, at(today - timedelta(days=10)))
    assert await settle_due_days({"db": db}) >= 1
    st = await db.fetchrow("SELECT run_day, net FROM settlement_statements WHERE merchant_id = $1",
                           mk.shops[0].merchant)
    assert (st["run_day"], st["net"]) == (today - timedelta(days=3), 950)   # the first day it was due
    days = await db.fetchval("SELECT count(*) FROM settlement_runs WHERE run_day BETWEEN $1 AND $2 AND status = 'DONE'",
                             today - timedelta(days=7), today - timedelta(days=1))
    assert days == 7
    assert await settle_due_days({"db": db}) == 0
    with pytest.raises(DomainError):
        settlement.check_run_day(today, datetime.now(UTC))
    settlement.check_run_day(today - timedelta(days=1), datetime.now(UTC))


async def test_a_self_operated_order_settles_to_the_platforms_own_merchant_at_rate_0(db):
    """The rate stored at placement for self-operated goods is 0 (app/merchants/commission.py):
    the platform's own merchant is settled like any other, with no commission."""
    mk = await market(db, merchants=1)
    own = mk.shops[0].merchant
    await db.fetchval("UPDATE merchants SET kind = 'SELF_OPERATED' WHERE id = $1 RETURNING id", own)
    async with db.transaction() as conn:
        order = await place_paid(conn, mk, 0, [L(2, 1234, share_p=68, rate="0")], shipping=500)
        await complete(conn, order, at(date(2026, 11, 2)))
    await settlement.run(db, date(2026, 11, 12))
    st = await _statement(db, own, date(2026, 11, 12))
    # 24.68 − 0.68 paid + 0.68 subsidy, no commission, 5.00 shipping
    assert (st["goods_amount"], st["subsidy"], st["commission"], st["shipping"], st["net"]) == (2400, 68, 0, 500, 2968)


async def test_a_deposit_paying_its_payment_order_is_not_captured_but_a_late_one_is(db):
    """The deposit's own entry (Dr CASH / Cr MERCHANT_DEPOSIT, app/merchants/deposits.py) records
    a deposit that pays; one arriving after its payment order was cancelled stays in clearing
    until refunded, like any late payment."""
    mk = await market(db, merchants=1)
    m = mk.shops[0].merchant
    async with db.transaction() as conn:
        ids = []
        for n, status in enumerate(("PENDING_PAYMENT", "CANCELLED")):
            po = await conn.fetchval(
                "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
                " shipping_total, payable, pricing, expires_at, status, kind, merchant_id) VALUES ($1, $2, 't', 5000,"
                " 0, 0, 5000, '{}', now(), $3, 'DEPOSIT', $4) RETURNING id", mk.buyer, f"deposit-{mk.tag}-{n}",
                status, m)
            ids.append(await conn.fetchval(
                "INSERT INTO payments (payment_order_id, provider, channel, amount, auth_level, status)"
                " VALUES ($1, 'sandbox', 'WECHAT', 5000, 'NONE', 'SUCCEEDED') RETURNING id", po))
        await capture(conn, [(p, 5000) for p in ids], at(date(2026, 11, 2)))
    captured = await db.fetch("SELECT id FROM journal_entries WHERE id = ANY($1)",
                              [f"payment:{p}:capture" for p in ids])
    assert [r["id"] for r in captured] == [f"payment:{ids[1]}:capture"]


async def test_the_merchant_console_reads_a_real_runs_commission_and_settlement_per_day_and_product(db):
    """app/payouts/console.py over a settlement run's entries (one posting per account) and
    their settlement lines."""
    from app.payouts import console
    mk = await market(db, merchants=1)
    m = mk.shops[0].merchant
    async with db.transaction() as conn:
        order = await place_paid(conn, mk, 0, [L(1, 1000, rate="0.10"), L(1, 333, rate="0.05")], shipping=200)
        await complete(conn, order, at(date(2026, 11, 2)))
    await settlement.run(db, date(2026, 11, 9))
    async with db.connection() as conn:
        day = [r for r in await console.daily(conn, m, date(2026, 11, 9), date(2026, 11, 9))]
        products = {r["product_id"]: r for r in await console.by_product(conn, m, date(2026, 11, 9), date(2026, 11, 9))}
    # commission 1.00 + 0.17 (16.65 half-up); settlement 9.00 + 3.16 + 2.00 shipping
    assert (day[0]["commission"], day[0]["settlement"]) == (117, 1416)
    assert [(products[p]["commission"], products[p]["settlement"]) for p in mk.shops[0].products[:2]] == \
        [(100, 900), (17, 316)]
