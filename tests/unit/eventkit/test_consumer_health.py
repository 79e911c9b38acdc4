"""Given/when/then for what a consumer shows in `/readyz` (`EventConsumer.health`, `watch`).

No broker, no database: the processing core is driven with a fake `_apply` and the
FastStream subscriber is replaced by a stand-in, so only the reporting is under test (the
real outages are in tests/fault/pipeline).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from eventkit.consumer import EventConsumer
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.loops import Backoff, LoopHealth, supervise

pytestmark = pytest.mark.unit

FAST = Backoff(initial=0.001, maximum=0.002)


async def _nothing(conn: asyncpg.Connection, env: Envelope) -> None:
    return None


def consumer(**kw: Any) -> EventConsumer:
    return EventConsumer(
        KafkaBroker("127.0.0.1:1"),
        lambda: None,
        "t.events",
        group_id="g",
        name="routing.intake",
        handler=_nothing,
        dlq_bootstrap="127.0.0.1:1",
        backoff=FAST,
        **kw,
    )


def record(offset: int = 5) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("t.events", 0, offset, 0, 0, None, b"{}", None, 0, 2, [])


def envelope() -> Envelope:
    return Envelope(
        event_type="test.thing_happened",
        stream_id="case-1",
        occurred_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        producer=Producer(service="tests", instance="t1"),
        actor=Actor(id="u1", role="clerk"),
    )


async def test_an_outage_waited_out_shows_where_and_clears_when_a_message_goes_through() -> None:
    # given a consumer whose database refuses connections twice, then answers
    c = consumer()
    seen: list[str] = []
    calls = 0

    async def apply(envs: Any) -> None:
        nonlocal calls
        calls += 1
        seen.append(c.health.describe())
        if calls <= 2:
            raise ConnectionRefusedError(111, "Connection refused")

    c._apply = apply  # type: ignore[method-assign]

    # when a message is processed
    await c._process_with_retries(record(5), envelope())
    c._report(None)  # what the subscriber callback does once the poll is through

    # then the wait was shown with the error and the position, and cleared afterwards
    assert seen[0] == "ok"
    assert seen[1] == (
        "retrying: ConnectionRefusedError: [Errno 111] Connection refused (waiting at t.events:0@5)"
    )
    assert c.health.describe() == "ok"
    assert c.stats.transient_errors == 2 and not c.stats.dead_lettered


async def test_a_poll_in_processing_for_too_long_shows_as_stalled() -> None:
    c = consumer(stall_seconds=60)
    c._busy_since = time.monotonic() - 90
    c._report(None)
    assert c.health.describe().startswith("retrying: one poll has been in processing for 9")
    c._busy_since = None
    c._report(None)
    assert c.health.describe() == "ok"


async def test_watch_restarts_a_subscriber_whose_consume_task_is_gone_and_ends_on_close() -> None:
    # given a subscriber whose consume task has ended (and one that starts a new one)
    c = consumer()
    restarted: list[str] = []
    forever = asyncio.ensure_future(asyncio.Event().wait())
    sub = SimpleNamespace(running=True, tasks=[])

    async def stop() -> None:
        restarted.append("stop")

    async def start() -> None:
        restarted.append("start")
        sub.tasks = [forever]

    sub.stop, sub.start = stop, start
    c.subscriber = sub
    health = LoopHealth("consumer:routing.intake")

    # when its watch is supervised, and the consumer is closed once the watch runs
    async def close_when_ok() -> None:
        while health.state != "running":
            await asyncio.sleep(0.01)
        await c.close()

    closer = asyncio.ensure_future(close_when_ok())
    stop_event = asyncio.Event()

    async def body(h: LoopHealth) -> None:
        await c.watch(h)
        stop_event.set()

    await asyncio.wait_for(supervise(c.health.name, body, stop=stop_event, health=health), 10)
    await closer
    forever.cancel()

    # then the subscriber was restarted once, the watch ran ok, and close ended it
    assert restarted == ["stop", "start"]
    assert health.state == "stopped" and health.restarts == 0
