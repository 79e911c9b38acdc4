"""EventConsumer on the real broker and database: exactly-once effect, batches, dead letters."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest

from eventkit import dlq
from eventkit.consumer import Backoff
from eventkit.envelope import Envelope
from eventkit.upcasting import UpcasterRegistry

from .support import (
    EFFECTS_DDL,
    count,
    envelope,
    headers_of,
    insert_effect,
    insert_effects,
    producer,
    publish_envelopes,
    running_consumer,
    wait_all_committed,
    wait_for_records,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(eventkit_schema) -> AsyncIterator[asyncpg.Pool]:
    p = await eventkit_schema.pool(min_size=1, max_size=5)
    await p.execute(EFFECTS_DDL)
    yield p
    await p.close()


async def test_every_event_has_one_effect_and_a_duplicate_has_none(infra, topics, pool) -> None:
    (topic,) = await topics("once", partitions=3)
    envs = [envelope(i) for i in range(300)]
    async with running_consumer(infra.bootstrap, pool, topic, handler=insert_effect) as c:
        async with producer(infra.bootstrap) as p:
            await publish_envelopes(p, topic, envs)
            await publish_envelopes(p, topic, envs[:40])  # the same envelopes again

        async def all_seen() -> bool:
            return c.stats.processed + c.stats.duplicates >= 340

        await wait_until(all_seen, 30, "340 deliveries")
        await wait_all_committed(infra.bootstrap, c.group_id, topic)

    assert await count(pool, "SELECT count(*) FROM effects") == 300
    assert await count(pool, "SELECT count(DISTINCT event_id) FROM effects") == 300
    assert await count(pool, "SELECT count(*) FROM inbox WHERE consumer = $1", c.name) == 300
    assert (c.stats.processed, c.stats.duplicates) == (300, 40)
    assert not c.stats.dead_lettered


async def test_batch_mode_processes_thousands_once(infra, topics, pool) -> None:
    (topic,) = await topics("batch", partitions=3)
    envs = [envelope(i) for i in range(3000)]
    async with running_consumer(
        infra.bootstrap, pool, topic, batch=True, max_records=500, batch_handler=insert_effects
    ) as c:
        async with producer(infra.bootstrap) as p:
            await publish_envelopes(p, topic, envs)
            await publish_envelopes(p, topic, envs[::10])  # 300 duplicates

        async def all_seen() -> bool:
            return c.stats.processed + c.stats.duplicates >= 3300

        await wait_until(all_seen, 45, "3300 deliveries")
        await wait_all_committed(infra.bootstrap, c.group_id, topic)

    assert await count(pool, "SELECT count(*) FROM effects") == 3000
    assert await count(pool, "SELECT count(DISTINCT event_id) FROM effects") == 3000
    assert c.stats.processed == 3000
    assert c.stats.duplicates == 300
    assert c.stats.batches >= 2  # really batched: far fewer transactions than messages
    assert c.stats.batches < 1000
    assert c.stats.batch_fallbacks == 0


async def test_bad_input_goes_to_the_dlq_at_once_and_the_partition_moves_on(
    infra, topics, pool
) -> None:
    (topic,) = await topics("poison", partitions=2)
    good = [envelope(i, stream="case-1") for i in range(7)]
    bad_schema = orjson.dumps({**good[0].to_json_dict(), "event_id": "not-a-uuid"})
    unknown = envelope(100, stream="case-1", event_type="test.never_heard_of")
    too_big = envelope(101, stream="case-1", payload={"blob": "x" * 5000})
    # (value, reason or None for a good message, extra headers); all on partition 0, in order
    sequence: list[tuple[bytes, str | None, list[tuple[str, bytes]]]] = [
        (good[0].canonical(), None, []),
        (b'{"event_id": oops', "malformed_json", []),
        (good[1].canonical(), None, []),
        (bad_schema, "schema_invalid", []),
        (good[2].canonical(), None, []),
        (unknown.canonical(), "unknown_event_type", unknown.headers()),
        (good[3].canonical(), None, []),
        (too_big.canonical(), "oversize", too_big.headers()),
        (good[4].canonical(), None, []),
        (b"\xff\xfe not utf-8", "malformed_json", []),
        (b"[1, 2, 3]", "schema_invalid", []),
        # a non-UTF-8 header: FastStream's parser would fail on it and skip it silently
        (good[5].canonical(), None, [("trace", b"\xff\xfe")]),
        (b"", "malformed_json", []),
        # FastStream's own decoder would raise on this one and skip it silently
        (b"{garbage", "malformed_json", [("content-type", b"application/json")]),
        (good[6].canonical(), None, []),
    ]
    async with producer(infra.bootstrap) as p:
        for value, _, extra in sequence:
            await p.send_and_wait(topic, value=value, key=b"case-1", partition=0, headers=extra)

    async with running_consumer(
        infra.bootstrap,
        pool,
        topic,
        handler=insert_effect,
        known_types={"test.thing_happened"},
        max_message_bytes=4000,
        max_attempts=3,
        backoff=Backoff(initial=0.05, maximum=0.2),
    ) as c:
        await wait_all_committed(infra.bootstrap, c.group_id, topic)
        stats = c.stats

    # Every good message, including those after each poison, was processed once.
    rows = await pool.fetch("SELECT event_id FROM effects ORDER BY id")
    assert [r["event_id"] for r in rows] == [e.event_id for e in good]
    # Each poison message is in the DLQ once, with its coordinates and reason.
    expected = [(off, reason, value) for off, (value, reason, _) in enumerate(sequence) if reason]
    dead = await wait_for_records(infra.bootstrap, f"{topic}.dlq", len(expected))
    assert len(dead) == len(expected)
    by_offset = {int(headers_of(r)["dlq.original_offset"]): r for r in dead}
    assert sorted(by_offset) == [off for off, _, _ in expected]
    for off, reason, value in expected:
        rec = by_offset[off]
        h = headers_of(rec)
        assert h["dlq.reason"] == reason, (off, h)
        assert h["dlq.original_topic"] == topic
        assert h["dlq.original_partition"] == "0"
        assert h["dlq.attempts"] == "1"  # never retried
        assert h["dlq.consumer"] == c.name
        assert h["dlq.group_id"] == c.group_id
        assert h["dlq.error"]
        assert rec.value == value  # the original bytes, untouched
        assert rec.key == b"case-1"
    assert "unknown event type 'test.never_heard_of'" in headers_of(by_offset[5])["dlq.error"]
    assert headers_of(by_offset[5])["event_type"] == "test.never_heard_of"  # original headers kept
    assert "accepts at most 4000" in headers_of(by_offset[7])["dlq.error"]
    assert stats.retries == 0
    assert sum(stats.dead_lettered.values()) == len(expected)


async def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered(
    infra, topics, pool
) -> None:
    (topic,) = await topics("retry", partitions=1)
    envs = [envelope(i, stream="case-9") for i in range(5)]
    doomed = envs[2].event_id
    flaky = envs[3].event_id  # fails once, then succeeds: its first write must not survive
    calls: dict[uuid.UUID, list[float]] = defaultdict(list)

    async def handler(conn: asyncpg.Connection, env: Envelope) -> None:
        calls[env.event_id].append(time.monotonic())
        await insert_effect(conn, env)  # written, then rolled back when we raise
        if env.event_id == doomed:
            raise RuntimeError("downstream says no")
        if env.event_id == flaky and len(calls[flaky]) == 1:
            raise RuntimeError("first time unlucky")

    backoff = Backoff(initial=0.1, maximum=1.0, multiplier=2.0, jitter=0.2)
    async with producer(infra.bootstrap) as p:
        await publish_envelopes(p, topic, envs)
    async with running_consumer(
        infra.bootstrap, pool, topic, handler=handler, max_attempts=4, backoff=backoff
    ) as c:
        await wait_all_committed(infra.bootstrap, c.group_id, topic)

    # Exactly max_attempts tries, each after at least the backoff's lower bound (sleeps
    # never end early, so these bounds cannot flake; a tight loop would fail them).
    times = calls[doomed]
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    for attempt, gap in enumerate(gaps, start=1):
        assert gap >= backoff.minimum(attempt) * 0.95, (attempt, gaps)
    assert len(calls[flaky]) == 2

    rows = await pool.fetch("SELECT event_id FROM effects ORDER BY id")
    assert [r["event_id"] for r in rows] == [e.event_id for i, e in enumerate(envs) if i != 2]
    (dead,) = await wait_for_records(infra.bootstrap, f"{topic}.dlq", 1)
    h = headers_of(dead)
    assert h["dlq.reason"] == "handler_failed"
    assert h["dlq.attempts"] == "4"
    assert h["dlq.original_offset"] == "2"
    assert h["dlq.error"] == "RuntimeError: downstream says no"
    assert h["event_id"] == str(doomed)
    assert dead.value == envs[2].canonical()
    assert c.stats.retries == 3 + 1
    assert c.stats.dead_lettered == {"handler_failed": 1}


async def test_batch_mode_falls_back_per_message_around_a_poison_message(
    infra, topics, pool
) -> None:
    (topic,) = await topics("batchpoison", partitions=1)
    envs = [envelope(i, stream="case-2") for i in range(200)]
    doomed = envs[120].event_id

    async def handler(conn: asyncpg.Connection, env: Envelope) -> None:
        if env.event_id == doomed:
            raise ValueError("cannot handle this one")
        await insert_effect(conn, env)

    async with producer(infra.bootstrap) as p:
        await publish_envelopes(p, topic, envs[:50])
        await p.send_and_wait(topic, value=b"{not json", key=b"case-2")
        await publish_envelopes(p, topic, envs[50:])
    async with running_consumer(
        infra.bootstrap,
        pool,
        topic,
        handler=handler,
        batch=True,
        max_records=100,
        max_attempts=2,
        backoff=Backoff(initial=0.05, maximum=0.1),
    ) as c:
        await wait_all_committed(infra.bootstrap, c.group_id, topic)

    assert await count(pool, "SELECT count(*) FROM effects") == 199
    assert await count(pool, "SELECT count(DISTINCT event_id) FROM effects") == 199
    dead = await wait_for_records(infra.bootstrap, f"{topic}.dlq", 2)
    reasons = sorted(headers_of(r)["dlq.reason"] for r in dead)
    assert reasons == ["handler_failed", "malformed_json"]
    assert c.stats.batch_fallbacks >= 1
    assert c.stats.processed == 199


async def test_old_versions_are_upcast_before_the_handler_sees_them(infra, topics, pool) -> None:
    (topic,) = await topics("upcast", partitions=1)
    reg = UpcasterRegistry()

    @reg.register("test.thing_happened", from_version=1)
    def _v1_to_v2(env: dict) -> dict:
        p = dict(env["payload"])
        p["seq"] = p.pop("number")
        return {**env, "payload": p}

    seen: list[Envelope] = []

    async def handler(conn: asyncpg.Connection, env: Envelope) -> None:
        seen.append(env)
        await insert_effect(conn, env)

    v1 = envelope(0, payload={"number": 41})
    v2 = envelope(1, version=2, payload={"seq": 42})
    future = envelope(2, version=3, payload={"seq": 43})
    async with producer(infra.bootstrap) as p:
        await publish_envelopes(p, topic, [v1, v2, future])
    async with running_consumer(
        infra.bootstrap, pool, topic, handler=handler, upcasters=reg, known_types=reg
    ) as c:
        await wait_all_committed(infra.bootstrap, c.group_id, topic)

    assert [(e.schema_version, e.payload) for e in seen] == [(2, {"seq": 41}), (2, {"seq": 42})]
    (dead,) = await wait_for_records(infra.bootstrap, f"{topic}.dlq", 1)
    assert headers_of(dead)["dlq.reason"] == "unknown_schema_version"
    assert dead.value == future.canonical()


async def test_list_and_redrive_functions(infra, topics, pool) -> None:
    (topic,) = await topics("redrivefn", partitions=2)
    envs = [envelope(i, stream=f"case-{i}") for i in range(4)]
    broken = {envs[1].event_id, envs[3].event_id}

    async def handler(conn: asyncpg.Connection, env: Envelope) -> None:
        if env.event_id in broken:
            raise RuntimeError("not yet")
        await insert_effect(conn, env)

    async with producer(infra.bootstrap) as p:
        await publish_envelopes(p, topic, envs)
    async with running_consumer(infra.bootstrap, pool, topic, handler=handler, max_attempts=1) as c:
        await wait_all_committed(infra.bootstrap, c.group_id, topic)
        letters = await dlq.list_dead_letters(infra.bootstrap, topic, limit=10)
        assert sorted(d.event_id for d in letters) == sorted(str(e) for e in broken)
        assert {d.reason for d in letters} == {"handler_failed"}
        assert len(await dlq.list_dead_letters(infra.bootstrap, topic, limit=1)) == 1

        with pytest.raises(dlq.DeadLetterError):
            await dlq.redrive(infra.bootstrap, topic, ["0:999"])
        with pytest.raises(dlq.DeadLetterError):
            await dlq.redrive(infra.bootstrap, topic, ["7:0"])

        broken.clear()  # the handler is fixed
        done = await dlq.redrive(infra.bootstrap, f"{topic}.dlq", None)  # all
        assert len(done) == 2
        assert {r.topic for r in done} == {topic}

        async def all_rows() -> bool:
            return await count(pool, "SELECT count(*) FROM effects") == 4

        await wait_until(all_rows, 30, "the re-driven events to be processed")
        await wait_all_committed(infra.bootstrap, c.group_id, topic)
    assert await count(pool, "SELECT count(DISTINCT event_id) FROM effects") == 4
