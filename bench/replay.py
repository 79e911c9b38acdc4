"""Replay throughput: N events from Kafka into the analytics store (DuckDB) against a raw
aiokafka consumer reading the same topic in the same run, and the wall time for N events.

`BENCH_REPLAY_EVENTS` scales N down (default 1,000,000). The history is the generator's
(realistic envelopes, ~1 KB each), produced to a fresh 3-partition topic first. The raw
consumer uses the replay's own consumer settings and only counts records; it runs before and
after the replay and the faster run is the baseline (so the page cache favours neither).
The replay time covers everything `bianmin replay analytics` does: plan, read, parse, build
every table, checkpoint and the atomic switch.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from analytics.filters import build_filter
from analytics.kafka_io import produce
from analytics.progress import Progress
from analytics.replay import replay_analytics
from analytics.sources import KafkaSource, consumer_settings, describe_topics
from bianmin_tools.simulate import GeneratorConfig, generate
from devstack.topics import delete_topics, ensure_topics

from .harness import Result, Stack

EVENTS_PER_SCALE = 130_000
"""About how many events one unit of generator scale gives for October 2026."""


def history_records(n: int, topic: str) -> list[tuple[str, bytes, bytes, list, int]]:
    scale = max(0.05, n / EVENTS_PER_SCALE * 1.08)
    while True:
        history = generate(GeneratorConfig(scale=scale, seed=7))
        if len(history.events) >= n:
            break
        scale *= 1.2
    topics = {"intake": topic, "routing": topic, "notify": topic}
    return list(history.kafka_records(topics))[:n]


async def raw_consumer(bootstrap: str, topic: str, n: int) -> float:
    """Events/s of a bare aiokafka consumer reading the whole topic (no processing)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(**consumer_settings(bootstrap))
    await consumer.start()
    try:
        _, parts = await describe_topics(bootstrap, [topic])
        tps = [TopicPartition(topic, p) for p in parts[topic]]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        t0 = time.perf_counter()
        seen = 0
        while seen < n:
            batch = await consumer.getmany(timeout_ms=500, max_records=20_000)
            seen += sum(len(v) for v in batch.values())
        return n / (time.perf_counter() - t0)
    finally:
        await consumer.stop()


async def run(stack: Stack) -> list[Result]:
    n = int(os.environ.get("BENCH_REPLAY_EVENTS", "1000000"))
    topic = f"bench_replay_{uuid.uuid4().hex[:8]}.events"
    await ensure_topics(stack.bootstrap, [topic], partitions=3)
    try:
        t0 = time.perf_counter()
        records = await asyncio.to_thread(history_records, n, topic)
        size = sum(len(r[2]) for r in records) / len(records)
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        await produce(stack.bootstrap, records)
        produce_s = time.perf_counter() - t0
        del records
        base1 = await raw_consumer(stack.bootstrap, topic, n)
        with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
            target = Path(tmp) / "analytics.duckdb"
            t0 = time.perf_counter()
            with Progress(quiet=True) as progress:
                summary = await replay_analytics(
                    KafkaSource(stack.bootstrap, (topic,)),
                    build_filter(),
                    target,
                    progress=progress,
                )
            replay_s = time.perf_counter() - t0
            assert summary.result.events == n, summary.result
        base2 = await raw_consumer(stack.bootstrap, topic, n)
    finally:
        await delete_topics(stack.bootstrap, [topic, f"{topic}.dlq"])
    base = max(base1, base2)
    rate = n / replay_s
    note = (
        f"{n:,} generated envelopes of ~{size:,.0f} B on 3 partitions (generated in "
        f"{gen_s:.0f} s, produced in {produce_s:.0f} s); replay = read + DuckDB parse + "
        f"all tables + atomic switch; raw = bare aiokafka getmany, best of 2 runs "
        f"({base1:,.0f} / {base2:,.0f} ev/s)"
    )
    return [
        Result(
            "replay.throughput.ratio_vs_raw_consumer",
            rate,
            "events/s",
            baseline=base,
            target=">= 0.5",
            note=note,
        ),
        Result(
            "replay.1m_events.seconds",
            replay_s,
            "s",
            target="< 60",
            note=f"{n:,} events from Kafka into the analytics store"
            + ("" if n == 1_000_000 else " (scaled down by BENCH_REPLAY_EVENTS)"),
        ),
    ]
