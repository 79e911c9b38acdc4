"""Outbox relay throughput (store -> Kafka, acknowledged and checkpointed) against a raw
aiokafka producer sending the same payloads, keys and headers in the same run."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg

from devstack.topics import delete_topics, ensure_topics
from eventkit import migrate
from eventkit.kafka_security import client_kwargs
from eventkit.outbox import kafka_message
from eventkit.relay import OutboxRelay, RelaySettings
from eventkit.service import create_pool
from eventkit.store import PostgresEventStore, read_all_raw

from .eventstore import envelope
from .harness import Result, Stack

N = 100_000


async def raw_producer(bootstrap: str, topic: str, messages: list) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=1024 * 1024,
    )
    await producer.start()
    try:
        t0 = time.perf_counter()
        futs = [await producer.send(topic, v, key=k, headers=h) for k, v, h in messages]
        await asyncio.gather(*futs)
        return len(messages) / (time.perf_counter() - t0)
    finally:
        await producer.stop()


async def run(stack: Stack) -> list[Result]:
    schema = f"bench_relay_{uuid.uuid4().hex[:8]}"
    topics = [f"{schema}_a.events", f"{schema}_b.events"]
    await ensure_topics(stack.bootstrap, topics, partitions=3)
    admin = await asyncpg.connect(stack.database_url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    pool = await create_pool(stack.database_url, schema, min_size=4, max_size=4)
    try:
        async with pool.acquire() as c:
            await migrate.apply(c, migrate.eventkit_migrations())
        store = PostgresEventStore(pool)

        async def fill(w: int) -> None:
            for b in range(w, N // 100, 4):
                await store.append(f"case-{b}", 0, [envelope(f"case-{b}", i) for i in range(100)])

        await asyncio.gather(*(fill(w) for w in range(4)))
        async with pool.acquire() as c:
            rows = await read_all_raw(c, limit=N)
        messages = [kafka_message(r) for r in rows]
        base = await raw_producer(stack.bootstrap, topics[0], messages)

        relay = OutboxRelay(
            stack.database_url,
            stack.bootstrap,
            topics[1],
            "bench",
            schema=schema,
            settings=RelaySettings(batch_size=5000),
        )
        stop = asyncio.Event()
        t0 = time.perf_counter()
        task = asyncio.create_task(relay.run(stop))
        while relay.published < N:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        rate = N / (time.perf_counter() - t0)
        stop.set()
        await task
    finally:
        await pool.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
        await delete_topics(stack.bootstrap, topics + [f"{t}.dlq" for t in topics])
    return [
        Result(
            "relay.throughput.ratio_vs_raw_producer",
            rate,
            "events/s",
            baseline=base,
            target=">= 0.5",
            note=f"{N} events of ~600 B, batch 5000, acks=all, idempotent; checkpoint "
            "committed after each acknowledged batch",
        )
    ]
