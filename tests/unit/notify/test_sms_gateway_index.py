"""The development SMS gateway's in-memory index of delivery ids (see `FileSmsGateway`):
a duplicate is recognised whoever wrote the first line, and a rotated file is indexed anew."""

from __future__ import annotations

from pathlib import Path

import pytest

from notify.channels import FileSmsGateway

from .factories import T0

pytestmark = pytest.mark.unit


async def test_a_line_written_by_another_process_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "sms.jsonl"
    a, b = FileSmsGateway(path), FileSmsGateway(path)  # two notify processes, one file
    assert await a.send("d-1", "13857712345", "一", T0) == "file:d-1"
    assert await b.send("d-2", "13857712345", "二", T0) == "file:d-2"
    assert await b.send("d-1", "13857712345", "一", T0) == "duplicate:d-1"
    assert await a.send("d-2", "13857712345", "二", T0) == "duplicate:d-2"
    assert len(path.read_bytes().splitlines()) == 2


async def test_a_rotated_file_is_indexed_again(tmp_path: Path) -> None:
    path = tmp_path / "sms.jsonl"
    gw = FileSmsGateway(path)
    await gw.send("d-1", "13857712345", "一", T0)
    await gw.send("d-2", "13857712345", "二", T0)
    path.write_bytes(b"")  # rotated away: what was sent is no longer in the file
    assert await gw.send("d-1", "13857712345", "一", T0) == "file:d-1"
    assert [b'"delivery_id":"d-1"' in x for x in path.read_bytes().splitlines()] == [True]
