"""`bianmin replay republish`: copy history onto a topic, every record marked as a replay.

For feeding a fresh environment (a staging notify, a new read model) from the retained
topics. Keys, values and headers are copied as they are — the events keep their ids, so an
inbox that saw them absorbs them — and each record gets the header `bianmin-replay: 1`, so
notify records the deliveries it would have made as suppressed and sends nothing
(`notify.delivery.replay`). There is no way to republish without the header.
"""

from __future__ import annotations

from datetime import datetime

from .errors import BadInput
from .kafka_io import Record, produce
from .progress import Progress
from .sources import KafkaSource, describe_topics


async def republish(
    bootstrap: str,
    topics: tuple[str, ...],
    to_topic: str,
    *,
    since: datetime | None = None,
    offsets: dict[tuple[str, int], int] | None = None,
    progress: Progress,
) -> int:
    if to_topic in topics:
        raise BadInput("--to-topic", "the destination is one of the topics being read")
    existing, _ = await describe_topics(bootstrap, [to_topic])
    if to_topic not in existing:
        raise BadInput("--to-topic", f"unknown topic {to_topic!r}: create it first")
    source = KafkaSource(bootstrap, topics, since, offsets or {})
    plan = await source.open()
    try:
        records: list[Record] = []
        with progress.task("reading", plan.total) as advance:
            async for batch in source.batches():
                records.extend(
                    (to_topic, r.key, r.value, list(r.headers or ()), r.timestamp) for r in batch
                )
                advance(len(batch))
    finally:
        await source.close()
    with progress.task("republishing", len(records)):
        return await produce(bootstrap, records, replay=True)
