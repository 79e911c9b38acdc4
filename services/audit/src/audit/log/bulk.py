"""Load many leaves straight into the tables with COPY (benchmarks, large tests, rebuilds).

Bypasses Kafka and the per-record leaf building: the caller passes finished `LeafRecord`s
(or bare leaf bytes). Uses the same `append_to_frontier` as the appender, so the tables are
exactly what the appender would have written; the writer lock on `tree_state` is held.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

import asyncpg

from tlog.hashing import leaf_hash
from tlog.tree import append_to_frontier

from .append import LEAF_COLUMNS, leaf_row
from .leaf import LeafRecord


def plain_records(leaves: Iterable[bytes], topic: str = "bulk") -> Iterator[LeafRecord]:
    """Rejected-status records around raw leaf bytes (no envelope columns)."""
    for i, leaf in enumerate(leaves):
        yield LeafRecord(
            leaf=leaf,
            leaf_hash=leaf_hash(leaf),
            status="rejected",
            topic=topic,
            partition=0,
            offset=i,
            reject_reason="bulk",
        )


async def bulk_load(
    conn: asyncpg.Connection, records: Iterable[LeafRecord], chunk: int = 50_000
) -> int:
    """Append `records` after the current tree; returns the new size."""
    it = iter(records)
    async with conn.transaction():
        st = await conn.fetchrow("SELECT size, frontier FROM tree_state WHERE id = 1 FOR UPDATE")
        size, frontier = int(st["size"]), [bytes(h) for h in st["frontier"]]
        root = None
        while True:
            part = list(islice(it, chunk))
            if not part:
                break
            res = append_to_frontier(size, frontier, [r.leaf_hash for r in part])
            await conn.copy_records_to_table(
                "leaves",
                records=[leaf_row(size + i, r) for i, r in enumerate(part)],
                columns=LEAF_COLUMNS,
            )
            await conn.copy_records_to_table(
                "nodes",
                records=[(lvl, idx, h) for (lvl, idx), h in res.new_nodes.items()],
                columns=("level", "idx", "hash"),
            )
            size, frontier, root = res.size, [h for _, h in res.frontier], res.root
        if root is not None:
            await conn.execute(
                "UPDATE tree_state SET size = $1, root = $2, frontier = $3, updated_at = now()"
                " WHERE id = 1",
                size,
                root,
                frontier,
            )
    return size
