"""`bianmin replay projection`: blue/green rebuild of a service's projection from its store.

The projection's OWN code does the folding (for intake's `applications`, the same `apply`
the command edge calls in the append transaction), so a rebuilt table is what the service
would have written. Nothing else runs: no consumer, no relay, no dispatcher, no anomaly rule
— a rebuild cannot send a message, publish an event or flag anything twice. Which
projections exist is the caller's list (`resolve`): the `bianmin` application
(`tools/bianmin`) names the services' `apply`; this library imports no service.

How the switch works, with the service running:

1. **green is built beside blue.** `<schema>_bianmin_next.<table>` gets the live table's
   columns, defaults and constraints (`LIKE`, then the same primary/unique constraints
   under the same names), and every event of the store is folded into it in global order
   (the xid8 rule of `eventkit.store.read_all_raw`: no event skipped, however transactions
   interleave). The service keeps reading and writing blue meanwhile. A second connection
   whose `search_path` is `next, <schema>` makes the projection code's unqualified table
   name mean green and `events` still mean the store.
2. **caught up, then indexed**: the fold repeats until a read returns nothing new; then
   the secondary indexes are created (cheaper than maintaining them while folding).
3. **switched in one transaction**: `LOCK blue IN EXCLUSIVE MODE` (writers wait, readers go
   on), apply what committed since the last read — every stream with a newer event is
   re-folded from its first event, so an event committed "out of order" is never missed —
   then move blue to `<schema>_bianmin_prev` and green into `<schema>`. PostgreSQL resolves
   names again for statements that waited on the lock and re-plans cached statements, so
   the service's next query reads green; columns are identical, so cached plans stay valid.
   A writer that appended its event but waited on the lock applies it to green itself.

An interrupted rebuild leaves blue serving untouched (all work is in the `next` schema,
dropped and rebuilt by the next run); a session advisory lock keeps two rebuilds of the
same projection from running at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from contracts.upcasters import UPCASTERS
from eventkit.endpoints import EndpointError, local_database_url
from eventkit.envelope import Envelope
from eventkit.store import START, Checkpoint, EventReader, read_all_raw

from .errors import BadInput, ReplayFailed
from .progress import Progress
from .spool import pause_if_asked, pause_mark

Apply = Callable[[asyncpg.Connection, Sequence[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class ProjectionSpec:
    service: str
    name: str
    table: str
    dsn: str
    schema: str
    stream_prefix: str
    """Streams the projection folds (e.g. `case-`); other streams are skipped unread."""
    key_column: str
    """The table column holding the stream id: rows of a re-folded stream are replaced."""
    apply: Apply


@dataclass
class RebuildResult:
    schema: str
    events: int
    rows: int
    switched: bool
    catch_up_streams: int


def service_database_url(settings: Any, service: str) -> str:
    """The service's `<SVC>_DATABASE_URL` when set, else its database on the local cluster
    (127.0.0.1:$BIANMIN_PG_PORT, `eventkit.endpoints`), as `make run` sets it up."""
    if "database_url" in settings.model_fields_set:
        return str(settings.database_url)
    try:
        return local_database_url(service, service)
    except EndpointError as exc:
        raise BadInput("--dsn", str(exc)) from None


Resolver = Callable[[str | None, str | None], ProjectionSpec]
"""(dsn, schema) -> the projection's spec, defaults from the owning service's settings."""


def resolve(
    projections: Mapping[tuple[str, str], Resolver],
    service: str,
    name: str,
    dsn: str | None,
    schema: str | None,
) -> ProjectionSpec:
    """The spec of `service`'s projection `name` among the rebuildable `projections` (the
    application that runs the rebuild lists them: only it may import the services)."""
    services = sorted({s for s, _ in projections})
    if service not in services:
        raise BadInput("--service", f"unknown service {service!r}; one of {', '.join(services)}")
    names = sorted(n for s, n in projections if s == service)
    if name not in names:
        raise BadInput("--name", f"{service} has no projection {name!r}; one of {', '.join(names)}")
    return projections[(service, name)](dsn, schema)


def _qi(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


async def rebuild(
    spec: ProjectionSpec,
    *,
    progress: Progress,
    switch: bool = True,
    keep_previous: bool = True,
    batch: int = 2000,
    lock_timeout: str = "30s",
) -> RebuildResult:
    schema, table = spec.schema, spec.table
    next_schema, prev_schema = f"{schema}_bianmin_next", f"{schema}_bianmin_prev"
    live, green = f"{_qi(schema)}.{_qi(table)}", f"{_qi(next_schema)}.{_qi(table)}"
    try:
        # no search_path: every name below is qualified, and the catalog prints them so too
        admin = await asyncpg.connect(spec.dsn, server_settings={"search_path": "pg_catalog"})
    except (OSError, asyncpg.PostgresError, ValueError) as exc:
        raise BadInput("--dsn", f"cannot connect to the {spec.service} database: {exc}") from None
    fold: asyncpg.Connection | None = None
    try:
        await _check(admin, spec)
        lock_key = f"bianmin-replay:{schema}.{table}"
        if not await admin.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", lock_key
        ):
            raise ReplayFailed(f"another rebuild of {schema}.{table} is running")
        await admin.execute(f"DROP SCHEMA IF EXISTS {_qi(next_schema)} CASCADE")
        await admin.execute(f"CREATE SCHEMA {_qi(next_schema)}")
        await admin.execute(
            f"CREATE TABLE {green} (LIKE {live} INCLUDING DEFAULTS INCLUDING GENERATED"
            " INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        constraints, indexes = await _keys(admin, schema, table)
        for cname, definition in constraints:  # ON CONFLICT needs them while folding
            await admin.execute(f"ALTER TABLE {green} ADD CONSTRAINT {_qi(cname)} {definition}")
        fold = await asyncpg.connect(
            spec.dsn, server_settings={"search_path": f"{_qi(next_schema)}, {_qi(schema)}"}
        )
        total = int(await admin.fetchval(f"SELECT count(*) FROM {_qi(schema)}.events"))
        after, events, mark = START, 0, pause_mark()
        with progress.task(f"folding {table}", total) as advance:
            while True:
                after, n = await _fold_page(fold, spec, after, batch, advance)
                events += n
                if n == 0:
                    break
                await pause_if_asked(events, mark)
        printed = await admin.fetchval(
            "SELECT quote_ident($1) || '.' || quote_ident($2)", schema, table
        )
        with progress.task("creating indexes", None):
            for definition in indexes:
                if f" ON {printed} " not in definition:
                    raise ReplayFailed(f"cannot read the index definition {definition!r}")
                await admin.execute(definition.replace(f" ON {printed} ", f" ON {green} ", 1))
        if not switch:
            rows = int(await admin.fetchval(f"SELECT count(*) FROM {green}"))
            return RebuildResult(next_schema, events, rows, False, 0)
        with progress.task("switching", None):
            streams = await _switch(fold, spec, after, live, green, prev_schema, lock_timeout)
        if not keep_previous:
            await admin.execute(f"DROP SCHEMA IF EXISTS {_qi(prev_schema)} CASCADE")
        await admin.execute(f"DROP SCHEMA IF EXISTS {_qi(next_schema)} CASCADE")
        rows = int(await admin.fetchval(f"SELECT count(*) FROM {live}"))
        return RebuildResult(schema, events, rows, True, streams)
    finally:
        if fold is not None:
            await fold.close()
        with contextlib.suppress(Exception):
            await admin.execute("SELECT pg_advisory_unlock_all()")
        await admin.close()


async def _check(conn: asyncpg.Connection, spec: ProjectionSpec) -> None:
    if not await conn.fetchval(
        "SELECT to_regclass(format('%I.events', $1::text)) IS NOT NULL", spec.schema
    ):
        raise BadInput("--schema", f"no event store (`events`) in schema {spec.schema!r}")
    if not await conn.fetchval(
        "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL",
        spec.schema,
        spec.table,
    ):
        raise BadInput(
            "--name",
            f"no table {spec.schema}.{spec.table}: start {spec.service} once so its "
            "migrations create it, then rebuild",
        )
    dependents = await conn.fetch(
        """SELECT DISTINCT v.relname FROM pg_depend d
           JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
           WHERE d.refobjid = format('%I.%I', $1::text, $2::text)::regclass
             AND v.oid <> d.refobjid""",
        spec.schema,
        spec.table,
    )
    if dependents:
        names = ", ".join(r[0] for r in dependents)
        raise BadInput(
            "--name",
            f"views depend on {spec.table} ({names}); they would follow "
            "the old table, so a blue/green switch is refused",
        )


async def _keys(
    conn: asyncpg.Connection, schema: str, table: str
) -> tuple[list[tuple[str, str]], list[str]]:
    """(primary/unique/exclusion constraints as (name, definition), other index DDL)."""
    rel = f"{_qi(schema)}.{_qi(table)}"
    constraints = [
        (r[0], r[1])
        for r in await conn.fetch(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname",
            rel,
        )
    ]
    indexes = [
        r[0]
        for r in await conn.fetch(
            """SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
               JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid = $1::regclass
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
               ORDER BY c.relname""",
            rel,
        )
    ]
    return constraints, indexes


# eventkit's one read path, with the contracts' upcasters: a rebuilt table is folded from
# the same envelopes the service's own reads and consumers see
READER = EventReader(UPCASTERS)


def _decode(data: bytes) -> Envelope:
    return READER.decode(data)


async def _fold_page(
    conn: asyncpg.Connection,
    spec: ProjectionSpec,
    after: Checkpoint,
    batch: int,
    advance: Callable[[int], None],
) -> tuple[Checkpoint, int]:
    rows = await read_all_raw(conn, after, batch)
    if not rows:
        return after, 0
    envelopes = [_decode(r.data) for r in rows if r.stream_id.startswith(spec.stream_prefix)]
    async with conn.transaction():
        await spec.apply(conn, envelopes)
    advance(len(rows))
    return rows[-1].checkpoint, len(rows)


async def _switch(
    conn: asyncpg.Connection,
    spec: ProjectionSpec,
    after: Checkpoint,
    live: str,
    green: str,
    prev_schema: str,
    lock_timeout: str,
) -> int:
    """The one transaction that catches up the last events and swaps the tables."""
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{lock_timeout}'")
        try:
            await conn.execute(f"LOCK TABLE {live} IN EXCLUSIVE MODE")
        except asyncpg.LockNotAvailableError:
            raise ReplayFailed(
                f"{live} stayed busy for {lock_timeout}; nothing switched, run again"
            ) from None
        # Everything committed since the last read, WITHOUT the xmin rule: the writers of
        # this table are finished or waiting on our lock (and will apply their own events).
        streams = [
            r[0]
            for r in await conn.fetch(
                """SELECT DISTINCT stream_id FROM events
                   WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
                     AND starts_with(stream_id, $3)""",
                str(after.transaction_id),
                after.global_position,
                spec.stream_prefix,
            )
        ]
        if streams:
            await conn.execute(
                f"DELETE FROM {green} WHERE {_qi(spec.key_column)} = ANY($1::text[])", streams
            )
            read = await READER.read_streams(conn, streams)
            await spec.apply(conn, [e for s in sorted(read) for e in read[s]])
        await conn.execute(f"DROP SCHEMA IF EXISTS {_qi(prev_schema)} CASCADE")
        await conn.execute(f"CREATE SCHEMA {_qi(prev_schema)}")
        await conn.execute(f"ALTER TABLE {live} SET SCHEMA {_qi(prev_schema)}")
        await conn.execute(f"ALTER TABLE {green} SET SCHEMA {_qi(spec.schema)}")
    return len(streams)
