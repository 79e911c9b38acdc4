"""Long-running loops that never die silently.

A city's pipeline is a handful of loops per service — the outbox relay, consumers, audit's
appender and projector, notify's dispatcher, routing's deadline loop, the checkpointer.
PostgreSQL restarts, Kafka goes away for a minute, a record is refused: each loop must say so
(a log line at the right level, its state in `/readyz`), wait a capped backoff and carry on
by itself when the server is back. `supervise` is that discipline, written once:

    health = runtime.loop_health("deadline_loop")
    runtime.spawn(supervise("deadline_loop", checker.run, health=health, stop=stop), ...)

The loop body takes its `LoopHealth` and reports what it is doing: `running()` once it is
connected and working (this also resets the backoff), `blocked(reason)` when it cannot make
progress until a person acts (the relay, on an event the broker refuses: "blocked at
position N: reason"). `supervise` marks it `retrying` after an error, logs expected
infrastructure errors (`TRANSIENT_ERRORS`) as warnings and anything else with its traceback,
and restarts the body after `Backoff.delay(consecutive failures)`. A body that returns
although nobody asked it to stop is an error too (logged, restarted): a loop never ends by
itself. Only `stop` being set, or the task being cancelled, ends it; a CancelledError that
nobody asked for (a library's own task leaking out of it) is an error like any other.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

log = logging.getLogger("eventkit.loops")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: attempt n waits `min(maximum, initial * multiplier**(n-1))`,
    shortened by a random fraction up to `jitter` (so it is never below `minimum(n)`)."""

    initial: float = 0.2
    maximum: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.multiplier < 1:
            raise ValueError("need 0 < initial <= maximum and multiplier >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")

    def base(self, attempt: int) -> float:
        n = max(1, min(attempt, 64))
        return min(self.maximum, self.initial * self.multiplier ** (n - 1))

    def minimum(self, attempt: int) -> float:
        return self.base(attempt) * (1 - self.jitter)

    def delay(self, attempt: int) -> float:
        return self.base(attempt) * (1 - self.jitter * random.random())


# What a loop meets when its servers restart: logged as a warning, not a traceback.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,
)


def _kafka_errors() -> tuple[type[BaseException], ...]:
    try:
        from aiokafka.errors import KafkaConnectionError, KafkaError
    except ImportError:  # pragma: no cover - aiokafka is a dependency
        return ()
    return (KafkaConnectionError, KafkaError)


TRANSIENT_ERRORS = (*TRANSIENT_ERRORS, *_kafka_errors())

STARTING, RUNNING, RETRYING, BLOCKED, STOPPED = (
    "starting",
    "running",
    "retrying",
    "blocked",
    "stopped",
)


@dataclass
class LoopHealth:
    """What one loop is doing, as `/readyz` and `make run` show it."""

    name: str
    state: str = STARTING
    reason: str | None = None
    failures: int = 0  # consecutive failures since the loop last ran normally
    restarts: int = 0  # every restart since the process started
    since: float = field(default_factory=time.monotonic)

    def _set(self, state: str, reason: str | None) -> None:
        if state != self.state or reason != self.reason:
            self.since = time.monotonic()
        self.state, self.reason = state, reason

    def running(self) -> None:
        """Connected and making progress (resets the backoff)."""
        self.failures = 0
        self._set(RUNNING, None)

    def retrying(self, reason: str) -> None:
        self.failures += 1
        self._set(RETRYING, reason)

    def blocked(self, reason: str) -> None:
        """Cannot make progress until a person acts; `reason` says where and why."""
        self._set(BLOCKED, reason)

    def stopped(self) -> None:
        self._set(STOPPED, None)

    @property
    def ok(self) -> bool:
        """Starting counts as ok: readiness is about loops that failed, not slow starts."""
        return self.state in (STARTING, RUNNING)

    def describe(self) -> str:
        """ "ok", or the state and the reason: what an operator reads in `/readyz`. A reason
        that already starts with the state ("blocked at position 17: ...") is shown as is."""
        if self.ok:
            return "ok"
        if self.reason:
            if self.reason.startswith(self.state):
                return self.reason
            return f"{self.state}: {self.reason}"
        return self.state


def describe_error(exc: BaseException) -> str:
    """`Type: message`, without repeating the type when the message already starts with it
    (aiokafka's do: "KafkaConnectionError: Unable to bootstrap ...")."""
    text = str(exc).strip()
    name = type(exc).__name__
    if not text:
        return name
    return text if text.startswith(name) else f"{name}: {text}"


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` have passed; True if it was set.

    Not `asyncio.wait_for(event.wait(), seconds)`: on Python 3.11, when the event fires in the
    same turn as a cancellation of the waiting task, `wait_for` returns instead of raising, the
    cancellation is lost and a loop waiting that way never ends (audit's projector held up its
    service's stop for ever, 1 run in about 7 of a test that ends right after an append).
    `asyncio.timeout` awaits the event in the task itself, so a cancellation always gets
    through."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    await wait_event(stop, seconds)


async def stop_quietly(closing: Awaitable[Any], what: str) -> None:
    """Await a client's `stop()`/`close()` on the way out of a failed session: only a real
    cancellation of this task gets through, so the session's own error is what is reported.

    aiokafka's `AIOKafkaConsumer.stop()` raises the CancelledError of the fetch tasks it
    cancels when a fetch was in flight (typically while the broker is away): re-raised, that
    looked like a cancellation of the caller and ended audit's appender without a word."""
    try:
        await closing
    except asyncio.CancelledError:
        if _cancelled(asyncio.current_task()):
            raise
        log.info("%s: stop() raised a stray CancelledError (ignored)", what)
    except Exception as exc:
        log.info("%s: stop() failed (ignored): %s", what, describe_error(exc))


def _cancelled(task: asyncio.Task[object] | None) -> bool:
    """Whether `task` itself was asked to stop (`task.cancel()`, a timeout around it)."""
    return task is None or task.cancelling() > 0


async def supervise(
    name: str,
    body: Callable[[LoopHealth], Awaitable[None]],
    *,
    stop: asyncio.Event,
    health: LoopHealth | None = None,
    backoff: Backoff = Backoff(initial=0.5, maximum=30.0),
    transient: tuple[type[BaseException], ...] = TRANSIENT_ERRORS,
    logger: logging.Logger | None = None,
) -> None:
    """Run `body(health)` until `stop` is set, restarting it after any error or return."""
    health = health or LoopHealth(name)
    lg = logger or log
    while not stop.is_set():
        try:
            await body(health)
            if stop.is_set():
                break
            health.retrying("the loop ended by itself")
            lg.error("loop ended by itself; restarting it", extra={"loop": name})
        except asyncio.CancelledError as exc:
            if stop.is_set() or _cancelled(asyncio.current_task()):
                health.stopped()
                raise
            # Nobody cancelled this task: a library leaked the CancelledError of one of its
            # own tasks (aiokafka's consumer.stop() does, when a fetch was in flight while
            # the broker was away). Taken for a cancellation, it ended audit's appender
            # silently; it is an error like any other.
            health.retrying(describe_error(exc))
            lg.error(
                "loop got a CancelledError nobody asked for; restarting it",
                exc_info=exc,
                extra={"loop": name, "failures": health.failures},
            )
        except transient as exc:
            health.retrying(describe_error(exc))
            lg.warning(
                "loop lost a server; retrying",
                extra={"loop": name, "error": describe_error(exc), "failures": health.failures},
            )
        except Exception as exc:
            health.retrying(describe_error(exc))
            lg.exception(
                "loop failed; retrying",
                extra={"loop": name, "error": describe_error(exc), "failures": health.failures},
            )
        health.restarts += 1
        await sleep_or_stop(stop, backoff.delay(health.failures))
    health.stopped()
