"""What an uploaded file really is, decided on its bytes with Pillow, never on the client's
name or content type: a JPEG, PNG or WebP whose header Pillow recognises (SVG, HTML, GIF, PDF
and anything else are refused), at most `max_pixels` pixels (checked from the header, before
anything is decoded: a decompression bomb is refused without expanding it), that `verify()`s
and then decodes completely (a truncated or corrupt file is refused).

The stored file is a re-encoding of the decoded pixels in the same format: EXIF (GPS position,
camera serial), XMP, ICC profiles, comments and whatever trails the image (a polyglot's ZIP or
HTML) are dropped; the EXIF orientation is applied first so the picture still stands upright;
an animation keeps its first frame. Blocking and CPU-bound: call it in a thread."""

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from app.errors import DomainError
from app.uploads.errors import UploadError

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data), formats=list(FORMATS))
        except UnidentifiedImageError:
            raise DomainError.of(UploadError.UNSUPPORTED_TYPE, "only JPEG, PNG and WebP images are accepted",
                                 "file") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except Exception:   # recognised, but its header does not decode (WebP decodes at open)
            raise _invalid() from None


def _too_many_pixels() -> DomainError:
    return DomainError.of(UploadError.TOO_MANY_PIXELS, "the image has too many pixels", "file")


def _invalid() -> DomainError:
    return DomainError.of(UploadError.INVALID_IMAGE, "the image is truncated or corrupt", "file")


def clean_image(data: bytes, max_pixels: int) -> CleanImage:
    """The checked, re-encoded image, or a DomainError saying why not."""
    probe = _open(data)
    kind = probe.format or ""
    width, height = probe.size
    if width * height > max_pixels or width <= 0 or height <= 0:
        raise _too_many_pixels()
    try:
        probe.verify()
    except Exception:   # Pillow reports a damaged file with whatever its decoder raises
        raise _invalid() from None
    image = _open(data)   # verify() leaves the image unusable: open it again to decode
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image.load()
            image = ImageOps.exif_transpose(image) or image
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except Exception:
            raise _invalid() from None
    out = io.BytesIO()
    if kind == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90)
    elif kind == "PNG":
        image.save(out, "PNG")
    else:
        image.save(out, "WEBP", quality=90)
    cleaned = out.getvalue()
    return CleanImage(data=cleaned, content_type=FORMATS[kind], width=image.width, height=image.height,
                      sha256=hashlib.sha256(cleaned).hexdigest())
