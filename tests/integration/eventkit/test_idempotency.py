"""IdempotencyStore on PostgreSQL: one run per key, the stored reply for every copy, nothing
stored on failure, lost races retried — including copies racing on one key."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from eventkit.idempotency import IdempotencyKeyReused, IdempotencyStore
from eventkit.store import ConcurrencyError

from ...polling import blocked_by

pytestmark = pytest.mark.integration


class Refused(Exception):
    pass


@pytest.fixture
async def pool(eventkit_schema) -> Any:
    pool = await eventkit_schema.pool(max_size=12)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE things (n int NOT NULL)")
    yield pool
    await pool.close()


async def stored(pool: asyncpg.Pool) -> tuple[int, int]:
    async with pool.acquire() as conn:
        things = await conn.fetchval("SELECT count(*) FROM things")
        keys = await conn.fetchval("SELECT count(*) FROM idempotency_keys")
    return int(things), int(keys)


def inserting(n: int, calls: list[int], delay: float = 0.0) -> Any:
    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        calls.append(n)
        await conn.execute("INSERT INTO things (n) VALUES ($1)", n)
        await asyncio.sleep(delay)
        return 201, {"n": n, "calls": len(calls)}

    return work


async def test_copies_racing_on_one_key_run_once_and_all_get_the_first_reply(pool) -> None:
    store = IdempotencyStore(pool)
    calls: list[int] = []
    results = await asyncio.gather(
        *(
            store.run(scope="s", key="k-race", request_hash="h", work=inserting(1, calls, 0.05))
            for _ in range(8)
        )
    )
    assert len(calls) == 1  # the copies waited for the first, then replayed: nothing ran
    assert sum(not r.replayed for r in results) == 1
    assert {(r.status_code, r.body) for r in results} == {(201, b'{"n":1,"calls":1}')}
    assert await stored(pool) == (1, 1)


async def test_a_replay_is_byte_for_byte_and_a_reused_key_is_refused(pool) -> None:
    store = IdempotencyStore(pool)
    calls: list[int] = []
    first = await store.run(scope="s", key="k1", request_hash="h1", work=inserting(1, calls))
    again = await store.run(scope="s", key="k1", request_hash="h1", work=inserting(2, calls))
    assert (first.replayed, again.replayed) == (False, True)
    assert (again.status_code, again.body) == (first.status_code, first.body)
    with pytest.raises(IdempotencyKeyReused):
        await store.run(scope="s", key="k1", request_hash="other", work=inserting(3, calls))
    other_scope = await store.run(scope="t", key="k1", request_hash="h1", work=inserting(4, calls))
    assert not other_scope.replayed
    assert calls == [1, 4]
    assert await stored(pool) == (2, 2)


async def test_a_failure_stores_nothing_and_a_waiting_copy_then_runs(pool) -> None:
    store = IdempotencyStore(pool)
    holding = asyncio.Event()
    release = asyncio.Event()

    holder: list[int] = []

    async def refuse(conn: asyncpg.Connection) -> tuple[int, Any]:
        await conn.execute("INSERT INTO things (n) VALUES (0)")
        holder.append(conn.get_server_pid())
        holding.set()
        await release.wait()
        raise Refused()

    first = asyncio.create_task(store.run(scope="s", key="k-fail", request_hash="h", work=refuse))
    await holding.wait()
    calls: list[int] = []
    second = asyncio.create_task(
        store.run(scope="s", key="k-fail", request_hash="h", work=inserting(1, calls))
    )
    # the copy has run into the first one's claim (not merely been given time to)
    await blocked_by(pool, holder[0], what="the copy to wait for the first copy's claim")
    assert calls == []
    release.set()
    with pytest.raises(Refused):
        await first
    result = await second
    assert not result.replayed and calls == [1]
    assert await stored(pool) == (1, 1)


async def test_a_lost_race_reruns_the_whole_transaction(pool) -> None:
    store = IdempotencyStore(pool)
    calls: list[int] = []

    async def flaky(conn: asyncpg.Connection) -> tuple[int, Any]:
        calls.append(len(calls))
        await conn.execute("INSERT INTO things (n) VALUES ($1)", len(calls))
        if len(calls) < 3:
            raise ConcurrencyError("acct-1", 1, 2)
        return 200, {"attempts": len(calls)}

    result = await store.run(scope="s", key="k-retry", request_hash="h", work=flaky)
    assert not result.replayed and result.json() == {"attempts": 3}
    assert await stored(pool) == (1, 1)
    again = await store.run(scope="s", key="k-retry", request_hash="h", work=flaky)
    assert again.replayed and again.body == result.body and len(calls) == 3


async def test_without_a_key_the_work_runs_every_time(pool) -> None:
    store = IdempotencyStore(pool)
    calls: list[int] = []
    for n in (1, 2):
        result = await store.run(scope="s", key=None, request_hash="h", work=inserting(n, calls))
        assert not result.replayed
    assert calls == [1, 2]
    assert await stored(pool) == (2, 0)
