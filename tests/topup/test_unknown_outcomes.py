"""Unknown outcomes (DOMAIN §6: "an unknown outcome is re-queried, never bought twice"): a
supplier that recharges but answers after our timeout, one that answers 503 first, one that
never finishes (refunded at the deadline), a lost job found by the sweeper, and a purchase run
again and again — each recharges the account at most once, counted by the sandbox itself."""

import asyncio
from datetime import UTC, datetime, timedelta

from app.ids import decode_id
from app.jobs import job_queue
from app.payments.gateway import http_client
from app.topup import service
from app.topup import supplier as api_client
from tests.payments.helpers import new_buyer
from tests.topup.helpers import make_shop, place_and_pay, recharges, run_until, status_is, supplier_call
from workers import topup as topup_jobs


async def _purchase(db, order_id: str):
    return await db.fetchrow("SELECT * FROM topup_purchases WHERE order_id = $1", decode_id("Order", order_id))


async def test_a_supplier_that_times_out_is_re_queried_and_charges_once(server, http, api, db, settings, redis):
    shop = await make_shop(db, settings)
    buyer = await new_buyer(db, settings)
    order_id = await place_and_pay(api, http, buyer.token, shop.sku["phone"], "13912349999")   # answers after 2 s

    await run_until(settings, db, redis, status_is(api, buyer.token, order_id, "COMPLETED"), "the re-query")
    purchase = await _purchase(db, order_id)
    assert purchase["status"] == "SUCCEEDED" and purchase["attempts"] >= 2     # the buy timed out, a query found it
    assert await recharges(http, settings, shop.code, purchase["id"]) == 1

    # the job again, and a second buy with our key (as after a crash mid-call): nothing more happens
    ctx = {"db": db, "settings": settings, "http": http, "redis": job_queue(redis)}
    assert await topup_jobs.buy_topup(ctx, purchase["order_id"]) == "SUCCEEDED"
    supplier = api_client.Supplier(shop.supplier, f"sandbox://topup/{shop.code}", settings.sandbox_partner_secret)
    again = await api_client.buy(http, settings, supplier, str(purchase["id"]), "13912349999",
                                 [api_client.Item(f"CM-{shop.tag}", 1)])
    assert again.outcome is api_client.Outcome.SUCCEEDED and again.supplier_ref == purchase["supplier_ref"]
    assert await recharges(http, settings, shop.code, purchase["id"]) == 1
    assert await db.fetchval("SELECT count(*) FROM order_status_history WHERE order_id = $1 AND to_status = 'RECEIVED'",
                             purchase["order_id"]) == 1


async def test_a_5xx_is_re_queried_then_bought_with_the_same_key(server, http, api, db, settings, redis):
    shop = await make_shop(db, settings)
    buyer = await new_buyer(db, settings)
    order_id = await place_and_pay(api, http, buyer.token, shop.sku["phone"], "13912345555")   # first call: 503

    await run_until(settings, db, redis, status_is(api, buyer.token, order_id, "COMPLETED"), "the second buy")
    purchase = await _purchase(db, order_id)
    assert purchase["attempts"] == 2 and await recharges(http, settings, shop.code, purchase["id"]) == 1


async def test_no_success_by_the_deadline_is_refunded(server, http, api, db, settings, redis):
    """The supplier accepts and never finishes; past TOPUP_DEADLINE_SECONDS the order is refunded
    (and the purchase EXPIRED: never bought again)."""
    short = settings.model_copy(update={"topup_deadline_seconds": 1})
    shop = await make_shop(db, settings)
    buyer = await new_buyer(db, settings)
    order_id = await place_and_pay(api, http, buyer.token, shop.sku["email"], "someone+pending@example.com")

    closed = await run_until(short, db, redis, status_is(api, buyer.token, order_id, "CLOSED"), "the deadline refund")
    assert closed["refunds"] == [{"amount": 3000, "status": "SUCCEEDED", "reason": "TOPUP_FAILED"}]
    purchase = await _purchase(db, order_id)
    assert purchase["status"] == "EXPIRED" and purchase["last_error"].startswith("DEADLINE_PASSED")
    assert purchase["finished_at"] >= purchase["deadline_at"]
    assert await recharges(http, settings, shop.code, purchase["id"]) == 0


async def test_the_sweeper_finds_lost_jobs(server, http, api, db, settings, redis):
    """A paid top-up whose ORDER_PAID reaction never ran, and a purchase left PENDING by a job
    that died after counting its attempt: both are swept, and bought once."""
    shop = await make_shop(db, settings)
    buyer = await new_buyer(db, settings)
    lost = await place_and_pay(api, http, buyer.token, shop.sku["phone"], "13911112222")
    died = await place_and_pay(api, http, buyer.token, shop.sku["phone"], "13911113333")

    async def paid():
        return await db.fetchval("SELECT count(*) = 2 FROM orders WHERE id = ANY($1) AND status = 'PAID'",
                                 [decode_id("Order", o) for o in (lost, died)])
    await run_until(settings, db, redis, paid, "the payments", reactions=False)
    died_pk = decode_id("Order", died)
    await db.fetchval("INSERT INTO topup_purchases (order_id, supplier_id, account, attempts, deadline_at)"
                     " VALUES ($1, $2, '13911113333', 1, now() + interval '10 minutes')", died_pk, shop.supplier)
    later = datetime.now(UTC) + topup_jobs.SWEEP_AFTER + timedelta(seconds=1)
    async with db.connection() as conn:
        due = dict(await service.due_orders(conn, later, limit=10_000))
    assert due[decode_id("Order", lost)] == -1 and due[died_pk] == 1

    await db.fetchval("UPDATE orders SET paid_at = paid_at - interval '1 minute' WHERE id = ANY($1)",
                     [decode_id("Order", lost), died_pk])
    await db.fetchval("UPDATE topup_purchases SET created_at = created_at - interval '1 minute' WHERE order_id = $1",
                     died_pk)
    ctx = {"db": db, "settings": settings, "redis": job_queue(redis)}
    assert await topup_jobs.sweep_topups(ctx) >= 2
    for order_id in (lost, died):
        await run_until(settings, db, redis, status_is(api, buyer.token, order_id, "COMPLETED"), "the swept job")
        purchase = await _purchase(db, order_id)
        assert await recharges(http, settings, shop.code, purchase["id"]) == 1


async def test_concurrent_runs_recharge_once(server, http, api, db, settings, redis):
    shop = await make_shop(db, settings)
    buyer = await new_buyer(db, settings)
    order_id = await place_and_pay(api, http, buyer.token, shop.sku["phone"], "13912340001")
    await run_until(settings, db, redis, lambda: _paid(db, order_id), "the payment", reactions=False)
    pk = decode_id("Order", order_id)
    async with http_client() as client:
        ctx = {"db": db, "settings": settings, "http": client, "redis": job_queue(redis)}
        outcomes = await asyncio.gather(*(topup_jobs.buy_topup(ctx, pk) for _ in range(5)), return_exceptions=True)
    assert "SUCCEEDED" in outcomes, outcomes
    purchase = await _purchase(db, order_id)
    assert purchase["status"] == "SUCCEEDED"
    assert await recharges(http, settings, shop.code, purchase["id"]) == 1
    assert await db.fetchval("SELECT count(*) FROM order_status_history WHERE order_id = $1 AND to_status = 'RECEIVED'",
                             pk) == 1


async def test_the_sandbox_refuses_unsigned_calls(server, http, settings):
    body = {"reference": "1", "account": "13912345678", "items": [{"sku_code": "X", "quantity": 1}]}
    unsigned = await http.post("/sandbox/topup/anyone/v1/purchases", json=body)
    assert unsigned.status_code == 401
    wrong = await supplier_call(http, "not-the-secret", "POST", "/anyone/v1/purchases", body)
    assert wrong.status_code == 401
    assert (await supplier_call(http, settings.sandbox_partner_secret, "GET",
                                "/anyone/v1/purchases/never-bought")).status_code == 404


async def _paid(db, order_id: str) -> bool:
    return await db.fetchval("SELECT status = 'PAID' FROM orders WHERE id = $1", decode_id("Order", order_id))


async def test_the_sandbox_control_call_sets_rates_and_latency(server, http, settings):
    secret, code = settings.sandbox_partner_secret, "control-test"
    body = {"account": "13912345678", "items": [{"sku_code": "X", "quantity": 1}]}
    set_to = await supplier_call(http, secret, "POST", f"/{code}/v1/control", {"failure_rate": 1, "latency_ms": 0})
    assert set_to.json() == {"latency_ms": 0, "failure_rate": 1, "timeout_rate": 0}
    refused = await supplier_call(http, secret, "POST", f"/{code}/v1/purchases", {**body, "reference": "c1"})
    assert refused.json()["status"] == "FAILED"
    await supplier_call(http, secret, "POST", f"/{code}/v1/control", {"failure_rate": 0})
    bought = await supplier_call(http, secret, "POST", f"/{code}/v1/purchases", {**body, "reference": "c2"})
    assert bought.json()["status"] == "SUCCEEDED"
    assert (await supplier_call(http, secret, "POST", f"/{code}/v1/control", {"failure_rate": 2})).status_code == 400
    unsigned = await http.post(f"/sandbox/topup/{code}/v1/control", json={"failure_rate": 1})
    assert unsigned.status_code == 401


def test_only_paid_top_ups_start_a_purchase():
    from app.events import Event
    paid = Event(1, "order", "ORDER_PAID", 1, {"order_id": 7, "virtual": True}, "")
    physical = Event(2, "order", "ORDER_PAID", 1, {"order_id": 8, "virtual": False, "shipments": [[1, "MERCHANT"]]}, "")
    assert topup_jobs.start_purchase(paid) == [("buy_topup", (7,), "topup:7")]
    assert topup_jobs.start_purchase(physical) == []
