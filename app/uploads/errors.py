"""The uploads domain's failure codes: refusals of `POST /uploads` (answered as JSON with an
HTTP status, docs/API.md "Uploads") and of `attach` (a `DomainError` at the caller's input)."""

from enum import StrEnum


class UploadError(StrEnum):
    NO_FILE = "NO_FILE"                        # not multipart/form-data with one `file` field and a `purpose`
    INVALID_PURPOSE = "INVALID_PURPOSE"        # `purpose` is not AFTER_SALE_EVIDENCE, REVIEW_IMAGE, MERCHANT_LICENCE
    TOO_LARGE = "TOO_LARGE"                    # the file is over UPLOAD_MAX_BYTES (HTTP 413)
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"      # the bytes are not a JPEG, PNG or WebP image (HTTP 415)
    INVALID_IMAGE = "INVALID_IMAGE"            # an image that does not decode: truncated or corrupt (HTTP 422)
    TOO_MANY_PIXELS = "TOO_MANY_PIXELS"        # width × height over UPLOAD_MAX_PIXELS (HTTP 422)
    TOO_MANY_UPLOADS = "TOO_MANY_UPLOADS"      # over the per-account upload rate (HTTP 429)
    WRONG_PURPOSE = "WRONG_PURPOSE"            # an attached upload was made for another purpose
