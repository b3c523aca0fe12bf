"""`POST /uploads` and `GET /uploads/<id>` over the real ASGI app: what is stored is decided on
the bytes (sniffed, verified, decoded, re-encoded without metadata), every refusal has its code
and status, and only the uploader, admins and grantees can read."""

import io
import zipfile

import httpx
import pytest
from PIL import Image

from app.errors import CommonError
from app.ids import decode_id
from app.uploads.errors import UploadError
from app.uploads.service import attach
from schema.uploads import UNAUTHENTICATED
from tests.uploads.helpers import image_bytes, new_admin, new_buyer, new_merchant_staff


@pytest.fixture(scope="module")
async def http(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


def auth(token: str | None) -> dict:
    return {"authorization": f"Bearer {token}"} if token else {}


async def upload(http, token, data: bytes, purpose="REVIEW_IMAGE", name="photo.jpg", claimed="image/jpeg"):
    return await http.post("/uploads", headers=auth(token), data={"purpose": purpose},
                           files={"file": (name, data, claimed)})


def error_of(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture(scope="module")
async def buyer(db, settings):
    return await new_buyer(db, settings)


@pytest.mark.parametrize("fmt,content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
async def test_an_image_is_stored_and_read_back_by_its_uploader(http, db, buyer, fmt, content_type):
    sent = image_bytes(fmt, (120, 80))
    response = await upload(http, buyer.token, sent, name="x.bin", claimed="application/octet-stream")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["contentType"], body["width"], body["height"], body["purpose"]) == (content_type, 120, 80,
                                                                                     "REVIEW_IMAGE")
    row = await db.fetchrow("SELECT * FROM uploads WHERE id = $1", decode_id("Upload", body["id"]))
    assert (row["owner"], row["size_bytes"], row["content_type"]) == (buyer.subject, body["size"], content_type)
    read = await http.get(body["url"], headers=auth(buyer.token))
    assert read.status_code == 200
    assert read.headers["content-type"] == content_type
    assert read.headers["x-content-type-options"] == "nosniff"
    assert read.headers["content-disposition"].startswith("inline; filename=\"upload-")
    assert read.headers["cache-control"].startswith("private")
    assert len(read.content) == body["size"]
    with Image.open(io.BytesIO(read.content)) as stored:
        assert (stored.format, stored.size) == (fmt, (120, 80))


async def test_exif_is_dropped_and_orientation_applied(http, buyer):
    exif = Image.Exif()
    exif[0x0112] = 6                       # orientation: rotate 90° clockwise to display
    exif[0x010F] = "SecretCam"             # make
    exif[0x8825] = {2: (22.0, 32.0, 0.0)}  # GPS latitude
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 128, 0)).save(out, "JPEG", exif=exif.tobytes())
    assert b"SecretCam" in out.getvalue()
    body = (await upload(http, buyer.token, out.getvalue())).json()
    assert (body["width"], body["height"]) == (20, 40)
    stored = (await http.get(body["url"], headers=auth(buyer.token))).content
    assert b"SecretCam" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()


async def test_a_png_named_jpeg_is_stored_as_what_it_is(http, buyer):
    body = (await upload(http, buyer.token, image_bytes("PNG"), name="cat.jpg", claimed="image/jpeg")).json()
    assert body["contentType"] == "image/png"


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize("data", [
    SVG, b"<html><script>alert(1)</script></html>", b"%PDF-1.4\n" + b"x" * 100, b"just text",
    image_bytes("GIF"), image_bytes("BMP"),
], ids=["svg", "html", "pdf", "text", "gif", "bmp"])
async def test_anything_but_jpeg_png_webp_is_unsupported(http, buyer, data):
    response = await upload(http, buyer.token, data, name="fine.jpg", claimed="image/jpeg")
    assert (response.status_code, error_of(response)) == (415, UploadError.UNSUPPORTED_TYPE)


async def test_a_polyglot_keeps_only_its_image(http, buyer):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("evil.html", "<script>alert(document.cookie)</script>")
    polyglot = image_bytes("JPEG") + b"<html><script>alert(1)</script></html>" + archive.getvalue()
    body = (await upload(http, buyer.token, polyglot)).json()
    stored = (await http.get(body["url"], headers=auth(buyer.token))).content
    assert b"<script>" not in stored and b"evil.html" not in stored
    assert stored.endswith(b"\xff\xd9")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
async def test_a_truncated_image_is_refused(http, buyer, fmt):
    noisy = Image.effect_noise((200, 200), 60).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, fmt)
    whole = out.getvalue()
    response = await upload(http, buyer.token, whole[: len(whole) * 2 // 3])
    assert (response.status_code, error_of(response)) == (422, UploadError.INVALID_IMAGE)


async def test_a_decompression_bomb_is_refused_without_decoding(http, buyer, settings):
    side = int(settings.upload_max_pixels ** 0.5) + 10
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    assert len(out.getvalue()) < 100_000           # small on the wire, 25+ megapixels decoded
    response = await upload(http, buyer.token, out.getvalue())
    assert (response.status_code, error_of(response)) == (422, UploadError.TOO_MANY_PIXELS)
    huge = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(huge, "PNG")   # past Pillow's own bomb limit too
    response = await upload(http, buyer.token, huge.getvalue())
    assert (response.status_code, error_of(response)) == (422, UploadError.TOO_MANY_PIXELS)


async def test_a_file_one_byte_over_the_limit_is_too_large(http, buyer, settings):
    data = image_bytes("JPEG") + b"\0" * settings.upload_max_bytes
    data = data[: settings.upload_max_bytes + 1]
    response = await upload(http, buyer.token, data)
    assert (response.status_code, error_of(response)) == (413, UploadError.TOO_LARGE)
    at_limit = image_bytes("JPEG")
    at_limit += b"\0" * (settings.upload_max_bytes - len(at_limit))
    assert (await upload(http, buyer.token, at_limit)).status_code == 201


async def test_a_big_claimed_length_is_refused_before_reading(http, buyer, settings):
    response = await http.post("/uploads", headers={**auth(buyer.token), "content-length": str(10 * 1024 ** 3),
                                                    "content-type": "multipart/form-data; boundary=x"}, content=b"")
    assert (response.status_code, error_of(response)) == (413, UploadError.TOO_LARGE)


async def test_a_streamed_body_is_cut_off_at_the_limit(http, buyer, settings):
    """No Content-Length, 64 MiB offered: the server stops reading soon after the limit."""
    sent = 0
    chunk = b"\0" * 64 * 1024
    head = (b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nREVIEW_IMAGE\r\n'
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n")

    async def body():
        nonlocal sent
        yield head
        for _ in range(1024):
            sent += len(chunk)
            yield chunk

    response = await http.post("/uploads", headers={**auth(buyer.token),
                                                    "content-type": "multipart/form-data; boundary=b"}, content=body())
    assert (response.status_code, error_of(response)) == (413, UploadError.TOO_LARGE)
    assert sent <= settings.upload_max_bytes + 2 * len(chunk)


async def test_anonymous_and_bad_tokens_are_unauthenticated(http):
    for token in (None, "not-a-token"):
        response = await upload(http, token, image_bytes())
        assert (response.status_code, error_of(response)) == (401, UNAUTHENTICATED)


async def test_purpose_decides_who_may_upload(http, db, settings, buyer):
    staff = await new_merchant_staff(db, settings)
    admin = await new_admin(db, settings)
    # buyers upload MERCHANT_LICENCE too: applicants' licences (docs/merchants.md)
    cases = [(admin.token, "MERCHANT_LICENCE", 403), (staff.token, "REVIEW_IMAGE", 403),
             (admin.token, "REVIEW_IMAGE", 403), (staff.token, "MERCHANT_LICENCE", 201),
             (buyer.token, "MERCHANT_LICENCE", 201),
             (staff.token, "AFTER_SALE_EVIDENCE", 201), (buyer.token, "AFTER_SALE_EVIDENCE", 201)]
    got = [(await upload(http, token, image_bytes(), purpose)).status_code for token, purpose, _ in cases]
    assert got == [status for *_, status in cases]
    refused = await upload(http, staff.token, image_bytes(), "REVIEW_IMAGE")
    assert error_of(refused) == CommonError.FORBIDDEN
    wrong = await upload(http, buyer.token, image_bytes(), "SELFIE")
    assert (wrong.status_code, error_of(wrong)) == (400, UploadError.INVALID_PURPOSE)


async def test_a_request_without_a_file_says_so(http, buyer):
    no_file = await http.post("/uploads", headers=auth(buyer.token), data={"purpose": "REVIEW_IMAGE"},
                              files={"other": ("a", b"x", "text/plain")})
    assert (no_file.status_code, error_of(no_file)) == (400, UploadError.NO_FILE)
    not_multipart = await http.post("/uploads", headers=auth(buyer.token), json={"purpose": "REVIEW_IMAGE"})
    assert (not_multipart.status_code, error_of(not_multipart)) == (400, UploadError.NO_FILE)
    two = await http.post("/uploads", headers=auth(buyer.token), data={"purpose": "REVIEW_IMAGE"},
                          files=[("file", ("a.jpg", image_bytes(), "image/jpeg")),
                                 ("file", ("b.jpg", image_bytes(), "image/jpeg"))])
    assert (two.status_code, error_of(two)) == (400, UploadError.NO_FILE)


async def test_only_the_uploader_admins_and_grantees_read(http, db, settings, buyer):
    other = await new_buyer(db, settings)
    reviewer, stranger = await new_merchant_staff(db, settings), await new_merchant_staff(db, settings)
    admin = await new_admin(db, settings)
    body = (await upload(http, buyer.token, image_bytes(), "AFTER_SALE_EVIDENCE")).json()

    async def statuses():
        return [(await http.get(body["url"], headers=auth(t))).status_code
                for t in (buyer.token, other.token, reviewer.token, stranger.token, admin.token, None)]
    assert await statuses() == [200, 404, 404, 404, 200, 404]
    assert error_of(await http.get(body["url"], headers=auth(other.token))) == CommonError.NOT_FOUND
    async with db.transaction() as conn:
        await attach(conn, buyer.subject, [decode_id("Upload", body["id"])], "AFTER_SALE_EVIDENCE",
                     reviewer.merchant_id)
    assert await statuses() == [200, 404, 200, 404, 200, 404]
    async with db.transaction() as conn:
        await attach(conn, buyer.subject, [decode_id("Upload", body["id"])], "AFTER_SALE_EVIDENCE", None, public=True)
    assert await statuses() == [200] * 6
    for bad in ("nonsense", "T3JkZXI6MQ", "VXBsb2FkOjk5OTk5OTk"):    # not an id, an Order id, a missing upload
        assert (await http.get(f"/uploads/{bad}", headers=auth(admin.token))).status_code == 404
