"""kill -9 a consumer process mid-stream, restart it: every event has exactly one effect.

The consumer runs in a separate process (`consumer_proc.py`) against the real Kafka and
PostgreSQL. Three runs over the same 3,000 events:

1. killed with SIGKILL from outside once some rows exist (wherever it happens to be);
2. kills itself right after a PostgreSQL commit and before the Kafka offset commit (the
   worst moment: the event it just handled *will* be redelivered);
3. runs to the end and stops gracefully, reporting its stats.

Then: 3,000 rows, 3,000 distinct event ids, 3,000 inbox entries, and run 3 saw at least
one duplicate that the inbox absorbed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import orjson
import pytest

from tests.integration.eventkit_consumer.support import (
    EFFECTS_DDL,
    count,
    envelope,
    producer,
    publish_envelopes,
    wait_all_committed,
    wait_until,
)

pytestmark = pytest.mark.fault

SCRIPT = Path(__file__).with_name("consumer_proc.py")
N = 3000


@pytest.fixture
async def pool(eventkit_schema) -> AsyncIterator[asyncpg.Pool]:
    p = await eventkit_schema.pool(min_size=1, max_size=3)
    await p.execute(EFFECTS_DDL)
    yield p
    await p.close()


class ConsumerProcess:
    """`consumer_proc.py` as a child process; stdout lines collected, stderr to a file."""

    def __init__(self, proc: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self.proc = proc
        self.stderr_path = stderr_path
        self.lines: list[str] = []
        self.ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, infra, tmp: Path, *args: str) -> ConsumerProcess:
        stderr_path = tmp / f"consumer-{uuid.uuid4().hex[:6]}.err"
        with stderr_path.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(SCRIPT),
                "--bootstrap",
                infra.bootstrap,
                "--dsn",
                infra.database_url,
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                cwd=str(Path(__file__).parents[3]),
            )
        cp = cls(proc, stderr_path)
        try:
            await asyncio.wait_for(cp.ready.wait(), 30)
        except TimeoutError:
            await cp.kill()
            raise AssertionError(f"consumer did not start: {cp.stderr()}") from None
        return cp

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if line == "ready":
                self.ready.set()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-3000:]

    async def wait(self, timeout: float) -> int:
        rc = await asyncio.wait_for(self.proc.wait(), timeout)
        await self._reader
        return rc

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.wait(10)

    def stats(self) -> dict:
        return orjson.loads(next(x for x in reversed(self.lines) if x.startswith("{")))


async def test_kill_dash_nine_mid_stream_then_restart_has_one_effect_per_event(
    infra, topics, eventkit_schema, pool, tmp_path
) -> None:
    (topic,) = await topics("crash", partitions=3)
    group, name = f"g-{uuid.uuid4().hex[:8]}", f"crash-{uuid.uuid4().hex[:8]}"
    args = ("--schema", eventkit_schema.schema, "--topic", topic, "--group", group, "--name", name)
    envs = [envelope(i, stream=f"case-{i % 40}") for i in range(N)]
    async with producer(infra.bootstrap) as p:
        await publish_envelopes(p, topic, envs)

    async def rows() -> int:
        return await count(pool, "SELECT count(*) FROM effects")

    procs: list[ConsumerProcess] = []
    try:
        # 1. SIGKILL from outside, mid-way
        cp = await ConsumerProcess.start(infra, tmp_path, *args)
        procs.append(cp)

        async def some_rows() -> bool:
            return await rows() >= 300

        await wait_until(some_rows, 30, "the first rows")
        cp.proc.send_signal(signal.SIGKILL)
        assert await cp.wait(10) == -signal.SIGKILL
        after_first = await rows()
        assert 300 <= after_first < N, after_first

        # 2. dies by itself between the PostgreSQL commit and the Kafka commit
        cp = await ConsumerProcess.start(infra, tmp_path, *args, "--die-before-ack-after", "300")
        procs.append(cp)
        assert await cp.wait(45) == -signal.SIGKILL, cp.stderr()
        after_second = await rows()
        assert after_second >= after_first + 300
        assert after_second < N, "the run should have died before the end"

        # 3. runs to the end
        cp = await ConsumerProcess.start(infra, tmp_path, *args)
        procs.append(cp)

        async def all_rows() -> bool:
            return await rows() >= N

        await wait_until(all_rows, 90, f"{N} rows")
        await wait_all_committed(infra.bootstrap, group, topic, 30)
        cp.proc.send_signal(signal.SIGTERM)
        assert await cp.wait(30) == 0, cp.stderr()
        stats = cp.stats()
    finally:
        for p in procs:
            await p.kill()

    assert await rows() == N
    assert await count(pool, "SELECT count(DISTINCT event_id) FROM effects") == N
    assert await count(pool, "SELECT count(*) FROM inbox WHERE consumer = $1", name) == N
    got = {r["event_id"] for r in await pool.fetch("SELECT event_id FROM effects")}
    assert got == {e.event_id for e in envs}
    # The event handled just before the self-kill came again and the inbox absorbed it.
    assert stats["duplicates"] >= 1, stats
    assert stats["processed"] == N - after_second
    assert not stats["dead_lettered"]


async def test_batch_mode_killed_between_the_database_and_the_offset_commit(
    infra, topics, eventkit_schema, pool, tmp_path
) -> None:
    """Batch mode: a whole committed batch is redelivered after the crash; no second effect."""
    (topic,) = await topics("crashbatch", partitions=3)
    group, name = f"g-{uuid.uuid4().hex[:8]}", f"crashb-{uuid.uuid4().hex[:8]}"
    args = ("--schema", eventkit_schema.schema, "--topic", topic, "--group", group, "--name", name)
    envs = [envelope(i, stream=f"case-{i % 40}") for i in range(N)]
    async with producer(infra.bootstrap) as p:
        await publish_envelopes(p, topic, envs)

    async def rows() -> int:
        return await count(pool, "SELECT count(*) FROM effects")

    procs: list[ConsumerProcess] = []
    try:
        cp = await ConsumerProcess.start(
            infra, tmp_path, *args, "--batch", "--die-before-ack-after", "1000"
        )
        procs.append(cp)
        assert await cp.wait(45) == -signal.SIGKILL, cp.stderr()
        after_first = await rows()
        assert 1000 <= after_first < N, after_first

        cp = await ConsumerProcess.start(infra, tmp_path, *args, "--batch")
        procs.append(cp)

        async def all_rows() -> bool:
            return await rows() >= N

        await wait_until(all_rows, 45, f"{N} rows")
        await wait_all_committed(infra.bootstrap, group, topic, 30)
        cp.proc.send_signal(signal.SIGTERM)
        assert await cp.wait(30) == 0, cp.stderr()
        stats = cp.stats()
    finally:
        for p in procs:
            await p.kill()

    assert await rows() == N
    assert await count(pool, "SELECT count(DISTINCT event_id) FROM effects") == N
    assert await count(pool, "SELECT count(*) FROM inbox WHERE consumer = $1", name) == N
    assert stats["duplicates"] >= 1, stats  # the uncommitted batch came back
    assert stats["processed"] == N - after_first
    assert stats["batches"] >= 1
