"""Catalog jobs: scheduled listing (定时上架)."""

from arq import cron

from app.catalog import lifecycle


async def list_scheduled_products(ctx: dict) -> int:
    """List every approved product whose scheduled time has come; safe to run twice."""
    async with ctx["db"].transaction() as conn:
        return await lifecycle.list_due_products(conn)


FUNCTIONS = [list_scheduled_products]
# Every minute; `unique` keeps two workers from running the same tick.
CRON_JOBS = [cron(list_scheduled_products, second={0}, unique=True, run_at_startup=True)]
