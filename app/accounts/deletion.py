"""Account deletion (注销, DOMAIN §1): the buyer, with their password, ends the account.

Refused while any order is open (PENDING_PAYMENT, PAID, SHIPPED, RECEIVED) or has an after-sale
in progress: OPEN_ORDERS, naming how many. Otherwise, in one transaction:
- personal data goes: phone NULL (free to register again, as a new account), nickname blank,
  the password hash unusable, the address book deleted, the orders' address snapshots and
  recharge accounts masked (app/orders), the cart emptied;
- every session and refresh token ends (app/auth/sessions: reason ACCOUNT_DELETED), so the
  account can neither sign in nor refresh;
- the row stays with status DELETED, so orders, payments, refunds, points ledger and risk
  records keep their buyer: money records are kept (settlement, accounting, disputes);
- ACCOUNT_DELETED (topic "account", back office) is emitted.
It takes placement's per-buyer lock first, so no order can be placed while it runs.
"""

from datetime import datetime

from redis.asyncio import Redis

from app.accounts import addresses
from app.accounts.errors import AccountError
from app.auth.errors import AuthError
from app.auth.passwords import verify_password
from app.auth.sessions import end_sessions_of
from app.cart import service as cart
from app.config import Settings
from app.db import Database
from app.errors import DomainError
from app.events import emit
from app.orders import service as orders

UNUSABLE_PASSWORD = "!deleted"   # never an argon2 hash: no password verifies against it


async def delete_account(db: Database, redis: Redis, settings: Settings, buyer_id: int, password: str,
                         now: datetime) -> None:
    password_hash = await db.fetchval("SELECT password_hash FROM buyers WHERE id = $1", buyer_id)
    if not await verify_password(password_hash, password):
        raise DomainError.of(AccountError.WRONG_PASSWORD, "the password is wrong", "password")
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('placement:' || $1::bigint, 0))", buyer_id)
        open_orders = await orders.lock_open_orders(conn, buyer_id)
        if open_orders:
            raise DomainError.of(AccountError.OPEN_ORDERS,
                                 f"{len(open_orders)} order(s) are still open or in after-sale; finish them first")
        status = await conn.fetchval("SELECT status FROM buyers WHERE id = $1 FOR UPDATE", buyer_id)
        if status != "ACTIVE":
            raise DomainError.of(AuthError.ACCOUNT_BLOCKED, "this account cannot be deleted")
        masked = await orders.mask_buyer_personal_data(conn, buyer_id)
        await addresses.remove_all(conn, buyer_id)
        await cart.clear(conn, cart.CartOwner(buyer_id=buyer_id))
        await conn.execute("UPDATE buyers SET phone = NULL, nickname = '', password_hash = $2, status = 'DELETED',"
                           " deleted_at = $3 WHERE id = $1", buyer_id, UNUSABLE_PASSWORD, now)
        await emit(conn, "account", "ACCOUNT_DELETED", {"buyer_id": buyer_id, "orders_masked": masked})
        await end_sessions_of(conn, redis, settings, f"buyer:{buyer_id}", "ACCOUNT_DELETED")
