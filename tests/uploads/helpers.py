"""Shared by the upload and review tests: images made with Pillow, uploads stored through the
service, buyers and merchant staff with tokens."""

import asyncio
import io
import uuid
from types import SimpleNamespace

from PIL import Image

from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.uploads.service import UploadPurpose, store_upload
from app.uploads.storage import LocalStorage


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), colour=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt, **save)
    return out.getvalue()


async def new_buyer(db, settings, nickname: str = "") -> SimpleNamespace:
    buyer_id = await db.fetchval("INSERT INTO buyers (phone, password_hash, nickname) VALUES ($1, 'x', $2)"
                                 " RETURNING id", "137" + str(uuid.uuid4().int)[:8], nickname)
    principal = Principal(kind="buyer", id=buyer_id)
    async with db.transaction() as conn:
        token = (await open_session(conn, settings, principal)).access_token
    return SimpleNamespace(id=buyer_id, principal=principal, token=token, subject=principal.subject)


async def new_merchant_staff(db, settings, merchant_id: int | None = None) -> SimpleNamespace:
    """A staff member (OWNER) of `merchant_id`, or of a new merchant."""
    tag = uuid.uuid4().hex[:8]
    if merchant_id is None:
        merchant_id = await db.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, 'MARKETPLACE') RETURNING id",
                                        f"店-{tag}")
    staff_id = await db.fetchval(
        "INSERT INTO staff_accounts (username, password_hash, kind, merchant_id, merchant_role)"
        " VALUES ($1, 'x', 'MERCHANT', $2, 'OWNER') RETURNING id", f"staff-{tag}", merchant_id)
    principal = Principal(kind="staff", id=staff_id, staff_kind="MERCHANT", merchant_id=merchant_id,
                          merchant_role="OWNER")
    async with db.transaction() as conn:
        token = (await open_session(conn, settings, principal)).access_token
    return SimpleNamespace(id=staff_id, merchant_id=merchant_id, principal=principal, token=token)


async def new_admin(db, settings) -> SimpleNamespace:
    staff_id = await db.fetchval("INSERT INTO staff_accounts (username, password_hash, kind) VALUES ($1, 'x', 'ADMIN')"
                                 " RETURNING id", f"admin-{uuid.uuid4().hex[:8]}")
    principal = Principal(kind="staff", id=staff_id, staff_kind="ADMIN")
    async with db.transaction() as conn:
        token = (await open_session(conn, settings, principal)).access_token
    return SimpleNamespace(id=staff_id, principal=principal, token=token)


async def stored_upload(db, settings, principal, purpose: UploadPurpose = UploadPurpose.REVIEW_IMAGE) -> int:
    """An upload made through the service (no HTTP), its bytes under the test's data dir."""
    row = await store_upload(db, LocalStorage(settings.data_dir / "uploads"), settings, principal, purpose,
                             image_bytes(), asyncio.Semaphore(1))
    return row["id"]
