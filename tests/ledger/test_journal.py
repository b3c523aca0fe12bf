"""The journal (app/ledger/journal.py) on the real database: entries balance or are refused,
re-posting an id is a no-op, the tables are append-only, balances read in each account's own
terms; and the commission rate in force at placement is kept on the order line."""

from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest

from app.ids import decode_id
from app.ledger.accounts import PLATFORM, Account
from app.ledger.journal import Entry, Posting, Unbalanced, balances, check_balanced, post, transfer
from tests.cart.helpers import new_buyer
from tests.checkout.helpers import lines_input, make_market
from tests.orders.helpers import PLACE, place_input

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)
MERCHANT = 9_000_001          # an owner id: accounts need no merchant row


def deposit(entry_id: str, amount: int) -> Entry:
    return Entry(entry_id, "DEPOSIT", NOW,
                 transfer(amount, (Account.CASH, PLATFORM), (Account.MERCHANT_DEPOSIT, MERCHANT)))


async def test_a_balanced_entry_moves_both_balances_in_their_own_terms(db):
    async with db.transaction() as conn:
        assert await post(conn, [deposit("test:deposit:1", 500_00)]) == ["test:deposit:1"]
        # the merchant's available 120.00 leaves for its withdrawal reservation
        await post(conn, [Entry("test:reserve:1", "WITHDRAWAL", NOW, transfer(
            120_00, (Account.MERCHANT_AVAILABLE, MERCHANT), (Account.MERCHANT_WITHDRAWAL_RESERVED, MERCHANT)))])
        got = await balances(conn, MERCHANT, [Account.MERCHANT_DEPOSIT, Account.MERCHANT_AVAILABLE,
                                               Account.MERCHANT_WITHDRAWAL_RESERVED])
    assert got == {Account.MERCHANT_DEPOSIT: 500_00, Account.MERCHANT_AVAILABLE: -120_00,
                   Account.MERCHANT_WITHDRAWAL_RESERVED: 120_00}
    rows = await db.fetch("SELECT account, amount FROM postings WHERE entry_id = 'test:deposit:1' ORDER BY amount")
    assert [(r["account"], r["amount"]) for r in rows] == [("MERCHANT_DEPOSIT", -500_00), ("CASH", 500_00)]


async def test_reposting_an_id_is_a_no_op_whatever_it_says(db):
    async with db.transaction() as conn:
        await post(conn, [deposit("test:deposit:2", 100_00)])
    async with db.transaction() as conn:
        assert await post(conn, [deposit("test:deposit:2", 999_00), deposit("test:deposit:3", 1)]) == ["test:deposit:3"]
    assert await db.fetchval("SELECT sum(amount) FROM postings WHERE entry_id = 'test:deposit:2' AND amount > 0") == 100_00
    assert await db.fetchval("SELECT count(*) FROM postings WHERE entry_id = 'test:deposit:2'") == 2


async def test_an_unbalanced_entry_writes_nothing(db):
    lopsided = Entry("test:lopsided", "ADJUSTMENT", NOW, [Posting(Account.CASH, 100), Posting(Account.CLEARING, -99)])
    async with db.transaction() as conn:
        with pytest.raises(Unbalanced):
            await post(conn, [deposit("test:deposit:4", 5), lopsided])
    assert await db.fetchval("SELECT count(*) FROM journal_entries WHERE id IN ('test:deposit:4', 'test:lopsided')") == 0


async def test_set_based_entries_are_checked_too(db):
    with pytest.raises(Unbalanced, match="test:sql"):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO journal_entries (id, kind, occurred_at) VALUES ('test:sql', 'SETTLEMENT', now())")
            await conn.execute("INSERT INTO postings (entry_id, account, amount, occurred_at)"
                               " VALUES ('test:sql', 'CASH', 7, now()), ('test:sql', 'CLEARING', -6, now())")
            await check_balanced(conn, ["test:sql"])
    assert await db.fetchval("SELECT count(*) FROM journal_entries WHERE id = 'test:sql'") == 0


async def test_the_ledger_is_append_only(db):
    async with db.transaction() as conn:
        await post(conn, [deposit("test:deposit:5", 300)])
    for statement in ("UPDATE postings SET amount = amount * 2 WHERE entry_id = 'test:deposit:5'",
                      "DELETE FROM postings WHERE entry_id = 'test:deposit:5'",
                      "UPDATE journal_entries SET reason = 'x' WHERE id = 'test:deposit:5'",
                      "DELETE FROM journal_entries WHERE id = 'test:deposit:5'"):
        async with db.connection() as conn:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
    assert await db.fetchval("SELECT sum(abs(amount)) FROM postings WHERE entry_id = 'test:deposit:5'") == 600


async def test_the_commission_rate_in_force_at_placement_stays_on_the_line(gql, db, settings):
    market = await make_market(db)
    category = await db.fetchval("SELECT category_id FROM products p JOIN skus s ON s.product_id = p.id WHERE s.id = $1",
                                 market.sku["a1"])
    async with db.connection() as conn:
        await conn.execute("UPDATE backend_categories SET commission_rate = 0.0500 WHERE id = $1", category)
        await conn.execute("INSERT INTO merchant_commission_rates (merchant_id, category_id, commission_rate)"
                           " VALUES ($1, $2, 0.0325)", market.b, category)
    _, buyer = await new_buyer(db, settings)
    placed = (await gql.ok(PLACE, {"i": place_input(lines_input((market.sku["a1"], 1), (market.sku["b1"], 1)))},
                           buyer))["placeOrder"]
    assert placed["userErrors"] == []
    await db.fetchval("UPDATE backend_categories SET commission_rate = 0.2 WHERE id = $1", category)   # later
    rates = dict(await db.fetch("SELECT l.sku_id, l.commission_rate FROM order_lines l JOIN orders o ON o.id = l.order_id"
                                " WHERE o.payment_order_id = $1 AND l.gift_of_promotion_id IS NULL",
                                decode_id("PaymentOrder", placed["paymentOrder"]["id"])))
    assert rates == {market.sku["a1"]: Decimal("0.0500"), market.sku["b1"]: Decimal("0.0325")}
