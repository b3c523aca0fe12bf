"""`POST /uploads` and `GET /uploads/<id>` (issue 9 item 7; docs/API.md "Uploads"): plain HTTP
beside GraphQL, authenticated by the same bearer token (RequestMiddleware puts the principal on
the scope), answering JSON — the upload, or `{"error": {"code", "message", "field"}}` with an
UploadError (or common) code and the HTTP status that goes with it.

The body is read as a stream and given up as soon as it passes the file limit plus a little
multipart framing: nothing unbounded is read, whatever the client's Content-Length says."""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import orjson
import structlog
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.errors import CommonError, DomainError, Forbidden, NotFound
from app.ids import InvalidId, decode_id, encode_id
from app.uploads import service
from app.uploads.errors import UploadError
from app.uploads.images import EXTENSIONS

log = structlog.get_logger("api")

# room for the `purpose` field, part headers and boundaries around the file
MULTIPART_OVERHEAD = 16 * 1024
UNAUTHENTICATED = "UNAUTHENTICATED"    # the code GraphQL answers an anonymous caller with (schema/permissions.py)
STATUS = {UploadError.TOO_LARGE: 413, UploadError.UNSUPPORTED_TYPE: 415, UploadError.INVALID_IMAGE: 422,
          UploadError.TOO_MANY_PIXELS: 422, UploadError.TOO_MANY_UPLOADS: 429, CommonError.FORBIDDEN: 403,
          CommonError.NOT_FOUND: 404}


def body_limit(settings) -> int:
    """The most of a request body `POST /uploads` reads (RequestMiddleware allows a little more)."""
    return settings.upload_max_bytes + MULTIPART_OVERHEAD


def upload_json(row) -> dict:
    gid = encode_id("Upload", row["id"])
    return {"id": gid, "url": f"/uploads/{gid}", "purpose": row["purpose"], "contentType": row["content_type"],
            "size": row["size_bytes"], "width": row["width"], "height": row["height"],
            "createdAt": row["created_at"].isoformat()}


def _error(code: str, message: str, status: int, field: str | None = None, headers: dict | None = None) -> Response:
    return Response(orjson.dumps({"error": {"code": code, "message": message, "field": field}}), status_code=status,
                    media_type="application/json", headers=headers)


def _refusal(exc: DomainError) -> Response:
    problem = exc.problems[0]
    log.info("upload refused", code=str(problem.code))
    return _error(str(problem.code), problem.message, STATUS.get(problem.code, 400),
                  problem.field[0] if problem.field else None)


class _TooLarge(Exception):
    pass


async def _bounded(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            raise _TooLarge
        yield chunk


async def create_upload(request: Request) -> Response:
    principal = request.scope.get("principal")
    if principal is None:
        return _error(UNAUTHENTICATED, request.scope.get("auth_problem") or "authentication required", 401,
                      headers={"www-authenticate": "Bearer"})
    state = request.app.state
    settings = state.settings
    too_large = _error(UploadError.TOO_LARGE, f"the file is over {settings.upload_max_bytes} bytes", 413, "file")
    try:
        claimed = int(request.headers.get("content-length") or 0)
    except ValueError:
        claimed = 0
    if claimed > body_limit(settings):
        return too_large
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return _error(UploadError.NO_FILE, "send multipart/form-data with a `file` and a `purpose`", 400)
    try:
        await service.count_upload(state.redis, settings, principal)
        form = await MultiPartParser(request.headers, _bounded(request.stream(), body_limit(settings)),
                                     max_files=1, max_fields=1, max_part_size=1024).parse()
    except _TooLarge:
        return too_large
    except MultiPartException as exc:
        return _error(UploadError.NO_FILE, exc.message, 400)
    except DomainError as exc:
        return _refusal(exc)
    try:
        file, purpose = form.get("file"), form.get("purpose")
        if not isinstance(file, UploadFile) or not isinstance(purpose, str):
            return _error(UploadError.NO_FILE, "send one `file` and a `purpose`", 400, "file")
        try:
            chosen = service.upload_purpose(principal, purpose)
            data = await file.read(settings.upload_max_bytes + 1)
            row = await service.store_upload(state.db, state.upload_storage, settings, principal, chosen, data,
                                             state.upload_decoding)
        except DomainError as exc:
            return _refusal(exc)
    finally:
        await form.close()
    return Response(orjson.dumps(upload_json(row)), status_code=201, media_type="application/json",
                    headers={"location": f"/uploads/{encode_id('Upload', row['id'])}"})


async def read_upload(request: Request) -> Response:
    """The bytes, to the uploader, admins and grantees; everyone else: 404, as for a missing one."""
    state = request.app.state
    gid = request.path_params["upload_id"]
    not_found = _error(CommonError.NOT_FOUND, "upload not found", 404)
    try:
        upload_id = decode_id("Upload", gid)
        async with state.db.connection() as conn:
            row = await service.readable_upload(conn, request.scope.get("principal"), upload_id)
    except (InvalidId, NotFound, Forbidden):
        return not_found
    data = await state.upload_storage.get(row["storage_key"])
    name = f"upload-{row['id']}.{EXTENSIONS[row['content_type']]}"
    return Response(data, media_type=row["content_type"], headers={
        "x-content-type-options": "nosniff",
        "content-disposition": f'inline; filename="{name}"',
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, max-age=3600",
        "vary": "authorization",
        "etag": f'"{row["sha256"]}"',
    })


def upload_routes() -> list[Route]:
    return [Route("/uploads", create_upload, methods=["POST"]),
            Route("/uploads/{upload_id}", read_upload, methods=["GET"])]


def decoding_slots() -> asyncio.Semaphore:
    """How many images one API process decodes at once (each may take ~100 MB decoded)."""
    return asyncio.Semaphore(2)
