"""After-sale tests run the real app and its sandbox payment provider under uvicorn (refunds go
over real HTTP and come back by signed callback), as the payment tests do."""

from tests.payments.conftest import _empty_job_queue, api, http, port, server, settings

__all__ = ["_empty_job_queue", "api", "http", "port", "server", "settings"]
