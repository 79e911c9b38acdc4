"""The event store: PostgreSQL (production) and in memory (tests), one contract.

Append is one round trip (the `eventkit_append` function checks the expected version,
inserts the batch and returns positions). `event_id` is unique, so a retried append returns
the original positions and writes nothing. Global reads follow the xid8 snapshot rule of
ARCHITECTURE §4: a row is only handed out once every transaction that could have taken a
lower position has finished, so a tailing reader never skips an event and never waits on a
timeout to "skip a gap".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import orjson

from .envelope import Envelope
from .limits import MAX_EVENT_BYTES, check_max_event_bytes, too_large


@dataclass(frozen=True, order=True)
class Checkpoint:
    """Where a global reader stands: (transaction id, position) of the last row it took."""

    transaction_id: int = 0
    global_position: int = 0


START = Checkpoint()


@dataclass(frozen=True)
class Position:
    global_position: int
    stream_version: int


@dataclass(frozen=True)
class StoredEvent:
    checkpoint: Checkpoint
    envelope: Envelope


@dataclass(frozen=True)
class RawEvent:
    """A row as stored, undecoded: the canonical bytes plus the columns Kafka headers need,
    so the relay publishes without parsing or re-encoding anything."""

    checkpoint: Checkpoint
    stream_id: str
    event_id: str
    event_type: str
    schema_version: int
    correlation_id: str
    data: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        return dict(orjson.loads(self.data))


class ConcurrencyError(Exception):
    """The stream moved on: someone else appended first. Nothing was written."""

    def __init__(self, stream_id: str, expected: int | None, actual: int) -> None:
        super().__init__(f"stream {stream_id!r} is at version {actual}, expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateEventError(Exception):
    """Some (not all) of the event ids were already stored, with other content."""


class Upcaster(Protocol):
    def upcast(self, envelope: dict[str, Any]) -> dict[str, Any]: ...


class EventStore(Protocol):
    async def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[Envelope]
    ) -> list[Position]: ...

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]: ...

    async def read_all(self, after: Checkpoint = START, limit: int = 1000) -> list[StoredEvent]: ...

    async def stream_version(self, stream_id: str) -> int: ...


def _check_batch(stream_id: str, events: Sequence[Envelope]) -> None:
    if not events:
        raise ValueError("append needs at least one event")
    for e in events:
        if e.stream_id != stream_id:
            raise ValueError(
                f"event {e.event_id} belongs to stream {e.stream_id!r}, not {stream_id!r}"
            )
    if len({e.event_id for e in events}) != len(events):
        raise ValueError("the same event id appears twice in one append")


def _check_sizes(encoded: Sequence[bytes], limit: int) -> None:
    """Refuse the whole batch if one envelope could not be published (`eventkit.limits`):
    checked before anything is sent to the database, so a refusal writes nothing."""
    for data in encoded:
        refusal = too_large(data, limit)
        if refusal is not None:
            raise refusal


def _decode(row_envelope: bytes | dict[str, Any], upcaster: Upcaster | None) -> Envelope:
    data = row_envelope if isinstance(row_envelope, dict) else orjson.loads(row_envelope)
    if upcaster is not None:
        data = upcaster.upcast(data)
    return Envelope.model_validate(data)


class PostgresEventStore:
    """asyncpg-backed store over the `events` table of eventkit's migration.

    Every append is size-checked: an envelope whose canonical bytes exceed `max_event_bytes`
    raises `EventTooLarge` (naming the largest fields) and nothing is written."""

    # The happy path is this one statement: it inserts only if the stream is still at the
    # expected version. Zero rows back means "not at that version" (or a retry of a batch
    # already stored); two racing writers both passing the check collide on the unique
    # (stream_id, stream_version) key, so exactly one wins.
    _APPEND = """
        INSERT INTO events (stream_id, stream_version, event_id, event_type, schema_version,
                            occurred_at, correlation_id, envelope)
        SELECT $1, $2 + u.ord, u.id, u.typ, u.sv, u.at, u.corr, u.env
        FROM unnest($3::uuid[], $4::text[], $5::int[], $6::timestamptz[], $7::uuid[],
                    $8::bytea[]) WITH ORDINALITY AS u(id, typ, sv, at, corr, env, ord)
        WHERE (SELECT coalesce(max(e.stream_version), 0) FROM events e
               WHERE e.stream_id = $1) = $2
        ORDER BY u.ord
        RETURNING global_position, stream_version
    """
    _EXPLAIN_MISS = """
        SELECT (SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1),
               array_agg(ROW(event_id, stream_id, global_position, stream_version)
                         ORDER BY stream_version) FILTER (WHERE event_id IS NOT NULL)
        FROM events WHERE event_id = ANY ($2::uuid[])
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        upcaster: Upcaster | None = None,
        *,
        max_event_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self.pool = pool
        self.upcaster = upcaster
        self.max_event_bytes = check_max_event_bytes(max_event_bytes)
        self._listeners: list[Callable[[], None]] = []

    def on_append(self, callback: Callable[[], None]) -> None:
        """Called after each committed append in this process (e.g. to wake the relay)."""
        self._listeners.append(callback)

    def notify_appended(self) -> None:
        for cb in self._listeners:
            cb()

    async def append(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[Envelope],
        *,
        conn: asyncpg.Connection | None = None,
    ) -> list[Position]:
        """Append atomically. `expected_version=None` appends at the end whatever the version
        (optimistic retry). Raises `EventTooLarge` (nothing written) when an envelope could
        not be published. Pass `conn` to append inside the caller's transaction (e.g. a
        consumer's inbox transaction); the caller then calls `notify_appended()` after commit
        if it wants the relay woken at once."""
        _check_batch(stream_id, events)
        if expected_version is None:
            if conn is not None:
                raise ValueError("expected_version=None is not supported inside a transaction")
            for _ in range(20):
                current = await self.stream_version(stream_id)
                try:
                    return await self.append(stream_id, current, events)
                except ConcurrencyError:
                    continue
            raise ConcurrencyError(stream_id, None, await self.stream_version(stream_id))
        encoded = [
            e.model_copy(update={"stream_version": expected_version + i}).canonical()
            for i, e in enumerate(events, start=1)
        ]
        _check_sizes(encoded, self.max_event_bytes)
        args = (
            stream_id,
            expected_version,
            [e.event_id for e in events],
            [e.event_type for e in events],
            [e.schema_version for e in events],
            [e.occurred_at for e in events],
            [e.correlation_id for e in events],
            encoded,
        )
        try:
            if conn is not None:
                rows = await conn.fetch(self._APPEND, *args)
                if len(rows) != len(events):
                    return await self._explain_miss(conn, stream_id, expected_version, events)
            else:
                async with self.pool.acquire() as c:
                    rows = await c.fetch(self._APPEND, *args)
                    if len(rows) != len(events):
                        return await self._explain_miss(c, stream_id, expected_version, events)
        except asyncpg.UniqueViolationError as exc:
            if conn is None and exc.constraint_name == "events_event_id_key":
                # the same events were being appended concurrently: answer like a retry
                async with self.pool.acquire() as c:
                    return await self._explain_miss(c, stream_id, expected_version, events)
            if exc.constraint_name == "events_stream_version_key":
                actual = -1 if conn is not None else await self.stream_version(stream_id)
                raise ConcurrencyError(stream_id, expected_version, actual) from exc
            raise DuplicateEventError(str(exc)) from exc
        if conn is None:
            self.notify_appended()
        return sorted((Position(r[0], r[1]) for r in rows), key=lambda p: p.stream_version)

    async def _explain_miss(
        self, conn: asyncpg.Connection, stream_id: str, expected: int, events: Sequence[Envelope]
    ) -> list[Position]:
        """Nothing was inserted: a retry of a stored batch (return its positions), a partial
        overlap (refuse), or a stale expected version (ConcurrencyError with the actual)."""
        actual, found = await conn.fetchrow(
            self._EXPLAIN_MISS, stream_id, [e.event_id for e in events]
        )
        found = found or []
        if found:
            if len(found) == len(events) and all(f[1] == stream_id for f in found):
                return [Position(f[2], f[3]) for f in found]
            raise DuplicateEventError(
                "some of these event ids were already appended with other events"
            )
        raise ConcurrencyError(stream_id, expected, int(actual))

    async def stream_version(self, stream_id: str) -> int:
        async with self.pool.acquire() as c:
            v = await c.fetchval(
                "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1",
                stream_id,
            )
        return int(v)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]:
        async with self.pool.acquire() as c:
            rows = await c.fetch(
                "SELECT envelope FROM events WHERE stream_id = $1 AND stream_version >= $2"
                " ORDER BY stream_version",
                stream_id,
                from_version,
            )
        return [_decode(r[0], self.upcaster) for r in rows]

    async def read_all_raw(self, after: Checkpoint = START, limit: int = 1000) -> list[RawEvent]:
        async with self.pool.acquire() as c:
            return await read_all_raw(c, after, limit)

    async def read_all(self, after: Checkpoint = START, limit: int = 1000) -> list[StoredEvent]:
        return [
            StoredEvent(r.checkpoint, _decode(r.envelope, self.upcaster))
            for r in await self.read_all_raw(after, limit)
        ]


_READ_ALL = """
    SELECT transaction_id::text AS tx, global_position, stream_id, event_id::text AS id,
           event_type, schema_version, correlation_id::text AS corr, envelope
    FROM events
    WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
      AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY transaction_id, global_position
    LIMIT $3
"""


async def read_all_raw(
    conn: asyncpg.Connection, after: Checkpoint = START, limit: int = 1000
) -> list[RawEvent]:
    """Rows after `after`, only from transactions older than every running one (§4)."""
    rows = await conn.fetch(_READ_ALL, str(after.transaction_id), after.global_position, limit)
    return [RawEvent(Checkpoint(int(r[0]), r[1]), r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]


class InMemoryEventStore:
    """Same contract as the PostgreSQL store, for unit tests of handlers."""

    def __init__(
        self, upcaster: Upcaster | None = None, *, max_event_bytes: int = MAX_EVENT_BYTES
    ) -> None:
        self.upcaster = upcaster
        self.max_event_bytes = check_max_event_bytes(max_event_bytes)
        self._rows: list[tuple[Checkpoint, dict[str, Any]]] = []
        self._by_id: dict[str, Position] = {}
        self._versions: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._tx = 0

    async def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[Envelope]
    ) -> list[Position]:
        _check_batch(stream_id, events)
        _check_sizes([e.canonical() for e in events], self.max_event_bytes)
        async with self._lock:
            ids = [str(e.event_id) for e in events]
            known = [i for i in ids if i in self._by_id]
            if known:
                if len(known) == len(ids) and all(self._stream_of(i) == stream_id for i in ids):
                    return [self._by_id[i] for i in ids]
                raise DuplicateEventError("some of these event ids were already appended")
            current = self._versions.get(stream_id, 0)
            if expected_version is not None and current != expected_version:
                raise ConcurrencyError(stream_id, expected_version, current)
            self._tx += 1
            out = []
            for i, e in enumerate(events, start=1):
                version = current + i
                pos = len(self._rows) + 1
                data = e.to_json_dict()
                data["stream_version"] = version
                self._rows.append((Checkpoint(self._tx, pos), data))
                self._by_id[str(e.event_id)] = Position(pos, version)
                out.append(Position(pos, version))
            self._versions[stream_id] = current + len(events)
            return out

    def _stream_of(self, event_id: str) -> str:
        pos = self._by_id[event_id].global_position
        return str(self._rows[pos - 1][1]["stream_id"])

    async def stream_version(self, stream_id: str) -> int:
        return self._versions.get(stream_id, 0)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]:
        return [
            _decode(d, self.upcaster)
            for _, d in self._rows
            if d["stream_id"] == stream_id and d["stream_version"] >= from_version
        ]

    async def read_all(self, after: Checkpoint = START, limit: int = 1000) -> list[StoredEvent]:
        return [StoredEvent(cp, _decode(d, self.upcaster)) for cp, d in self._rows if cp > after][
            :limit
        ]
