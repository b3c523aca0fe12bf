"""Standard-library loggers (uvicorn, arq, asyncpg) come out through structlog as JSON, with
the request id or job id bound where the line was emitted."""

import asyncio
import io
import json
import logging
import sys

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.logs import bind_job_id, configure_logging
from schema.server import RequestMiddleware


@pytest.fixture
def json_log_lines(monkeypatch):
    """The JSON lines logged during the test (the global configuration is restored after)."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging(json_logs=True, level="INFO")
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    monkeypatch.undo()
    configure_logging(json_logs=False, level="WARNING")


async def test_stdlib_record_is_structlog_json_with_the_request_id(settings, json_log_lines):
    async def slow_pool(_request):  # a library logging while a request is served
        logging.getLogger("asyncpg.pool").warning("pool %s is slow", "main")
        return PlainTextResponse("ok")

    app = RequestMiddleware(Starlette(routes=[Route("/probe", slow_pool)]), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        await http.get("/probe", headers={"x-request-id": "probe-42"})
    record = next(line for line in json_log_lines() if line.get("logger") == "asyncpg.pool")
    assert record["event"] == "pool main is slow" and record["level"] == "warning"
    assert record["request_id"] == "probe-42" and "timestamp" in record


async def test_job_lines_carry_the_job_id(json_log_lines):
    async def job():  # arq runs each job in its own task, after `on_job_start`
        await bind_job_id({"job_id": "pay:7", "job_try": 1})
        logging.getLogger("arq.jobs").info("applied")
    await asyncio.create_task(job())
    record = next(line for line in json_log_lines() if line.get("logger") == "arq.jobs")
    assert record["job_id"] == "pay:7" and record["event"] == "applied"


async def test_refusals_log_one_line_and_only_bugs_a_traceback():
    """Validation errors, permission denials and bad ids are answers: one info line each."""
    from structlog.testing import CapturingLogger

    from app.config import Settings
    from schema.context import Context
    from schema.errors import log_errors
    from schema.root import build_schema
    settings = Settings(env="test")
    schema = build_schema(settings)
    anonymous = Context(db=None, redis=None, settings=settings, broadcaster=None)
    seen: list = []
    schema.process_errors = lambda errors, _ctx=None: seen.extend(errors)
    for query in ("{ nope }", "{ products(", "{ categoryTree { id } }", '{ product(id: "x") { id } }',
                  "{ products(priceMin: 1.5) { totalCount } }"):
        await schema.execute(query, context_value=anonymous)

    def bug():
        raise RuntimeError("a bug")
    try:
        bug()
    except RuntimeError as exc:
        from graphql import GraphQLError
        seen.append(GraphQLError("a bug", path=["products"], original_error=exc))
    captured = CapturingLogger()
    log_errors(seen, logger=captured)
    levels = [(call.method_name, "exc_info" in call.kwargs) for call in captured.calls]
    assert levels[-1] == ("error", True)
    assert len(levels) >= 6 and all(level == ("info", False) for level in levels[:-1])
