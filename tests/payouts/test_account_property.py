"""Property: any sequence of adjustments, withdrawal requests, approvals, rejections and payout
outcomes keeps the merchant's balances equal to a plain replay, never accepts a request the
replay would refuse, and never lets reserved + in transit + paid exceed what was ever credited."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.auth.principal import Principal
from app.errors import DomainError
from app.payouts import adjustments, withdrawals
from tests.payouts.helpers import balances

ADMIN = Principal(kind="staff", id=1, staff_kind="ADMIN")

ops = st.lists(st.one_of(
    st.tuples(st.just("adjust"), st.integers(-5_000, 20_000).filter(bool)),
    st.tuples(st.just("request"), st.integers(1, 15_000)),
    st.tuples(st.sampled_from(["approve", "reject", "send", "pay", "fail"]), st.integers(0, 5)),
), min_size=1, max_size=14)


@dataclass
class Replay:
    """The plain reference: a list of withdrawals and four running totals."""
    available: int = 0
    reserved: int = 0
    in_transit: int = 0
    paid: int = 0
    credited: int = 0
    withdrawals: list[list] = field(default_factory=list)   # [amount, status]


def _pick(model: Replay, n: int, status: str) -> int | None:
    candidates = [i for i, w in enumerate(model.withdrawals) if w[1] == status]
    return candidates[n % len(candidates)] if candidates else None


@given(history=ops)
@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_balances_follow_a_plain_replay(db, history):
    now = datetime.now(UTC)
    merchant = await db.fetchval("INSERT INTO merchants (name, kind) VALUES (gen_random_uuid()::text, 'MARKETPLACE')"
                                 " RETURNING id")
    owner = Principal(kind="staff", id=2, staff_kind="MERCHANT", merchant_id=merchant, merchant_role="OWNER")
    model, ids = Replay(), []
    for n, (op, value) in enumerate(history):
        async with db.transaction() as conn:
            if op == "adjust":
                await adjustments.adjust(conn, ADMIN, merchant, value, "prop", f"{merchant}-{n}", now)
                model.available += value
                model.credited += max(value, 0)
            elif op == "request":
                allowed = model.available >= 0 and value <= model.available
                try:
                    w = await withdrawals.request(conn, owner, value, f"r{n}", now)
                except DomainError:
                    assert not allowed
                else:
                    assert allowed
                    ids.append(w["id"])
                    model.withdrawals.append([value, "REQUESTED"])
                    model.available -= value
                    model.reserved += value
            else:
                source = {"approve": "REQUESTED", "reject": "REQUESTED", "send": "APPROVED", "pay": "IN_TRANSIT",
                          "fail": "IN_TRANSIT"}[op]
                i = _pick(model, value, source)
                if i is None:
                    continue
                wid, (amount, _) = ids[i], model.withdrawals[i]
                if op == "approve":
                    await withdrawals.approve(conn, ADMIN, wid, now)
                    model.withdrawals[i][1] = "APPROVED"
                elif op == "reject":
                    await withdrawals.reject(conn, ADMIN, wid, "no", now)
                    model.withdrawals[i][1] = "REJECTED"
                    model.reserved -= amount
                    model.available += amount
                elif op == "send":
                    await withdrawals.mark_sent(conn, wid, None, "test", now)
                    model.withdrawals[i][1] = "IN_TRANSIT"
                    model.reserved -= amount
                    model.in_transit += amount
                else:
                    await withdrawals.finish(conn, wid, op == "pay", "declined", None, "test", now)
                    model.withdrawals[i][1] = "PAID" if op == "pay" else "FAILED"
                    model.in_transit -= amount
                    if op == "pay":
                        model.paid += amount
                    else:
                        model.available += amount
        b = await balances(db, merchant)
        assert (b.available, b.reserved, b.in_transit) == (model.available, model.reserved, model.in_transit)
        assert b.reserved + b.in_transit + model.paid <= model.credited
        assert b.available + b.reserved + b.in_transit + model.paid == sum(v for o, v in history[:n + 1]
                                                                           if o == "adjust")
    paid = await db.fetchval("SELECT coalesce(sum(amount), 0) FROM withdrawals WHERE merchant_id = $1"
                             " AND status = 'PAID'", merchant)
    assert paid == model.paid
