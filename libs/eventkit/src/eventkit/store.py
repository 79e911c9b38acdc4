"""The event store: PostgreSQL (production) and in memory (tests), one contract.

Append is one round trip (the `eventkit_append` function checks the expected version,
inserts the batch and returns positions). `event_id` is unique, so a retried append returns
the original positions and writes nothing. Global reads follow the xid8 snapshot rule of
ARCHITECTURE §4: a row is only handed out once every transaction that could have taken a
lower position has finished, so a tailing reader never skips an event and never waits on a
timeout to "skip a gap".

Reads go through one path, `EventReader` (the store's `reader`): whatever the query, the
stored bytes are decoded once, by `decode`, with the upcaster registry the store was built
with (`ServiceRuntime` gives it the service's), so no reader sees an old schema version while
another sees the new one. Services do not write SQL over `events` to read envelopes; a query
that must read them together with a lock or a table of its own decodes with `decode_rows`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
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


class EventReader:
    """The one read-and-decode path over an `events` table, on the caller's connection.

    Every read returns `Envelope`s already upcast by the registry given here, so no reader
    of the store can see an old schema version while another sees the new one. Services get
    theirs from their store (`PostgresEventStore.reader`, built by `ServiceRuntime` with the
    service's registry); a tool with only a connection builds one with the contracts'
    registry. A query that must read events along with something else of its own (a lock,
    another table) decodes its `envelope` column with `decode`/`decode_rows`."""

    # a few streams, each after its own version: one index range per stream (BitmapOr)
    _MAX_OR = 8

    def __init__(self, upcaster: Upcaster | None = None) -> None:
        self.upcaster = upcaster

    def decode(self, raw: bytes | dict[str, Any]) -> Envelope:
        """Stored `envelope` bytes (or their JSON dict) -> the envelope at its latest version."""
        return _decode(raw, self.upcaster)

    def decode_rows(self, raws: Iterable[bytes | dict[str, Any]]) -> list[Envelope]:
        return [_decode(r, self.upcaster) for r in raws]

    def decode_document(self, raw: bytes | dict[str, Any]) -> dict[str, Any]:
        """Upcast without validating: for stored documents shaped like an envelope that are
        not whole envelopes (audit's redacted leaves), read at the latest version too."""
        data: dict[str, Any] = raw if isinstance(raw, dict) else orjson.loads(raw)
        return self.upcaster.upcast(data) if self.upcaster is not None else data

    async def stream_version(self, conn: asyncpg.Connection, stream_id: str) -> int:
        """The stream's last version (0 for none), as `conn`'s transaction sees it."""
        v = await conn.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream_id
        )
        return int(v)

    async def read_stream(
        self, conn: asyncpg.Connection, stream_id: str, *, after_version: int = 0
    ) -> list[Envelope]:
        """The stream's events after `after_version`, in order."""
        rows = await conn.fetch(
            "SELECT envelope FROM events WHERE stream_id = $1 AND stream_version > $2"
            " ORDER BY stream_version",
            stream_id,
            after_version,
        )
        return [_decode(r[0], self.upcaster) for r in rows]

    async def read_streams(
        self, conn: asyncpg.Connection, streams: Mapping[str, int] | Sequence[str]
    ) -> dict[str, list[Envelope]]:
        """Several streams in one query: `{stream_id: after_version}` (a sequence of ids
        reads each whole). Every stream asked for is a key of the answer, in stream order.

        A few streams with versions (e.g. intake's submit: the catalog's catch-up and the
        case's stream) are one `OR` of index ranges, as a hand-written query would be; many
        streams read whole are one `= ANY` scan."""
        wanted = dict(streams) if isinstance(streams, Mapping) else dict.fromkeys(streams, 0)
        out: dict[str, list[Envelope]] = {s: [] for s in wanted}
        if not wanted:
            return out
        if len(wanted) <= self._MAX_OR or any(wanted.values()):
            args: list[Any] = []
            terms = []
            for sid, after in wanted.items():
                args += [sid, after]
                terms.append(f"(stream_id = ${len(args) - 1} AND stream_version > ${len(args)})")
            sql = (
                "SELECT stream_id, envelope FROM events WHERE "
                + " OR ".join(terms)
                + " ORDER BY stream_id, stream_version"
            )
            rows = await conn.fetch(sql, *args)
        else:
            rows = await conn.fetch(
                "SELECT stream_id, envelope FROM events WHERE stream_id = ANY($1::text[])"
                " ORDER BY stream_id, stream_version",
                list(wanted),
            )
        for sid, raw in rows:
            out[sid].append(_decode(raw, self.upcaster))
        return out

    async def read_prefix(
        self,
        conn: asyncpg.Connection,
        prefix: str,
        *,
        after_position: int = 0,
        limit: int = 1000,
    ) -> list[tuple[int, Envelope]]:
        """(global position, envelope) of the streams named `prefix…`, after a position, in
        store order: a keyset page for rebuilding a projection (no xid8 rule: for a reader
        that runs alone or inside one transaction; a tailing reader uses `read_all`)."""
        rows = await conn.fetch(
            "SELECT global_position, envelope FROM events WHERE starts_with(stream_id, $1)"
            " AND global_position > $2 ORDER BY global_position LIMIT $3",
            prefix,
            after_position,
            limit,
        )
        return [(r[0], _decode(r[1], self.upcaster)) for r in rows]

    async def read_all(
        self, conn: asyncpg.Connection, after: Checkpoint = START, limit: int = 1000
    ) -> list[StoredEvent]:
        """Every stream after a checkpoint, gap-free (the xid8 rule of `read_all_raw`)."""
        return [
            StoredEvent(r.checkpoint, _decode(r.data, self.upcaster))
            for r in await read_all_raw(conn, after, limit)
        ]


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
        reader: EventReader | None = None,
    ) -> None:
        """`reader`: the read path to share (the runtime's); else one over `upcaster`."""
        self.pool = pool
        self.reader = reader or EventReader(upcaster)
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

    @property
    def upcaster(self) -> Upcaster | None:
        return self.reader.upcaster

    def decode(self, raw: bytes | dict[str, Any]) -> Envelope:
        """The store's one decode: stored bytes -> envelope upcast to its latest version."""
        return self.reader.decode(raw)

    async def stream_version(
        self, stream_id: str, *, conn: asyncpg.Connection | None = None
    ) -> int:
        """The stream's last version; with `conn`, as that transaction sees it."""
        if conn is not None:
            return await self.reader.stream_version(conn, stream_id)
        async with self.pool.acquire() as c:
            return await self.reader.stream_version(c, stream_id)

    async def read_stream(
        self,
        stream_id: str,
        from_version: int = 1,
        *,
        conn: asyncpg.Connection | None = None,
    ) -> list[Envelope]:
        """The stream from `from_version` on, upcast; with `conn`, inside its transaction."""
        if conn is not None:
            return await self.reader.read_stream(conn, stream_id, after_version=from_version - 1)
        async with self.pool.acquire() as c:
            return await self.reader.read_stream(c, stream_id, after_version=from_version - 1)

    async def read_streams(
        self,
        streams: Mapping[str, int] | Sequence[str],
        *,
        conn: asyncpg.Connection | None = None,
    ) -> dict[str, list[Envelope]]:
        """Several streams in one query (`EventReader.read_streams`)."""
        if conn is not None:
            return await self.reader.read_streams(conn, streams)
        async with self.pool.acquire() as c:
            return await self.reader.read_streams(c, streams)

    async def read_all_raw(self, after: Checkpoint = START, limit: int = 1000) -> list[RawEvent]:
        async with self.pool.acquire() as c:
            return await read_all_raw(c, after, limit)

    async def read_all(self, after: Checkpoint = START, limit: int = 1000) -> list[StoredEvent]:
        async with self.pool.acquire() as c:
            return await self.reader.read_all(c, after, limit)


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
