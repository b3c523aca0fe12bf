"""`attach` (the interface after-sale and reviews use): only the owner's uploads of the right
purpose are taken, each refusal at its input index; afterwards the reviewers' merchant (or, when
public, everyone) may read, other merchants and buyers still may not."""

import pytest

from app.errors import CommonError, DomainError, NotFound
from app.uploads.errors import UploadError
from app.uploads.service import UploadPurpose, attach, readable_upload
from tests.uploads.helpers import new_admin, new_buyer, new_merchant_staff, stored_upload


async def can_read(db, principal, upload_id) -> bool:
    async with db.connection() as conn:
        try:
            await readable_upload(conn, principal, upload_id)
            return True
        except NotFound:
            return False


async def test_attach_grants_the_reviewing_merchant_only(db, settings):
    buyer, other = await new_buyer(db, settings), await new_buyer(db, settings)
    reviewer, stranger = await new_merchant_staff(db, settings), await new_merchant_staff(db, settings)
    admin = await new_admin(db, settings)
    evidence = await stored_upload(db, settings, buyer.principal, UploadPurpose.AFTER_SALE_EVIDENCE)
    assert [await can_read(db, p, evidence) for p in (buyer.principal, other.principal, reviewer.principal,
                                                      stranger.principal, admin.principal, None)] == \
        [True, False, False, False, True, False]
    async with db.transaction() as conn:
        await attach(conn, buyer.subject, [evidence], "AFTER_SALE_EVIDENCE", reviewer.merchant_id)
    assert [await can_read(db, p, evidence) for p in (buyer.principal, other.principal, reviewer.principal,
                                                      stranger.principal, admin.principal, None)] == \
        [True, False, True, False, True, False]
    async with db.transaction() as conn:   # again: one grant
        await attach(conn, buyer.subject, [evidence], "AFTER_SALE_EVIDENCE", reviewer.merchant_id)
    assert await db.fetchval("SELECT count(*) FROM upload_grants WHERE upload_id = $1", evidence) == 1


async def test_attach_public_lets_everyone_read(db, settings):
    buyer, other = await new_buyer(db, settings), await new_buyer(db, settings)
    stranger = await new_merchant_staff(db, settings)
    image = await stored_upload(db, settings, buyer.principal)
    async with db.transaction() as conn:
        await attach(conn, buyer.subject, [image], "REVIEW_IMAGE", None, public=True)
    assert [await can_read(db, p, image) for p in (None, other.principal, stranger.principal)] == [True, True, True]


async def test_attach_refuses_missing_foreign_and_wrong_purpose_uploads_and_grants_nothing(db, settings):
    buyer, other = await new_buyer(db, settings), await new_buyer(db, settings)
    reviewer = await new_merchant_staff(db, settings)
    mine = await stored_upload(db, settings, buyer.principal, UploadPurpose.AFTER_SALE_EVIDENCE)
    review_image = await stored_upload(db, settings, buyer.principal, UploadPurpose.REVIEW_IMAGE)
    theirs = await stored_upload(db, settings, other.principal, UploadPurpose.AFTER_SALE_EVIDENCE)
    missing = theirs + 10_000
    with pytest.raises(DomainError) as refused:
        async with db.transaction() as conn:
            await attach(conn, buyer.subject, [mine, theirs, review_image, missing], "AFTER_SALE_EVIDENCE",
                         reviewer.merchant_id)
    assert [(p.code, p.field) for p in refused.value.problems] == [
        (CommonError.NOT_FOUND, ("uploadIds", "1")), (UploadError.WRONG_PURPOSE, ("uploadIds", "2")),
        (CommonError.NOT_FOUND, ("uploadIds", "3"))]
    assert await db.fetchval("SELECT count(*) FROM upload_grants WHERE upload_id = ANY($1::bigint[])",
                             [mine, theirs, review_image]) == 0
    assert not await can_read(db, reviewer.principal, mine)


async def test_attach_reports_at_the_callers_field(db, settings):
    buyer = await new_buyer(db, settings)
    with pytest.raises(DomainError) as refused:
        async with db.transaction() as conn:
            await attach(conn, buyer.subject, [1 << 40], "REVIEW_IMAGE", None, field=("images",))
    assert [p.field for p in refused.value.problems] == [("images", "0")]
