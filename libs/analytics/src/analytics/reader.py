"""One Kafka reading process of a replay: `python -m analytics.reader '<job json>'`.

Started by `sources.KafkaSource.read`, one per group of partitions. It consumes each of its
partitions from the start to the end offset the replay planned, writes the record values as
NDJSON chunk files into the replay's work folder, and reports on stdout, one line each:

    n <records>              records read since the last report (progress)
    chunk <path> <lines>     a finished chunk file, ready to load
    done                     every partition reached its end offset
    error <message>          it failed (the replay fails; nothing is switched)

It stops at once when its parent (the replay) is gone, so a killed replay leaves no reader
running. It never commits offsets (no consumer group) and never produces anything.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _read(job: dict[str, Any]) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from contracts.upcasters import UPCASTERS

    from .sources import consumer_settings, to_end

    upcast = _upcaster(UPCASTERS)
    directory, name, parent = Path(job["directory"]), job["name"], int(job["parent"])
    chunk_lines = int(job["chunk_lines"])
    consumer = AIOKafkaConsumer(**consumer_settings(job["bootstrap"]))
    await consumer.start()
    try:
        end = {TopicPartition(t, p): e for t, p, _s, e in job["assignments"]}
        consumer.assign(list(end))
        for t, p, s, _e in job["assignments"]:
            consumer.seek(TopicPartition(t, p), s)
        chunk, lines = 0, 0
        path = directory / f"{name}-{chunk:05d}.ndjson"
        f = path.open("wb")

        def replay_alive() -> bool:
            return os.getppid() == parent

        async for batch in to_end(
            consumer, end, set(end), max_records=20_000, keep_going=replay_alive
        ):
            n = 0
            for records in batch.values():
                values = [r.value for r in records]
                if upcast is not None:
                    values = [upcast(v) for v in values]
                f.write(b"\n".join(values))
                f.write(b"\n")
                n += len(values)
            lines += n
            if lines >= chunk_lines:
                f.close()
                _say(f"chunk {path} {lines}")
                chunk, lines = chunk + 1, 0
                path = directory / f"{name}-{chunk:05d}.ndjson"
                f = path.open("wb")
            if n:
                _say(f"n {n}")
        f.close()
        if not replay_alive():
            return  # the replay was killed: stop at once
        _say(f"chunk {path} {lines}")
    finally:
        await consumer.stop()


def _upcaster(registry: Any) -> Callable[[bytes], bytes] | None:
    """bytes -> bytes upcasting with `registry`, or None when it has no steps (as today)."""
    if not registry.steps():
        return None
    import orjson

    def upcast(value: bytes) -> bytes:
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value  # DuckDB rejects the line; the replay reports rejected lines
        new = registry.upcast(data)
        return value if new is data else orjson.dumps(new, option=orjson.OPT_SORT_KEYS)

    return upcast


def main() -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        asyncio.run(_read(json.loads(sys.argv[1])))
    except BaseException as exc:
        _say(f"error {type(exc).__name__}: {exc}".replace("\n", " "))
        sys.exit(1)
    _say("done")


if __name__ == "__main__":
    main()
