"""Password hashing with argon2id (argon2-cffi's tuned defaults) and the password policy.

A hash costs tens of milliseconds of CPU: it runs in a small thread pool of its own (argon2-cffi
releases the GIL), so the event loop keeps serving other requests while logins hash, and a burst
of logins queues for the pool instead of taking every core and 64 MiB each.
"""

import asyncio
import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.auth.common_passwords import COMMON_PASSWORDS
from app.auth.errors import AuthError
from app.errors import DomainError

MIN_PASSWORD = 8
MAX_PASSWORD = 128

_hasher = PasswordHasher()
_pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="argon2")
# Verifying against this keeps login time equal for unknown accounts (no user enumeration).
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def normalise_password(password: str) -> str:
    """NFKC: a password typed with full-width or composed characters on one device matches the
    same password typed on another."""
    return unicodedata.normalize("NFKC", password)


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, normalise_password(password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Also accepts the password as typed, for hashes made before passwords were normalised."""
    normalised = normalise_password(password)
    candidates = [normalised] if normalised == password else [normalised, password]
    loop = asyncio.get_running_loop()
    for candidate in candidates:
        if await loop.run_in_executor(_pool, _verify, password_hash or _DUMMY_HASH, candidate):
            return password_hash is not None
    return False


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _character_classes(password: str) -> int:
    """Lower-case letters, upper-case letters, digits, everything else (symbols, spaces, CJK)."""
    return len({"lower" if c.islower() else "upper" if c.isupper() else "digit" if c.isdigit() else "other"
                for c in password})


def check_password_policy(password: str, identifiers: tuple[str, ...] = ()) -> None:
    """The policy of docs/API.md; `identifiers` (phone, username) must not appear in it."""
    pw = normalise_password(password)
    folded = pw.casefold()
    if not MIN_PASSWORD <= len(pw) <= MAX_PASSWORD:
        problem = f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
    elif not pw.strip():
        problem = "password must not be only spaces"
    elif _character_classes(pw) < 2:
        problem = "password needs two kinds of characters (lower case, upper case, digits, symbols)"
    elif any(ident and ident.casefold().lstrip("+") in folded for ident in identifiers):
        problem = "password must not contain your phone number or username"
    elif folded in COMMON_PASSWORDS:
        problem = "this password is too common"
    else:
        return
    raise DomainError.of(AuthError.WEAK_PASSWORD, problem, "password")
