"""Fulfilment tests run the real app with its sandbox partners and carrier under uvicorn on a free
port (pushes, notices and tracking events cross real HTTP), `public_base_url` pointing there."""

import pytest

from app.config import Settings
from tests.servers import _empty_job_queue, api, app_settings, http, port, relaying, serving

__all__ = ["_empty_job_queue", "api", "http", "port"]


@pytest.fixture(scope="module")
def settings(database_url, services, port) -> Settings:
    return app_settings(database_url, services[1], port, fulfilment_push_backoff_seconds=0.05,
                        fulfilment_push_max_attempts=3, sandbox_partner_latency_ms=5,
                        sandbox_partner_ship_delay_ms=300, sandbox_carrier_step_ms=100, review_window_days=0)


@pytest.fixture(scope="module")
async def server(settings, db, redis):
    """uvicorn serving the app and its sandboxes, plus the outbox relay starting the jobs events
    react to, as the worker runs it."""
    from workers.main import REACTIONS
    async with serving(settings), relaying(db, redis, settings, 0.1, REACTIONS):
        yield settings.base_url
