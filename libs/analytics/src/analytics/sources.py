"""Where replayed envelopes come from: Kafka topics, a service's event store, or a file.

Every source hands canonical envelope bytes (one JSON object per line) to the replay's
spool and never decodes them: parsing is DuckDB's job (see `warehouse`). A source reads a
FIXED range — Kafka up to the end offsets taken when the replay starts, the store up to the
rows it held then — so a replay is "the history as of its start", even while services keep
writing.

Kafka is read by `analytics.reader` processes, one per group of partitions, each with a
group-less consumer (`assign`, no commits): a replay never moves any service's consumer
group, never produces, and can run any number of times.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from eventkit.kafka_security import client_kwargs

from .errors import BadInput, ReplayFailed

Advance = Callable[[int], None]

SEEK_MARGIN = timedelta(hours=1)
"""`--since` seeks this much earlier by record timestamp: a relay publishes an event a little
after it occurred, so its record timestamp is at or after `occurred_at`."""


def consumer_settings(bootstrap: str) -> dict[str, Any]:
    """The settings of every reading consumer here, and of the benchmark's raw consumer."""
    return {
        "bootstrap_servers": bootstrap,
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_bytes": 64 * 1024 * 1024,
        "max_partition_fetch_bytes": 16 * 1024 * 1024,
        "fetch_max_wait_ms": 200,
        "request_timeout_ms": 30_000,
        **client_kwargs(),
    }


async def describe_topics(
    bootstrap: str, topics: Sequence[str]
) -> tuple[set[str], dict[str, list[int]]]:
    """(every topic the broker has, partitions of each wanted topic that exists). Asked of
    the admin API: a group-less consumer only learns the partitions of subscribed topics."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30_000, **client_kwargs()
    )
    try:
        await admin.start()
    except KafkaError as exc:
        raise ReplayFailed(
            f"cannot reach Kafka at {bootstrap}: {exc} (KAFKA_SASL_* logs in)"
        ) from exc
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t in existing]
        parts: dict[str, list[int]] = {}
        if wanted:
            for d in await admin.describe_topics(wanted):
                if not d.get("error_code"):
                    parts[d["topic"]] = sorted(p["partition"] for p in d["partitions"])
        return existing, parts
    finally:
        await admin.close()


@dataclass
class KafkaPlan:
    """Start and end offset of every partition to read."""

    start: dict[Any, int]
    end: dict[Any, int]

    @property
    def total(self) -> int:
        return sum(max(0, self.end[tp] - self.start[tp]) for tp in self.end)

    def describe(self) -> dict[str, str]:
        return {
            f"{tp.topic}:{tp.partition}": f"{self.start[tp]}..{self.end[tp]}"
            for tp in sorted(self.end, key=lambda t: (t.topic, t.partition))
        }


@dataclass
class KafkaSource:
    bootstrap: str
    topics: tuple[str, ...]
    since: datetime | None = None
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    max_workers: int | None = None
    _consumer: Any = None
    plan: KafkaPlan | None = None

    def describe(self) -> dict[str, Any]:
        return {"kind": "kafka", "topics": list(self.topics)}

    async def open(self) -> KafkaPlan:
        """Connect, check the topics and offsets, fix the range to read."""
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.errors import KafkaError

        existing, partitions = await describe_topics(self.bootstrap, self.topics)
        for t in self.topics:
            if t not in existing:
                known = sorted(x for x in existing if not x.startswith("__"))
                raise BadInput(
                    "--topic", f"unknown topic {t!r} (the broker has: {', '.join(known[:30])})"
                )
        for topic, _p in self.offsets:
            if topic not in self.topics:
                raise BadInput("--offsets", f"topic {topic!r} is not among the replayed topics")
        tps = [TopicPartition(t, p) for t in self.topics for p in partitions.get(t, [])]
        for (topic, p), _o in self.offsets.items():
            if TopicPartition(topic, p) not in tps:
                raise BadInput("--offsets", f"{topic} has no partition {p}")
        consumer = AIOKafkaConsumer(**consumer_settings(self.bootstrap))
        try:
            await consumer.start()
        except KafkaError as exc:
            raise ReplayFailed(
                f"cannot reach Kafka at {self.bootstrap}: {exc} (KAFKA_SASL_* logs in)"
            ) from exc
        self._consumer = consumer
        try:
            consumer.assign(tps)
            begin = await consumer.beginning_offsets(tps)
            end = await consumer.end_offsets(tps)
            start = dict(begin)
            if self.since is not None:
                ts = int((self.since - SEEK_MARGIN).timestamp() * 1000)
                found = await consumer.offsets_for_times(dict.fromkeys(tps, ts))
                for tp, ot in found.items():
                    start[tp] = end[tp] if ot is None else max(begin[tp], ot.offset)
            for (topic, p), offset in self.offsets.items():
                tp = TopicPartition(topic, p)
                if not begin[tp] <= offset <= end[tp]:
                    raise BadInput(
                        "--offsets",
                        f"{topic}:{p}={offset} is outside the partition ({begin[tp]}..{end[tp]})",
                    )
                start[tp] = offset
            for tp in tps:
                consumer.seek(tp, start[tp])
            self.plan = KafkaPlan(start, end)
            return self.plan
        except BaseException:
            await self.close()
            raise

    async def read(self, spool: Any, advance: Advance) -> int:
        """Read the planned range with one consumer process per group of partitions; each
        writes its own NDJSON chunks into the spool's folder and reports them, and the spool
        loads them into DuckDB as they come.

        Why processes: decoding Kafka record batches is Python work, so one consumer is bound
        to one core; split by partition, reading scales with the cores (measured: 3 processes
        read 1M events twice as fast as one, on 2 cores with the broker beside them).
        """
        assert self.plan is not None, "open() first"
        # the planning consumer is not needed any more: the workers have their own
        await self.close()
        work = [
            (tp.topic, tp.partition, self.plan.start[tp], self.plan.end[tp])
            for tp in sorted(self.plan.end, key=lambda t: (t.topic, t.partition))
            if self.plan.start[tp] < self.plan.end[tp]
        ]
        if not work:
            return 0
        workers = min(len(work), self.max_workers or max(2, (os.cpu_count() or 1) + 1))
        groups = [work[i::workers] for i in range(workers)]
        return await _run_workers(self.bootstrap, groups, spool, advance)

    async def batches(self) -> AsyncIterator[list[Any]]:
        """The planned range in this process, as lists of records (for republishing, where
        the records' keys and headers matter, not only their values)."""
        assert self._consumer is not None and self.plan is not None, "open() first"
        consumer, end = self._consumer, self.plan.end
        pending = {tp for tp in end if self.plan.start[tp] < end[tp]}
        done = [tp for tp in end if tp not in pending]
        if done:
            consumer.pause(*done)
        async for batch in to_end(consumer, end, pending, max_records=5_000):
            for records in batch.values():
                yield records

    async def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            try:
                await consumer.stop()
            except asyncio.CancelledError:
                # aiokafka's stop() can surface the cancellation of its own internal task;
                # only a cancellation of OUR task must go on
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise


async def to_end(
    consumer: Any,
    end: dict[Any, int],
    pending: set[Any],
    *,
    max_records: int,
    keep_going: Callable[[], bool] = lambda: True,
) -> AsyncIterator[dict[Any, list[Any]]]:
    """Each poll of `consumer` (assigned and seeked) until every partition of `pending` has
    reached its planned end offset (`end`, exclusive): the records of each partition, cut
    at its end; a partition is paused once it is there. How a replay reads a planned range,
    in this process (`batches`) and in the reading processes (`analytics.reader`).

    Compaction or transaction markers can leave a partition's last offsets empty, so an
    empty poll checks the positions. `ReplayFailed` after 60 s without a record; it stops
    at once, before the next poll, when `keep_going()` is false."""
    idle = 0
    while pending and keep_going():
        batch = await consumer.getmany(timeout_ms=500, max_records=max_records)
        if not batch:
            idle += 1
            for tp in list(pending):
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
                    consumer.pause(tp)
            if idle > 120:
                waiting = sorted(map(str, pending))
                raise ReplayFailed(f"no records for 60 s; still waiting on {waiting}")
            continue
        idle = 0
        cut: dict[Any, list[Any]] = {}
        for tp, records in batch.items():
            if records[-1].offset >= end[tp] - 1:
                records = [r for r in records if r.offset < end[tp]]
                pending.discard(tp)
                consumer.pause(tp)
            if records:
                cut[tp] = records
        yield cut


# -- the Kafka reading processes ------------------------------------------------------------------
async def _run_workers(
    bootstrap: str, groups: list[list[tuple[str, int, int, int]]], spool: Any, advance: Advance
) -> int:
    """Start one `python -m analytics.reader` per group; follow their reports on stdout."""
    procs = []
    for i, group in enumerate(groups):
        job = {
            "bootstrap": bootstrap,
            "assignments": group,
            "directory": str(spool.directory),
            "name": f"w{i}",
            "chunk_lines": spool.chunk_lines,
            "parent": os.getpid(),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "analytics.reader",
            json.dumps(job),
            stdout=asyncio.subprocess.PIPE,
        )
        procs.append(proc)
    total = 0

    async def follow(proc: asyncio.subprocess.Process) -> None:
        nonlocal total
        assert proc.stdout is not None
        finished = False
        async for raw in proc.stdout:
            kind, _, rest = raw.decode().strip().partition(" ")
            if kind == "n":
                total += int(rest)
                advance(int(rest))
                await spool.pause_point(total)
            elif kind == "chunk":
                path, lines = rest.rsplit(" ", 1)
                spool.add_chunk(Path(path), int(lines))
            elif kind == "done":
                finished = True
            elif kind == "error":
                raise ReplayFailed(f"Kafka reader failed: {rest}")
        code = await proc.wait()
        if code != 0 or not finished:
            raise ReplayFailed(f"a Kafka reader exited with status {code}")

    try:
        await asyncio.gather(*(follow(p) for p in procs))
        return total
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()


@dataclass
class StoreSource:
    """A service's PostgreSQL event store (`events` table), in global order (xid8 rule)."""

    dsn: str
    schema: str = "public"
    batch: int = 20_000
    _conn: Any = None
    total: int = 0

    def describe(self) -> dict[str, Any]:
        return {"kind": "store", "schema": self.schema}

    async def open(self) -> int:
        import asyncpg

        try:
            conn = await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema})
        except (OSError, asyncpg.PostgresError, ValueError) as exc:
            raise BadInput("--from-store", f"cannot open the store: {exc}") from None
        self._conn = conn
        if not await conn.fetchval("SELECT to_regclass('events') IS NOT NULL"):
            await self.close()
            raise BadInput("--from-store", f"no `events` table in schema {self.schema!r}")
        self.total = int(await conn.fetchval("SELECT count(*) FROM events"))
        return self.total

    async def read(self, spool: Any, advance: Advance) -> int:
        from eventkit.store import START, read_all_raw

        assert self._conn is not None, "open() first"
        after, count = START, 0
        while True:
            rows = await read_all_raw(self._conn, after, self.batch)
            if not rows:
                return count
            spool.write([bytes(r.data) for r in rows])
            count += len(rows)
            advance(len(rows))
            await spool.pause_point()
            after = rows[-1].checkpoint
            if count >= self.total:
                # a fixed range: rows committed after the replay started wait for the next one
                return count

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()


@dataclass
class AuditLogSource:
    """The audit log's accepted leaves (every service's events, personal values salt-hashed),
    in log order, up to the log's size when the replay starts: what the audit's situation
    reports are generated from (`audit.sitreport`). Read-only, like every source."""

    dsn: str
    schema: str = "public"
    batch: int = 20_000
    _conn: Any = None
    total: int = 0
    _size: int = 0

    def describe(self) -> dict[str, Any]:
        return {"kind": "audit_log", "schema": self.schema}

    async def open(self) -> int:
        import asyncpg

        try:
            conn = await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema})
        except (OSError, asyncpg.PostgresError, ValueError) as exc:
            raise BadInput("--from-audit-log", f"cannot open the audit log: {exc}") from None
        self._conn = conn
        if not await conn.fetchval("SELECT to_regclass('leaves') IS NOT NULL"):
            await self.close()
            raise BadInput("--from-audit-log", f"no `leaves` table in schema {self.schema!r}")
        self._size = int(await conn.fetchval("SELECT size FROM tree_state"))
        self.total = int(
            await conn.fetchval(
                "SELECT count(*) FROM leaves WHERE idx < $1 AND status = 'accepted'", self._size
            )
        )
        return self.total

    async def read(self, spool: Any, advance: Advance) -> int:
        assert self._conn is not None, "open() first"
        after, count = -1, 0
        while after + 1 < self._size:
            rows = await self._conn.fetch(
                """SELECT idx, leaf FROM leaves WHERE idx > $1 AND idx < $2
                   AND status = 'accepted' ORDER BY idx LIMIT $3""",
                after,
                self._size,
                self.batch,
            )
            if not rows:
                break
            spool.write([bytes(r["leaf"]) for r in rows])
            count += len(rows)
            advance(len(rows))
            await spool.pause_point()
            after = rows[-1]["idx"]
        return count

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()


@dataclass
class FileSource:
    """An NDJSON file of envelopes (what `bianmin generate --out` writes)."""

    path: Path
    total: int = 0

    def describe(self) -> dict[str, Any]:
        return {"kind": "file", "name": self.path.name}

    async def open(self) -> int:
        if not self.path.is_file():
            raise BadInput("--from-file", f"{self.path} is not a readable file")
        self.total = await asyncio.to_thread(_count_lines, self.path)
        return self.total

    async def read(self, spool: Any, advance: Advance) -> int:
        count = 0
        with self.path.open("rb") as f:
            while True:
                lines = f.readlines(8 * 1024 * 1024)
                if not lines:
                    return count
                values = [ln.rstrip(b"\n") for ln in lines if ln.strip()]
                spool.write(values)
                count += len(values)
                advance(len(values))
                await spool.pause_point()
                await asyncio.sleep(0)

    async def close(self) -> None:
        return None


def _count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        while block := f.read(8 * 1024 * 1024):
            n += block.count(b"\n")
    return n
