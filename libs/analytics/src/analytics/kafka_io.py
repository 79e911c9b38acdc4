"""Producing to Kafka in bulk: generated histories, and `bianmin replay republish`.

A replay that puts records back on a topic marks every one with the header
`bianmin-replay: 1`: notify records such a delivery as suppressed and sends nothing
(`notify.delivery.replay`), so re-feeding an environment never messages a resident twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from eventkit.kafka_security import client_kwargs
from eventkit.limits import PRODUCER_MAX_REQUEST_BYTES

REPLAY_HEADER = ("bianmin-replay", b"1")

Record = tuple[str, bytes | None, bytes, list[tuple[str, bytes]], int | None]
"""(topic, key, value, headers, timestamp_ms)."""


def producer_settings(bootstrap: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 20,
        "max_batch_size": 1024 * 1024,
        "max_request_size": PRODUCER_MAX_REQUEST_BYTES,  # what the topics accept
        "request_timeout_ms": 60_000,
        **client_kwargs(),
    }


async def produce(
    bootstrap: str,
    records: Iterable[Record],
    *,
    replay: bool = False,
    window: int = 20_000,
) -> int:
    """Send every record (acks=all, idempotent) and wait for all acknowledgements. With
    `replay`, each record also carries the replay header. Returns the number sent."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**producer_settings(bootstrap))
    await producer.start()
    sent = 0
    try:
        futures: list[asyncio.Future[Any]] = []
        for topic, key, value, headers, ts in records:
            if replay:
                headers = [h for h in headers if h[0] != REPLAY_HEADER[0]] + [REPLAY_HEADER]
            futures.append(
                await producer.send(topic, value, key=key, headers=headers, timestamp_ms=ts)
            )
            sent += 1
            if len(futures) >= window:
                await asyncio.gather(*futures)
                futures.clear()
        await asyncio.gather(*futures)
        await producer.flush()
    finally:
        await producer.stop()
    return sent
