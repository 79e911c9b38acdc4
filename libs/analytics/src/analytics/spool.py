"""The replay's spool: envelope bytes written to NDJSON chunk files, each finished chunk loaded
into DuckDB on a worker thread while the source goes on reading.

Reading (Python, one core: the Kafka client decodes record batches) and parsing (DuckDB, C++,
releases the GIL) then overlap instead of running one after the other; with the sink doing
nothing per event but `b"\\n".join`, the replay keeps pace with a bare consumer.

Old event versions are upcast here (pure dict -> dict steps of `eventkit.upcasting`) before
they reach the file; with no upcaster registered, as today, that costs nothing.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import orjson

from eventkit.upcasting import UpcasterRegistry, default_registry

PAUSE_ENV = "BIANMIN_REPLAY_TEST_PAUSE_AFTER"
"""Tests only: after this many events the replay says so on stderr and stops still, so a test
can kill it mid-way without racing it."""


async def pause_if_asked(events: int, mark: list[int | None]) -> None:
    """Tests only (`BIANMIN_REPLAY_TEST_PAUSE_AFTER`): once `events` passes the mark, say so on
    stderr and stand still until interrupted or killed. `mark` holds the threshold (None
    once used)."""
    if mark[0] is not None and events >= mark[0]:
        mark[0] = None
        print(f"replay paused after {events} events", file=sys.stderr, flush=True)
        while True:
            await asyncio.sleep(3600)


def pause_mark() -> list[int | None]:
    value = os.environ.get(PAUSE_ENV)
    return [int(value) if value else None]


class Spool:
    def __init__(
        self,
        directory: Path,
        loader: Callable[[Path], int],
        *,
        chunk_lines: int = 200_000,
        upcasters: UpcasterRegistry | None = None,
    ) -> None:
        self.directory = directory
        self.loader = loader
        self.chunk_lines = chunk_lines
        registry = upcasters if upcasters is not None else default_registry
        self.upcasters = registry if registry.steps() else None
        self.lines = 0
        self.loaded = 0
        self._chunk = 0
        self._in_chunk = 0
        self._file = self._open()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-load")
        self._futures: list[Future[int]] = []
        self._pause = pause_mark()

    def _open(self):  # type: ignore[no-untyped-def]
        self._chunk += 1
        self._in_chunk = 0
        return (self.directory / f"chunk-{self._chunk:05d}.ndjson").open("wb")

    def write(self, values: Sequence[bytes]) -> None:
        if not values:
            return
        if self.upcasters is not None:
            values = [self._upcast(v) for v in values]
        self._file.write(b"\n".join(values))
        self._file.write(b"\n")
        self.lines += len(values)
        self._in_chunk += len(values)
        if self._in_chunk >= self.chunk_lines:
            self._rotate()

    def add_chunk(self, path: Path, lines: int) -> None:
        """A chunk file written by someone else (a Kafka reading process): load it."""
        self.lines += lines
        self._futures.append(self._pool.submit(self._load, path))

    async def pause_point(self, events: int | None = None) -> None:
        await pause_if_asked(self.lines if events is None else events, self._pause)

    def _upcast(self, value: bytes) -> bytes:
        assert self.upcasters is not None
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value  # DuckDB rejects the line; the count of rejected lines reports it
        new = self.upcasters.upcast(data)
        return value if new is data else orjson.dumps(new, option=orjson.OPT_SORT_KEYS)

    def _rotate(self) -> None:
        self._file.close()
        path = Path(self._file.name)
        self._futures.append(self._pool.submit(self._load, path))
        self._file = self._open()

    def _load(self, path: Path) -> int:
        if not path.exists() or path.stat().st_size == 0:
            path.unlink(missing_ok=True)
            return 0
        n = self.loader(path)
        path.unlink(missing_ok=True)
        return n

    def finish(self) -> int:
        """Load the last chunk, wait for every load; the number of rows loaded."""
        self._rotate()
        self._file.close()
        Path(self._file.name).unlink(missing_ok=True)
        try:
            self.loaded = sum(f.result() for f in self._futures)
        finally:
            self._pool.shutdown(wait=True)
        return self.loaded

    def abort(self) -> None:
        self._file.close()
        for f in self._futures:
            f.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
