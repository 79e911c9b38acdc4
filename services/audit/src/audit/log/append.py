"""One batch of Kafka records -> leaves, nodes, tree state and offsets, in ONE transaction.

Exactly-once append by construction
    The Kafka offsets the log has consumed live in `consumer_offsets`, written in the same
    PostgreSQL transaction as the leaves they produced. Nothing is ever committed to Kafka:
    on start (and after any failed transaction) the appender seeks every partition to the
    offsets stored here. A crash before COMMIT leaves neither the leaves nor the offsets, so
    the records are read again; a crash after COMMIT leaves both, so they are not. There is no
    window in between, hence no record is missing or doubled, whatever the crash. As a second
    guard, records below the stored offset are skipped inside the transaction (a stale
    consumer can never append twice) and every event_id is appended at most once. A record that
does not continue its partition (a jump forward, a lower offset that is not a replay of what
is logged) halts that partition instead (`audit.log.gaps`).

Single writer
    The transaction starts with ``SELECT ... FROM tree_state WHERE id = 1 FOR UPDATE``: two
    writers are serialized, and each extends the tree from the state the previous one
    committed (the frontier is read under the lock). The appender process additionally holds
    an advisory-lock lease (`audit.log.lease`) so only one instance consumes at all.

Cost: one round trip for the lock, one for dedup (+ one to read offsets), three COPYs, two
small statements: O(batch + log n) hashing (`tlog.tree.append_to_frontier`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
import orjson

from tlog.tree import append_to_frontier

from .gaps import Halt, open_halts, raise_halt
from .leaf import LeafBuilder, LeafRecord

log = logging.getLogger("audit.log.append")

LEAF_COLUMNS = (
    "idx",
    "event_id",
    "leaf",
    "leaf_hash",
    "topic",
    "partition",
    "offset",
    "event_type",
    "stream_id",
    "correlation_id",
    "occurred_at",
    "actor_id",
    "org_id",
    "tier",
    "status",
    "reject_reason",
)


class Record(Protocol):
    """What the appender needs of a Kafka record (aiokafka's ConsumerRecord fits)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


@dataclass
class AppendOutcome:
    size_before: int
    size: int
    root: bytes
    appended: int = 0
    rejected: int = 0
    duplicates: int = 0
    stale: int = 0
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    stream_ids: set[str] = field(default_factory=set)
    held: int = 0  # records of halted partitions: neither appended nor skipped past
    halts: list[tuple[int, Halt]] = field(default_factory=list)


def leaf_row(idx: int, r: LeafRecord) -> tuple[Any, ...]:
    return (
        idx,
        r.event_id,
        r.leaf,
        r.leaf_hash,
        r.topic,
        r.partition,
        r.offset,
        r.event_type,
        r.stream_id,
        r.correlation_id,
        r.occurred_at,
        r.actor_id,
        r.org_id,
        r.tier,
        r.status,
        r.reject_reason,
    )


BeforeCommit = Callable[[asyncpg.Connection, AppendOutcome], Awaitable[None]]
OnHalt = Callable[[asyncpg.Connection, int, Halt], Awaitable[None]]
"""Called in the append's transaction for each halt it raises (the anomaly flag)."""


async def _is_replay(
    conn: asyncpg.Connection, builder: LeafBuilder, raw: Record, rec: LeafRecord
) -> str | None:
    """None when `raw` (below the expected offset) is what the log holds for it: the leaf
    at its offset, or (an event once skipped as a re-delivery) the leaf of its event_id,
    with the same content. Otherwise why not."""
    q = """SELECT l.event_id, l.leaf, p.idx IS NOT NULL AS has_pd, p.salt
           FROM leaves l LEFT JOIN personal_data p ON p.idx = l.idx WHERE """
    row = await conn.fetchrow(
        q + 'l.topic = $1 AND l."partition" = $2 AND l."offset" = $3 ORDER BY l.idx LIMIT 1',
        raw.topic,
        raw.partition,
        raw.offset,
    )
    if row is None and rec.event_id is not None:
        row = await conn.fetchrow(q + "l.event_id = $1", rec.event_id)
    if row is None:
        return f"nothing is logged for offset {raw.offset}"
    if row["event_id"] != rec.event_id:
        return f"offset {raw.offset} now holds event {rec.event_id}, the log has {row['event_id']}"
    if rec.personal is None or not row["has_pd"]:
        cand: bytes | None = rec.leaf
    else:
        cand = builder.releaf(rec, row["salt"])  # None: the salt was erased, cannot compare
    if cand is not None and cand != bytes(row["leaf"]):
        return f"offset {raw.offset} holds other content than the logged leaf"
    return None


async def _dedup(
    conn: asyncpg.Connection, builder: LeafBuilder, built: list[LeafRecord]
) -> tuple[list[LeafRecord], int]:
    """Drop re-deliveries of logged events; keep a conflicting duplicate as a rejected leaf."""
    ids = [r.event_id for r in built if r.event_id is not None]
    existing: dict[uuid.UUID, asyncpg.Record] = {}
    if ids:
        # personal_data is looked up only for the leaves found (re-deliveries, rare): as a
        # LEFT JOIN the planner hashed the whole of personal_data on every append until the
        # table was large (1,600 rows read per case at 57 cases/s, bench/PIPELINE.md)
        rows = await conn.fetch(
            """SELECT l.idx, l.event_id, l.leaf, p.idx IS NOT NULL AS has_pd, p.salt
               FROM leaves l LEFT JOIN LATERAL (
                   SELECT idx, salt FROM personal_data WHERE idx = l.idx OFFSET 0) p ON true
               WHERE l.event_id = ANY($1::uuid[])""",
            ids,
        )
        existing = {r["event_id"]: r for r in rows}
    out: list[LeafRecord] = []
    in_batch: dict[uuid.UUID, LeafRecord] = {}
    dups = 0
    for rec in built:
        eid = rec.event_id
        if eid is None:
            out.append(rec)
            continue
        first = in_batch.get(eid)
        if first is not None:
            cand = builder.releaf(rec, first.personal.salt if first.personal else None)
            if cand is None or cand == first.leaf:
                dups += 1
            else:
                out.append(builder.conflicting_duplicate(rec, -1))
            continue
        row = existing.get(eid)
        if row is not None:
            if rec.personal is None or not row["has_pd"]:
                cand = rec.leaf
            else:
                cand = builder.releaf(rec, row["salt"])  # None if the salt was erased
            if cand is None or cand == bytes(row["leaf"]):
                dups += 1
            else:
                out.append(builder.conflicting_duplicate(rec, row["idx"]))
            continue
        in_batch[eid] = rec
        out.append(rec)
    return out, dups


def build_records(builder: LeafBuilder, records: Sequence[Record]) -> list[LeafRecord]:
    """The CPU half of an append (validation, redaction, hashing): pure, thread-safe."""
    return [
        builder.from_record(r.topic, r.partition, r.offset, r.value, r.headers) for r in records
    ]


BUILD_CHUNK = 16
"""Records built between two yields to the event loop in `build_records_interleaved` (about
half a millisecond of work: a PostgreSQL answer to the append in flight waits at most that)."""


async def build_records_interleaved(
    builder: LeafBuilder, records: Sequence[Record], chunk: int = BUILD_CHUNK
) -> list[LeafRecord]:
    """`build_records`, yielding to the event loop every `chunk` records, so that an append
    running in another task keeps exchanging round trips with PostgreSQL meanwhile."""
    out: list[LeafRecord] = []
    for i in range(0, len(records), chunk):
        if i:
            await asyncio.sleep(0)
        out.extend(build_records(builder, records[i : i + chunk]))
    return out


class AppendPipeline:
    """Appends batches one transaction after another, building batch N+1 while batch N's
    transaction runs.

    Building (validation, redaction, hashing) is pure CPU and needs nothing from the database;
    the transaction is mostly waiting for PostgreSQL, which runs on another core. Done one
    after the other, an append of 1,000 entries costs the sum of the two; overlapped, about
    the larger (bench/audit_log.py measures this path). The transactions themselves stay
    strictly sequential (`push` waits for the previous one before starting the next), so the
    exactly-once argument of the module docstring is unchanged: a failed transaction is
    reported by the `push` or `drain` after it, and the caller starts over from the stored
    offsets, discarding the batch that was built in the meantime.

    One pipeline per connection; nothing else may use the connection while `busy`."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        builder: LeafBuilder,
        before_commit: BeforeCommit | None = None,
        on_halt: OnHalt | None = None,
    ) -> None:
        self.conn = conn
        self.builder = builder
        self.before_commit = before_commit
        self.on_halt = on_halt
        self._pending: asyncio.Future[AppendOutcome] | None = None

    @property
    def busy(self) -> bool:
        return self._pending is not None

    async def push(self, records: Sequence[Record]) -> AppendOutcome | None:
        """Build `records`, wait for the append in flight (its outcome is returned; its error
        raised), then start appending these. None when nothing was in flight."""
        built = await build_records_interleaved(self.builder, records)
        previous = await self.drain()
        self._pending = asyncio.ensure_future(
            append_records(
                self.conn,
                self.builder,
                records,
                built=built,
                before_commit=self.before_commit,
                on_halt=self.on_halt,
            )
        )
        return previous

    async def drain(self) -> AppendOutcome | None:
        """Wait for the append in flight, if any: its outcome (or its error)."""
        pending, self._pending = self._pending, None
        return None if pending is None else await pending

    async def abort(self) -> None:
        """Cancel the append in flight (its transaction rolls back) and forget it."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending


async def append_records(
    conn: asyncpg.Connection,
    builder: LeafBuilder,
    records: Sequence[Record],
    *,
    built: Sequence[LeafRecord] | None = None,
    before_commit: BeforeCommit | None = None,
    on_halt: OnHalt | None = None,
) -> AppendOutcome:
    """Append `records` (in the given order) in one transaction; see the module docstring.

    `built` are the records' `build_records` (computed here if not given)."""
    if built is None:
        built = build_records(builder, records)
    async with conn.transaction():
        state = await conn.fetchrow(
            "SELECT size, root, frontier FROM tree_state WHERE id = 1 FOR UPDATE"
        )
        size0 = int(state["size"])
        keys = sorted({(r.topic, r.partition) for r in records})
        stored: dict[tuple[str, int], int] = {}
        if keys:
            rows = await conn.fetch(
                """SELECT c.topic, c.partition, c.next_offset FROM consumer_offsets c
                   JOIN unnest($1::text[], $2::int[]) AS k(topic, partition)
                     ON c.topic = k.topic AND c.partition = k.partition""",
                [k[0] for k in keys],
                [k[1] for k in keys],
            )
            stored = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        fresh: list[LeafRecord] = []
        next_offsets: dict[tuple[str, int], int] = {}
        stale = held = 0
        blocked = set(await open_halts(conn)) if keys else set()
        halts: list[Halt] = []
        for raw, rec in zip(records, built, strict=True):
            key = (raw.topic, raw.partition)
            if key in blocked:
                held += 1  # halted: waits for an operator's decision (audit.log.gaps)
                continue
            expected = next_offsets.get(key, stored.get(key))
            if expected is None or raw.offset == expected:
                next_offsets[key] = raw.offset + 1
                fresh.append(rec)
                continue
            where = f"{raw.topic}:{raw.partition}"
            if raw.offset > expected:
                halts.append(
                    Halt(
                        raw.topic,
                        raw.partition,
                        "offset_jump",
                        f"{where} jumped from offset {expected} to {raw.offset}: offsets "
                        f"{expected}..{raw.offset - 1} never reached the log",
                        expected,
                        raw.offset,
                    )
                )
            elif (why := await _is_replay(conn, builder, raw, rec)) is None:
                stale += 1  # a replay of what is logged
                continue
            else:
                halts.append(
                    Halt(
                        raw.topic,
                        raw.partition,
                        "offset_rewound",
                        f"{where} went back from offset {expected} to {raw.offset} and it is "
                        f"not a replay of the log: {why}",
                        expected,
                        raw.offset,
                    )
                )
            blocked.add(key)
            held += 1
        kept, dups = await _dedup(conn, builder, fresh)
        outcome = AppendOutcome(
            size0, size0, bytes(state["root"]), duplicates=dups, stale=stale, held=held
        )
        for h in halts:
            hid = await raise_halt(conn, h)
            if hid is not None:
                outcome.halts.append((hid, h))
                if on_halt is not None:
                    await on_halt(conn, hid, h)
        outcome.offsets = next_offsets
        if kept:
            res = append_to_frontier(size0, list(state["frontier"]), [r.leaf_hash for r in kept])
            await conn.copy_records_to_table(
                "leaves",
                records=[leaf_row(size0 + i, r) for i, r in enumerate(kept)],
                columns=LEAF_COLUMNS,
            )
            await conn.copy_records_to_table(
                "nodes",
                records=[(lvl, idx, h) for (lvl, idx), h in res.new_nodes.items()],
                columns=("level", "idx", "hash"),
            )
            personal = [
                (
                    size0 + i,
                    r.event_id,
                    r.personal.salt,
                    orjson.dumps(r.personal.fields).decode(),
                    orjson.dumps(r.personal.keyed).decode(),
                )
                for i, r in enumerate(kept)
                if r.personal is not None
            ]
            if personal:
                await conn.copy_records_to_table(
                    "personal_data",
                    records=personal,
                    columns=("idx", "event_id", "salt", "fields", "keyed"),
                )
            root = res.root
            await conn.execute(
                """UPDATE tree_state SET size = $1, root = $2, frontier = $3::bytea[],
                          updated_at = now() WHERE id = 1""",
                res.size,
                root,
                [h for _, h in res.frontier],
            )
            outcome.size = res.size
            outcome.root = root
            outcome.appended = len(kept)
            outcome.rejected = sum(1 for r in kept if r.status == "rejected")
            outcome.stream_ids = {r.stream_id for r in kept if r.stream_id}
        if next_offsets:
            await conn.execute(
                """INSERT INTO consumer_offsets (topic, partition, next_offset)
                   SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
                   ON CONFLICT (topic, partition) DO UPDATE
                   SET next_offset = GREATEST(consumer_offsets.next_offset,
                                              EXCLUDED.next_offset)""",
                [k[0] for k in next_offsets],
                [k[1] for k in next_offsets],
                list(next_offsets.values()),
            )
        if before_commit is not None:
            await before_commit(conn, outcome)
    return outcome
