"""Helpers for the outbox tests: an oversized row stored as an old database would hold it,
the whole of a topic read back up to its end, polling with a deadline."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from eventkit.envelope import Envelope
from eventkit.kafka_security import client_kwargs

from .factories import make_event


async def store_directly(conn: asyncpg.Connection, env: Envelope, version: int) -> int:
    """Insert `env` into `events` bypassing the store's checks (as a database written before
    the size limit holds it); returns its global position."""
    data = env.model_copy(update={"stream_version": version}).canonical()
    return int(
        await conn.fetchval(
            "INSERT INTO events (stream_id, stream_version, event_id, event_type, "
            "schema_version, occurred_at, correlation_id, envelope) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING global_position",
            env.stream_id,
            version,
            env.event_id,
            env.event_type,
            env.schema_version,
            env.occurred_at,
            env.correlation_id,
            data,
        )
    )


def oversized(stream_id: str) -> Envelope:
    """An event whose record is over every producer's 1 MiB request size (about 1.2 MB)."""
    return make_event(stream_id, 0, event_type="test.unit_registered", name_zh="长" * 400_000)


async def read_to_end(bootstrap: str, topic: str) -> list[ConsumerRecord[Any, Any]]:
    """Every record of `topic` up to its end offsets as of now: call it once the relay has
    checkpointed (every publish acknowledged), and nothing published is missed."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        group_id=None,  # no group: every partition of the topic is assigned to us
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[ConsumerRecord[Any, Any]] = []
    try:
        async with asyncio.timeout(60):
            while not consumer.assignment():
                for msgs in (await consumer.getmany(timeout_ms=100)).values():
                    out.extend(msgs)
            parts = sorted(consumer.assignment())
            ends = await consumer.end_offsets(parts)
            while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
                for msgs in (await consumer.getmany(timeout_ms=300)).values():
                    out.extend(msgs)
        return out
    finally:
        await consumer.stop()
