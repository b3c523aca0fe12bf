"""The sandbox provider's daily statement (对账单): every transaction it saw paid and every
refund it made on a day (UTC), as the CSV a real provider publishes for reconciliation.

- `GET /sandbox/statements/{day}.csv` (signed with the provider secret, empty body): columns
  `type,id,txn_id,reference,amount,occurred_at` — type PAYMENT (id = the transaction id,
  reference = our payment id) or REFUND (id = the refund id, reference = our refund id).
- `POST /sandbox/statements/control` (signed) {day, reset?, drop: [ids], alter: {id: amount},
  add: [{type, id, txn_id?, reference, amount}]}: change that day's statement (`reset` empties it first) — the injected
  differences reconciliation tests and demos need.

The provider (app/sandbox/provider.py) records each row as it happens (`record`), in a hash per
day keyed by the row's id, so a resent notification or a repeated pay click records it once.
"""

import csv
import io
import json
import re
from datetime import UTC, datetime

from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from app.sandbox.http import error, signed_object, verified_body

STATE_TTL_SECONDS = 30 * 24 * 3600
COLUMNS = ("type", "id", "txn_id", "reference", "amount", "occurred_at")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _key(day: str) -> str:
    return f"sandbox:statement:{day}"


async def record(redis: Redis, kind: str, row_id: str, txn_id: str, reference: str, amount: int,
                 occurred_at: str) -> None:
    """One row of the statement of the day `occurred_at` (an ISO time in UTC) falls on."""
    day = datetime.fromisoformat(occurred_at).astimezone(UTC).date().isoformat()
    row = {"type": kind, "id": row_id, "txn_id": txn_id, "reference": reference, "amount": amount,
           "occurred_at": occurred_at}
    await redis.hsetnx(_key(day), row_id, json.dumps(row))  # type: ignore[misc]  # redis-py: Awaitable | reply
    await redis.expire(_key(day), STATE_TTL_SECONDS)


def _secret(request: Request) -> str:
    return request.app.state.settings.sandbox_provider_secret


async def statement(request: Request) -> Response:
    raw = await verified_body(request, _secret(request))
    if isinstance(raw, Response):
        return raw
    day = request.path_params["day"]
    if not _DAY.match(day):
        return error("day is YYYY-MM-DD", 400)
    rows = [json.loads(v) for v in (await request.app.state.redis.hgetall(_key(day))).values()]
    rows.sort(key=lambda r: (r["occurred_at"], r["id"]))
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"content-disposition": f'attachment; filename="{day}.csv"'})


async def control(request: Request) -> Response:
    body = await signed_object(request, _secret(request))
    if isinstance(body, Response):
        return body
    day = body.get("day")
    if not isinstance(day, str) or not _DAY.match(day):
        return error("day is YYYY-MM-DD", 400)
    redis, key = request.app.state.redis, _key(day)
    drop, alter, add = body.get("drop", []), body.get("alter", {}), body.get("add", [])
    if not isinstance(drop, list) or not isinstance(alter, dict) or not isinstance(add, list):
        return error("drop is a list of ids, alter an object id → amount, add a list of rows", 400)
    if body.get("reset") is True:
        await redis.delete(key)
    for row_id in drop:
        await redis.hdel(key, str(row_id))
    for row_id, amount in alter.items():
        stored = await redis.hget(key, row_id)
        if stored is None or not isinstance(amount, int):
            return error(f"no row {row_id!r} to alter (or its amount is not cents)", 400)
        await redis.hset(key, row_id, json.dumps({**json.loads(stored), "amount": amount}))
    for row in add:
        if not isinstance(row, dict) or row.get("type") not in ("PAYMENT", "REFUND") or not isinstance(
                row.get("id"), str) or not isinstance(row.get("amount"), int):
            return error("a row is {type: PAYMENT | REFUND, id, reference, amount}", 400)
        await redis.hset(key, row["id"], json.dumps(
            {"type": row["type"], "id": row["id"], "txn_id": str(row.get("txn_id", row["id"])),
             "reference": str(row.get("reference", "")), "amount": row["amount"],
             "occurred_at": str(row.get("occurred_at", f"{day}T12:00:00+00:00"))}))
    await redis.expire(key, STATE_TTL_SECONDS)
    return JSONResponse({"day": day, "rows": await redis.hlen(key)})


def statement_routes() -> list[Mount]:
    return [Mount("/sandbox/statements", routes=[
        Route("/control", control, methods=["POST"]),
        Route("/{day}.csv", statement, methods=["GET"]),
    ])]
