"""Short-lived JWT access tokens (HS256), each naming its session (`sid`), and opaque refresh tokens."""

import hashlib
import secrets
import time
import uuid

import jwt

from app.auth.principal import Principal

_ALGORITHM = "HS256"
_ISSUER = "ecom"


class InvalidToken(Exception):
    pass


def issue_access_token(principal: Principal, secret: str, ttl_seconds: int) -> tuple[str, int]:
    now = int(time.time())
    exp = now + ttl_seconds
    claims = {"sub": principal.subject, "sid": principal.session_id, "iat": now, "exp": exp, "iss": _ISSUER}
    if principal.kind == "staff":
        claims["sk"] = principal.staff_kind
        if principal.merchant_id is not None:
            claims["mid"] = principal.merchant_id
            claims["mr"] = principal.merchant_role
    return jwt.encode(claims, secret, algorithm=_ALGORITHM), exp


def decode_access_token(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], issuer=_ISSUER,
                            options={"require": ["sub", "exp", "sid"]})
        kind, _, pk = claims["sub"].partition(":")
        if kind not in ("buyer", "staff"):
            raise InvalidToken("bad subject")
        return Principal(kind=kind, id=int(pk), staff_kind=claims.get("sk"),
                         merchant_id=claims.get("mid"), merchant_role=claims.get("mr"),
                         session_id=str(uuid.UUID(claims["sid"])), expires_at=claims["exp"])
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidToken(str(exc)) from exc


def new_refresh_token() -> tuple[str, str]:
    """Returns (token for the client, hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
