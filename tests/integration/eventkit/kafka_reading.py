"""Read a whole topic back (test helper)."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord

from ...polling import TIMEOUT
from ..eventkit_consumer.support import wait_for_records


async def read_topic(
    bootstrap: str, topic: str, expect: int, timeout: float = TIMEOUT, settle: float = 0.0
) -> list[ConsumerRecord]:
    """Every record of `topic` up to its end offsets, once at least `expect` are there: with
    the producers stopped, that is all they wrote, duplicates included. (`settle`, a wait for
    late duplicates, is accepted from older callers and no longer needed: the end offsets
    already count them.)"""
    del settle
    return await wait_for_records(bootstrap, topic, expect, timeout)
