"""The trap of ARCHITECTURE §4: a sequence alone loses events when a transaction that took a
lower number commits after a reader passed it. 16 writers with random commit delays append
10,000 events while a reader tails `read_all`: the reader must see every event exactly once."""

from __future__ import annotations

import asyncio
import random

import pytest

from eventkit.store import START, PostgresEventStore

from .factories import make_event

pytestmark = pytest.mark.integration

WRITERS = 16
TOTAL = 10_000


async def test_tailing_reader_sees_every_event_exactly_once(eventkit_schema) -> None:
    pool = await eventkit_schema.pool(min_size=WRITERS + 2, max_size=WRITERS + 2)
    store = PostgresEventStore(pool)
    written: list[str] = []
    per_writer = TOTAL // WRITERS
    done = asyncio.Event()

    async def writer(w: int) -> None:
        rng = random.Random(w)
        left = per_writer
        version = 0
        while left:
            n = min(left, rng.randint(1, 8))
            batch = [make_event(f"w{w}", version + i) for i in range(n)]
            async with pool.acquire() as conn, conn.transaction():
                await store.append(f"w{w}", version, batch, conn=conn)
                # Hold the transaction open a random while: later transactions (higher
                # positions) commit first, exactly the case that loses events elsewhere.
                await asyncio.sleep(rng.random() * 0.01)
            written.extend(str(e.event_id) for e in batch)
            version += n
            left -= n

    seen: list[str] = []
    checkpoints = []

    async def reader() -> None:
        cp = START
        while True:
            page = await store.read_all(cp, limit=500)
            for ev in page:
                seen.append(str(ev.envelope.event_id))
                checkpoints.append(ev.checkpoint)
            if page:
                cp = page[-1].checkpoint
            elif done.is_set() and len(seen) >= TOTAL:
                return
            else:
                await asyncio.sleep(0.002)

    async def writers() -> None:
        await asyncio.gather(*(writer(w) for w in range(WRITERS)))
        done.set()

    try:
        await asyncio.wait_for(asyncio.gather(writers(), reader()), timeout=240)
    finally:
        await pool.close()
    assert len(written) == per_writer * WRITERS == TOTAL
    assert len(seen) == TOTAL, f"reader saw {len(seen)} of {TOTAL}"
    assert len(set(seen)) == TOTAL, "an event was handed out twice"
    assert set(seen) == set(written)
    assert all(a < b for a, b in zip(checkpoints, checkpoints[1:], strict=False))
