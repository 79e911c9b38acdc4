"""Snapshot + tail gives the same state as folding the whole stream."""

from __future__ import annotations

from typing import Any

import pytest

from eventkit.envelope import Envelope
from eventkit.snapshots import AggregateLoader, Snapshot, SnapshotStore
from eventkit.store import PostgresEventStore

from .factories import make_event

pytestmark = pytest.mark.integration


def evolve(state: dict[str, Any], env: Envelope) -> dict[str, Any]:
    return {"count": state["count"] + 1, "sum": state["sum"] + env.payload["n"]}


def loader(store, snaps, schema_version: int = 1) -> AggregateLoader[dict[str, Any]]:
    return AggregateLoader(
        store,
        snaps,
        lambda: {"count": 0, "sum": 0},
        evolve,
        to_dict=dict,
        from_dict=dict,
        schema_version=schema_version,
        snapshot_every=10,
    )


async def test_snapshot_plus_tail_equals_full_fold(eventkit_schema) -> None:
    pool = await eventkit_schema.pool()
    try:
        store, snaps = PostgresEventStore(pool), SnapshotStore(pool)
        await store.append("agg", 0, [make_event("agg", i) for i in range(25)])
        full, v = await loader(store, None).load("agg")
        assert (full, v) == ({"count": 25, "sum": 300}, 25)

        with_snaps = loader(store, snaps)
        assert await with_snaps.maybe_snapshot("agg", full, 25, 19)
        assert not await with_snaps.maybe_snapshot("agg", full, 25, 21)
        await store.append("agg", 25, [make_event("agg", 100)])
        state, v = await with_snaps.load("agg")
        assert (state, v) == ({"count": 26, "sum": 400}, 26)

        # an older snapshot never replaces a newer one
        await snaps.save(Snapshot("agg", 5, {"count": 0, "sum": 0}, 1))
        assert (await snaps.load("agg")).stream_version == 25

        # a snapshot of another state shape is ignored, state rebuilt from events
        await snaps.save(Snapshot("agg", 26, {"bogus": True}, 1))
        state, v = await loader(store, snaps, schema_version=2).load("agg")
        assert (state, v) == ({"count": 26, "sum": 400}, 26)
    finally:
        await pool.close()
