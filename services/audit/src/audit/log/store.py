"""Reads over the log tables: nodes for proofs (one query each), leaves, tree state, export.

`tlog.tree`'s proof builders call their `get_nodes` callback exactly once with every address
they need; here the addresses are computed first (`inclusion_proof_nodes`, ...), fetched with
ONE ``WHERE (level, idx) IN (SELECT * FROM unnest(...))`` query, and the builder is then run
over the fetched map, so a proof costs one round trip of O(log n) rows.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from tlog.tree import (
    NodeAddr,
    build_consistency_proof,
    build_inclusion_proof,
    build_root,
    consistency_proof_nodes,
    frontier_addresses,
    inclusion_proof_nodes,
    node_addresses,
)

NODES_SQL = """
    SELECT level, idx, hash FROM nodes
    WHERE (level, idx) IN (SELECT * FROM unnest($1::smallint[], $2::bigint[]))
"""

LEAF_META = """idx, event_id, leaf, leaf_hash, topic, partition, "offset", event_type, stream_id,
    correlation_id, occurred_at, actor_id, org_id, tier, status, reject_reason,
    appended_at"""


@dataclass(frozen=True)
class TreeState:
    size: int
    root: bytes
    frontier: list[bytes]


async def fetch_nodes(conn: asyncpg.Connection, addrs: Sequence[NodeAddr]) -> dict[NodeAddr, bytes]:
    if not addrs:
        return {}
    rows = await conn.fetch(NODES_SQL, [a[0] for a in addrs], [a[1] for a in addrs])
    return {(r["level"], r["idx"]): bytes(r["hash"]) for r in rows}


def _fixed(nodes: Mapping[NodeAddr, bytes]):  # type: ignore[no-untyped-def]
    return lambda addrs: nodes


async def tree_state(conn: asyncpg.Connection) -> TreeState:
    row = await conn.fetchrow("SELECT size, root, frontier FROM tree_state WHERE id = 1")
    return TreeState(int(row["size"]), bytes(row["root"]), [bytes(h) for h in row["frontier"]])


async def inclusion_proof(conn: asyncpg.Connection, index: int, size: int) -> list[bytes]:
    nodes = await fetch_nodes(conn, node_addresses(inclusion_proof_nodes(index, size)))
    return build_inclusion_proof(index, size, _fixed(nodes))


async def consistency_proof(conn: asyncpg.Connection, size1: int, size2: int) -> list[bytes]:
    nodes = await fetch_nodes(conn, node_addresses(consistency_proof_nodes(size1, size2)))
    return build_consistency_proof(size1, size2, _fixed(nodes))


async def root_at(conn: asyncpg.Connection, size: int) -> bytes:
    """The root of the first `size` leaves, from stored nodes (one query)."""
    nodes = await fetch_nodes(conn, frontier_addresses(size))
    return build_root(size, _fixed(nodes))


async def leaf_by_index(conn: asyncpg.Connection, idx: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {LEAF_META} FROM leaves WHERE idx = $1", idx)


async def leaf_by_event(conn: asyncpg.Connection, event_id: Any) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {LEAF_META} FROM leaves WHERE event_id = $1", event_id)


def b64(b: bytes | None) -> str | None:
    return None if b is None else base64.b64encode(bytes(b)).decode("ascii")


def leaf_json(row: asyncpg.Record, with_leaf: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": row["idx"],
        "leaf_hash": b64(row["leaf_hash"]),
        "event_id": str(row["event_id"]) if row["event_id"] else None,
        "status": row["status"],
        "reject_reason": row["reject_reason"],
        "topic": row["topic"],
        "partition": row["partition"],
        "offset": row["offset"],
        "event_type": row["event_type"],
        "stream_id": row["stream_id"],
        "correlation_id": str(row["correlation_id"]) if row["correlation_id"] else None,
        "occurred_at": row["occurred_at"].isoformat() if row["occurred_at"] else None,
        "actor_id": row["actor_id"],
        "org_id": row["org_id"],
        "tier": row["tier"],
        "appended_at": row["appended_at"].isoformat(),
    }
    if with_leaf:
        out["leaf"] = b64(row["leaf"])
    return out


EXPORT_SQL = """
    SELECT l.idx, l.leaf, n.hash AS node_hash
    FROM leaves l LEFT JOIN nodes n ON n.level = 0 AND n.idx = l.idx
    WHERE l.idx >= $1 AND l.idx < $2
    ORDER BY l.idx
"""


async def export_lines(
    pool: asyncpg.Pool, start: int, end: int, chunk: int = 5000
) -> AsyncIterator[bytes]:
    """JSON Lines for `python -m tlog recompute`: {"index", "leaf", "leaf_hash"} per leaf.

    `leaf_hash` is the tree's own level-0 node (not the leaves table's column): a leaf whose
    bytes were changed, or two leaf rows swapped, then fails at its exact index in the
    offline verifier; a deleted row shows as a gap in the indexes. Read in chunks with keyset
    paging (no long transaction).
    """
    pos = start
    while pos < end:
        upto = min(end, pos + chunk)
        async with pool.acquire() as conn:
            rows = await conn.fetch(EXPORT_SQL, pos, upto)
        parts = []
        for r in rows:
            lh = r["node_hash"]
            line = f'{{"index":{r["idx"]},"leaf":"{b64(r["leaf"])}"'
            if lh is not None:
                line += f',"leaf_hash":"{b64(lh)}"'
            parts.append(line + "}\n")
        if parts:
            yield "".join(parts).encode()
        pos = upto
