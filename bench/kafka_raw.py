"""Raw aiokafka produce->consume throughput on the local broker: the floor every other
Kafka-bound figure is compared with."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from devstack.topics import delete_topics, ensure_topics
from eventkit.kafka_security import client_kwargs

from .harness import Result, Stack


async def produce_consume(bootstrap: str, n: int = 100_000, size: int = 400) -> float:
    topic = f"bench_raw_{uuid.uuid4().hex[:8]}.events"
    await ensure_topics(bootstrap, [topic], partitions=3)
    payload = b"x" * size
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=262144,
    )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        group_id=topic,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await producer.start()
    await consumer.start()
    try:
        t0 = time.perf_counter()

        async def produce() -> None:
            futs = []
            for i in range(n):
                futs.append(await producer.send(topic, payload, key=str(i % 1000).encode()))
            await asyncio.gather(*futs)

        async def consume() -> None:
            seen = 0
            while seen < n:
                batch = await consumer.getmany(timeout_ms=200, max_records=10000)
                seen += sum(len(v) for v in batch.values())

        await asyncio.gather(produce(), consume())
        return n / (time.perf_counter() - t0)
    finally:
        await producer.stop()
        await consumer.stop()
        await delete_topics(bootstrap, [topic, f"{topic}.dlq"])


async def run(stack: Stack) -> list[Result]:
    rate = await produce_consume(stack.bootstrap)
    return [
        Result(
            "kafka.raw.produce_consume.msgs_per_s",
            rate,
            "msg/s",
            note="aiokafka, acks=all, idempotent, 400-byte values, 3 partitions",
        )
    ]
