"""Waiting for an eventual state: one way for the whole suite.

Whatever a test waits for — a projection catching up over Kafka, a row a background loop
writes, a record on a topic — it waits the same way:

    view = await eventually(read_view, lambda v: dig(v, "progress", "assigned_to"),
                            what="intake's progress of the case naming an officer")
    assert view["progress"]["assigned_to"] == B

- `fetch` reads the state (a coroutine function); `until` says whether it is there yet. The
  state the condition held on is returned, so the test's assertions are made on what was
  seen, never on a second read that may have moved on.
- `until` must accept EVERY intermediate state: a 404, `None` where an object will be, a
  missing key, an empty or partial list. `dig` reads a path through such a state.
- The deadline is generous (the suite runs on loaded, shared machines); it is a bound on a
  hang, never a timing assertion. When it passes, the AssertionError says what was awaited
  and the last state seen.
- A sleep never stands in for a condition: to know that something did NOT happen, wait for
  a later thing that shows the system got past the point where it would have.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

TIMEOUT = 60.0
"""The default deadline, in seconds: long enough for a loaded CI machine."""

_UNSEEN = object()


def dig(value: Any, *path: str | int) -> Any:
    """`value[path[0]][path[1]]...`, or None as soon as a step is missing or None (a state
    not there yet), so that a poll's condition can read any intermediate state."""
    for step in path:
        if value is None:
            return None
        if isinstance(value, Mapping):
            value = value.get(step)
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            if not isinstance(step, int) or not -len(value) <= step < len(value):
                return None
            value = value[step]
        else:
            return None
    return value


def _show(value: Any, show: Callable[[Any], object] | None, limit: int = 2000) -> str:
    if value is _UNSEEN:
        return "nothing (the first read did not return)"
    text = str(show(value)) if show is not None else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


async def eventually(
    fetch: Callable[[], Awaitable[T]] | Callable[[], T],
    until: Callable[[T], object] = bool,
    *,
    what: str,
    timeout: float = TIMEOUT,
    interval: float = 0.1,
    show: Callable[[T], object] | None = None,
) -> T:
    """Call `fetch` (a coroutine function, or a plain one for in-memory state) until
    `until(state)` holds and return that state; fail with what was awaited and the last
    state seen (`show(state)` if given, for long states) after `timeout` seconds."""
    last: Any = _UNSEEN
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            while True:
                got = fetch()
                value: T = await got if inspect.isawaitable(got) else got  # type: ignore[assignment]
                last = value
                if until(value):
                    return value
                await asyncio.sleep(interval)
    except TimeoutError:
        if not deadline.expired():
            raise  # a timeout inside `fetch` itself: not ours to reword
        raise AssertionError(
            f"gave up after {timeout:g} s waiting for {what}; last seen: {_show(last, show)}"
        ) from None


async def blocked_by(
    conn: Any, holder_pid: int, *, what: str, waiter_pid: int | None = None
) -> int:
    """Wait until a backend (`waiter_pid`, or any) waits for a lock the backend `holder_pid`
    holds, and return the waiter's pid: the condition a test means when it lets a command
    run into a lock it holds, instead of sleeping and hoping the command got that far.
    `conn` (an asyncpg connection or pool) must not be inside a transaction."""

    async def waiter() -> int | None:
        pid: int | None = await conn.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))"
            " AND ($2::int IS NULL OR pid = $2) LIMIT 1",
            holder_pid,
            waiter_pid,
        )
        return pid

    found = await eventually(waiter, what=what, interval=0.02)
    assert found is not None
    return found
