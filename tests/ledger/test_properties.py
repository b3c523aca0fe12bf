"""Random histories of orders, partial refunds, after-sales holding lines and settlement runs on
the real database, against a deliberately simple replay (DOMAIN §10.1): the ledger sums to 0
and every order reconciles (the audit); each merchant's balances and each statement equal the
replay's; no balance is negative (no withdrawals here, so not even available); re-running a run
changes nothing; a refund of k units after settlement is deducted exactly once. And two runs of
one day at once give the statements of one."""

import asyncio
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.ledger import settlement
from app.ledger.audit import audit
from tests.ledger.helpers import L, at, complete, market, merchant_balances, open_case, place_paid, refund_units

BASE = date(2026, 6, 1)
RATES = ["0", "0.05", "0.0650", "0.1234", "0.3333"]


def _units(total: int, qty: int) -> list[int]:
    """The replay's own unit split: floor(total / qty) each, one cent more for the first units."""
    return [total // qty + (1 if i < total % qty else 0) for i in range(qty)]


def _half_up(rate: str, amount: int) -> int:
    return int((Decimal(rate) * amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class RLine:
    spec: L
    refunded: list[int] = field(default_factory=list)
    settled: bool = False
    held: bool = False

    def left(self) -> list[int]:
        return [u for u in range(self.spec.qty) if u not in self.refunded]

    def receivable(self, units: list[int]) -> int:
        paid, sub = _units(self.spec.paid, self.spec.qty), _units(self.spec.item_p + self.spec.share_p, self.spec.qty)
        return sum(paid[u] + sub[u] for u in units)


@dataclass
class ROrder:
    shop: int
    lines: list[RLine]
    shipping: int
    completed: int                 # day offset from BASE
    shipping_settled: bool = False


@dataclass
class Replay:
    orders: list[ROrder]
    pending: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0})
    available: dict[int, int] = field(default_factory=dict)
    recovery: dict[int, int] = field(default_factory=dict)
    owed: list[tuple[int, int]] = field(default_factory=list)    # (shop, recovery) not yet deducted

    def refund(self, o: int, n: int, k: int) -> None:
        order, line = self.orders[o], self.orders[o].lines[n]
        units = line.left()[:k]
        paid = sum(_units(line.spec.paid, line.spec.qty)[u] for u in units)
        if line.settled:
            before = line.receivable(line.left())
            after = line.receivable([u for u in line.left() if u not in units])
            returned = _half_up(line.spec.rate, before) - _half_up(line.spec.rate, after)
            owed = before - after - returned
            self.recovery[order.shop] = self.recovery.get(order.shop, 0) + owed
            self.owed.append((order.shop, owed))
        else:
            self.pending[order.shop] -= paid
        line.refunded += units

    def run(self, day: int) -> dict[int, int]:
        moved: dict[int, int] = {}
        for order in self.orders:
            if order.completed > day - 7:
                continue
            for line in order.lines:
                if line.settled or line.held:
                    continue
                left = line.left()
                r = line.receivable(left)
                net = r - _half_up(line.spec.rate, r)
                self.pending[order.shop] -= sum(_units(line.spec.paid, line.spec.qty)[u] for u in left)
                moved[order.shop] = moved.get(order.shop, 0) + net
                line.settled = True
            if not order.shipping_settled and order.shipping:
                self.pending[order.shop] -= order.shipping
                moved[order.shop] = moved.get(order.shop, 0) + order.shipping
            order.shipping_settled = True
        for shop, owed in self.owed:
            moved[shop] = moved.get(shop, 0) - owed
            self.recovery[shop] -= owed
        self.owed = []
        for shop, net in moved.items():
            self.available[shop] = self.available.get(shop, 0) + net
        return moved


@st.composite
def lines(draw):
    qty = draw(st.integers(1, 4))
    price = draw(st.integers(1, 3000))
    gross = qty * price
    item_m = draw(st.integers(0, gross // 4))
    share_p = draw(st.integers(0, gross // 4))
    return L(qty, price, item_m=item_m, share_p=share_p, rate=draw(st.sampled_from(RATES)))


@st.composite
def histories(draw):
    orders = [(draw(st.integers(0, 1)), draw(st.lists(lines(), min_size=1, max_size=2)),
               draw(st.sampled_from([0, 0, 350])), draw(st.integers(0, 2))) for _ in range(draw(st.integers(1, 3)))]
    steps = draw(st.lists(st.tuples(st.sampled_from(["refund", "refund", "hold", "release", "run"]),
                                    st.integers(0, 2), st.integers(0, 1), st.integers(1, 3)), max_size=8))
    return orders, steps + [("run", 0, 0, 0), ("run", 0, 0, 0)]


@given(history=histories())
@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_settlement_follows_the_replay_of_any_history(db, history):
    specs, steps = history
    mk = await market(db)
    # each example settles days of its own, so runs of other examples never move its money
    first_day = await db.fetchval("SELECT coalesce(max(run_day), $1::date) + 30 FROM settlement_runs", BASE)
    replay = Replay([ROrder(shop, [RLine(x) for x in xs], ship, done) for shop, xs, ship, done in specs])
    placed, cases = [], {}
    async with db.transaction() as conn:
        for shop, xs, ship, done in specs:
            order = await place_paid(conn, mk, shop, xs, ship, at(first_day - timedelta(days=10)))
            await complete(conn, order, at(first_day + timedelta(days=done), 9))
            placed.append(order)
            replay.pending[shop] = replay.pending.get(shop, 0) + order.payable
    day = 7                                         # runs for first_day + 7, + 8, ...
    for kind, o, n, k in steps:
        o %= len(placed)
        n %= len(placed[o].lines)
        line = replay.orders[o].lines[n]
        now = at(first_day + timedelta(days=day), 6)     # after the last run's day ended
        async with db.transaction() as conn:
            if kind == "refund" and not line.held and line.left():
                k = min(k, len(line.left()))
                await refund_units(conn, placed[o], {n: k}, now)
                replay.refund(o, n, k)
            elif kind == "hold" and not line.held and line.left():
                cases[(o, n)] = await open_case(conn, placed[o], {n: 1}, now)
                line.held = True
            elif kind == "release" and line.held:
                await conn.execute("UPDATE after_sale_lines SET open = false WHERE after_sale_id = $1", cases[(o, n)])
                await conn.execute("UPDATE after_sales SET status = 'CLOSED' WHERE id = $1", cases[(o, n)])
                line.held = False
        if kind != "run":
            continue
        run_day = first_day + timedelta(days=day)
        expected = replay.run(day)
        await settlement.run(db, run_day, batch_orders=2)
        postings = await db.fetchval("SELECT count(*) FROM postings")
        again = await settlement.run(db, run_day)
        assert again.lines == 0 and await db.fetchval("SELECT count(*) FROM postings") == postings
        for shop in (0, 1):
            m = mk.shops[shop].merchant
            net = await db.fetchval("SELECT net FROM settlement_statements WHERE merchant_id = $1 AND run_day = $2",
                                    m, run_day)
            assert (net or 0) == expected.get(shop, 0), (shop, run_day)
            got = await merchant_balances(db, m)
            want = {"MERCHANT_PENDING": replay.pending.get(shop, 0), "MERCHANT_AVAILABLE": replay.available.get(shop, 0),
                    "MERCHANT_REFUND_RECOVERY": replay.recovery.get(shop, 0)}
            assert got == want, shop
            assert min(got.values()) >= 0
        day += 1
    async with db.connection() as conn:
        result = await audit(conn)
    assert result.ok, result


async def test_two_runs_of_one_day_at_once_settle_each_line_once_and_give_the_statements_of_one(db):
    mk = await market(db)
    specs = [(n % 2, [L(1 + n % 3, 100 + 37 * n, share_p=n, rate=RATES[n % len(RATES)]), L(2, 999, item_m=3)],
              50 * (n % 2)) for n in range(24)]
    day = date(2027, 3, 10)
    replay = Replay([ROrder(shop, [RLine(x) for x in xs], ship, 0) for shop, xs, ship in specs])
    async with db.transaction() as conn:
        for shop, xs, ship in specs:
            order = await place_paid(conn, mk, shop, xs, ship, at(day - timedelta(days=12)))
            await complete(conn, order, at(day - timedelta(days=7)))
    expected = replay.run(7)
    # small batches interleave the two runs batch by batch
    await asyncio.gather(settlement.run(db, day, batch_orders=3), settlement.run(db, day, batch_orders=5))
    lines = await db.fetch("SELECT order_line_id, count(*) AS n FROM settlement_lines WHERE kind = 'SALE'"
                           " AND merchant_id = ANY($1::bigint[]) GROUP BY 1", [s.merchant for s in mk.shops])
    assert len(lines) == 48 and {r["n"] for r in lines} == {1}
    for shop in (0, 1):
        st_ = await db.fetchrow("SELECT lines, net FROM settlement_statements WHERE merchant_id = $1 AND run_day = $2",
                                mk.shops[shop].merchant, day)
        assert st_["net"] == expected[shop]
        assert st_["lines"] == 24 + (12 if shop == 1 else 0)
        assert (await merchant_balances(db, mk.shops[shop].merchant))["MERCHANT_AVAILABLE"] == expected[shop]
    async with db.connection() as conn:
        assert (await audit(conn)).ok
