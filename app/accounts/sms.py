"""SMS verification codes (DOMAIN §1: "a sandbox SMS code is fine") and the SMS sender.

- `send_code`: a 6-digit code for (purpose, phone), kept in Redis only as an HMAC (keyed with the
  JWT secret, so a Redis dump does not reveal live codes) for SMS_CODE_TTL_SECONDS, with
  SMS_CODE_MAX_ATTEMPTS wrong guesses allowed. A phone gets one code per SMS_RESEND_SECONDS and
  an IP SMS_CODES_PER_IP per REGISTER_WINDOW_SECONDS (app/auth/limits.py's counter). A new code
  replaces the previous one. Sent whether or not the phone is registered: the answer never says.
- `check_code`: consumes the code when it matches (single use, even against two parallel
  registrations: only the one whose DEL removed it passes); a wrong code uses up one attempt.
- `send_sms`: one message through the SMS gateway over HTTP, signed with SMS_GATEWAY_SECRET
  (app/signing.py). The gateway is the sandbox SMS service (app/sandbox/sms.py) unless
  SMS_GATEWAY_URL names another one speaking the same API. The buyer notification outbox's SMS
  channel goes through it too (workers/orders.py).
Losing Redis loses pending codes only: the buyer asks for a new one.
"""

import hashlib
import hmac
import json
import secrets
from enum import StrEnum

import httpx
import structlog
from redis.asyncio import Redis

from app.accounts.errors import AccountError
from app.auth.limits import count_sends
from app.config import Settings
from app.errors import DomainError
from app.signing import signed_headers

log = structlog.get_logger(__name__)

CODE_DIGITS = 6


class SmsPurpose(StrEnum):
    REGISTER = "REGISTER"


class SmsNotSent(Exception):
    """The gateway could not be reached or refused the message."""


def _key(purpose: SmsPurpose, phone: str) -> str:
    return f"sms:code:{purpose}:{phone}"


def _digest(settings: Settings, purpose: SmsPurpose, phone: str, code: str) -> str:
    return hmac.new(settings.jwt_secret.encode(), f"{purpose}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


async def send_sms(http: httpx.AsyncClient, settings: Settings, phone: str, text: str, template: str) -> str:
    """The gateway's message id; SmsNotSent when it did not take the message."""
    body = json.dumps({"phone": phone, "text": text, "template": template}).encode()
    try:
        response = await http.post(settings.sms_url + "/v1/messages", content=body,
                                   headers=signed_headers(settings.sms_gateway_secret, body))
        response.raise_for_status()
        return str(response.json()["message_id"])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise SmsNotSent(f"{type(exc).__name__}: {exc}") from exc


async def send_code(redis: Redis, http: httpx.AsyncClient, settings: Settings, phone: str,
                    purpose: SmsPurpose, ip: str | None) -> None:
    """`phone` already normalised and checked by the caller (app/auth/service.py)."""
    throttle = f"sms:sent:{purpose}:{phone}"
    if not await redis.set(throttle, "1", ex=settings.sms_resend_seconds, nx=True):
        raise DomainError.of(AccountError.SMS_TOO_SOON, "a code was sent to this phone a moment ago; wait a minute",
                             "phone")
    try:
        await count_sends(redis, settings, "sms", ip, settings.sms_codes_per_ip)
    except DomainError:
        await redis.delete(throttle)
        raise
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    key = _key(purpose, phone)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        pipe.hset(key, mapping={"digest": _digest(settings, purpose, phone, code), "attempts": 0})
        pipe.expire(key, settings.sms_code_ttl_seconds)
        await pipe.execute()
    minutes = max(1, settings.sms_code_ttl_seconds // 60)
    try:
        await send_sms(http, settings, phone, f"【ecom】验证码 {code}，{minutes} 分钟内有效。Your code is {code}.",
                       f"{purpose}_CODE")
    except SmsNotSent as exc:
        await redis.delete(key, throttle)
        log.warning("sms code not sent", reason=str(exc))
        raise DomainError.of(AccountError.SMS_NOT_SENT, "the code could not be sent; try again later",
                             "phone") from None


async def check_code(redis: Redis, settings: Settings, phone: str, purpose: SmsPurpose, code: str) -> None:
    """Consumes a matching code, else INVALID_SMS_CODE (wrong, expired or out of attempts alike)."""
    key = _key(purpose, phone)
    invalid = DomainError.of(AccountError.INVALID_SMS_CODE, "the code is wrong or has expired", "smsCode")
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(key, "attempts", 1)
        pipe.hget(key, "digest")
        attempts, digest = await pipe.execute()
    if digest is None:
        await redis.delete(key)          # HINCRBY made a stray hash of a missing key
        raise invalid
    if isinstance(digest, bytes):
        digest = digest.decode()
    if attempts > settings.sms_code_max_attempts:
        await redis.delete(key)
        raise invalid
    if not hmac.compare_digest(digest, _digest(settings, purpose, phone, code.strip())):
        raise invalid
    if not await redis.delete(key):      # a parallel request consumed it first
        raise invalid


def require_code(settings: Settings, code: str | None) -> str | None:
    """The code to check, None when registration needs none; SMS_CODE_REQUIRED when missing."""
    if not settings.registration_requires_sms_code:
        return None
    if not code or not code.strip():
        raise DomainError.of(AccountError.SMS_CODE_REQUIRED, "enter the code sent by SMS (sendSmsCode)", "smsCode")
    return code

