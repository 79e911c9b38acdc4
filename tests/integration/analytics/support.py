"""Putting a generated history where the services would have put it: Kafka topics and the
services' PostgreSQL event stores."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import orjson

from analytics.kafka_io import produce
from bianmin_tools.simulate import GenEvent, History
from eventkit.envelope import Envelope
from eventkit.store import PostgresEventStore


async def to_kafka(bootstrap: str, history: History, topics: Sequence[str]) -> dict[str, str]:
    """Produce intake/routing/notify events to the three given topics (in that order)."""
    mapping = dict(zip(("intake", "routing", "notify"), topics, strict=True))
    await produce(bootstrap, history.kafka_records(mapping))
    return mapping


async def to_store(
    pool: asyncpg.Pool,
    events: Sequence[GenEvent],
    on_append=None,  # type: ignore[no-untyped-def]
) -> int:
    """Append one service's events one command at a time, in the order they happened; the
    optional `on_append(conn, envelopes)` runs in the append's transaction (a projection)."""
    store = PostgresEventStore(pool)
    n = 0
    for e in events:
        env = Envelope.model_validate(e.envelope)
        async with pool.acquire() as conn, conn.transaction():
            await store.append(e.stream_id, e.stream_version - 1, [env], conn=conn)
            if on_append is not None:
                await on_append(conn, [env])
        n += 1
    return n


def bianmin(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bianmin_tools", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def envelope_ids(path: Path) -> list[str]:
    return [orjson.loads(line)["event_id"] for line in path.read_bytes().splitlines()]
