"""Optional snapshots per aggregate: load = latest snapshot + the events after it.

A snapshot is a cache, never the truth: it can be deleted at any time (or when its
`schema_version` no longer matches the aggregate's state model) and the state is rebuilt
from the stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
import orjson

from .envelope import Envelope
from .store import PostgresEventStore

S = TypeVar("S")


@dataclass(frozen=True)
class Snapshot:
    stream_id: str
    stream_version: int
    state: dict[str, Any]
    schema_version: int


class SnapshotStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def save(self, snap: Snapshot) -> None:
        """Keep the newest snapshot per stream (an older one never overwrites a newer one)."""
        async with self.pool.acquire() as c:
            await c.execute(
                "INSERT INTO snapshots (stream_id, stream_version, state, schema_version) "
                "VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (stream_id) DO UPDATE SET "
                "stream_version = EXCLUDED.stream_version, state = EXCLUDED.state, "
                "schema_version = EXCLUDED.schema_version, taken_at = now() "
                "WHERE snapshots.stream_version < EXCLUDED.stream_version",
                snap.stream_id,
                snap.stream_version,
                orjson.dumps(snap.state).decode(),
                snap.schema_version,
            )

    async def load(self, stream_id: str) -> Snapshot | None:
        async with self.pool.acquire() as c:
            row = await c.fetchrow(
                "SELECT stream_version, state::text AS state, schema_version FROM snapshots "
                "WHERE stream_id = $1",
                stream_id,
            )
        if row is None:
            return None
        return Snapshot(
            stream_id, row["stream_version"], orjson.loads(row["state"]), row["schema_version"]
        )


@dataclass
class AggregateLoader(Generic[S]):
    """Rebuilds an aggregate's state: snapshot (if compatible) + tail of the stream."""

    store: PostgresEventStore
    snapshots: SnapshotStore | None
    initial: Callable[[], S]
    evolve: Callable[[S, Envelope], S]
    to_dict: Callable[[S], dict[str, Any]]
    from_dict: Callable[[dict[str, Any]], S]
    schema_version: int = 1
    snapshot_every: int = 100

    async def load(self, stream_id: str) -> tuple[S, int]:
        state, version = self.initial(), 0
        if self.snapshots is not None:
            snap = await self.snapshots.load(stream_id)
            if snap is not None and snap.schema_version == self.schema_version:
                state, version = self.from_dict(snap.state), snap.stream_version
        for env in await self.store.read_stream(stream_id, from_version=version + 1):
            state = self.evolve(state, env)
            version = env.stream_version
        return state, version

    async def maybe_snapshot(
        self, stream_id: str, state: S, version: int, previous_version: int
    ) -> bool:
        """Snapshot when the stream crossed a multiple of `snapshot_every`."""
        if (
            self.snapshots is None
            or version // self.snapshot_every == previous_version // self.snapshot_every
        ):
            return False
        await self.snapshots.save(
            Snapshot(stream_id, version, self.to_dict(state), self.schema_version)
        )
        return True
