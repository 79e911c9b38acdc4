"""kill -9 the relay mid-batch, restart it: every event reaches Kafka, and whatever was
published twice has a single effect downstream thanks to the inbox."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import orjson
import pytest

from eventkit.store import PostgresEventStore
from tests.integration.eventkit.factories import make_event
from tests.integration.eventkit.kafka_reading import read_topic

pytestmark = pytest.mark.fault

TOTAL = 20_000
SCRIPT = Path(__file__).with_name("relay_process.py")


async def _checkpoint(conn) -> int:
    v = await conn.fetchval(
        "SELECT global_position FROM reader_checkpoints WHERE reader = 'relay:crashy'"
    )
    return int(v or 0)


async def _start(infra, schema: str, topic: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        infra.database_url,
        schema,
        infra.bootstrap,
        topic,
        env=dict(os.environ, PYTHONPATH=str(Path.cwd())),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_relay_killed_mid_batch_loses_nothing(infra, eventkit_schema, topics) -> None:
    (topic,) = await topics("relay_crash")
    pool = await eventkit_schema.pool()
    store = PostgresEventStore(pool)
    for s in range(TOTAL // 100):
        await store.append(f"case-{s}", 0, [make_event(f"case-{s}", i) for i in range(100)])
    last = await pool.fetchval("SELECT max(global_position) FROM events")
    conn = await eventkit_schema.connect()
    kills = 0
    try:
        for _ in range(2):  # kill it twice, each time part-way through
            proc = await _start(infra, eventkit_schema.schema, topic)
            start_cp = await _checkpoint(conn)
            async with asyncio.timeout(90):
                while await _checkpoint(conn) < start_cp + 3000:
                    assert proc.returncode is None, (await proc.stderr.read()).decode()[-2000:]
                    await asyncio.sleep(0.01)
            # let it get into the next batch (sent, not yet checkpointed), then kill -9
            await asyncio.sleep(0.015 + 0.01 * kills)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            kills += 1
            assert await _checkpoint(conn) < last
        proc = await _start(infra, eventkit_schema.schema, topic)
        try:
            async with asyncio.timeout(120):
                while await _checkpoint(conn) < last:
                    assert proc.returncode is None, (await proc.stderr.read()).decode()[-2000:]
                    await asyncio.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()

        records = await read_topic(infra.bootstrap, topic, TOTAL, timeout=120, settle=1.0)
        ids = [orjson.loads(r.value)["event_id"] for r in records]
        assert len(set(ids)) == TOTAL, "an event never reached Kafka"
        duplicates = len(ids) - TOTAL
        print(f"relay killed {kills} times; {duplicates} messages published twice")

        # Downstream: an inbox-guarded handler applied to every delivered message, duplicates
        # included, has exactly one effect per event.
        await conn.execute("CREATE TABLE effects (event_id uuid PRIMARY KEY, n int)")
        for r in records:
            env = orjson.loads(r.value)
            async with conn.transaction():
                fresh = await conn.fetchval(
                    "INSERT INTO inbox (consumer, event_id) VALUES ('downstream', $1) "
                    "ON CONFLICT DO NOTHING RETURNING true",
                    env["event_id"],
                )
                if fresh:
                    await conn.execute(
                        "INSERT INTO effects VALUES ($1, $2)", env["event_id"], env["payload"]["n"]
                    )
        assert await conn.fetchval("SELECT count(*) FROM effects") == TOTAL
    finally:
        await conn.close()
        await pool.close()
