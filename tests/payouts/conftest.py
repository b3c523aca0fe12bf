"""Payout tests run the real app with its sandbox payout channel under uvicorn on a free port:
the payout job and the channel call each other over real HTTP (signed), and the channel's
callbacks come back to the app's webhook. Withdrawals get a reference prefix of this module's
own, so the channel's state (in the shared Redis) never mixes modules."""

import uuid

import pytest

from app.config import Settings
from tests.servers import _empty_job_queue, api, app_settings, http, port, server

__all__ = ["_empty_job_queue", "api", "http", "port", "server"]


@pytest.fixture(scope="module")
def settings(database_url, services, port) -> Settings:
    return app_settings(database_url, services[1], port, payout_reference_prefix=f"wd{uuid.uuid4().hex[:10]}",
                        sandbox_payout_callback_delay_ms=30, sandbox_payout_latency_ms=0)
