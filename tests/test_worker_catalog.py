"""Scheduled listing (定时上架) run by a real arq worker in burst mode against the real Redis
and the module's database; the job is safe to run twice."""

import uuid
from datetime import UTC, datetime, timedelta

from arq import Worker, create_pool
from arq.worker import func

from app.redis import arq_settings
from tests.catalog.product_helpers import act, create_phone, make_catalog, pk
from workers.catalog import list_scheduled_products


async def approved_product(gql, tokens, cat, at: datetime) -> int:
    product = await create_phone(gql, tokens["acme"], cat)
    await act(gql, tokens["acme"], "submitProductForReview", product["id"])
    await act(gql, tokens["admin"], "approveProduct", product["id"])
    out = await act(gql, tokens["acme"], "scheduleProductListing", product["id"], at=at.isoformat())
    assert out["userErrors"] == []
    return pk("Product", product["id"])


async def test_scheduled_listing_job_lists_once_even_when_run_twice(gql, tokens, db, services):
    cat = await make_catalog(db)
    now = datetime.now(UTC)
    due = await approved_product(gql, tokens, cat, now - timedelta(minutes=1))
    later = await approved_product(gql, tokens, cat, now + timedelta(days=1))

    settings = arq_settings(services[1])
    queue = f"test:catalog:{uuid.uuid4().hex}"  # other test runs share this Redis
    pool = await create_pool(settings, default_queue_name=queue)
    worker = Worker(functions=[func(list_scheduled_products, name="list_scheduled_products")],
                    redis_settings=settings, queue_name=queue, ctx={"db": db}, burst=True,
                    handle_signals=False, poll_delay=0.01)
    try:
        jobs = [await pool.enqueue_job("list_scheduled_products", _job_id=f"{queue}:{n}") for n in range(2)]
        assert await worker.run_check() == 2
        assert sorted([await job.result(timeout=5) for job in jobs]) == [0, 1]
    finally:
        await worker.close()
        await pool.aclose()

    row = await db.fetchrow("SELECT status, listed_at, scheduled_listing_at FROM products WHERE id = $1", due)
    assert row["status"] == "LISTED" and row["listed_at"] is not None and row["scheduled_listing_at"] is None
    history = await db.fetch("SELECT actor, reason FROM product_status_history"
                             " WHERE product_id = $1 AND to_status = 'LISTED'", due)
    assert [(h["actor"], h["reason"]) for h in history] == [("system", "scheduled listing")]
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'PRODUCT_LISTED'"
                             " AND payload->>'product_id' = $1", str(due)) == 1
    assert await db.fetchval("SELECT status FROM products WHERE id = $1", later) == "APPROVED"
