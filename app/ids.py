"""Opaque global ids ("Product:42" in URL-safe base64) for the GraphQL surface.

Domain code works with integer primary keys; only schema/ encodes and decodes.
"""

import base64
import binascii


class InvalidId(ValueError):
    """A client sent an id that is malformed or names another type."""


def encode_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def decode_id(type_name: str, global_id: str) -> int:
    if not isinstance(global_id, str) or not 1 <= len(global_id) <= 64:
        raise InvalidId(f"not a valid {type_name} id")
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        kind, _, pk = raw.partition(":")
        value = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidId(f"not a valid {type_name} id") from None
    if kind != type_name or not 0 < value < 2**63 or pk != str(value):
        raise InvalidId(f"not a valid {type_name} id")
    return value
