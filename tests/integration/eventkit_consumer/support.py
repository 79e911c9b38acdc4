"""Helpers shared by the consumer integration and fault tests (real Kafka, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker

from eventkit.consumer import EventConsumer
from eventkit.dlq import topic_partitions
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.kafka_security import client_kwargs, faststream_security

from ...polling import TIMEOUT, eventually

EFFECTS_DDL = """
CREATE TABLE effects (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id  uuid NOT NULL,          -- deliberately NOT unique: duplicates would show
    stream_id text NOT NULL,
    seq       integer NOT NULL
)
"""


def envelope(
    seq: int,
    *,
    stream: str | None = None,
    event_type: str = "test.thing_happened",
    version: int = 1,
    payload: dict[str, Any] | None = None,
) -> Envelope:
    return Envelope(
        event_type=event_type,
        schema_version=version,
        stream_id=stream or f"case-{seq % 17}",
        stream_version=seq + 1,
        occurred_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        producer=Producer(service="tests", instance="t1"),
        actor=Actor(id="u1", role="clerk"),
        payload=payload if payload is not None else {"seq": seq},
    )


async def insert_effect(conn: asyncpg.Connection, env: Envelope) -> None:
    await conn.execute(
        "INSERT INTO effects (event_id, stream_id, seq) VALUES ($1, $2, $3)",
        env.event_id,
        env.stream_id,
        int(env.payload.get("seq", -1)),
    )


async def insert_effects(conn: asyncpg.Connection, envs: Sequence[Envelope]) -> None:
    await conn.copy_records_to_table(
        "effects",
        records=[(e.event_id, e.stream_id, int(e.payload.get("seq", -1))) for e in envs],
        columns=["event_id", "stream_id", "seq"],
    )


@asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
    )
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def publish_envelopes(
    p: AIOKafkaProducer, topic: str, envs: Sequence[Envelope], *, partition: int | None = None
) -> None:
    futs = [
        await p.send(
            topic,
            value=e.canonical(),
            key=e.stream_id.encode(),
            headers=e.headers(),
            partition=partition,
        )
        for e in envs
    ]
    await asyncio.gather(*futs)


@asynccontextmanager
async def running_consumer(
    bootstrap: str,
    pool: asyncpg.Pool,
    topic: str,
    **kw: Any,
) -> AsyncIterator[EventConsumer]:
    """An EventConsumer on its own broker, started; stopped and closed on exit."""
    broker = KafkaBroker(
        bootstrap,
        log_level=logging.DEBUG,
        graceful_timeout=10.0,
        security=faststream_security(),
    )
    kw.setdefault("group_id", f"g-{uuid.uuid4().hex[:10]}")
    kw.setdefault("name", f"c-{uuid.uuid4().hex[:10]}")
    consumer = EventConsumer(broker, pool, topic, **kw)
    await broker.start()
    try:
        yield consumer
    finally:
        await broker.stop()
        await consumer.close()


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float = TIMEOUT, what: str = "a condition"
) -> None:
    await eventually(check, what=what, timeout=timeout, interval=0.05)


async def count(pool: asyncpg.Pool, sql: str, *args: Any) -> int:
    return int(await pool.fetchval(sql, *args))


async def read_all(bootstrap: str, topic: str, timeout: float = 20.0) -> list[ConsumerRecord]:
    """Every record currently in `topic` (all partitions), by (partition, offset)."""
    parts = await topic_partitions(bootstrap, topic)
    assert parts, f"no topic {topic}"
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, **client_kwargs(), group_id=None, enable_auto_commit=False
    )
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        end = await c.end_offsets(tps)
        out: list[ConsumerRecord] = []
        async with asyncio.timeout(timeout):
            for tp in tps:
                while await c.position(tp) < end[tp]:
                    batch = await c.getmany(tp, timeout_ms=500)
                    out.extend(r for r in batch.get(tp, []) if r.offset < end[tp])
        return sorted(out, key=lambda r: (r.partition, r.offset))
    finally:
        await c.stop()


async def wait_for_records(
    bootstrap: str, topic: str, n: int, timeout: float = TIMEOUT
) -> list[ConsumerRecord]:
    """Every record of `topic`, as they were once there were at least `n`."""
    return await eventually(
        lambda: read_all(bootstrap, topic),
        lambda recs: len(recs) >= n,
        what=f"{n} records on {topic}",
        timeout=timeout,
        interval=0.2,
        show=lambda recs: f"{len(recs)} records",
    )


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    parts = await topic_partitions(bootstrap, topic)
    assert parts, f"no topic {topic}"
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, **client_kwargs(), group_id=None)
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        return {tp.partition: o for tp, o in (await c.end_offsets(tps)).items()}
    finally:
        await c.stop()


async def committed_offsets(bootstrap: str, group_id: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    await admin.start()
    try:
        got = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in got.items() if tp.topic == topic}


async def wait_all_committed(
    bootstrap: str, group_id: str, topic: str, timeout: float = TIMEOUT
) -> None:
    """Wait until the group's committed offsets reach the end every partition has now: the
    group has consumed (and, for an `EventConsumer`, processed) all that is on the topic."""
    ends = await end_offsets(bootstrap, topic)
    await eventually(
        lambda: committed_offsets(bootstrap, group_id, topic),
        lambda com: all(com.get(p, 0) >= e for p, e in ends.items() if e > 0),
        what=f"group {group_id} to commit to the ends {ends} of {topic}",
        timeout=timeout,
        interval=0.05,
    )


def headers_of(record: ConsumerRecord) -> dict[str, str]:
    return {k: (v or b"").decode("utf-8", "replace") for k, v in record.headers}
