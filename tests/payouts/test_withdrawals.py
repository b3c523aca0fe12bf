"""Withdrawals end to end over real HTTP: the OWNER asks through GraphQL, the back office
reviews, the payout job sends it to the sandbox payout channel (signed), and the channel's signed
callback says how it ended. Amounts are worked by hand in each test."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

from app.errors import DomainError
from app.payments.gateway import http_client
from app.payouts import sending, withdrawals
from app.signing import signed_headers
from tests.jobs import wait_for
from tests.payouts.helpers import (
    ACCOUNT,
    APPROVE,
    REJECT,
    REQUEST,
    balances,
    control,
    enqueue_payout,
    gid,
    pk_of,
    run_payout_jobs,
    settle,
    shop,
)
from tests.servers import relaying
from workers import payouts as payout_jobs


async def _request(api, token, amount, key):
    return (await api.ok(REQUEST, {"amount": amount, "key": key}, token))["requestWithdrawal"]


async def _status(db, wid: int) -> str:
    return await db.fetchval("SELECT status FROM withdrawals WHERE id = $1", wid)


async def test_request_reserves_and_rejection_returns_the_money(api, db, settings, tokens):
    """100.00 available; ask 30.00 → 70.00 available, 30.00 reserved; rejected → 100.00 again."""
    m = await shop(db, settings)
    await settle(db, m.id, 10_000)
    out = await _request(api, m.owner, 3_000, "k1")
    assert out["userErrors"] == [] and out["withdrawal"]["status"] == "REQUESTED"
    acct = (await api.ok(ACCOUNT, {}, m.owner))["merchantAccount"]
    assert (acct["available"], acct["reserved"], acct["withdrawable"]) == (7_000, 3_000, 7_000)
    wid = out["withdrawal"]["id"]
    refused = (await api.ok(REJECT, {"id": wid, "reason": " "}, tokens["admin"]))["rejectWithdrawal"]
    assert [e["code"] for e in refused["userErrors"]] == ["REASON_REQUIRED"]
    rejected = (await api.ok(REJECT, {"id": wid, "reason": "bank details missing"}, tokens["admin"]))["rejectWithdrawal"]
    assert rejected["withdrawal"]["status"] == "REJECTED"
    assert rejected["withdrawal"]["rejectReason"] == "bank details missing"
    assert [h["toStatus"] for h in rejected["withdrawal"]["history"]] == ["REQUESTED", "REJECTED"]
    b = await balances(db, m.id)
    assert (b.available, b.reserved) == (10_000, 0)
    again = (await api.ok(REJECT, {"id": wid, "reason": "twice"}, tokens["admin"]))["rejectWithdrawal"]
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_TRANSITION"]
    assert (await balances(db, m.id)).available == 10_000


async def test_requests_are_refused_above_available_when_negative_and_for_operators(api, db, settings, tokens):
    """50.00 available: 50.01 is refused, 0 is refused, 50.00 is accepted; then an adjustment of
    −80.00 leaves −30.00 (after the 50.00 reserved): every request is refused."""
    m = await shop(db, settings)
    await settle(db, m.id, 5_000)
    assert [e["code"] for e in (await _request(api, m.owner, 5_001, "a"))["userErrors"]] == ["INSUFFICIENT_AVAILABLE"]
    assert [e["code"] for e in (await _request(api, m.owner, 0, "b"))["userErrors"]] == ["INVALID_AMOUNT"]
    operator = await api(REQUEST, {"amount": 100, "key": "op"}, m.operator)
    assert operator["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = await api(REQUEST, {"amount": 100, "key": "adm"}, tokens["admin"])
    assert admin["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await _request(api, m.owner, 5_000, "c"))["withdrawal"]["status"] == "REQUESTED"
    assert (await balances(db, m.id)).available == 0
    from tests.payouts.helpers import ADJUST
    adj = (await api.ok(ADJUST, {"m": m.gid, "amount": -3_000, "reason": "chargeback", "key": f"neg-{m.id}"},
                        tokens["admin"]))["postAdjustment"]
    assert adj["userErrors"] == [] and adj["account"]["available"] == -3_000
    assert [e["code"] for e in (await _request(api, m.owner, 1, "d"))["userErrors"]] == ["AVAILABLE_NEGATIVE"]
    assert await db.fetchval("SELECT count(*) FROM withdrawals WHERE merchant_id = $1", m.id) == 1


async def test_the_same_client_key_answers_the_first_request(api, db, settings):
    m = await shop(db, settings)
    await settle(db, m.id, 1_000)
    first = await _request(api, m.owner, 400, "same")
    second = await _request(api, m.owner, 400, "same")
    assert first["withdrawal"]["id"] == second["withdrawal"]["id"]
    assert [e["code"] for e in (await _request(api, m.owner, 500, "same"))["userErrors"]] == ["IDEMPOTENCY_CONFLICT"]
    b = await balances(db, m.id)
    assert (b.available, b.reserved) == (600, 400)


async def test_simultaneous_requests_never_overspend(db, settings):
    """100.00 available, twelve requests of 30.00 at once on separate connections: exactly three
    are accepted (90.00 reserved, 10.00 left), the rest refused."""
    m = await shop(db, settings)
    await settle(db, m.id, 10_000)
    now = datetime.now(UTC)

    async def one(n: int) -> str:
        try:
            async with db.transaction() as conn:
                await withdrawals.request(conn, m.owner_principal, 3_000, f"c{n}", now)
            return "ok"
        except DomainError as exc:
            return exc.problems[0].code.value
    results = await asyncio.gather(*(one(n) for n in range(12)))
    assert sorted(results).count("ok") == 3
    assert set(results) == {"ok", "INSUFFICIENT_AVAILABLE"}
    b = await balances(db, m.id)
    assert (b.available, b.reserved) == (1_000, 9_000)


async def _approved(api, db, settings, tokens, amount: int, available: int = 10_000):
    m = await shop(db, settings)
    await settle(db, m.id, available)
    wid = (await _request(api, m.owner, amount, "p"))["withdrawal"]["id"]
    out = (await api.ok(APPROVE, {"id": wid}, tokens["admin"]))["approveWithdrawal"]
    assert out["userErrors"] == [] and out["withdrawal"]["status"] == "APPROVED"
    return m, pk_of(wid)


async def test_an_approved_withdrawal_is_paid_through_the_channel(api, http, db, redis, settings, tokens):
    """100.00 available, 30.00 asked and approved: the approval event starts the payout job, the
    channel accepts (IN_TRANSIT: 30.00 in transit), its callback says PAID: 70.00 available,
    nothing reserved or in transit, CASH −30.00, and the channel paid it once."""
    await control(http, settings, decline_next=0, fail_next=0, duplicates=0, callbacks=True)
    m, wid = await _approved(api, db, settings, tokens, 3_000)
    async with relaying(db, redis, settings, 0.05, reactions={"WITHDRAWAL_APPROVED": [payout_jobs.REACTIONS["WITHDRAWAL_APPROVED"]]}):
        async def sent():
            await run_payout_jobs(settings, db)
            return await _status(db, wid) != "APPROVED"
        try:
            await wait_for(sent, "the payout job to send the withdrawal")
        except AssertionError:
            raise AssertionError(dict(await db.fetchrow("SELECT * FROM withdrawals WHERE id = $1", wid))) from None
    await wait_for(lambda: _paid(db, wid), "the channel's PAID callback")
    b = await balances(db, m.id)
    assert (b.available, b.reserved, b.in_transit) == (7_000, 0, 0)
    entries = await db.fetch("SELECT e.id, p.account, p.amount FROM journal_entries e JOIN postings p ON p.entry_id = e.id"
                             " WHERE e.id LIKE $1 ORDER BY p.id", f"withdrawal:{wid}:%")
    assert sorted((r["id"].rsplit(":", 1)[1], r["account"], r["amount"]) for r in entries) == sorted([
        ("requested", "MERCHANT_AVAILABLE", 3_000), ("requested", "MERCHANT_WITHDRAWAL_RESERVED", -3_000),
        ("sent", "MERCHANT_WITHDRAWAL_RESERVED", 3_000), ("sent", "MERCHANT_WITHDRAWAL_IN_TRANSIT", -3_000),
        ("paid", "MERCHANT_WITHDRAWAL_IN_TRANSIT", 3_000), ("paid", "CASH", -3_000)])
    paid = (await http.get(f"/sandbox/payouts/v1/paid/{settings.payout_reference_prefix}-{wid}")).json()
    assert paid["paid"] == 1
    history = await db.fetch("SELECT to_status FROM withdrawal_status_history WHERE withdrawal_id = $1 ORDER BY id", wid)
    assert [h["to_status"] for h in history] == ["REQUESTED", "APPROVED", "IN_TRANSIT", "PAID"]
    events = await db.fetch("SELECT event_type, merchant_id FROM outbox WHERE topic = 'payouts'"
                            " AND (payload->>'withdrawal_id')::bigint = $1 ORDER BY id", wid)
    assert [(e["event_type"], e["merchant_id"]) for e in events] == [
        (t, m.id) for t in ("WITHDRAWAL_REQUESTED", "WITHDRAWAL_APPROVED", "WITHDRAWAL_IN_TRANSIT", "WITHDRAWAL_PAID")]


async def _paid(db, wid: int) -> bool:
    return await _status(db, wid) in ("PAID", "FAILED")


async def test_a_failed_payout_returns_the_money(api, http, db, settings, tokens):
    """The channel declines the payout: FAILED with its reason, all 100.00 available again."""
    await control(http, settings, decline_next=1, fail_next=0, duplicates=0, callbacks=True)
    m, wid = await _approved(api, db, settings, tokens, 2_500)
    async with http_client() as client:
        progress = await sending.advance(db, settings, client, wid, datetime.now(UTC))
    assert progress.status == "IN_TRANSIT"
    await wait_for(lambda: _paid(db, wid), "the channel's FAILED callback")
    w = await db.fetchrow("SELECT * FROM withdrawals WHERE id = $1", wid)
    assert (w["status"], w["failure_reason"]) == ("FAILED", "payee account refused")
    b = await balances(db, m.id)
    assert (b.available, b.reserved, b.in_transit) == (10_000, 0, 0)


async def test_duplicate_and_replayed_callbacks_have_one_effect(api, http, db, settings, tokens):
    """Three extra copies of the PAID callback, then the same notice posted again by hand: paid
    once — one PAID history row, one `paid` entry, 80.00 available of 100.00."""
    await control(http, settings, decline_next=0, fail_next=0, duplicates=3, callbacks=True)
    m, wid = await _approved(api, db, settings, tokens, 2_000)
    async with http_client() as client:
        await sending.advance(db, settings, client, wid, datetime.now(UTC))
    await wait_for(lambda: _paid(db, wid), "the PAID callback")
    await wait_for(lambda: _notices(db, wid, 1), "the callback copies")
    await asyncio.sleep(0.3)
    body = await db.fetchval("SELECT body FROM payout_notifications WHERE withdrawal_id = $1", wid)
    raw = json.dumps(body).encode()
    replay = await http.post("/webhooks/payouts/sandbox", content=raw,
                             headers=signed_headers(settings.sandbox_payout_secret, raw))
    assert replay.json() == {"ok": True, "result": "duplicate"}
    assert await db.fetchval("SELECT count(*) FROM withdrawal_status_history WHERE withdrawal_id = $1"
                             " AND to_status = 'PAID'", wid) == 1
    assert await db.fetchval("SELECT count(*) FROM journal_entries WHERE id = $1", f"withdrawal:{wid}:paid") == 1
    assert (await balances(db, m.id)).available == 8_000
    await control(http, settings, duplicates=0)


async def _notices(db, wid: int, n: int) -> bool:
    return await db.fetchval("SELECT count(*) FROM payout_notifications WHERE withdrawal_id = $1", wid) >= n


async def test_unsigned_or_mismatched_callbacks_change_nothing(api, http, db, settings, tokens):
    """A callback signed with another secret is refused (401, nothing stored); a correctly signed
    one with another amount is stored but not applied."""
    await control(http, settings, callbacks=False, decline_next=0, fail_next=0)
    m, wid = await _approved(api, db, settings, tokens, 1_000)
    async with http_client() as client:
        await sending.advance(db, settings, client, wid, datetime.now(UTC))
    assert await _status(db, wid) == "IN_TRANSIT"
    notice = {"notice_id": f"forged-{wid}", "type": "PAYOUT", "reference": f"{settings.payout_reference_prefix}-{wid}",
              "payout_id": "x", "amount": 1_000, "status": "PAID", "reason": ""}
    raw = json.dumps(notice).encode()
    forged = await http.post("/webhooks/payouts/sandbox", content=raw, headers=signed_headers("not-the-secret", raw))
    assert forged.status_code == 401
    wrong = json.dumps({**notice, "notice_id": f"wrong-{wid}", "amount": 999_999}).encode()
    answer = await http.post("/webhooks/payouts/sandbox", content=wrong,
                             headers=signed_headers(settings.sandbox_payout_secret, wrong))
    assert answer.json()["result"] == "amount mismatch"
    assert await _status(db, wid) == "IN_TRANSIT"
    assert await db.fetchval("SELECT count(*) FROM payout_notifications WHERE withdrawal_id = $1 AND applied", wid) == 0
    await control(http, settings, callbacks=True)


async def test_a_lost_callback_is_recovered_by_asking_the_channel(api, http, db, redis, settings, tokens):
    """No callback comes: the sweeper finds the payout in transit past PAYOUT_QUERY_AFTER_SECONDS,
    the job asks the channel, which says PAID."""
    await control(http, settings, callbacks=False, decline_next=0, fail_next=0)
    m, wid = await _approved(api, db, settings, tokens, 1_500)
    async with http_client() as client:
        await sending.advance(db, settings, client, wid, datetime.now(UTC))
        assert await _status(db, wid) == "IN_TRANSIT"
        await asyncio.sleep(0.2)             # the channel pays after its callback delay, telling no one
        later = datetime.now(UTC) + timedelta(seconds=settings.payout_query_after_seconds + 1)
        async with db.connection() as conn:
            due = await sending.due(conn, later - timedelta(seconds=settings.payout_sweep_after_seconds),
                                    later - timedelta(seconds=settings.payout_query_after_seconds))
        assert wid in [d[0] for d in due]
        progress = await sending.advance(db, settings, client, wid, later)
    assert progress.status == "PAID"
    assert (await balances(db, m.id)).available == 8_500
    await control(http, settings, callbacks=True)


async def test_an_unavailable_channel_is_retried_and_pays_once(api, http, db, redis, settings, tokens):
    """The channel answers 503 twice: the job retries with backoff (two Retry rounds) and the
    third send is accepted; the channel paid the reference once."""
    await control(http, settings, fail_next=2, decline_next=0, callbacks=True)
    m, wid = await _approved(api, db, settings, tokens, 700)
    await enqueue_payout(redis, wid)
    await wait_for(lambda: _ran_until_sent(settings, db, wid), "the retried payout job")
    w = await db.fetchrow("SELECT * FROM withdrawals WHERE id = $1", wid)
    assert w["attempts"] == 3
    await wait_for(lambda: _paid(db, wid), "the PAID callback")
    paid = (await http.get(f"/sandbox/payouts/v1/paid/{settings.payout_reference_prefix}-{wid}")).json()
    assert paid["paid"] == 1


async def _ran_until_sent(settings, db, wid: int) -> bool:
    await run_payout_jobs(settings, db)
    return await _status(db, wid) != "APPROVED"


async def test_a_merchant_sees_only_its_own_account_and_withdrawals(api, db, settings, tokens):
    a, b = await shop(db, settings), await shop(db, settings)
    await settle(db, a.id, 2_000)
    wid = (await _request(api, a.owner, 500, "own"))["withdrawal"]["id"]
    other = await api(ACCOUNT, {"m": a.gid}, b.owner)
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    seen = await api("query($id: ID!) { withdrawal(id: $id) { id } }", {"id": wid}, b.owner)
    assert seen["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    listed = await api.ok("{ withdrawals { edges { node { id } } } }", {}, b.owner)
    assert listed["withdrawals"]["edges"] == []
    mine = await api.ok("{ withdrawals { edges { node { id } } } }", {}, a.operator)
    assert [e["node"]["id"] for e in mine["withdrawals"]["edges"]] == [wid]
    admin = await api.ok(ACCOUNT, {"m": a.gid}, tokens["admin"])
    assert admin["merchantAccount"]["reserved"] == 500
    by_admin = await api.ok("query($m: ID) { withdrawals(merchantId: $m) { edges { node { id } } } }",
                            {"m": gid("Merchant", a.id)}, tokens["admin"])
    assert [e["node"]["id"] for e in by_admin["withdrawals"]["edges"]] == [wid]


async def test_nothing_is_lost_when_the_job_dies_after_the_channel_accepted(api, http, db, redis, settings, tokens):
    """The payout job reached the channel (which accepted the payout) and died before its commit,
    and its enqueue was lost; the channel paid it, but its callback is lost too. The sweeper finds
    the approved withdrawal once its retry time has passed, the new job sends it again and the
    channel answers the first send's payout — PAID, same channel ref — which finishes it (sent,
    then paid). The reference was paid once."""
    from app.payouts import channel
    await control(http, settings, fail_next=0, decline_next=0, duplicates=0, callbacks=False)
    m, wid = await _approved(api, db, settings, tokens, 900)
    async with http_client() as client:
        first = await channel.send(client, settings, "sandbox", wid, 900, "merchant:x")     # the job that died
        assert first.outcome is channel.Outcome.ACCEPTED
        await asyncio.sleep(0.2)                   # the channel pays after its callback delay, telling no one
        await db.fetchval("UPDATE withdrawals SET reviewed_at = now() - interval '1 minute' WHERE id = $1", wid)
        swept = await payout_jobs.sweep_payouts({"db": db, "settings": settings, "redis": redis})
        assert swept >= 1
        await run_payout_jobs(settings, db)
    w = await db.fetchrow("SELECT status, channel_ref, attempts FROM withdrawals WHERE id = $1", wid)
    assert (w["status"], w["channel_ref"], w["attempts"]) == ("PAID", first.channel_ref, 1)
    history = await db.fetch("SELECT to_status FROM withdrawal_status_history WHERE withdrawal_id = $1 ORDER BY id", wid)
    assert [h["to_status"] for h in history] == ["REQUESTED", "APPROVED", "IN_TRANSIT", "PAID"]
    paid = (await http.get(f"/sandbox/payouts/v1/paid/{settings.payout_reference_prefix}-{wid}")).json()
    assert paid["paid"] == 1
    b = await balances(db, m.id)
    assert (b.available, b.reserved, b.in_transit) == (10_000 - 900, 0, 0)
    await control(http, settings, callbacks=True)


async def test_the_channel_refuses_a_reference_again_with_another_amount(http, db, settings):
    """The channel's idempotency is on the reference: the same reference for another amount is
    refused (REFUSED: definite, nothing paid), never paid twice."""
    from app.payouts import channel
    await control(http, settings, fail_next=0, callbacks=False)
    async with http_client() as client:
        first = await channel.send(client, settings, "sandbox", 987_654, 100, "merchant:x")
        again = await channel.send(client, settings, "sandbox", 987_654, 100, "merchant:x")
        other = await channel.send(client, settings, "sandbox", 987_654, 101, "merchant:x")
    assert first.outcome is channel.Outcome.ACCEPTED and again.channel_ref == first.channel_ref
    assert other.outcome is channel.Outcome.REFUSED
    await control(http, settings, callbacks=True)
