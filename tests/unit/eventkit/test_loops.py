"""Given/when/then for `eventkit.loops.supervise`: a loop never ends by itself."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from eventkit.loops import Backoff, LoopHealth, supervise, wait_event

pytestmark = pytest.mark.unit

FAST = Backoff(initial=0.001, maximum=0.002)


async def test_a_failing_body_is_restarted_and_reported_until_it_runs() -> None:
    # given a body that fails twice (a server restart, then a bug) and then runs
    stop = asyncio.Event()
    health = LoopHealth("demo")
    seen: list[str] = []

    async def body(h: LoopHealth) -> None:
        seen.append(h.describe())
        if len(seen) == 1:
            raise asyncpg.AdminShutdownError("terminating connection due to administrator command")
        if len(seen) == 2:
            raise KeyError("a bug")
        h.running()
        stop.set()

    # when it is supervised
    await supervise("demo", body, stop=stop, health=health, backoff=FAST)

    # then each failure was reported to the next attempt, and the loop ended only on stop
    assert seen[0] == "ok"
    assert seen[1].startswith("retrying: AdminShutdownError: terminating connection")
    assert seen[2] == "retrying: KeyError: 'a bug'"
    assert health.restarts == 2
    assert health.state == "stopped"


async def test_a_body_that_returns_on_its_own_is_an_error_and_restarted() -> None:
    stop = asyncio.Event()
    health = LoopHealth("quiet")
    calls = 0

    async def body(h: LoopHealth) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            stop.set()

    await supervise("quiet", body, stop=stop, health=health, backoff=FAST)

    assert calls == 3
    assert health.restarts == 2


async def test_blocked_shows_the_reason_and_running_clears_it() -> None:
    h = LoopHealth("outbox_relay")
    h.retrying("ConnectionRefusedError")
    h.retrying("ConnectionRefusedError")
    assert (h.failures, h.ok) == (2, False)
    h.blocked("blocked at position 17: MessageSizeTooLargeError")
    assert h.describe() == "blocked at position 17: MessageSizeTooLargeError"
    h.running()
    assert (h.describe(), h.failures) == ("ok", 0)


async def test_cancellation_ends_the_loop_and_marks_it_stopped() -> None:
    stop = asyncio.Event()
    health = LoopHealth("forever")

    running = asyncio.Event()

    async def body(h: LoopHealth) -> None:
        h.running()
        running.set()
        await asyncio.Event().wait()

    task = asyncio.ensure_future(supervise("forever", body, stop=stop, health=health))
    await asyncio.wait_for(running.wait(), 60)  # the body runs (not: some time has passed)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert health.state == "stopped"


def test_backoff_is_capped() -> None:
    b = Backoff(initial=0.5, maximum=30.0, jitter=0.0)
    assert [b.delay(n) for n in (1, 2, 3, 7, 50)] == [0.5, 1.0, 2.0, 30.0, 30.0]


async def test_a_cancelled_error_nobody_asked_for_is_an_error_not_the_end() -> None:
    # given a body that lets the CancelledError of a library's own task escape (aiokafka's
    # consumer.stop() does, with a fetch in flight while the broker is away)
    stop = asyncio.Event()
    health = LoopHealth("appender")
    calls = 0

    async def body(h: LoopHealth) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            inner = asyncio.ensure_future(asyncio.sleep(10))
            await asyncio.sleep(0)
            inner.cancel()
            await inner  # raises CancelledError into the body; its task was not cancelled
        h.running()
        stop.set()

    # when it is supervised
    await supervise("appender", body, stop=stop, health=health, backoff=FAST)

    # then it was restarted rather than ended
    assert calls == 2
    assert health.restarts == 1


async def test_a_cancel_in_the_turn_the_event_fires_still_stops_the_waiter() -> None:
    # given a loop waiting for its wake-up event
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_event(event, 30))
    await asyncio.sleep(0)
    # when the event fires and the task is cancelled in the same turn (a service stopping
    # just as an append woke its loop)
    event.set()
    waiter.cancel()
    # then the cancellation gets through (asyncio.wait_for on 3.11 returned True instead)
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_wait_event_says_whether_the_event_fired() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 0.01) is True
