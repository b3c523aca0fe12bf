"""Structured logs: JSON lines in production, readable console otherwise; request/job ids ride
along through structlog's context variables.

The standard library's loggers (uvicorn, arq, asyncpg, strawberry) go through the same
processors and renderer (`structlog.stdlib.ProcessorFormatter` on the root handler), so their
lines are JSON too and carry the request id or job id bound where they were emitted.
"""

import logging
import sys

import structlog
from structlog.typing import Processor


def configure_logging(json_logs: bool, level: str = "INFO") -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer = (structlog.processors.JSONRenderer() if json_logs
                else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's and arq's own handlers would print a second, unstructured copy
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


async def bind_job_id(ctx: dict) -> None:
    """arq `on_job_start`: every line the job logs (structlog or stdlib) carries its id.
    arq runs each job in its own task, so the binding ends with the job."""
    structlog.contextvars.bind_contextvars(job_id=ctx.get("job_id"), job_try=ctx.get("job_try"))
