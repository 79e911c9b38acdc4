"""A small generated history and helpers to replay it from a file (no servers needed)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from analytics import warehouse
from analytics.filters import ReplayFilter, build_filter
from analytics.progress import Progress
from analytics.replay import ReplaySummary, replay_analytics
from analytics.sources import FileSource
from bianmin_tools.simulate import History

from ..simulate.support import SMALL, small_history

__all__ = ["SMALL", "query", "replay_file", "small_history", "tables", "write_ndjson"]


def write_ndjson(
    path: Path, history: History, *, shuffle: int | None = None, duplicate_every: int = 0
) -> Path:
    """The history as an NDJSON file; `shuffle` reorders lines (as partitions interleave),
    `duplicate_every` repeats every n-th line (as an at-least-once relay can)."""
    lines = [e.value() for e in history.events]
    if duplicate_every:
        lines += lines[::duplicate_every]
    if shuffle is not None:
        random.Random(shuffle).shuffle(lines)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def replay_file(
    path: Path,
    target: Path,
    flt: ReplayFilter | None = None,
    chunk_lines: int = 200_000,
    parquet: Path | None = None,
) -> ReplaySummary:
    async def go() -> ReplaySummary:
        with Progress(quiet=True) as progress:
            return await replay_analytics(
                FileSource(path),
                flt or build_filter(),
                target,
                progress=progress,
                chunk_lines=chunk_lines,
                parquet_dir=parquet,
            )

    return asyncio.run(go())


def tables(path: Path, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: warehouse.table_rows(con, t) for t in warehouse.TABLES if t not in skip}
    finally:
        con.close()


def query(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
