"""Pushes to the sandbox partners over real HTTP with a real arq burst worker: a partner failing
twice then succeeding gets one parcel; a batch job whose one partner fails records the others
once and retries only that one; a relay batch of paid orders makes one job per chunk, under ids
a re-published batch repeats; the dead letter after N tries and the re-push; a push killed
mid-flight and retried (or sent twice at once) makes no second parcel at the partner; the
partner's notices (duplicates, late) have one effect; the intercept."""

import asyncio
import functools
from datetime import UTC, datetime

import httpx
import pytest

from app.auth.principal import Principal
from app.events import Event
from app.fulfilment import pushes, shipments
from app.jobs import enqueue, start_reactions
from app.orders import service
from tests.fulfilment.helpers import (
    control,
    make_partners,
    new_buyer_id,
    paid_order,
    parcels,
    partner_view,
    run_jobs,
    stock,
    unpaid_order,
)
from tests.jobs import wait_for
from workers import fulfilment as jobs

ADMIN = Principal(kind="staff", id=1, staff_kind="ADMIN")


@pytest.fixture
async def goods(db, settings, http):
    """Fresh partners per test: their sandbox configuration is their own."""
    return await make_partners(db, settings.sandbox_partner_secret)


async def _enqueue_paid(redis, db, order_id: int) -> None:
    """What the outbox relay does with the order's ORDER_PAID event."""
    row = await db.fetchrow("SELECT * FROM outbox WHERE event_type = 'ORDER_PAID'"
                            " AND (payload->>'order_id')::bigint = $1", order_id)
    ev = Event(id=row["id"], topic="order", type="ORDER_PAID", payload=row["payload"], merchant_id=row["merchant_id"],
               created_at="")
    for function, args, job_id in jobs.pushes_of_paid_orders([ev]):
        await enqueue(redis, function, *args, job_id=job_id)


async def _status(db, shipment_id: int) -> str:
    return await db.fetchval("SELECT status FROM shipments WHERE id = $1", shipment_id)


async def _pushed_until(settings, db, shipment_id: int, statuses: set[str]) -> str:
    async def done():
        await run_jobs(settings, db)
        status = await _status(db, shipment_id)
        return status if status in statuses else None
    return await wait_for(done, f"shipment {shipment_id} to reach {statuses}")


async def test_failing_twice_then_succeeding_is_one_parcel_then_shipped(db, settings, http, redis, goods):
    await control(http, settings.sandbox_partner_secret, goods.wh_code, fail_next=2)
    await control(http, settings.sandbox_partner_secret, goods.sup_code, fail_next=1)
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 1, "gadget": 2})
    by_kind = await parcels(db, order.id)
    on_hand, held = await stock(db, goods.gadget.sku)
    await _enqueue_paid(redis, db, order.id)
    await _pushed_until(settings, db, by_kind["WAREHOUSE"]["id"], {"ACCEPTED", "SHIPPED"})
    phone = await db.fetchrow("SELECT * FROM shipments WHERE id = $1", by_kind["WAREHOUSE"]["id"])
    assert phone["push_attempts"] == 3 and phone["partner_ref"].startswith(goods.wh_code)
    at_partner = await partner_view(http, goods.wh_code, phone["id"])
    assert (at_partner["pushes"], at_partner["partner_ref"]) == ("1", phone["partner_ref"])
    assert (await http.get(f"/sandbox/fulfilment/{goods.wh_code}/")).json()["created"] == 1

    # the partners ship (notices to our webhook): the order is SHIPPED once both parcels are
    async def shipped():
        return await db.fetchval("SELECT status = 'SHIPPED' FROM orders WHERE id = $1", order.id)
    await wait_for(shipped, "the order to ship")
    both = await parcels(db, order.id)
    assert {both["WAREHOUSE"]["status"], both["DROPSHIP"]["status"]} <= {"SHIPPED", "SIGNED"}
    assert both["DROPSHIP"]["carrier"] == "SBX" and both["DROPSHIP"]["tracking_number"].startswith("SBX")
    assert await stock(db, goods.gadget.sku) == (on_hand - 2, held - 2)
    history = await db.fetch("SELECT to_status FROM shipment_status_history WHERE shipment_id = $1 ORDER BY id",
                             phone["id"])
    assert [h["to_status"] for h in history][:3] == ["PENDING", "ACCEPTED", "SHIPPED"]

    # then the carrier tracks both parcels: SIGNED, the order's logistics sub-status follows
    async def signed():        # and every tracking event in (a carrier's events may arrive in any order)
        return await db.fetchval("SELECT logistics_status = 'SIGNED' FROM orders WHERE id = $1", order.id) and \
            await db.fetchval("SELECT count(*) FROM tracking_events WHERE shipment_id = $1", phone["id"]) == 4
    await wait_for(signed, "the order's parcels to be signed")
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order.id) == "SHIPPED"
    timeline = await db.fetch("SELECT status FROM tracking_events WHERE shipment_id = $1 ORDER BY occurred_at",
                              phone["id"])
    assert [t["status"] for t in timeline] == ["COLLECTED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "SIGNED"]


async def test_a_batch_records_what_was_accepted_once_and_retries_only_the_failing_one(db, settings, http, redis,
                                                                                       goods):
    await control(http, settings.sandbox_partner_secret, goods.wh_code, ship_delay_ms=60_000)
    await control(http, settings.sandbox_partner_secret, goods.sup_code, fail_next=2, ship_delay_ms=60_000)
    buyer = await new_buyer_id(db)
    orders = [await unpaid_order(db, goods, buyer, lines) for lines in ({"phone": 1}, {"phone": 2}, {"gadget": 1},
                                                                        {"phone": 1, "gadget": 1})]
    async with db.transaction() as conn:       # paid together: one commit, so one relay batch
        await service.mark_paid_many(conn, [(o.payment_order, None) for o in orders], datetime.now(UTC), "provider:test")
    rows = await db.fetch("SELECT * FROM outbox WHERE event_type = 'ORDER_PAID'"
                          " AND (payload->>'order_id')::bigint = ANY($1::bigint[]) ORDER BY id", [o.id for o in orders])
    events = [Event(id=r["id"], topic=r["topic"], type=r["event_type"], payload=r["payload"],
                    merchant_id=r["merchant_id"], created_at="") for r in rows]
    made = [p for o in orders for p in (await parcels(db, o.id)).values()]
    ids = sorted(p["id"] for p in made)
    calls = jobs.pushes_of_paid_orders(events)
    assert len(ids) == 5 and calls == [("push_shipments", (ids,), jobs.push_batch_job_id(ids))]   # one job

    async def relayed():
        return await db.fetchval("SELECT bool_and(published_at IS NOT NULL) FROM outbox WHERE id = ANY($1::bigint[])",
                                 [e.id for e in events])
    await wait_for(relayed, "the relay to start the reactions")
    from workers.main import REACTIONS
    await start_reactions(redis, REACTIONS, events)                            # published again: nothing new
    assert [j for j in await redis.zrange("arq:queue", 0, -1) if j.startswith("push-shipment")] == [calls[0][2]]

    for gadget in [p["id"] for p in made if p["kind"] == "DROPSHIP"]:
        await _pushed_until(settings, db, gadget, {"ACCEPTED"})
    pushed = await db.fetch("SELECT id, kind, status, push_attempts, partner_ref FROM shipments"
                            " WHERE id = ANY($1::bigint[]) ORDER BY id", ids)
    assert {r["status"] for r in pushed} == {"ACCEPTED"}
    # the supplier failed both its parcels at the batch's first try; the phones were accepted then
    assert {r["id"]: r["push_attempts"] for r in pushed} == {r["id"]: 2 if r["kind"] == "DROPSHIP" else 1
                                                             for r in pushed}
    accepted = await db.fetch("SELECT shipment_id, actor FROM shipment_status_history"
                              " WHERE shipment_id = ANY($1::bigint[]) AND to_status = 'ACCEPTED'", ids)
    assert sorted(a["shipment_id"] for a in accepted) == ids
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'SHIPMENT_ACCEPTED'"
                             " AND (payload->>'shipment_id')::bigint = ANY($1::bigint[])", ids) == len(ids)
    for r in pushed:            # each its own reference, one parcel each at its partner
        at_partner = await partner_view(http, goods.sup_code if r["kind"] == "DROPSHIP" else goods.wh_code, r["id"])
        assert (at_partner["pushes"], at_partner["partner_ref"]) == ("1", r["partner_ref"])
    assert (await http.get(f"/sandbox/fulfilment/{goods.wh_code}/")).json()["created"] == 3
    assert (await http.get(f"/sandbox/fulfilment/{goods.sup_code}/")).json()["created"] == 2


async def test_a_relay_batch_of_paid_orders_is_one_job_per_chunk_under_stable_ids(redis):
    """⌈shipments / batch⌉ jobs, named by their shipments: the same batch relayed again (in any
    order) enqueues nothing new. MERCHANT parcels are not pushed."""
    base = 10 ** 15 + int(datetime.now(UTC).timestamp() * 1000) * 100     # ids no real shipment has
    shipments_of = [[[base + 1, "WAREHOUSE"]], [[base + 2, "DROPSHIP"], [base + 3, "MERCHANT"]], [],
                    [[base + 4, "WAREHOUSE"], [base + 5, "WAREHOUSE"]], [[base + 6, "DROPSHIP"]]]
    events = [Event(id=n, topic="order", type="ORDER_PAID", merchant_id=1, created_at="",
                    payload={"order_id": n, "shipments": parcels, "virtual": False})
              for n, parcels in enumerate(shipments_of)]
    calls = jobs.pushes_of_paid_orders(events, batch=2)
    chunks = [[base + 1, base + 2], [base + 4, base + 5], [base + 6]]
    assert calls == [("push_shipments", (c,), jobs.push_batch_job_id(c)) for c in chunks]
    assert jobs.pushes_of_paid_orders(events[::-1], batch=2) == calls
    assert len({job_id for _, _, job_id in calls}) == 3
    assert [c[1] for c in jobs.pushes_of_paid_orders(events)] == [([base + i for i in (1, 2, 4, 5, 6)],)]

    reactions = {"ORDER_PAID": [functools.partial(jobs.pushes_of_paid_orders, batch=2)]}
    job_ids = [job_id for _, _, job_id in calls]
    try:
        for _ in range(2):
            await start_reactions(redis, reactions, events)
            assert sorted(j for j in await redis.zrange("arq:queue", 0, -1) if j in job_ids) == sorted(job_ids)
    finally:
        for job_id in job_ids:
            await redis.delete(f"arq:job:{job_id}")
            await redis.zrem("arq:queue", job_id)


async def test_dead_letter_after_n_tries_then_repush(db, settings, http, redis, goods):
    await control(http, settings.sandbox_partner_secret, goods.wh_code, fail_next=100, ship_delay_ms=60_000)
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 1})
    shipment_id = (await parcels(db, order.id))["WAREHOUSE"]["id"]
    await _enqueue_paid(redis, db, order.id)
    assert await _pushed_until(settings, db, shipment_id, {"DEAD_LETTER"}) == "DEAD_LETTER"
    dead = await db.fetchrow("SELECT * FROM shipments WHERE id = $1", shipment_id)
    assert dead["push_attempts"] == settings.fulfilment_push_max_attempts and "503" in dead["last_error"]
    event = await db.fetchrow("SELECT payload, merchant_id FROM outbox WHERE event_type = 'SHIPMENT_DEAD_LETTER'"
                              " AND (payload->>'shipment_id')::bigint = $1", shipment_id)
    assert event["merchant_id"] == goods.merchant and event["payload"]["order_id"] == order.id

    await control(http, settings.sandbox_partner_secret, goods.wh_code, fail_next=0)
    async with db.transaction() as conn:
        assert await pushes.repush(conn, ADMIN, shipment_id, datetime.now(UTC)) == 1
    pending = await db.fetchrow("SELECT payload FROM outbox WHERE event_type = 'SHIPMENT_PENDING'"
                                " AND (payload->>'shipment_id')::bigint = $1", shipment_id)
    ev = Event(id=0, topic="fulfilment", type="SHIPMENT_PENDING", payload=pending["payload"],
               merchant_id=goods.merchant, created_at="")
    calls = jobs.push_of_pending_shipment(ev)
    assert calls == [("push_shipment", (shipment_id,), f"push-shipment:{shipment_id}:1")]   # a new job id
    for function, args, job_id in calls:
        await enqueue(redis, function, *args, job_id=job_id)
    assert await _pushed_until(settings, db, shipment_id, {"ACCEPTED"}) == "ACCEPTED"
    assert (await http.get(f"/sandbox/fulfilment/{goods.wh_code}/")).json()["created"] == 1


async def test_push_killed_mid_flight_then_retried_makes_one_parcel(db, settings, http, goods):
    await control(http, settings.sandbox_partner_secret, goods.wh_code, latency_ms=600, notices=False)
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 1})
    shipment_id = (await parcels(db, order.id))["WAREHOUSE"]["id"]
    async with httpx.AsyncClient() as client:
        killed = asyncio.create_task(pushes.push_shipment(db, settings, client, shipment_id, datetime.now(UTC)))
        await asyncio.sleep(0.3)          # the partner has the request and is "working"
        killed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await killed
        assert await _status(db, shipment_id) == "PENDING"
        first = await wait_for(lambda: _partner_ref(http, goods.wh_code, shipment_id), "the partner's parcel")
        # the retry, and two more pushes at once: one parcel, the same reference
        outcomes = [await pushes.push_shipment(db, settings, client, shipment_id, datetime.now(UTC))]
        outcomes += await asyncio.gather(*(pushes.push_shipment(db, settings, client, shipment_id, datetime.now(UTC))
                                           for _ in range(2)))
    assert outcomes[0].status == "ACCEPTED" and {o.status for o in outcomes[1:]} == {"SKIPPED"}
    assert await db.fetchval("SELECT partner_ref FROM shipments WHERE id = $1", shipment_id) == first
    assert (await http.get(f"/sandbox/fulfilment/{goods.wh_code}/")).json()["created"] == 1
    assert (await partner_view(http, goods.wh_code, shipment_id))["pushes"] == "2"


async def _partner_ref(http, code: str, shipment_id: int) -> str | None:
    response = await http.get(f"/sandbox/fulfilment/{code}/shipments/shipment-{shipment_id}")
    return response.json().get("partner_ref") if response.status_code == 200 else None


async def test_duplicate_and_late_notices_have_one_effect(db, settings, http, redis, goods):
    await control(http, settings.sandbox_partner_secret, goods.wh_code, duplicates=2, late=True, carrier_step_ms=60_000)
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 2})
    shipment_id = (await parcels(db, order.id))["WAREHOUSE"]["id"]
    on_hand, held = await stock(db, goods.phone.sku)
    async with httpx.AsyncClient() as client:
        assert (await pushes.push_shipment(db, settings, client, shipment_id, datetime.now(UTC))).status == "ACCEPTED"

    async def all_notices():
        return await db.fetchval("SELECT count(*) FROM fulfilment_notices WHERE shipment_id = $1", shipment_id) == 2
    await wait_for(all_notices, "both notices")
    await asyncio.sleep(0.5)       # the duplicates' deliveries
    notices = await db.fetch("SELECT kind, status, outcome FROM fulfilment_notices WHERE shipment_id = $1 ORDER BY id",
                             shipment_id)
    assert [(n["kind"], n["status"]) for n in notices] == [("SHIPPED", "APPLIED"), ("ACCEPTED", "IGNORED")]
    assert notices[1]["outcome"] == "LATE: the shipment is SHIPPED"
    history = await db.fetch("SELECT to_status FROM shipment_status_history WHERE shipment_id = $1 ORDER BY id",
                             shipment_id)
    assert [h["to_status"] for h in history] == ["PENDING", "ACCEPTED", "SHIPPED"]   # the push's own answer
    assert await stock(db, goods.phone.sku) == (on_hand - 2, held - 2)
    assert await db.fetchval("SELECT count(*) FROM order_status_history WHERE order_id = $1 AND to_status = 'SHIPPED'",
                             order.id) == 1


async def test_withdraw_intercepts_at_the_partner(db, settings, http, goods):
    await control(http, settings.sandbox_partner_secret, goods.wh_code, ship_delay_ms=60_000)
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 3})
    shipment_id = (await parcels(db, order.id))["WAREHOUSE"]["id"]
    _, held = await stock(db, goods.phone.sku)
    async with httpx.AsyncClient() as client:
        assert (await pushes.push_shipment(db, settings, client, shipment_id, datetime.now(UTC))).status == "ACCEPTED"
        assert await shipments.withdraw_units(db, settings, client, "after-sale:intercept", order.lines["phone"], 1)
    assert (await partner_view(http, goods.wh_code, shipment_id))["final"] == "CANCELLED"
    assert await _status(db, shipment_id) == "CANCELLED"
    rest = await db.fetchrow("SELECT s.id, s.status, l.quantity FROM shipments s JOIN shipment_lines l"
                             " ON l.shipment_id = s.id WHERE s.order_id = $1 AND s.id <> $2", order.id, shipment_id)
    assert (rest["status"], rest["quantity"]) == ("PENDING", 2)
    assert (await stock(db, goods.phone.sku))[1] == held - 1
    # a late push of the intercepted key is refused by the partner
    async with db.transaction() as conn:
        await conn.execute("UPDATE shipments SET status = 'PENDING' WHERE id = $1", shipment_id)
    async with httpx.AsyncClient() as client:
        assert (await pushes.push_shipment(db, settings, client, shipment_id, datetime.now(UTC))).status == "INTERCEPTED"


async def test_a_refund_intercepts_what_the_partner_holds(db, settings, http, goods):
    await control(http, settings.sandbox_partner_secret, goods.wh_code, ship_delay_ms=60_000)
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 1})
    shipment_id = (await parcels(db, order.id))["WAREHOUSE"]["id"]
    async with httpx.AsyncClient() as client:
        assert (await pushes.push_shipment(db, settings, client, shipment_id, datetime.now(UTC))).status == "ACCEPTED"
        async with db.transaction() as conn:
            assert await shipments.cancel_for_order(conn, order.id, datetime.now(UTC), "buyer:1", "BUYER_CANCELLED")
        row = await db.fetchrow("SELECT * FROM outbox WHERE event_type = 'SHIPMENT_CANCELLED'"
                                " AND (payload->>'shipment_id')::bigint = $1", shipment_id)
        ev = Event(id=row["id"], topic="fulfilment", type=row["event_type"], payload=row["payload"],
                   merchant_id=row["merchant_id"], created_at="")
        assert jobs.intercept_of_cancelled_shipment(ev) == [
            ("intercept_shipment", (shipment_id,), f"intercept-shipment:{shipment_id}")]
        assert await pushes.intercept_cancelled(db, settings, client, shipment_id) == "CANCELLED"
        assert (await partner_view(http, goods.wh_code, shipment_id))["final"] == "CANCELLED"

        # a partner that shipped first answers TOO_LATE: flagged for the back office
        await control(http, settings.sandbox_partner_secret, goods.wh_code, ship_delay_ms=0, carrier_step_ms=60_000)
        late = await paid_order(db, goods, await new_buyer_id(db), {"phone": 1})
        late_id = (await parcels(db, late.id))["WAREHOUSE"]["id"]
        await pushes.push_shipment(db, settings, client, late_id, datetime.now(UTC))
        await wait_for(lambda: _final(http, goods.wh_code, late_id), "the partner to ship")
        assert await pushes.intercept_cancelled(db, settings, client, late_id) == "TOO_LATE"
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'SHIPMENT_INTERCEPT_FAILED'"
                             " AND (payload->>'shipment_id')::bigint = $1", late_id) == 1


async def _final(http, code: str, shipment_id: int) -> bool:
    return (await partner_view(http, code, shipment_id)).get("final") == "SHIPPED"
