"""The raw hops the pipeline is built from, measured on the same stack in the same run.

- **Kafka round trip**: one message produced (aiokafka, acks=all, idempotent, linger 0)
  and received by a consumer already polling its partition; sequential, so each figure is
  one message's produce->consume latency. Plus the raw produce->consume throughput
  (`bench.kafka_raw.produce_consume`, fewer messages).
- **PostgreSQL transaction**: BEGIN; INSERT one row; COMMIT with asyncpg, sequential
  (latency) and from 8 connections at once for a few seconds (throughput).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from devstack.topics import delete_topics, ensure_topics
from eventkit.kafka_security import client_kwargs

from .report import percentile


@dataclass
class Baseline:
    kafka_rtt_ms_p50: float
    kafka_rtt_ms_p99: float
    kafka_msgs_per_s: float
    pg_txn_ms_p50: float
    pg_txn_ms_p99: float
    pg_txn_per_s: float

    def describe(self) -> str:
        return (
            f"kafka produce->consume round trip p50 {self.kafka_rtt_ms_p50:.2f} ms "
            f"(p99 {self.kafka_rtt_ms_p99:.2f}), raw throughput {self.kafka_msgs_per_s:,.0f} "
            f"msg/s; asyncpg one-row transaction p50 {self.pg_txn_ms_p50:.2f} ms "
            f"(p99 {self.pg_txn_ms_p99:.2f}), {self.pg_txn_per_s:,.0f} txn/s from 8 connections"
        )


async def kafka_round_trip(bootstrap: str, n: int = 300) -> list[float]:
    topic = f"bench_rtt_{uuid.uuid4().hex[:8]}.events"
    await ensure_topics(bootstrap, [topic], partitions=1)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=0,
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=500,
    )
    tp = TopicPartition(topic, 0)
    await producer.start()
    await consumer.start()
    out: list[float] = []
    try:
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        for i in range(n + 20):
            t0 = time.perf_counter()
            await producer.send(topic, b"x" * 400, key=str(i).encode())
            while True:
                got = await consumer.getmany(tp, timeout_ms=1000)
                if got.get(tp):
                    break
            if i >= 20:  # warm-up
                out.append((time.perf_counter() - t0) * 1000)
    finally:
        await producer.stop()
        await consumer.stop()
        await delete_topics(bootstrap, [topic, f"{topic}.dlq"])
    return out


async def pg_transactions(
    database_url: str, n: int = 500, workers: int = 8, seconds: float = 3.0
) -> tuple[list[float], float]:
    schema = f"bench_txn_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    await admin.execute(
        f'CREATE TABLE "{schema}".t (id bigserial PRIMARY KEY, k uuid NOT NULL, v bytea)'
    )
    pool = await asyncpg.create_pool(database_url, min_size=workers, max_size=workers)
    row = b"x" * 400
    sql = f'INSERT INTO "{schema}".t (k, v) VALUES ($1, $2)'
    try:
        lat: list[float] = []
        async with pool.acquire() as conn:
            for i in range(n + 20):
                t0 = time.perf_counter()
                async with conn.transaction():
                    await conn.execute(sql, uuid.uuid4(), row)
                if i >= 20:
                    lat.append((time.perf_counter() - t0) * 1000)
        done = 0
        end = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal done
            async with pool.acquire() as conn:
                while time.monotonic() < end:
                    async with conn.transaction():
                        await conn.execute(sql, uuid.uuid4(), row)
                    done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        rate = done / (time.perf_counter() - t0)
    finally:
        await pool.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
    return lat, rate


async def measure(bootstrap: str, database_url: str) -> Baseline:
    from bench.kafka_raw import produce_consume

    rtt = await kafka_round_trip(bootstrap)
    rate = await produce_consume(bootstrap, n=20_000)
    lat, txn_rate = await pg_transactions(database_url)
    return Baseline(
        kafka_rtt_ms_p50=percentile(rtt, 50),
        kafka_rtt_ms_p99=percentile(rtt, 99),
        kafka_msgs_per_s=rate,
        pg_txn_ms_p50=percentile(lat, 50),
        pg_txn_ms_p99=percentile(lat, 99),
        pg_txn_per_s=txn_rate,
    )
