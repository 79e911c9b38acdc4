"""Read a whole topic back (test helper)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord


async def read_topic(
    bootstrap: str, topic: str, expect: int, timeout: float = 60, settle: float = 0.0
) -> list[ConsumerRecord]:
    """All records of `topic` from the start, once at least `expect` arrived (then `settle`
    more seconds so that extra duplicates, if any, are seen too)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(timeout):
            while len(out) < expect:
                for msgs in (await consumer.getmany(timeout_ms=300)).values():
                    out.extend(msgs)
        if settle:
            end = asyncio.get_running_loop().time() + settle
            while asyncio.get_running_loop().time() < end:
                for msgs in (await consumer.getmany(timeout_ms=200)).values():
                    out.extend(msgs)
    finally:
        await consumer.stop()
    return out
