"""The relay's PostgreSQL connection is killed (`pg_terminate_backend`: the same
`AdminShutdownError` a `pg_ctl restart -m fast` gives, which once ended a relay silently):
the relay says so, reconnects by itself, takes its lease again, and every event reaches
Kafka exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import orjson
import pytest

from eventkit.loops import Backoff
from eventkit.relay import OutboxRelay, RelaySettings
from eventkit.store import PostgresEventStore
from tests.integration.eventkit.factories import make_event
from tests.integration.eventkit.outbox_support import read_to_end
from tests.polling import eventually

pytestmark = pytest.mark.fault


async def _checkpoint(conn, reader: str) -> int:  # type: ignore[no-untyped-def]
    v = await conn.fetchval(
        "SELECT global_position FROM reader_checkpoints WHERE reader = $1", reader
    )
    return int(v or 0)


async def test_a_killed_database_connection_is_survived_and_nothing_is_published_twice(
    infra, eventkit_schema, topics, caplog
) -> None:
    (topic,) = await topics("relay_kill")
    name = f"kill{uuid.uuid4().hex[:8]}"  # its own application_name: no other test's relay
    pool = await eventkit_schema.pool()
    store = PostgresEventStore(pool)
    conn = await eventkit_schema.connect()
    relay = OutboxRelay(
        infra.database_url,
        infra.bootstrap,
        topic,
        name,
        schema=eventkit_schema.schema,
        settings=RelaySettings(batch_size=50, backoff=Backoff(initial=0.05, maximum=0.5)),
    )
    store.on_append(relay.wake)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        first = [make_event("case-1", i) for i in range(120)]
        await store.append("case-1", 0, first)
        last = await conn.fetchval("SELECT max(global_position) FROM events")
        await eventually(
            lambda: _wait_at(conn, relay.reader, last), what="the first events all checkpointed"
        )

        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1",
            f"relay-{name}",
        )
        assert killed == 1

        # the relay notices, says so, and comes back with its lease by itself
        await eventually(lambda: relay.health.restarts >= 1, what="the relay restarted its session")
        second = [make_event("case-2", i) for i in range(80)]
        await store.append("case-2", 0, second)
        await eventually(
            lambda: relay.published == len(first) + len(second), what="the later events published"
        )
        assert relay.health.describe() == "ok" and relay.has_lease
        assert not task.done()
        warned = [r for r in caplog.records if r.name == "eventkit.relay"]
        assert any(
            r.levelname == "WARNING" and "lost a server" in r.getMessage() for r in warned
        ), [(r.levelname, r.getMessage(), getattr(r, "error", None)) for r in warned]
    finally:
        stop.set()
        await task
        await conn.close()
        await pool.close()

    records = await read_to_end(infra.bootstrap, topic)
    seen = Counter(orjson.loads(r.value)["event_id"] for r in records)
    assert set(seen) == {str(e.event_id) for e in first + second}
    assert set(seen.values()) == {1}


async def _wait_at(conn, reader: str, position: int) -> bool:  # type: ignore[no-untyped-def]
    return await _checkpoint(conn, reader) == position
