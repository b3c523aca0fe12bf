"""Uploads (issue 9 item 7): storing a checked image for its uploader, deciding who may read
it, and `attach` — how another domain (after-sale evidence, review images) takes an upload
into one of its objects and names its readers.

Who may upload what: buyers upload REVIEW_IMAGE and AFTER_SALE_EVIDENCE; merchant staff upload
AFTER_SALE_EVIDENCE (their inspection photos) and MERCHANT_LICENCE; buyers applying to open a
shop (app/merchants/onboarding.py) upload MERCHANT_LICENCE too. Who may read: the uploader,
admins, and the grantees of `upload_grants` (a merchant's staff, or everyone). Anyone else is
told the upload does not exist.
"""

import asyncio
import time
from collections.abc import Sequence
from enum import StrEnum

import asyncpg
from redis.asyncio import Redis

from app.auth.principal import Principal
from app.config import Settings
from app.db import Database
from app.errors import CommonError, DomainError, Forbidden, NotFound, Problem
from app.uploads.errors import UploadError
from app.uploads.images import clean_image
from app.uploads.storage import UploadStorage, new_key


class UploadPurpose(StrEnum):
    AFTER_SALE_EVIDENCE = "AFTER_SALE_EVIDENCE"
    REVIEW_IMAGE = "REVIEW_IMAGE"
    MERCHANT_LICENCE = "MERCHANT_LICENCE"


UPLOADERS: dict[UploadPurpose, frozenset[str]] = {
    UploadPurpose.AFTER_SALE_EVIDENCE: frozenset({"buyer", "merchant"}),
    UploadPurpose.REVIEW_IMAGE: frozenset({"buyer"}),
    UploadPurpose.MERCHANT_LICENCE: frozenset({"buyer", "merchant"}),   # buyers: merchant applicants
}
PUBLIC = "public"


def _role(principal: Principal) -> str:
    return "buyer" if principal.is_buyer else "merchant" if principal.is_merchant_staff else "admin"


def upload_purpose(principal: Principal, value: str) -> UploadPurpose:
    """The purpose named by the request, if this account may upload for it."""
    try:
        purpose = UploadPurpose(value)
    except ValueError:
        raise DomainError.of(UploadError.INVALID_PURPOSE, "purpose is AFTER_SALE_EVIDENCE, REVIEW_IMAGE or "
                                                          "MERCHANT_LICENCE", "purpose") from None
    if _role(principal) not in UPLOADERS[purpose]:
        raise Forbidden.of(CommonError.FORBIDDEN, "this account may not upload for this purpose", "purpose")
    return purpose


async def count_upload(redis: Redis, settings: Settings, principal: Principal) -> None:
    """A fixed window per account (like app/auth/limits.py): every attempt counts, refused ones too."""
    window = settings.upload_window_seconds
    key = f"rl:upload:{principal.subject}:{int(time.time()) // window}"
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, window)
        count, _ = await pipe.execute()
    if count > settings.uploads_per_window:
        raise DomainError.of(UploadError.TOO_MANY_UPLOADS, "too many uploads; try again later")


async def store_upload(db: Database, storage: UploadStorage, settings: Settings, principal: Principal,
                       purpose: UploadPurpose, data: bytes, decoding: asyncio.Semaphore) -> asyncpg.Record:
    """Check and re-encode the image (off the event loop; `decoding` bounds how many decode at
    once, since a decoded image takes up to 4 bytes a pixel), store its bytes under a new random
    key, then record it — no database connection is held while decoding or storing. A failed
    insert leaves an unreferenced object, never a row without bytes."""
    if len(data) > settings.upload_max_bytes:
        raise DomainError.of(UploadError.TOO_LARGE, f"the file is over {settings.upload_max_bytes} bytes", "file")
    if not data:
        raise DomainError.of(UploadError.NO_FILE, "the file is empty", "file")
    async with decoding:
        image = await asyncio.to_thread(clean_image, data, settings.upload_max_pixels)
    key = new_key()
    await storage.put(key, image.data, image.content_type)
    return await db.fetchrow(
        "INSERT INTO uploads (owner, purpose, content_type, size_bytes, width, height, sha256, storage_key)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        principal.subject, purpose.value, image.content_type, len(image.data), image.width, image.height,
        image.sha256, key)


async def readable_upload(conn: asyncpg.Connection, principal: Principal | None, upload_id: int) -> asyncpg.Record:
    """The upload if the caller may read it; NOT_FOUND otherwise (whether or not it exists)."""
    grantees = [PUBLIC]
    if principal is not None and principal.is_merchant_staff:
        grantees.append(f"merchant:{principal.staff_merchant_id}")
    row = await conn.fetchrow(
        "SELECT u.* FROM uploads u WHERE u.id = $1 AND ($2::bool OR u.owner = $3"
        "   OR EXISTS (SELECT 1 FROM upload_grants g WHERE g.upload_id = u.id AND g.grantee = ANY($4::text[])))",
        upload_id, principal is not None and principal.is_admin, principal.subject if principal else "", grantees)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "upload not found", "id")
    return row


async def attach(conn: asyncpg.Connection, owner: str, upload_ids: list[int], purpose: str, merchant_id: int | None,
                 public: bool = False, field: Sequence[str] = ("uploadIds",)) -> None:
    """Take uploads into the caller's object: each must exist, belong to `owner` (e.g.
    'buyer:7') and have been made for `purpose`, else a DomainError at `(*field, index)` —
    NOT_FOUND (missing or someone else's, never told apart) or WRONG_PURPOSE. Then the staff of
    `merchant_id` (the reviewers; None: nobody more) may read them, or everyone with `public`.
    Admins always can. Granting again changes nothing; nothing is ever un-granted."""
    rows = {r["id"]: r for r in await conn.fetch(
        "SELECT id, owner, purpose FROM uploads WHERE id = ANY($1::bigint[])", upload_ids)}
    problems = []
    for n, pk in enumerate(upload_ids):
        row = rows.get(pk)
        if row is None or row["owner"] != owner:
            problems.append(Problem(CommonError.NOT_FOUND, "upload not found", (*field, str(n))))
        elif row["purpose"] != purpose:
            problems.append(Problem(UploadError.WRONG_PURPOSE, f"this upload is not a {purpose}", (*field, str(n))))
    if problems:
        raise DomainError(*problems)
    grantees = ([PUBLIC] if public else []) + ([f"merchant:{merchant_id}"] if merchant_id is not None else [])
    if grantees and upload_ids:
        await conn.execute(
            "INSERT INTO upload_grants (upload_id, grantee) SELECT u, g FROM unnest($1::bigint[]) AS u,"
            " unnest($2::text[]) AS g ON CONFLICT DO NOTHING", upload_ids, grantees)
