"""Top-up tests run the real app with both sandboxes (payment provider and REALTIME_API
supplier) under uvicorn on a free port, so the cashier, the supplier client and the sandboxes
talk over real HTTP. The supplier's "times out" answers hang 2 s against our 0.5 s timeout."""

import pytest

from app.config import Settings
from app.demo import seed_demo
from tests.servers import _empty_job_queue, api, app_settings, http, port, server

__all__ = ["_empty_job_queue", "api", "http", "port", "server"]


@pytest.fixture(scope="module")
def settings(database_url, services, port) -> Settings:
    return app_settings(database_url, services[1], port, topup_http_timeout_seconds=0.5, sandbox_topup_hang_seconds=2,
                        sandbox_topup_latency_ms=20)


@pytest.fixture(scope="module", autouse=True)
async def _demo(db):
    """The demo data first, so the demo's fixed ids (merchants 1 to 3) are the demo's."""
    await seed_demo(db, progress=lambda _: None)
