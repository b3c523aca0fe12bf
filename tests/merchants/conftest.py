"""Merchant tests run the real app and its sandbox payment provider under uvicorn: the deposit is
paid in the sandbox over real HTTP and comes back by signed callback, as the payment tests do."""

from tests.payments.conftest import _empty_job_queue, api, http, port, server, settings

__all__ = ["_empty_job_queue", "api", "http", "port", "server", "settings"]
