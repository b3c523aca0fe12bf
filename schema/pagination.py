"""Relay-style pages for lists ordered newest first by id: `first` (1–100) and `after` (the
previous page's `pageInfo.endCursor`, the last id shown)."""

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from app.errors import DomainError
from schema.catalog.browse import PageInfo
from schema.errors import public_error

MAX_PAGE = 100
T = TypeVar("T")


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def page_size(first: int) -> int:
    """Checked `first`; services are asked for one row more to know whether a next page exists."""
    if not 1 <= first <= MAX_PAGE:
        raise public_error(DomainError.of("INVALID_PAGE_SIZE", f"first is 1 to {MAX_PAGE}", "first"))
    return first


def after_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 19:
        raise public_error(DomainError.of("BAD_ARGUMENT", "not a cursor of this list", "after"))
    return int(cursor)


def edges_of(rows: Sequence[Any], first: int, node: Callable[[Any], T],
             key: Callable[[Any], int] = lambda r: r["id"]) -> tuple[list[Edge[T]], PageInfo]:
    """Edges of up to `first` rows (the service fetched `first + 1`) and their page info; a row's
    cursor is its id (`key`)."""
    shown = rows[:first]
    edges = [Edge(node=node(r), cursor=str(key(r))) for r in shown]
    return edges, PageInfo(has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None)


def connection_of(rows: Sequence[Any], first: int, node: Callable[[Any], T],
                  key: Callable[[Any], int] = lambda r: r["id"]) -> Connection[T]:
    edges, page_info = edges_of(rows, first, node, key)
    return Connection(edges=edges, page_info=page_info)
