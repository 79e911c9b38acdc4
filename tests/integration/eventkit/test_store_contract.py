"""One contract, two stores: the in-memory store used by unit tests behaves like PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from eventkit.store import (
    START,
    ConcurrencyError,
    DuplicateEventError,
    InMemoryEventStore,
    PostgresEventStore,
)

from .factories import make_event

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "postgres"])
async def store(request, eventkit_schema) -> AsyncIterator[object]:
    if request.param == "memory":
        yield InMemoryEventStore()
        return
    pool = await eventkit_schema.pool(max_size=20)
    try:
        yield PostgresEventStore(pool)
    finally:
        await pool.close()


async def test_append_to_a_new_stream_numbers_versions_from_one(store) -> None:
    events = [make_event("case-1", i) for i in range(3)]
    positions = await store.append("case-1", 0, events)
    assert [p.stream_version for p in positions] == [1, 2, 3]
    assert (
        positions[0].global_position < positions[1].global_position < positions[2].global_position
    )
    read = await store.read_stream("case-1")
    assert [e.event_id for e in read] == [e.event_id for e in events]
    assert [e.stream_version for e in read] == [1, 2, 3]
    assert [e.payload["n"] for e in await store.read_stream("case-1", from_version=2)] == [1, 2]
    assert await store.stream_version("case-1") == 3
    assert await store.stream_version("case-unknown") == 0


async def test_stale_expected_version_raises_with_actual_and_writes_nothing(store) -> None:
    await store.append("case-2", 0, [make_event("case-2", 0), make_event("case-2", 1)])
    with pytest.raises(ConcurrencyError) as info:
        await store.append("case-2", 1, [make_event("case-2", 2)])
    assert info.value.actual == 2
    assert info.value.expected == 1
    with pytest.raises(ConcurrencyError):
        await store.append("case-2", 0, [make_event("case-2", 3)])
    assert len(await store.read_stream("case-2")) == 2
    assert len(await store.read_all(START)) == 2


async def test_retried_append_is_a_no_op_returning_the_original_positions(store) -> None:
    events = [make_event("case-3", i) for i in range(2)]
    first = await store.append("case-3", 0, events)
    again = await store.append("case-3", 0, events)
    assert again == first
    assert len(await store.read_all(START)) == 2


async def test_partly_known_event_ids_are_refused(store) -> None:
    e1, e2 = make_event("case-4", 1), make_event("case-4", 2)
    await store.append("case-4", 0, [e1])
    with pytest.raises(DuplicateEventError):
        await store.append("case-4", 1, [e1, e2])
    with pytest.raises(DuplicateEventError):
        await store.append("case-other", 0, [e1.model_copy(update={"stream_id": "case-other"})])
    assert len(await store.read_all(START)) == 1


async def test_batch_must_belong_to_the_stream_and_be_non_empty(store) -> None:
    with pytest.raises(ValueError, match="belongs to stream"):
        await store.append("case-5", 0, [make_event("case-6")])
    with pytest.raises(ValueError, match="at least one"):
        await store.append("case-5", 0, [])
    e = make_event("case-5")
    with pytest.raises(ValueError, match="twice"):
        await store.append("case-5", 0, [e, e])


async def test_any_version_appends_at_the_end(store) -> None:
    await store.append("case-7", None, [make_event("case-7", 0)])
    pos = await store.append("case-7", None, [make_event("case-7", 1)])
    assert pos[0].stream_version == 2


async def test_read_all_pages_in_commit_order_with_checkpoints(store) -> None:
    for s in range(5):
        await store.append(f"s-{s}", 0, [make_event(f"s-{s}", i) for i in range(3)])
    seen = []
    cp = START
    while True:
        page = await store.read_all(cp, limit=4)
        if not page:
            break
        assert all(a.checkpoint < b.checkpoint for a, b in zip(page, page[1:], strict=False))
        seen.extend(page)
        cp = page[-1].checkpoint
    assert len(seen) == 15
    assert len({s.envelope.event_id for s in seen}) == 15
    assert [s.envelope.stream_id for s in seen[:3]] == ["s-0"] * 3


async def test_two_writers_with_the_same_expected_version_exactly_one_wins(store) -> None:
    await store.append("case-8", 0, [make_event("case-8", 0)])
    results = await asyncio.gather(
        *(store.append("case-8", 1, [make_event("case-8", 10 + i)]) for i in range(8)),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, ConcurrencyError)]
    assert len(wins) == 1 and len(losses) == 7
    assert await store.stream_version("case-8") == 2


async def test_envelope_round_trips_exactly(store) -> None:
    e = make_event("case-9", 1, 名称="二胎申请", amount_fen=300000)
    await store.append("case-9", 0, [e])
    (back,) = await store.read_stream("case-9")
    assert back.model_copy(update={"stream_version": 0}) == e
    assert back.canonical() == e.model_copy(update={"stream_version": 1}).canonical()
