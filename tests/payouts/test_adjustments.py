"""Adjustments (补差): explicit entries on a merchant's available balance, with the reason and
the operator, idempotent on the client key, listed for the merchant (only)."""

from datetime import UTC, datetime

from app.ledger import journal
from app.ledger.accounts import PLATFORM, Account
from tests.payouts.helpers import ADJUST, REQUEST, balances, shop

LIST = """query($m: ID) { merchantAdjustments(merchantId: $m) { edges { node { amount reason operator } } } }"""


async def test_credit_and_debit_move_available_with_reason_and_operator(api, db, settings, tokens):
    """+120.50 then −20.25: available 100.25; each entry balances against PLATFORM_ADJUSTMENTS
    and records its reason and operator."""
    m = await shop(db, settings)
    credit = (await api.ok(ADJUST, {"m": m.gid, "amount": 12_050, "reason": "运费补差", "key": f"c-{m.id}"},
                           tokens["admin"]))["postAdjustment"]
    assert credit["userErrors"] == [] and credit["account"]["available"] == 12_050
    debit = (await api.ok(ADJUST, {"m": m.gid, "amount": -2_025, "reason": "罚款 late shipment", "key": f"d-{m.id}"},
                          tokens["admin"]))["postAdjustment"]
    assert debit["account"]["available"] == 10_025
    entries = await db.fetch(
        "SELECT e.kind, e.reason, e.operator, p.account, p.owner_id, p.amount FROM journal_entries e"
        " JOIN postings p ON p.entry_id = e.id WHERE e.merchant_id = $1 ORDER BY e.created_at, p.account", m.id)
    assert [(r["kind"], r["reason"], r["account"], r["owner_id"], r["amount"]) for r in entries] == [
        ("ADJUSTMENT", "运费补差", "MERCHANT_AVAILABLE", m.id, -12_050),
        ("ADJUSTMENT", "运费补差", "PLATFORM_ADJUSTMENTS", 0, 12_050),
        ("ADJUSTMENT", "罚款 late shipment", "MERCHANT_AVAILABLE", m.id, 2_025),
        ("ADJUSTMENT", "罚款 late shipment", "PLATFORM_ADJUSTMENTS", 0, -2_025)]
    assert {r["operator"] for r in entries} == {"staff:1"}
    listed = (await api.ok(LIST, {}, m.owner))["merchantAdjustments"]["edges"]
    assert [(e["node"]["amount"], e["node"]["reason"]) for e in listed] == [(-2_025, "罚款 late shipment"),
                                                                             (12_050, "运费补差")]
    events = await db.fetch("SELECT event_type, merchant_id FROM outbox WHERE topic = 'payouts'"
                            " AND event_type = 'ADJUSTMENT_POSTED' AND merchant_id = $1", m.id)
    assert len(events) == 2


async def test_the_same_client_key_posts_once(api, db, settings, tokens):
    m = await shop(db, settings)
    args = {"m": m.gid, "amount": 500, "reason": "goodwill", "key": f"once-{m.id}"}
    first = (await api.ok(ADJUST, args, tokens["admin"]))["postAdjustment"]
    second = (await api.ok(ADJUST, args, tokens["admin"]))["postAdjustment"]
    assert first["adjustment"]["id"] == second["adjustment"]["id"]
    assert (await balances(db, m.id)).available == 500
    other = (await api.ok(ADJUST, {**args, "amount": 600}, tokens["admin"]))["postAdjustment"]
    assert [e["code"] for e in other["userErrors"]] == ["IDEMPOTENCY_CONFLICT"]


async def test_refusals_and_who_may_adjust(api, db, settings, tokens):
    m = await shop(db, settings)
    zero = (await api.ok(ADJUST, {"m": m.gid, "amount": 0, "reason": "x", "key": "z"}, tokens["admin"]))
    assert [e["code"] for e in zero["postAdjustment"]["userErrors"]] == ["INVALID_AMOUNT"]
    blank = (await api.ok(ADJUST, {"m": m.gid, "amount": 1, "reason": "  ", "key": "b"}, tokens["admin"]))
    assert [e["code"] for e in blank["postAdjustment"]["userErrors"]] == ["REASON_REQUIRED"]
    owner = await api(ADJUST, {"m": m.gid, "amount": 1, "reason": "self-service", "key": "o"}, m.owner)
    assert owner["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = await shop(db, settings)
    peek = await api(LIST, {"m": m.gid}, other.owner)
    assert peek["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await balances(db, m.id)).available == 0


DEDUCT = """mutation($m: ID!, $amount: Money!, $key: String!) {
  postAdjustment(input: {merchantId: $m, amount: $amount, reason: "cover the refunds", clientKey: $key,
                         fromDeposit: true}) {
    adjustment { amount source } account { available deposit } userErrors { field code } } }"""


async def test_a_deposit_deduction_covers_a_negative_balance(api, db, settings, tokens):
    """Deposit 2000.00, available −50.00 (a debit): withdrawals are blocked; 50.00 taken from the
    deposit brings available to 0 and the deposit to 1950.00; more than the deposit is refused."""
    m = await shop(db, settings)
    async with db.transaction() as conn:
        await journal.post(conn, [journal.Entry(f"deposit:{m.id}:paid", "DEPOSIT_PAID", datetime.now(UTC), journal.transfer(
            200_000, (Account.CASH, PLATFORM), (Account.MERCHANT_DEPOSIT, m.id)), merchant_id=m.id)])
    await api.ok(ADJUST, {"m": m.gid, "amount": -5_000, "reason": "refund recovered", "key": f"neg-{m.id}"},
                 tokens["admin"])
    blocked = (await api.ok(REQUEST, {"amount": 1, "key": f"w-{m.id}"}, m.owner))["requestWithdrawal"]
    assert [e["code"] for e in blocked["userErrors"]] == ["AVAILABLE_NEGATIVE"]
    for amount, code in ((200_001, "INSUFFICIENT_DEPOSIT"), (-5, "INVALID_AMOUNT")):
        refused = (await api.ok(DEDUCT, {"m": m.gid, "amount": amount, "key": f"x{amount}-{m.id}"},
                                tokens["admin"]))["postAdjustment"]
        assert [e["code"] for e in refused["userErrors"]] == [code]
    done = (await api.ok(DEDUCT, {"m": m.gid, "amount": 5_000, "key": f"dd-{m.id}"}, tokens["admin"]))["postAdjustment"]
    assert done["userErrors"] == [] and done["adjustment"] == {"amount": 5_000, "source": "DEPOSIT"}
    assert done["account"] == {"available": 0, "deposit": 195_000}
    kinds = await db.fetch("SELECT p.account, p.amount FROM journal_entries e JOIN postings p ON p.entry_id = e.id"
                           " WHERE e.merchant_id = $1 AND e.kind = 'DEPOSIT_DEDUCTION' ORDER BY p.account", m.id)
    assert [(k["account"], k["amount"]) for k in kinds] == [("MERCHANT_AVAILABLE", -5_000), ("MERCHANT_DEPOSIT", 5_000)]
    assert (await balances(db, m.id)).available == 0
