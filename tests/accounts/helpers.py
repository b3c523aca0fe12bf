"""Shared by the account tests: buyers and orders written with SQL, in any status."""

import uuid
from datetime import UTC, datetime, timedelta

from app.auth.principal import Principal
from app.auth.sessions import open_session
from tests.conftest import unique_phone


async def new_buyer(db, settings, password_hash: str = "x") -> tuple[int, str]:
    buyer_id = await db.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ($1, $2) RETURNING id",
                                 unique_phone(), password_hash)
    async with db.transaction() as conn:
        return buyer_id, (await open_session(conn, settings, Principal(kind="buyer", id=buyer_id))).access_token


async def merchant(db) -> int:
    return await db.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, 'MARKETPLACE') RETURNING id",
                             f"acct-{uuid.uuid4().hex[:8]}")


async def order(db, buyer_id: int, merchant_id: int, payable: int, status: str = "RECEIVED",
                aftersale: str = "NONE", address: dict | None = None) -> int:
    """One order of `payable` cents (no shipping), received long ago unless `status` says otherwise."""
    long_ago = datetime.now(UTC) - timedelta(days=60)
    async with db.transaction() as c:
        po = await c.fetchval(
            "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
            " shipping_total, payable, pricing, expires_at, status) VALUES ($1, $2, 'test', $3, 0, 0, $3, '{}', $4,"
            " $5) RETURNING id", buyer_id, uuid.uuid4().hex, payable, long_ago,
            "PENDING_PAYMENT" if status == "PENDING_PAYMENT" else "PAID")
        return await c.fetchval(
            "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping, payable,"
            " status, payment_status, aftersale_status, received_at, address)"
            " VALUES ($1, $2, $3, $4, 0, 0, $4, $5, $6, $7, $8, $9) RETURNING id",
            po, buyer_id, merchant_id, payable, status, "UNPAID" if status == "PENDING_PAYMENT" else "PAID",
            aftersale, long_ago if status in ("RECEIVED", "COMPLETED") else None, address)
