"""The sandbox provider's HTTP API, mounted under /sandbox/:

- `POST /v1/transactions` (signed by the merchant, i.e. us): "unified order" — a transaction for
  our reference (the payment id) and amount; answers its id and pay URL.
- `GET /pay/{txn_id}`: a tiny page with a pay button; `POST /pay/{txn_id}?duplicates=&delay_ms=`
  pays and calls the notify URL (again on every POST, like a provider's resend).
- `POST /v1/batches` (signed with the sandbox's secret, like every control call): pay many
  transactions at once, with duplicates, shuffling, delay and jitter (tests and benchmarks);
  `GET /v1/batches/{id}` counts acknowledged deliveries.
- `POST /v1/refunds` (signed): refund part of a paid transaction, deduped on our refund reference,
  never above what was paid; the refund callback follows.
- `GET /v1/transactions/{txn_id}`: the transaction as the sandbox sees it.
- every payment and refund is recorded on its day's statement (app/sandbox/statements.py), the
  file reconciliation downloads.

Every callback goes to this app's own webhook (`settings.base_url` + /webhooks/payments/sandbox),
never to a URL a request names: the sandbox signs what it sends, so a caller-chosen URL would
make it a signing oracle for anyone.
"""

import html
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from app.sandbox.deliveries import Delivery, Pacing, batch_status, start_batch
from app.sandbox.http import error, signed_object
from app.sandbox.statements import record

STATE_TTL_SECONDS = 7 * 24 * 3600
# what the buyer types for each authentication level risk decided (docs/payments.md)
AUTH_FIELDS = {"NONE": None, "PASSWORD": "password", "SMS": "sms_code"}
SANDBOX_CODE = "123456"
MAX_BATCH = 20_000


def _txn_key(txn_id: str) -> str:
    return f"sandbox:txn:{txn_id}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def _signed_body(request: Request) -> dict | Response:
    """The merchant's request body once its signature checks out (else the error response)."""
    return await signed_object(request, request.app.state.settings.sandbox_provider_secret)


def _valid_order(item: dict) -> str | None:
    amount = item.get("amount")
    if not isinstance(item.get("reference"), str) or not 1 <= len(item["reference"]) <= 64:
        return "reference must be a string of 1 to 64 characters"
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return "amount must be a positive number of cents"
    return None


def _notify_url(request: Request) -> str:
    """The only place the sandbox calls back: the app's own webhook."""
    return f"{request.app.state.settings.base_url}/webhooks/payments/sandbox"


async def _start(request: Request, deliveries: list[dict], pacing: Pacing) -> str:
    state = request.app.state
    return await start_batch(state.redis, state.http, state.settings.sandbox_provider_secret,
                       [Delivery(_notify_url(request), d) for d in deliveries], pacing)


async def _new_transaction(request: Request, reference: str, amount: int, channel: str, status: str,
                           auth_level: str = "NONE") -> dict:
    txn: dict[str, Any] = {"txn_id": "sbx_" + uuid.uuid4().hex, "reference": reference, "amount": amount, "channel": channel,
           "status": status, "created_at": _now(), "paid_at": "", "refunded": 0,
           "auth_level": auth_level}
    if status == "PAID":
        txn["paid_at"] = txn["created_at"]
    redis = request.app.state.redis
    await redis.hset(_txn_key(txn["txn_id"]), mapping=txn)
    await redis.expire(_txn_key(txn["txn_id"]), STATE_TTL_SECONDS)
    if status == "PAID":
        await _on_statement(redis, txn)
    return txn


async def _on_statement(redis, txn: dict) -> None:
    await record(redis, "PAYMENT", txn["txn_id"], txn["txn_id"], txn["reference"], int(txn["amount"]), txn["paid_at"])


async def _transaction(request: Request, txn_id: str) -> dict | None:
    txn = await request.app.state.redis.hgetall(_txn_key(txn_id))
    if not txn:
        return None
    return {**txn, "amount": int(txn["amount"]), "refunded": int(txn["refunded"])}


def _payment_notification(txn: dict) -> dict:
    return {"type": "PAYMENT", "txn_id": txn["txn_id"], "reference": txn["reference"], "amount": txn["amount"],
            "channel": txn["channel"], "status": "SUCCESS", "paid_at": txn["paid_at"]}


def _pacing(params, default_concurrency: int = 8) -> Pacing:
    def number(name: str, default: int, top: int) -> int:
        value = params.get(name, default)
        return min(max(int(value), 0), top) if str(value).isdigit() else default
    return Pacing(delay_ms=number("delay_ms", 0, 600_000), jitter_ms=number("jitter_ms", 0, 600_000),
                  concurrency=number("concurrency", default_concurrency, 256) or 1)


async def create_transaction(request: Request) -> Response:
    body = await _signed_body(request)
    if isinstance(body, Response):
        return body
    problem = _valid_order(body)
    if problem:
        return error(problem, 400)
    auth_level = body.get("auth_level", "NONE")
    if auth_level not in AUTH_FIELDS:
        return error(f"auth_level is one of {', '.join(AUTH_FIELDS)}", 400)
    txn = await _new_transaction(request, body["reference"], body["amount"], str(body.get("channel", "")),
                                 "CREATED", auth_level)
    base = request.app.state.settings.base_url
    return JSONResponse({"txn_id": txn["txn_id"], "status": "CREATED", "pay_url": f"{base}/sandbox/pay/{txn['txn_id']}"})


async def show_transaction(request: Request) -> Response:
    txn = await _transaction(request, request.path_params["txn_id"])
    return JSONResponse(txn) if txn else error("no such transaction", 404)


async def pay_page(request: Request) -> Response:
    txn = await _transaction(request, request.path_params["txn_id"])
    if txn is None:
        return HTMLResponse("<h1>No such transaction</h1>", 404)
    amount = f"¥{txn['amount'] // 100}.{txn['amount'] % 100:02d}"
    return HTMLResponse(f"""<!doctype html><meta charset="utf-8"><title>Sandbox pay</title>
<h1>Sandbox payment</h1>
<p>Transaction <code>{html.escape(txn['txn_id'])}</code> for payment {html.escape(txn['reference'])}:
<b>{amount}</b> by {html.escape(txn['channel'])} — {html.escape(txn['status'])}</p>
<form method="post">{_auth_input(txn)}<button type="submit">Pay {amount}</button></form>
<p>Query parameters of the POST: <code>duplicates</code> (extra copies of the callback),
<code>delay_ms</code>, <code>jitter_ms</code>.</p>""")


def _auth_input(txn: dict) -> str:
    field = AUTH_FIELDS[txn.get("auth_level", "NONE")]
    if field is None:
        return ""
    return (f'<label>{html.escape(field)} (sandbox: {SANDBOX_CODE}) '
            f'<input name="{html.escape(field)}" autocomplete="off"></label> ')


async def pay(request: Request) -> Response:
    """Pay (or resend the notification of) one transaction."""
    redis = request.app.state.redis
    txn_id = request.path_params["txn_id"]
    txn = await _transaction(request, txn_id)
    if txn is None:
        return error("no such transaction", 404)
    if txn["status"] != "PAID":
        field = AUTH_FIELDS[txn.get("auth_level", "NONE")]
        if field is not None:
            form = parse_qs((await request.body()).decode(errors="replace"))   # the pay page's form
            given = request.query_params.get(field) or next(iter(form.get(field) or ()), None)
            if given != SANDBOX_CODE:
                return JSONResponse({"error": f"{field} required", "auth_level": txn["auth_level"]}, 401)
        await redis.hset(_txn_key(txn_id), mapping={"status": "PAID", "paid_at": _now()})
        txn = await _transaction(request, txn_id)
        assert txn is not None, "the transaction was just written"
        await _on_statement(redis, txn)
    params = request.query_params
    copies = 1 + (min(int(params["duplicates"]), 100) if params.get("duplicates", "").isdigit() else 0)
    batch_id = await _start(request, [_payment_notification(txn)] * copies, _pacing(params, default_concurrency=1))
    return JSONResponse({"txn_id": txn_id, "status": "PAID", "batch_id": batch_id, "deliveries": copies})


async def pay_batch(request: Request) -> Response:
    """Signed body: {"payments": [{"reference", "amount", "channel"?}], "duplicate_ratio"?: 0.3,
    "shuffle"?: true, "delay_ms"?, "jitter_ms"?, "concurrency"?}: each payment is a new paid
    transaction notified once, plus round(ratio × n) duplicate notifications of random ones.
    Unsigned, anyone could mark any unpaid order paid by its (sequential) payment id."""
    body = await _signed_body(request)
    if isinstance(body, Response):
        return body
    items, ratio = body.get("payments"), body.get("duplicate_ratio", 0)
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        return error(f"payments must be a list of 1 to {MAX_BATCH} items", 400)
    if not isinstance(ratio, int | float) or not 0 <= ratio <= 10:
        return error("duplicate_ratio must be between 0 and 10", 400)
    for item in items:
        problem = _valid_order(item) if isinstance(item, dict) else "items are objects"
        if problem:
            return error(problem, 400)
    txns = [await _new_transaction(request, i["reference"], i["amount"], str(i.get("channel", "")), "PAID")
            for i in items]
    deliveries = [_payment_notification(t) for t in txns]
    deliveries += random.choices(deliveries, k=round(ratio * len(deliveries)))
    if body.get("shuffle", True):
        random.shuffle(deliveries)
    batch_id = await _start(request, deliveries, _pacing(body))
    return JSONResponse({"batch_id": batch_id, "deliveries": len(deliveries),
                         "transactions": [{"reference": t["reference"], "txn_id": t["txn_id"]} for t in txns]})


async def show_batch(request: Request) -> Response:
    status = await batch_status(request.app.state.redis, request.path_params["batch_id"])
    return JSONResponse(status) if status else error("no such batch", 404)


async def create_refund(request: Request) -> Response:
    """Refund part of a paid transaction once per refund reference; a repeated request resends
    the refund callback instead of refunding again."""
    body = await _signed_body(request)
    if isinstance(body, Response):
        return body
    redis = request.app.state.redis
    txn = await _transaction(request, str(body.get("txn_id", "")))
    if txn is None or txn["status"] != "PAID":
        return error("no such paid transaction", 404)
    amount, reference = body.get("amount"), body.get("refund_reference")
    problem = _valid_order({"reference": reference, "amount": amount})
    if problem:
        return error(problem, 400)
    assert isinstance(amount, int), "_valid_order checked it"
    dedupe_key = f"sandbox:refund:{txn['txn_id']}:{reference}"
    refund: dict[str, Any] = {"refund_id": "sbr_" + uuid.uuid4().hex, "amount": amount}
    made = await redis.set(dedupe_key, json.dumps(refund), nx=True, ex=STATE_TTL_SECONDS)
    if made:
        if await redis.hincrby(_txn_key(txn["txn_id"]), "refunded", amount) > txn["amount"]:
            await redis.hincrby(_txn_key(txn["txn_id"]), "refunded", -amount)
            await redis.delete(dedupe_key)
            return error("refunds would exceed the amount paid", 409)
    else:
        refund = json.loads(await redis.get(dedupe_key))
    refund_id, amount = refund["refund_id"], refund["amount"]
    refunded_at = _now()
    notification = {"type": "REFUND", "refund_id": refund_id, "refund_reference": reference, "txn_id": txn["txn_id"],
                    "amount": amount, "status": "SUCCESS", "refunded_at": refunded_at}
    if made:
        await record(redis, "REFUND", refund_id, str(txn["txn_id"]), str(reference), amount, refunded_at)
    await _start(request, [notification], Pacing(concurrency=1))
    return JSONResponse({"refund_id": refund_id, "status": "PROCESSING"})


def sandbox_routes() -> list[Mount]:
    return [Mount("/sandbox", routes=[
        Route("/v1/transactions", create_transaction, methods=["POST"]),
        Route("/v1/transactions/{txn_id}", show_transaction, methods=["GET"]),
        Route("/pay/{txn_id}", pay_page, methods=["GET"]),
        Route("/pay/{txn_id}", pay, methods=["POST"]),
        Route("/v1/batches", pay_batch, methods=["POST"]),
        Route("/v1/batches/{batch_id}", show_batch, methods=["GET"]),
        Route("/v1/refunds", create_refund, methods=["POST"]),
    ])]
