"""Reading a topic back until what a test waits for has arrived (shared by the integration and
e2e tests; the wait is `polling.eventually`'s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from eventkit.kafka_security import client_kwargs

from .polling import TIMEOUT, eventually


async def read_topic_until(
    bootstrap: str,
    topic: str,
    done: Callable[[list[dict[str, Any]]], object],
    timeout: float = TIMEOUT,
    what: str = "the awaited envelopes",
) -> list[dict[str, Any]]:
    """Envelope dicts of `topic` from its start, as they were when `done(envelopes)` held
    (`done` sees growing prefixes of the topic: it must accept a partial one)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        **client_kwargs(),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[dict[str, Any]] = []

    async def more() -> list[dict[str, Any]]:
        for msgs in (await consumer.getmany(timeout_ms=300)).values():
            out.extend(orjson.loads(m.value) for m in msgs)
        return out

    try:
        return await eventually(
            more,
            done,
            what=f"{topic}: {what}",
            timeout=timeout,
            interval=0,  # getmany waits up to 300 ms itself
            show=lambda es: f"{len(es)} envelopes, the last: {[e['event_type'] for e in es[-8:]]}",
        )
    finally:
        await consumer.stop()
