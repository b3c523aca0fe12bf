"""Shared by the payout tests: merchants and staff written directly, money put on a merchant's
available balance as a settlement entry would (journal.post), GraphQL snippets, the sandbox
payout channel's control, and running the payout jobs."""

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx

from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.ids import encode_id
from app.ledger import journal
from app.ledger.accounts import Account
from app.payouts import account
from app.signing import signed_headers
from tests.jobs import run_burst
from workers import payouts as payout_jobs

WITHDRAWAL = """id amount status rejectReason failureReason channelRef attempts
                history { fromStatus toStatus actor reason }"""
REQUEST = f"""mutation($amount: Money!, $key: String!) {{
  requestWithdrawal(input: {{amount: $amount, clientKey: $key}}) {{
    withdrawal {{ {WITHDRAWAL} }} userErrors {{ field code message }} }} }}"""
APPROVE = f"""mutation($id: ID!) {{ approveWithdrawal(input: {{withdrawalId: $id}}) {{
    withdrawal {{ {WITHDRAWAL} }} userErrors {{ field code message }} }} }}"""
REJECT = f"""mutation($id: ID!, $reason: String!) {{ rejectWithdrawal(input: {{withdrawalId: $id, reason: $reason}}) {{
    withdrawal {{ {WITHDRAWAL} }} userErrors {{ field code message }} }} }}"""
ACCOUNT = """query($m: ID) { merchantAccount(merchantId: $m) {
    pending available reserved inTransit deposit refundRecovery withdrawable } }"""
ADJUST = """mutation($m: ID!, $amount: Money!, $reason: String!, $key: String!) {
  postAdjustment(input: {merchantId: $m, amount: $amount, reason: $reason, clientKey: $key}) {
    adjustment { id amount reason operator } account { available } userErrors { field code message } } }"""


def gid(type_name: str, pk: int) -> str:
    return encode_id(type_name, pk)


def pk_of(global_id: str) -> int:
    from app.ids import decode_id
    return decode_id("Withdrawal", global_id)


async def shop(db, settings, merchant: int | None = None) -> SimpleNamespace:
    """A merchant (new unless given) with an OWNER and an OPERATOR, and their access tokens."""
    tag = uuid.uuid4().hex[:8]
    async with db.transaction() as conn:
        if merchant is None:
            merchant = await conn.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, 'MARKETPLACE') RETURNING id",
                                           f"提现店-{tag}")
        tokens = {}
        for role in ("OWNER", "OPERATOR"):
            staff = await conn.fetchval(
                "INSERT INTO staff_accounts (username, password_hash, kind, merchant_id, merchant_role)"
                " VALUES ($1, 'x', 'MERCHANT', $2, $3) RETURNING id", f"{role.lower()}-{tag}", merchant, role)
            principal = Principal(kind="staff", id=staff, staff_kind="MERCHANT", merchant_id=merchant,
                                  merchant_role=role)  # type: ignore[arg-type]
            tokens[role] = (await open_session(conn, settings, principal)).access_token
    return SimpleNamespace(id=merchant, gid=gid("Merchant", merchant), owner=tokens["OWNER"],
                           operator=tokens["OPERATOR"], owner_principal=Principal(
                               kind="staff", id=0, staff_kind="MERCHANT", merchant_id=merchant, merchant_role="OWNER"))


async def settle(db, merchant_id: int, amount: int, day: datetime | None = None) -> None:
    """Money onto the merchant's available balance as a settlement run posts it (pending → available)."""
    async with db.transaction() as conn:
        await journal.post(conn, [journal.Entry(
            id=f"settlement:test:{uuid.uuid4().hex}", kind="SETTLEMENT", occurred_at=day or datetime.now(UTC),
            merchant_id=merchant_id, postings=journal.transfer(amount, (Account.MERCHANT_PENDING, merchant_id),
                                                               (Account.MERCHANT_AVAILABLE, merchant_id)))])


async def balances(db, merchant_id: int) -> account.Balances:
    async with db.connection() as conn:
        return await account.balances(conn, merchant_id)


async def control(http: httpx.AsyncClient, settings, **changes) -> dict:
    raw = json.dumps(changes).encode()
    response = await http.post("/sandbox/payouts/v1/control", content=raw,
                               headers=signed_headers(settings.sandbox_payout_secret, raw))
    assert response.status_code == 200, response.text
    return response.json()


async def run_payout_jobs(settings, db) -> int:
    return await run_burst(settings, db, payout_jobs)


async def enqueue_payout(redis, withdrawal_id: int) -> None:
    from app.jobs import enqueue
    await enqueue(redis, payout_jobs.SEND_PAYOUT, withdrawal_id, job_id=f"payout:{withdrawal_id}:test")
