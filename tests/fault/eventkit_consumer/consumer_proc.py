"""A consumer process for the crash tests: `python consumer_proc.py --bootstrap ... --dsn ...`.

It writes one `effects` row per event through `EventConsumer` (inbox + manual commit),
prints `ready` once its broker is started, and on SIGTERM stops gracefully and prints its
stats as one JSON line. `--die-before-ack-after N` makes it SIGKILL itself right after the
PostgreSQL commit of the N-th event it processed and *before* the Kafka offset commit: the
worst moment, which guarantees a redelivery that only the inbox can absorb.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any

import asyncpg
import orjson
from faststream.kafka import KafkaBroker

from eventkit.consumer import EventConsumer
from eventkit.envelope import Envelope
from eventkit.kafka_security import faststream_security


async def handler(conn: asyncpg.Connection, env: Envelope) -> None:
    await conn.execute(
        "INSERT INTO effects (event_id, stream_id, seq) VALUES ($1, $2, $3)",
        env.event_id,
        env.stream_id,
        int(env.payload["seq"]),
    )


class DyingConsumer(EventConsumer):
    die_after: int | None = None

    async def _commit(self, msg: Any) -> None:
        if self.die_after is not None and self.stats.processed >= self.die_after:
            os.kill(os.getpid(), signal.SIGKILL)
        await super()._commit(msg)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--die-before-ack-after", type=int, default=None)
    ap.add_argument("--batch", action="store_true")
    args = ap.parse_args()

    pool = await asyncpg.create_pool(
        args.dsn, min_size=1, max_size=4, server_settings={"search_path": args.schema}
    )
    broker = KafkaBroker(
        args.bootstrap,
        log_level=logging.DEBUG,
        graceful_timeout=10.0,
        security=faststream_security(),
    )
    consumer = DyingConsumer(
        broker,
        pool,
        args.topic,
        group_id=args.group,
        name=args.name,
        handler=handler,
        batch=args.batch,
        max_records=200,
        # a killed member stays in the group until its session times out; keep that short
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    consumer.die_after = args.die_before_ack_after
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await broker.start()
    print("ready", flush=True)
    await stop.wait()
    await broker.stop()
    await consumer.close()
    await pool.close()
    sys.stdout.write(orjson.dumps(consumer.stats.as_dict()).decode() + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
