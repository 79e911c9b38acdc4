"""The outbox relay publishes every stored event to Kafka, in stream order, once per lease."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest

from eventkit.envelope import Envelope
from eventkit.relay import OutboxRelay, RelaySettings
from eventkit.store import PostgresEventStore

from ...conftest import PgSchema, unique
from ...polling import eventually
from .factories import make_event
from .kafka_reading import read_topic

pytestmark = pytest.mark.integration


async def _fill(store: PostgresEventStore, streams: int, per_stream: int) -> list[Envelope]:
    events = []
    for s in range(streams):
        batch = [make_event(f"case-{s}", i) for i in range(per_stream)]
        await store.append(f"case-{s}", 0, batch)
        events.extend(batch)
    return events


@pytest.fixture
async def another_eventkit_schema(infra) -> AsyncIterator[PgSchema]:  # type: ignore[no-untyped-def]
    """A second fresh schema with eventkit's tables, beside `eventkit_schema`."""
    from eventkit import migrate

    schema = unique("t")
    conn = await asyncpg.connect(infra.database_url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.execute(f'SET search_path TO "{schema}"')
        await migrate.apply(conn, migrate.eventkit_migrations())
    finally:
        await conn.close()
    yield PgSchema(infra.database_url, schema)
    conn = await asyncpg.connect(infra.database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def _wait_published(relay: OutboxRelay, n: int) -> None:
    async def published() -> int:
        return relay.published

    await eventually(published, lambda k: k >= n, what=f"{n} published", interval=0.02)


async def _tried_the_lease(pg_schema, name: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until a relay that does not hold the lease has asked for it (its connection's
    last statement is the try-lock; the holder's has moved on to reading the store)."""
    conn = await pg_schema.connect()
    try:
        await eventually(
            lambda: conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
                " AND state = 'idle' AND query LIKE '%pg_try_advisory_lock%'",
                f"relay-{name}",
            ),
            lambda n: n >= 1,
            what=f"a second relay {name!r} to try for the lease",
            interval=0.02,
        )
    finally:
        await conn.close()


async def test_relay_publishes_every_event_keyed_by_stream_in_order(
    infra, eventkit_schema, topics
) -> None:
    (topic,) = await topics("relay")
    pool = await eventkit_schema.pool()
    store = PostgresEventStore(pool)
    events = await _fill(store, streams=20, per_stream=15)
    relay = OutboxRelay(
        infra.database_url,
        infra.bootstrap,
        topic,
        "intake",
        schema=eventkit_schema.schema,
        settings=RelaySettings(batch_size=64),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await _wait_published(relay, len(events))
        # appended while running: woken without waiting for the poll
        store.on_append(relay.wake)
        more = [make_event("case-0", 100)]
        await store.append("case-0", 15, more)
        await _wait_published(relay, len(events) + 1)
    finally:
        stop.set()
        await task
        await pool.close()
    records = await read_topic(infra.bootstrap, topic, len(events) + 1)
    assert len(records) == len(events) + 1
    by_stream: dict[str, list[int]] = defaultdict(list)
    for r in records:
        env = Envelope.from_json(r.value)
        assert r.key == env.stream_id.encode()
        headers = dict(r.headers)
        assert headers["event_id"] == str(env.event_id).encode()
        assert headers["event_type"] == env.event_type.encode()
        assert headers["schema_version"] == b"1"
        assert headers["correlation_id"] == str(env.correlation_id).encode()
        assert r.value == env.canonical()  # canonical bytes on the wire
        by_stream[env.stream_id].append(env.stream_version)
    for versions in by_stream.values():
        assert versions == sorted(versions)  # one case stays ordered
    assert by_stream["case-0"][-1] == 16
    conn = await eventkit_schema.connect()
    try:
        cp = await conn.fetchrow(
            "SELECT global_position FROM reader_checkpoints WHERE reader = 'relay:intake'"
        )
        last = await conn.fetchval("SELECT max(global_position) FROM events")
    finally:
        await conn.close()
    assert cp["global_position"] == last


async def test_only_one_relay_publishes_and_a_successor_resumes(
    infra, eventkit_schema, topics
) -> None:
    (topic,) = await topics("relay_lease")
    pool = await eventkit_schema.pool()
    store = PostgresEventStore(pool)
    first = await _fill(store, streams=10, per_stream=10)
    settings = RelaySettings(batch_size=50, lease_retry_s=0.1)
    a = OutboxRelay(
        infra.database_url,
        infra.bootstrap,
        topic,
        "svc",
        schema=eventkit_schema.schema,
        settings=settings,
    )
    b = OutboxRelay(
        infra.database_url,
        infra.bootstrap,
        topic,
        "svc",
        schema=eventkit_schema.schema,
        settings=settings,
    )
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    ta = asyncio.create_task(a.run(stop_a))
    await _wait_published(a, len(first))
    tb = asyncio.create_task(b.run(stop_b))
    await _tried_the_lease(eventkit_schema, "svc")
    assert a.has_lease and not b.has_lease
    assert b.published == 0
    # a stops: b takes the lease over and continues from a's checkpoint
    stop_a.set()
    await ta
    second = await _fill_more(store, 10)
    try:
        await _wait_published(b, len(second))
    finally:
        stop_b.set()
        await tb
        await pool.close()
    assert b.published == len(second)
    records = await read_topic(infra.bootstrap, topic, len(first) + len(second))
    ids = [orjson.loads(r.value)["event_id"] for r in records]
    assert len(ids) == len(set(ids)) == len(first) + len(second)


async def _fill_more(store: PostgresEventStore, n: int) -> list[Envelope]:
    batch = [make_event("late", i) for i in range(n)]
    await store.append("late", 0, batch)
    return batch


async def test_relays_of_two_schemas_with_one_name_both_publish(
    infra, eventkit_schema, another_eventkit_schema, topics
) -> None:
    """Two stacks (two cities' deployments, two test stacks) share one database, each with
    its own schema and a relay named 'intake': the lease is named after the schema too, so
    neither waits for the other."""
    other = another_eventkit_schema
    topic_a, topic_b = await topics("relay_two_a", "relay_two_b")
    pool_a, pool_b = await eventkit_schema.pool(), await other.pool()
    a_events = await _fill(PostgresEventStore(pool_a), streams=5, per_stream=4)
    b_events = await _fill(PostgresEventStore(pool_b), streams=4, per_stream=5)
    settings = RelaySettings(batch_size=50, lease_retry_s=0.1)
    a = OutboxRelay(
        infra.database_url,
        infra.bootstrap,
        topic_a,
        "intake",
        schema=eventkit_schema.schema,
        settings=settings,
    )
    b = OutboxRelay(
        infra.database_url,
        infra.bootstrap,
        topic_b,
        "intake",
        schema=other.schema,
        settings=settings,
    )
    assert a.lease_key != b.lease_key
    stop = asyncio.Event()
    tasks = [asyncio.create_task(r.run(stop)) for r in (a, b)]
    try:
        await _wait_published(a, len(a_events))
        await _wait_published(b, len(b_events))
        assert a.has_lease and b.has_lease
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await pool_a.close()
        await pool_b.close()
    for topic, events in ((topic_a, a_events), (topic_b, b_events)):
        records = await read_topic(infra.bootstrap, topic, len(events))
        assert sorted(orjson.loads(r.value)["event_id"] for r in records) == sorted(
            str(e.event_id) for e in events
        )
