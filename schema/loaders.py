"""DataLoaders, created per request (per websocket for subscriptions, then without cache).

Each loader runs one `= ANY($1)` statement per batch, so a page costs a constant number of
statements whatever its size. Batch functions live in the domain packages (`app/<domain>/`);
this module only wires them to DataLoaders.
"""

from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from app.db import Database


class Loaders:
    def __init__(self, db: Database, cache: bool = True) -> None:
        self._db = db
        self._cache = cache

    def _loader(self, batch: Callable[[Database, Sequence[Any]], Awaitable[list[Any]]]) -> DataLoader:
        async def load(keys: list[Any]) -> list[Any]:
            return await batch(self._db, keys)
        return DataLoader(load_fn=load, cache=self._cache)
