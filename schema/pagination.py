"""The one list shape of the API: Relay connections (`edges { node cursor } pageInfo`) with
opaque cursors.

Lists are keyset pages: a service returns up to `first + 1` rows after a position (an id for
lists ordered newest first, the catalog's sort key for search) and `page_of` keeps `first` of
them. A cursor is that position, opaque to clients (base64url of "cursor:<position>"), so the
ordering can change without breaking clients that only hand cursors back.
"""

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from app.errors import CommonError, DomainError

MAX_PAGE = 100
T = TypeVar("T")


@strawberry.type(description="Where a page sits in its list (Relay). Lists page forwards: "
                             "`hasPreviousPage` says whether `after` was given.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def page_size(first: int, maximum: int = MAX_PAGE) -> int:
    """Checked `first`; services are asked for one row more to know whether a next page exists."""
    if not 1 <= first <= maximum:
        raise DomainError.of(CommonError.INVALID_PAGE_SIZE, f"first is 1 to {maximum}", "first")
    return first


def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(f"cursor:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The position a cursor stands for (None for no cursor)."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode() if len(cursor) <= 200 else ""
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    kind, _, position = raw.partition(":")
    if kind != "cursor" or not position:
        raise DomainError.of(CommonError.INVALID_CURSOR, "not a cursor of this list", "after")
    return position


def after_id(cursor: str | None) -> int | None:
    """The id a newest-first list continues after."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    if not position.isdigit() or len(position) > 19:
        raise DomainError.of(CommonError.INVALID_CURSOR, "not a cursor of this list", "after")
    return int(position)


def page_info(cursors: Sequence[str], has_next_page: bool, after: str | None) -> PageInfo:
    """The page info of a page whose edges carry `cursors`."""
    return PageInfo(has_next_page=has_next_page, has_previous_page=after is not None,
                    start_cursor=cursors[0] if cursors else None, end_cursor=cursors[-1] if cursors else None)


def connection_of(rows: Sequence[Any], first: int, after: str | None, node: Callable[[Any], T],
                  key: Callable[[Any], int] = lambda r: r["id"]) -> Connection[T]:
    """A page of up to `first` rows (the service fetched `first + 1`), each row's cursor its id."""
    shown = rows[:first]
    cursors = [encode_cursor(str(key(r))) for r in shown]
    return Connection(edges=[Edge(node=node(r), cursor=c) for r, c in zip(shown, cursors)],
                      page_info=page_info(cursors, len(rows) > first, after))
