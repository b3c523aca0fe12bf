"""Summarise a py-spy raw profile of an API worker: where a request's time goes.

    .venv/bin/py-spy record -d 15 -r 200 --format raw -o /tmp/listing.raw --pid <worker pid>
    .venv/bin/python bench/profile_summary.py /tmp/listing.raw

Each sample is put in the first bucket whose marker occurs in its stack (innermost buckets
first), then the top self-time functions are listed.
"""

import collections
import sys

# (bucket, markers in a frame) — checked in this order, so nested work lands in the inner bucket.
BUCKETS = [
    ("GraphQL validation", ("validate (graphql/validation", "validate_document")),
    ("GraphQL parsing", ("parse (graphql/language",)),
    ("PostgreSQL client (asyncpg)", ("asyncpg/",)),
    ("DataLoader dispatch", ("strawberry/dataloader.py",)),
    ("domain reads (app/catalog)", ("app/catalog/",)),
    ("type building (schema/*/types.py)", ("from_row (schema/",)),
    ("GraphQL execution (graphql-core + strawberry resolvers)", ("graphql/execution", "strawberry/schema")),
    ("JSON encoding", ("json/encoder", "json/__init__")),
    ("logging", ("structlog/", "logging/")),
    ("HTTP, ASGI and middleware", ("uvicorn/protocols", "starlette/", "strawberry/http", "schema/server.py")),
]
IDLE = "event loop idle (waiting for I/O)"


def bucket_of(frames: list[str]) -> str:
    stack = ";".join(frames)
    for name, markers in BUCKETS:
        if any(m in stack for m in markers):
            return name
    return IDLE if frames and "Runner.run" in frames[-1] or "run_forever" in frames[-1] else "other"


def main(path: str) -> None:
    buckets: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            n = int(count)
            frames = stack.split(";")
            total += n
            buckets[bucket_of(frames)] += n
            self_time[frames[-1]] += n
    busy = total - buckets[IDLE]
    print(f"{total} samples, {busy} busy")
    for name, n in buckets.most_common():
        share = "" if name == IDLE else f"  ({100 * n / busy:4.1f}% of busy)"
        print(f"{100 * n / total:5.1f}%  {name}{share}")
    print("\ntop self time:")
    for frame, n in self_time.most_common(15):
        print(f"{100 * n / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main(sys.argv[1])
