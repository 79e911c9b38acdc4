"""Replaying from Kafka (real broker, isolated topics): identical tables every time and
whatever the source, the seek options, bad topics refused, an interrupted replay harmless."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from analytics.filters import build_filter
from analytics.progress import Progress
from analytics.replay import replay_analytics
from analytics.sources import KafkaSource
from analytics.spool import PAUSE_ENV

from ...unit.analytics.support import replay_file, small_history, tables, write_ndjson
from .support import bianmin, to_kafka

pytestmark = pytest.mark.integration


@pytest.fixture
async def history_topics(infra, topics) -> list[str]:  # type: ignore[no-untyped-def]
    names = await topics("intake", "routing", "notify")
    await to_kafka(infra.bootstrap, small_history(), names)
    return names


async def _replay(bootstrap: str, names: list[str], target: Path, **kw) -> object:  # type: ignore[no-untyped-def]
    with Progress(quiet=True) as progress:
        return await replay_analytics(
            KafkaSource(bootstrap, tuple(names), **kw),
            build_filter(),
            target,
            progress=progress,
            chunk_lines=700,
        )


async def test_two_kafka_replays_and_a_file_replay_give_identical_tables(
    infra,
    history_topics: list[str],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    one, many = tmp_path / "one.duckdb", tmp_path / "many.duckdb"
    await _replay(infra.bootstrap, history_topics, one, max_workers=1)
    await _replay(infra.bootstrap, history_topics, many)  # a reader per partition
    from_file = tmp_path / "file.duckdb"
    await asyncio.to_thread(
        replay_file, write_ndjson(tmp_path / "h.ndjson", small_history()), from_file
    )
    a, b = tables(one, skip=("replay_info",)), tables(many, skip=("replay_info",))
    c = tables(from_file, skip=("replay_info",))
    assert a["events"] and len(a["events"]) == len(small_history().events)
    for t in a:
        assert a[t] == b[t] == c[t], t
    # replay_info differs only by the source, never by when the replay ran
    assert tables(one)["replay_info"] == tables(many)["replay_info"]


async def test_start_offsets_and_since(
    infra,
    history_topics: list[str],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    intake = history_topics[0]
    offsets = {(intake, 0): 100, (intake, 1): 100, (intake, 2): 100}
    db = tmp_path / "offsets.duckdb"
    summary = await _replay(infra.bootstrap, [intake], db, offsets=offsets)
    total_intake = len(small_history().of("intake"))
    assert summary.read == total_intake - 300
    # --since seeks by record timestamp (the generator stamps records with event time) and
    # keeps the events from that time on
    result = bianmin(
        "replay",
        "analytics",
        "--bootstrap",
        infra.bootstrap,
        "--topic",
        ",".join(history_topics),
        "--since",
        "2026-10-12",
        "--db",
        str(tmp_path / "since.duckdb"),
        "-q",
    )
    assert result.returncode == 0, result.stderr
    later = [
        e
        for e in small_history().events
        if str(e.envelope["occurred_at"]) >= "2026-10-11T16:00:00Z"
    ]
    assert f"{len(later):,} events" in result.stdout


async def test_unknown_topics_and_offsets_are_refused_and_nothing_is_written(
    infra,
    history_topics: list[str],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "a.duckdb"
    for args, field, reason in (
        (["--topic", "no.such.topic"], "--topic", "unknown topic 'no.such.topic'"),
        (
            ["--topic", history_topics[0], "--offsets", f"{history_topics[0]}:7=0"],
            "--offsets",
            "has no partition 7",
        ),
        (
            ["--topic", history_topics[0], "--offsets", f"{history_topics[0]}:0=999999"],
            "--offsets",
            "outside the partition",
        ),
        (
            ["--topic", history_topics[0], "--offsets", "other.events:0=1"],
            "--offsets",
            "not among the replayed topics",
        ),
    ):
        r = bianmin("replay", "analytics", "--bootstrap", infra.bootstrap, *args, "--db", str(db))
        assert r.returncode == 2, r.stderr
        assert field in r.stderr and reason in " ".join(r.stderr.split()), r.stderr
    assert _names(tmp_path) == []


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_killing_a_kafka_replay_leaves_the_previous_store_untouched(
    infra,
    history_topics: list[str],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "analytics.duckdb"
    args = [
        "replay",
        "analytics",
        "--bootstrap",
        infra.bootstrap,
        "--topic",
        ",".join(history_topics),
        "--db",
        str(db),
        "-q",
    ]
    first = bianmin(*args, "--type", "intake.application_submitted")
    assert first.returncode == 0, first.stderr
    before = await asyncio.to_thread(db.read_bytes)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bianmin_tools",
        *args,
        env={**os.environ, PAUSE_ENV: "500"},
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = await proc.stderr.readline()  # the readers have been reading
    assert b"paused after" in line, line
    assert any(".replay-" in str(p) for p in await asyncio.to_thread(_chunks, tmp_path))
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert await asyncio.to_thread(db.read_bytes) == before
    again = bianmin(*args)
    assert again.returncode == 0, again.stderr
    assert f"{len(small_history().events):,} events" in again.stdout
    assert _names(tmp_path) == ["analytics.duckdb"]


def _chunks(folder: Path) -> list[Path]:
    return list(folder.glob(".analytics.duckdb.replay-*/w*.ndjson"))
