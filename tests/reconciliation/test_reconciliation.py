"""Reconciliation over real HTTP: payments paid and a refund made through the sandbox provider
(its callbacks applied by the payment jobs), the sandbox's statement for the day downloaded and
matched; differences injected on its side (a sandbox control drops, alters or adds rows) and on
ours (a payment row changed in the database)."""

import json
from datetime import UTC, datetime

import pytest

from app.cli import reconcile_day
from app.payments import refunds
from app.signing import signed_headers
from tests.payments.helpers import add_payment, make_goods, new_buyer, place, run_jobs, sandbox_pay, settle_refunds

RUN = """mutation($d: Date!) { runReconciliation(input: {date: $d}) {
  run { id day status theirRows ourRows matched openDifferences runs } userErrors { code message } } }"""
DIFFS = """query($s: ReconciliationDifferenceStatus, $r: ID) { reconciliationDifferences(status: $s, runId: $r) {
  edges { node {
  id itemKind providerRef kind ourAmount theirAmount status note resolvedBy } } } }"""
RESOLVE = """mutation($id: ID!, $note: String!) { resolveReconciliationDifference(input: {differenceId: $id, note: $note})
  { difference { status note } userErrors { code } } }"""


async def _statement_control(http, settings, **body) -> None:
    raw = json.dumps(body).encode()
    response = await http.post("/sandbox/statements/control", content=raw,
                               headers=signed_headers(settings.sandbox_provider_secret, raw))
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
async def day_books(db, http, settings):
    """Today's statement emptied, then three payments (1.00, 2.00, 3.00) paid and 0.50 of the
    second refunded through the sandbox: four statement rows, four rows of ours."""
    day = datetime.now(UTC).date()
    await _statement_control(http, settings, day=day.isoformat(), reset=True)
    goods = await make_goods(db, merchants=1)
    buyer = await new_buyer(db, settings)
    payments = []
    for units in (1, 2, 3):
        async with db.transaction() as conn:
            po = await place(conn, goods, buyer.id, [units])
            payments.append((await add_payment(conn, po), units * 100))
    await sandbox_pay(http, settings, payments)
    await run_jobs(settings, db)
    rows = await db.fetch("SELECT id, provider_txn_id, status FROM payments WHERE id = ANY($1) ORDER BY id",
                          [p for p, _ in payments])
    assert [r["status"] for r in rows] == ["SUCCEEDED"] * 3
    async with db.transaction() as conn:
        order_id = await conn.fetchval("SELECT o.id FROM orders o JOIN payments p ON p.payment_order_id ="
                                       " o.payment_order_id WHERE p.id = $1", payments[1][0])
        refund = await refunds.request_refund(conn, payments[1][0], order_id, 50, "test", f"recon-{order_id}")
    await settle_refunds(settings, db, [refund["id"]])
    provider_refund = await db.fetchval("SELECT provider_refund_id FROM refunds WHERE id = $1", refund["id"])
    return day, rows, provider_refund


async def test_a_clean_day_matches_and_reruns_change_nothing(api, tokens, day_books):
    day, _, _ = day_books
    first = (await api.ok(RUN, {"d": day.isoformat()}, tokens["admin"]))["runReconciliation"]
    assert first["userErrors"] == []
    assert {k: first["run"][k] for k in ("status", "theirRows", "ourRows", "matched", "openDifferences")} == {
        "status": "DONE", "theirRows": 4, "ourRows": 4, "matched": 4, "openDifferences": 0}
    again = (await api.ok(RUN, {"d": day.isoformat()}, tokens["admin"]))["runReconciliation"]["run"]
    assert (again["id"], again["runs"], again["matched"], again["openDifferences"]) == (first["run"]["id"], 2, 4, 0)


async def test_every_difference_is_listed_resolved_and_cleared(api, http, db, settings, tokens, day_books):
    """Injected: the statement drops payment 1 (MISSING_THEIRS 1.00), says 0.40 for the 0.50
    refund (AMOUNT_MISMATCH), adds a phantom 9.99 payment (MISSING_OURS); our payment 3 is
    changed to 2.99 in the database (AMOUNT_MISMATCH 2.99 vs 3.00)."""
    day, rows, provider_refund = day_books
    await _statement_control(http, settings, day=day.isoformat(), drop=[rows[0]["provider_txn_id"]],
                             alter={provider_refund: 40},
                             add=[{"type": "PAYMENT", "id": "sbx_phantom", "reference": "999999", "amount": 999}])
    await db.fetchval("UPDATE payments SET amount = 299 WHERE id = $1", rows[2]["id"])
    run = (await api.ok(RUN, {"d": day.isoformat()}, tokens["admin"]))["runReconciliation"]["run"]
    assert (run["theirRows"], run["ourRows"], run["matched"], run["openDifferences"]) == (4, 4, 1, 4)
    listed = [e["node"] for e in (await api.ok(DIFFS, {"s": "OPEN", "r": run["id"]}, tokens["admin"]))[
        "reconciliationDifferences"]["edges"]]
    assert sorted((d["kind"], d["itemKind"], d["providerRef"], d["ourAmount"], d["theirAmount"]) for d in listed) == [
        ("AMOUNT_MISMATCH", "PAYMENT", rows[2]["provider_txn_id"], 299, 300),
        ("AMOUNT_MISMATCH", "REFUND", provider_refund, 50, 40),
        ("MISSING_OURS", "PAYMENT", "sbx_phantom", None, 999),
        ("MISSING_THEIRS", "PAYMENT", rows[0]["provider_txn_id"], 100, None)]

    phantom = next(d for d in listed if d["kind"] == "MISSING_OURS")
    blank = (await api.ok(RESOLVE, {"id": phantom["id"], "note": " "}, tokens["admin"]))
    assert [e["code"] for e in blank["resolveReconciliationDifference"]["userErrors"]] == ["NOTE_REQUIRED"]
    done = (await api.ok(RESOLVE, {"id": phantom["id"], "note": "provider test row, confirmed by phone"},
                         tokens["admin"]))["resolveReconciliationDifference"]
    assert done["difference"] == {"status": "RESOLVED", "note": "provider test row, confirmed by phone"}
    twice = (await api.ok(RESOLVE, {"id": phantom["id"], "note": "again"}, tokens["admin"]))
    assert [e["code"] for e in twice["resolveReconciliationDifference"]["userErrors"]] == ["INVALID_TRANSITION"]

    rerun = (await api.ok(RUN, {"d": day.isoformat()}, tokens["admin"]))["runReconciliation"]["run"]
    assert rerun["openDifferences"] == 3
    statuses = {d["providerRef"]: d["status"] for d in (e["node"] for e in (await api.ok(DIFFS, {"r": run["id"]}, tokens["admin"]))[
        "reconciliationDifferences"]["edges"])}
    assert statuses["sbx_phantom"] == "RESOLVED"

    await db.fetchval("UPDATE payments SET amount = 300 WHERE id = $1", rows[2]["id"])
    lines: list[str] = []
    count = await reconcile_day(settings, day, progress=lines.append)
    assert count == 3                          # the mismatch on payment 3 is gone
    assert lines[0].startswith("downloading the sandbox statement") and "1 matched" not in lines[2]
    assert any(line.startswith("MISSING_THEIRS") for line in lines)
    cleared = await db.fetchval("SELECT status FROM reconciliation_differences WHERE provider_ref = $1",
                                rows[2]["provider_txn_id"])
    assert cleared == "CLEARED"
    history = await db.fetch("SELECT h.to_status FROM reconciliation_difference_history h"
                             " JOIN reconciliation_differences d ON d.id = h.difference_id"
                             " WHERE d.provider_ref = $1 ORDER BY h.id", rows[2]["provider_txn_id"])
    assert [h["to_status"] for h in history] == ["CLEARED"]


async def test_only_admins_reconcile(api, tokens):
    denied = await api(RUN, {"d": "2026-11-01"}, tokens["acme"])
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_unsigned_statement_request_is_refused(http):
    response = await http.get("/sandbox/statements/2026-11-01.csv")
    assert response.status_code == 401


async def test_the_daily_job_reconciles_the_two_days_before(db, settings):
    """The cron's job records a DONE run for yesterday and the day before (re-runnable)."""
    from datetime import timedelta

    from app.payments.gateway import http_client
    from workers.reconciliation import reconcile_days
    async with http_client() as http:
        counts = await reconcile_days({"db": db, "settings": settings, "http": http})
    assert len(counts) == 2 and all(c >= 0 for c in counts)
    today = datetime.now(UTC).date()
    runs = await db.fetch("SELECT day, status FROM reconciliation_runs WHERE day = ANY($1::date[]) ORDER BY day",
                          [today - timedelta(days=2), today - timedelta(days=1)])
    assert [(r["day"], r["status"]) for r in runs] == [(today - timedelta(days=2), "DONE"),
                                                       (today - timedelta(days=1), "DONE")]
