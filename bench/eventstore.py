"""Event store append throughput against the `eventsourcing` library's PostgreSQL recorder,
on the same database in the same run (batches of 1 and 100; 1 and 8 writers)."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlparse

import asyncpg
import orjson

from eventkit import migrate
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.service import create_pool
from eventkit.store import PostgresEventStore

from .harness import Result, Stack

T0 = datetime(2026, 11, 26, tzinfo=UTC)
PRODUCER = Producer(service="bench", instance="b1")
ACTOR = Actor(id="staff-1", role="officer", org_id="ruian.dongshan")


def envelope(stream: str, i: int) -> Envelope:
    return Envelope(
        event_type="bench.thing_happened",
        stream_id=stream,
        occurred_at=T0,
        producer=PRODUCER,
        actor=ACTOR,
        payload={"n": i, "item_code": "FP-002", "note": "x" * 200},
    )


async def ours(dsn: str, schema: str, writers: int, batch: int, total: int) -> float:
    pool = await create_pool(dsn, schema, min_size=writers, max_size=writers)
    store = PostgresEventStore(pool)
    per_writer = total // writers
    batches = {
        w: [[envelope(f"w{w}-{b}", i) for i in range(batch)] for b in range(per_writer // batch)]
        for w in range(writers)
    }

    async def writer(w: int) -> None:
        for b, events in enumerate(batches[w]):
            await store.append(f"w{w}-{b}", 0, events)

    t0 = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    elapsed = time.perf_counter() - t0
    await pool.close()
    return per_writer * writers / elapsed


def theirs(dsn: str, schema: str, writers: int, batch: int, total: int) -> float:
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    u = urlparse(dsn)
    ds = PostgresDatastore(
        u.path.lstrip("/"),
        u.hostname or "127.0.0.1",
        u.port or 5432,
        u.username or "",
        u.password or "",
        pool_size=writers,
        schema=schema,
    )
    rec = PostgresApplicationRecorder(ds, events_table_name="es_events")
    rec.create_table()
    per_writer = total // writers
    states = [
        [
            [
                StoredEvent(
                    originator_id=uuid.uuid4(),
                    originator_version=0,
                    topic="bench.thing_happened",
                    state=orjson.dumps(envelope("s", i).to_json_dict()),
                )
                for i in range(batch)
            ]
            for _ in range(per_writer // batch)
        ]
        for _ in range(writers)
    ]
    for w in states:  # a batch is one aggregate's consecutive versions, like ours
        for b in w:
            oid = uuid.uuid4()
            b[:] = [StoredEvent(oid, v + 1, e.topic, e.state) for v, e in enumerate(b)]

    def writer(w: int) -> None:
        for b in states[w]:
            rec.insert_events(b)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(writers) as ex:
        list(ex.map(writer, range(writers)))
    elapsed = time.perf_counter() - t0
    ds.close()
    return per_writer * writers / elapsed


async def run(stack: Stack) -> list[Result]:
    results: list[Result] = []
    admin = await asyncpg.connect(stack.database_url)
    try:
        for writers, wname in ((1, "single_writer"), (8, "8_writers")):
            for batch, total in ((1, 3000), (100, 40000)):
                schema = f"bench_es_{uuid.uuid4().hex[:8]}"
                await admin.execute(f'CREATE SCHEMA "{schema}"')
                try:
                    conn = await asyncpg.connect(
                        stack.database_url, server_settings={"search_path": schema}
                    )
                    await migrate.apply(conn, migrate.eventkit_migrations())
                    await conn.close()
                    base = await asyncio.to_thread(
                        theirs, stack.database_url, schema, writers, batch, total
                    )
                    mine = await ours(stack.database_url, schema, writers, batch, total)
                finally:
                    await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
                suffix = "" if batch == 1 else ".batch100"
                results.append(
                    Result(
                        f"eventstore.append.{wname}{suffix}.ratio_vs_eventsourcing",
                        mine,
                        "events/s",
                        baseline=base,
                        target=">= 2",
                        note=f"batch {batch}, {writers} writer(s); baseline = eventsourcing "
                        "PostgresApplicationRecorder (psycopg3, threads), same database",
                    )
                )
    finally:
        await admin.close()
    return results
