"""Risk rules at placement, payment and after-sale, and the decision log."""

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from app.errors import DomainError
from app.risk.errors import RiskError

VELOCITY_WINDOW = timedelta(minutes=10)
VELOCITY_LIMIT = 20                 # payment orders per buyer per window
AUTH_PASSWORD_FROM = 20_000         # cents: ¥200 and more needs the payment password
AUTH_SMS_FROM = 500_000             # cents: ¥5,000 and more needs an SMS code


@dataclass(frozen=True)
class PlacementFacts:
    buyer_id: int
    address: str | None = None       # `address_key` of the receiver address
    ip: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    detail: dict = field(default_factory=dict)


def normalise(text: str) -> str:
    """What a typed value is matched as: NFKC (full-width digits and letters are the ASCII ones),
    no whitespace, case-folded; the stored entry and the checked value both go through it."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def address_key(region_code: str, detail: str) -> str:
    """Blacklisted addresses are matched on a digest of the normalised address."""
    return hashlib.sha256(f"{normalise(region_code)}|{normalise(detail)}".encode()).hexdigest()


def device_key(device: str | None) -> str | None:
    """A device id as the blacklist stores it (`X-Device-Id`, docs/API.md); None when absent."""
    value = normalise(device or "")
    return value[:128] or None


async def check_placement(conn: asyncpg.Connection, facts: PlacementFacts, now: datetime) -> Decision:
    """Blacklists first (buyer, the buyer's phone, address, IP, device), then the per-buyer
    velocity limit; one statement."""
    candidates = [(k, v) for k, v in (("BUYER", str(facts.buyer_id)), ("ADDRESS", facts.address), ("IP", facts.ip),
                                      ("DEVICE", facts.device)) if v]
    row = await conn.fetchrow(
        """
        SELECT (SELECT b.kind FROM risk_blacklist b
                WHERE (b.kind, b.value) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                   OR (b.kind = 'PHONE' AND b.value = (SELECT phone FROM buyers WHERE id = $3))
                ORDER BY b.kind LIMIT 1) AS listed,
               (SELECT count(*) FROM payment_orders WHERE buyer_id = $3 AND created_at > $4) AS recent
        """, [k for k, _ in candidates], [v for _, v in candidates], facts.buyer_id, now - VELOCITY_WINDOW)
    if row["listed"] is not None:
        return Decision(False, f"BLACKLIST_{row['listed']}")
    if row["recent"] >= VELOCITY_LIMIT:
        return Decision(False, "VELOCITY", {"orders": row["recent"], "window_minutes": VELOCITY_WINDOW.seconds // 60})
    return Decision(True, "PASS")


def payment_auth_level(amount: int, recent_denials: int) -> Decision:
    """The authentication a payment needs: by amount, stepped up to SMS after recent refusals."""
    if amount >= AUTH_SMS_FROM or recent_denials > 0:
        return Decision(True, "AUTH_SMS", {"level": "SMS"})
    if amount >= AUTH_PASSWORD_FROM:
        return Decision(True, "AUTH_PASSWORD", {"level": "PASSWORD"})
    return Decision(True, "AUTH_NONE", {"level": "NONE"})


def after_sale_auto_approval(recent_requests: int, max_requests: int, window_days: int) -> Decision:
    """Whether a refund-only before shipment may skip the merchant's review (DOMAIN §9, §11): a
    buyer who already asked `max_requests` after-sales in the last `window_days` days goes to
    review (rule AFTER_SALE_FREQUENT); `recent_requests` counts them, this one left out."""
    detail = {"recent_after_sales": recent_requests, "max": max_requests, "window_days": window_days}
    if recent_requests >= max_requests:
        return Decision(False, "AFTER_SALE_FREQUENT", detail)
    return Decision(True, "PASS", detail)


async def recent_denials(conn: asyncpg.Connection, buyer_id: int, now: datetime) -> int:
    """Refused placements and payments of the last day; an after-sale sent to review is not a
    refusal of money, so it does not step up payment authentication."""
    return await conn.fetchval("SELECT count(*) FROM risk_decisions WHERE buyer_id = $1 AND decision = 'DENY'"
                               " AND stage IN ('PLACEMENT', 'PAYMENT') AND created_at > $2",
                               buyer_id, now - timedelta(days=1))


async def record(conn: asyncpg.Connection, stage: str, buyer_id: int | None, decision: Decision) -> None:
    await conn.execute("INSERT INTO risk_decisions (stage, buyer_id, decision, rule, detail) VALUES ($1, $2, $3, $4, $5)",
                       stage, buyer_id, "ALLOW" if decision.allowed else "DENY", decision.rule, decision.detail)


def refusal(decision: Decision) -> DomainError:
    """What the buyer is told: never which list or rule matched."""
    if decision.rule == "VELOCITY":
        return DomainError.of(RiskError.TOO_MANY_ORDERS, "too many orders in a short time; try again later")
    return DomainError.of(RiskError.ORDER_REFUSED, "this order cannot be placed; contact customer service")
