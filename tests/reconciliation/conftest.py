"""Reconciliation tests run the real app and its sandbox provider under uvicorn on a free port (the
cashier and the sandbox call each other over real HTTP), with `public_base_url` pointing there."""

import pytest

from app.config import Settings
from tests.servers import _empty_job_queue, api, app_settings, http, port, server

__all__ = ["_empty_job_queue", "api", "http", "port", "server"]


@pytest.fixture(scope="module")
def settings(database_url, services, port) -> Settings:
    return app_settings(database_url, services[1], port)
