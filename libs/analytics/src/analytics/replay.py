"""`bianmin replay analytics`: read a history, build the analytics store, switch it in atomically.

The new store is built in a work directory beside the target (`.<name>.replay-<pid>/`, same
file system) and only a complete, checkpointed file is moved over the target with one
`os.replace`. So an interrupted replay — Ctrl-C, SIGTERM, `kill -9`, a crash — never leaves a
half-built store: the previous file is untouched and still serves reports. The work directory
of a replay that could not clean up after itself (kill -9) is removed by the next replay.
A replay is restartable rather than resumable: it always reads its whole range again, which
at the measured rate (bench/replay.py) is the simpler and safer choice.

A replay has no side effects: it reads with a group-less Kafka consumer or a read-only
store query, writes only under the target's directory, and never produces to Kafka or
touches any service's tables — nothing can reach a notification channel from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.upcasters import UPCASTERS

from . import warehouse
from .errors import BadInput
from .filters import ReplayFilter
from .progress import Progress
from .spool import Spool


@dataclass
class ReplaySummary:
    target: Path
    read: int
    result: warehouse.BuildResult
    parquet: list[Path]


class AtomicTarget:
    """A work directory beside `target`; `commit()` moves the finished file over the target."""

    def __init__(self, target: Path, parquet_dir: Path | None = None) -> None:
        self.target = target
        self.parquet_dir = parquet_dir
        self.work = target.parent / f".{target.name}.replay-{os.getpid()}"
        self.build_path = self.work / target.name
        self.parquet_work = self.work / "parquet"

    @staticmethod
    def check(target: Path, parquet_dir: Path | None, *, default_parent: bool) -> None:
        """Refuse a target or Parquet folder we cannot write, before anything is written."""
        parent = target.parent
        if not parent.exists():
            if not default_parent:
                raise BadInput("--db", f"folder {parent} does not exist")
        elif not parent.is_dir():
            raise BadInput("--db", f"{parent} is not a folder")
        elif not os.access(parent, os.W_OK | os.X_OK):
            raise BadInput("--db", f"folder {parent} is not writable")
        warehouse.check_readable(target)
        if target.exists() and not os.access(target, os.R_OK):
            raise BadInput("--db", f"{target} is not readable")
        if parquet_dir is not None:
            if parquet_dir.exists() and not parquet_dir.is_dir():
                raise BadInput("--parquet", f"{parquet_dir} exists and is not a folder")
            probe = parquet_dir if parquet_dir.exists() else parquet_dir.parent
            if not probe.exists() or not os.access(probe, os.W_OK | os.X_OK):
                raise BadInput("--parquet", f"cannot write into {probe}")

    def __enter__(self) -> AtomicTarget:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._clean_stale()
        self.work.mkdir()
        self.parquet_work.mkdir()
        return self

    def _clean_stale(self) -> None:
        for d in self.target.parent.glob(f".{self.target.name}.replay-*"):
            pid = d.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(d, ignore_errors=True)

    def commit(self) -> list[Path]:
        wal = self.build_path.with_name(self.build_path.name + ".wal")
        if wal.exists():
            raise RuntimeError("the built store still has a write-ahead log; not switching")
        stale_wal = self.target.with_name(self.target.name + ".wal")
        stale_wal.unlink(missing_ok=True)  # belongs to the file being replaced
        os.replace(self.build_path, self.target)
        moved = []
        if self.parquet_dir is not None:
            self.parquet_dir.mkdir(parents=True, exist_ok=True)
            for f in sorted(self.parquet_work.iterdir()):
                dest = self.parquet_dir / f.name
                shutil.move(str(f), dest)
                moved.append(dest)
        return moved

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def blocking(con: Any, fn: Any, *args: Any) -> Any:
    """Run a DuckDB call in a thread so Ctrl-C/SIGTERM are seen at once; on cancellation,
    interrupt the query and wait until it stopped before anything is cleaned up."""
    loop = asyncio.get_running_loop()
    fut = loop.run_in_executor(None, fn, *args)
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        con.interrupt()
        with contextlib.suppress(BaseException):
            await fut
        raise


async def replay_analytics(
    source: Any,
    flt: ReplayFilter,
    target: Path,
    *,
    parquet_dir: Path | None = None,
    progress: Progress,
    chunk_lines: int = 200_000,
) -> ReplaySummary:
    """Read `source` (opened here) into a new analytics store and switch it in."""
    total = await source.open()
    try:
        if not isinstance(total, int):
            total = total.total
        with AtomicTarget(target, parquet_dir) as out:
            con = warehouse.connect(out.build_path, out.work)
            # while the source reads (one Python thread), DuckDB parses on the other cores
            con.execute(f"SET threads = {max(1, (os.cpu_count() or 2) - 1)}")
            # what a source hands over is upcast by the contracts' registry, as services read it
            spool = Spool(
                out.work,
                lambda p: warehouse.load(con, [p]),
                chunk_lines=chunk_lines,
                upcasters=UPCASTERS,
            )
            try:
                with progress.task("reading events", total) as advance:
                    read = await source.read(spool, advance)
                with progress.task("loading into DuckDB", None):
                    await blocking(con, spool.finish)
                    warehouse.load(con, [])  # an empty range still makes (empty) tables
                con.execute("RESET threads")
            except BaseException:
                con.interrupt()
                spool.abort()
                con.close()
                raise
            try:
                info = {"source": source.describe()}
                plan = getattr(source, "plan", None)
                if plan is not None:
                    info["offsets"] = plan.describe()
                with progress.task("building tables", None):
                    result = await blocking(
                        con, lambda: warehouse.build(con, flt, info, lines=spool.lines)
                    )
                if parquet_dir is not None:
                    with progress.task("writing Parquet", None):
                        await blocking(con, warehouse.export_parquet, con, out.parquet_work)
                await blocking(con, con.execute, "CHECKPOINT")
            finally:
                con.close()
            parquet = out.commit()
        return ReplaySummary(target, read, result, parquet)
    finally:
        await source.close()
