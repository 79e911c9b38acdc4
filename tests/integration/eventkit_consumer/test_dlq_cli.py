"""`python -m eventkit dlq list|redrive` against the real broker, as an operator runs it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest

from eventkit.envelope import Envelope

from .support import (
    EFFECTS_DDL,
    count,
    envelope,
    headers_of,
    insert_effect,
    producer,
    publish_envelopes,
    read_all,
    running_consumer,
    wait_all_committed,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(eventkit_schema) -> AsyncIterator[asyncpg.Pool]:
    p = await eventkit_schema.pool(min_size=1, max_size=5)
    await p.execute(EFFECTS_DDL)
    yield p
    await p.close()


async def cli(*args: str, bootstrap: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventkit",
        "dlq",
        *args,
        "--bootstrap",
        bootstrap,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_list_shows_the_dead_letter_and_redrive_brings_it_back(infra, topics, pool) -> None:
    (topic,) = await topics("cli", partitions=3)
    envs = [envelope(i, stream=f"case-{i}") for i in range(6)]
    victim = envs[4]
    broken = True

    async def handler(conn: asyncpg.Connection, env: Envelope) -> None:
        if broken and env.event_id == victim.event_id:
            raise RuntimeError("tax office API returned 503")
        await insert_effect(conn, env)

    async with producer(infra.bootstrap) as p:
        await publish_envelopes(p, topic, envs)
        await p.send_and_wait(topic, value=b"garbage", key=b"case-x")
    async with running_consumer(
        infra.bootstrap, pool, topic, handler=handler, max_attempts=2, backoff=(0.05, 0.1)
    ) as c:
        await wait_all_committed(infra.bootstrap, c.group_id, topic)
        assert await count(pool, "SELECT count(*) FROM effects") == 5

        # list, machine-readable
        code, out, err = await cli("list", topic, "--json", bootstrap=infra.bootstrap)
        assert code == 0, err
        letters = [orjson.loads(line) for line in out.splitlines()]
        by_reason = {d["reason"]: d for d in letters}
        assert set(by_reason) == {"handler_failed", "malformed_json"}
        d = by_reason["handler_failed"]
        assert d["event_id"] == str(victim.event_id)
        assert d["event_type"] == "test.thing_happened"
        assert d["attempts"] == 2
        assert d["original_topic"] == topic
        assert d["error"] == "RuntimeError: tax office API returned 503"
        assert d["consumer"] == c.name

        # list, for humans (Rich table)
        code, out, err = await cli("list", f"{topic}.dlq", bootstrap=infra.bootstrap)
        assert code == 0, err
        assert d["id"] in out and "handler_failed" in out and "malformed_json" in out
        assert str(victim.event_id) in out

        # a handle that does not exist publishes nothing
        code, out, err = await cli("redrive", topic, "--offset", "0:999", bootstrap=infra.bootstrap)
        assert code == 2 and "no message" in err
        code, _, err = await cli("redrive", topic, bootstrap=infra.bootstrap)
        assert code == 2 and "--offset" in err

        # fix the handler, re-drive just that one
        broken = False
        code, out, err = await cli("redrive", topic, "--offset", d["id"], bootstrap=infra.bootstrap)
        assert code == 0, err
        assert "re-driven: 1" in out

        async def processed() -> bool:
            return await count(pool, "SELECT count(*) FROM effects") == 6

        await wait_until(processed, 30, "the re-driven event to be processed")
        await wait_all_committed(infra.bootstrap, c.group_id, topic)

    assert await count(pool, "SELECT count(DISTINCT event_id) FROM effects") == 6
    # What went back is the original message: same bytes and key, no dlq.* error headers.
    back = [r for r in await read_all(infra.bootstrap, topic) if r.value == victim.canonical()]
    assert len(back) == 2  # the original and the re-driven copy
    redriven = next(r for r in back if "dlq.redriven_from" in headers_of(r))
    h = headers_of(redriven)
    assert h["dlq.redriven_from"] == f"{topic}.dlq:{d['id']}"
    assert not {k for k in h if k.startswith("dlq.") and k != "dlq.redriven_from"}
    assert h["event_id"] == str(victim.event_id)
    assert redriven.key == victim.stream_id.encode()
