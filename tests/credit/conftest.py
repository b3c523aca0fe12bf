"""Credit tests that pay run the real app under uvicorn like the payment tests (refunds and the
after-sale paths call the sandbox over HTTP)."""

import pytest

from app.config import Settings
from tests.servers import _empty_job_queue, api, app_settings, http, port, server

__all__ = ["_empty_job_queue", "api", "http", "port", "server"]


@pytest.fixture(scope="module")
def settings(database_url, services, port) -> Settings:
    return app_settings(database_url, services[1], port)
