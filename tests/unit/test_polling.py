"""The suite's one way to wait (`tests/polling.py`): the state the condition held on comes
back, and a deadline that passes says what was awaited and what was last seen."""

from __future__ import annotations

import asyncio

import pytest

from ..polling import dig, eventually

pytestmark = pytest.mark.unit


async def test_the_state_the_condition_held_on_is_returned() -> None:
    states = iter([None, {"progress": None}, {"progress": {"assigned_to": None}}])
    final = {"progress": {"assigned_to": "b"}}

    async def read() -> object:
        return next(states, final)

    got = await eventually(
        read, lambda v: dig(v, "progress", "assigned_to"), what="an officer", interval=0
    )
    assert got is final


async def test_a_passed_deadline_names_what_was_awaited_and_the_last_state() -> None:
    async def read() -> dict[str, object]:
        return {"progress": None}

    with pytest.raises(AssertionError) as err:
        await eventually(read, lambda v: dig(v, "progress", "x"), what="x set", timeout=0.05)
    assert "waiting for x set" in str(err.value)
    assert "last seen: {'progress': None}" in str(err.value)


async def test_a_timeout_inside_the_read_is_not_reworded() -> None:
    async def read() -> None:
        await asyncio.wait_for(asyncio.Event().wait(), 0.01)

    with pytest.raises(TimeoutError):
        await eventually(read, what="never", timeout=30)


def test_dig_reads_any_intermediate_state() -> None:
    assert dig(None, "a") is None
    assert dig({"a": None}, "a", "b") is None
    assert dig({"a": [{"b": 1}]}, "a", 0, "b") == 1
    assert dig({"a": []}, "a", 0) is None
    assert dig({"a": "text"}, "a", "b") is None
