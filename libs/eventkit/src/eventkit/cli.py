"""`python -m eventkit ...`: operator commands.

    python -m eventkit dlq list intake.events [--bootstrap HOST:PORT] [--limit 50] [--json]
    python -m eventkit dlq redrive intake.events --offset 0:12 --offset 1:3
    python -m eventkit dlq redrive intake.events --all

TOPIC may be the event topic or its `.dlq`. A dead letter is named `partition:offset` (the
`id` column of `list`); a bare offset is accepted when only one DLQ partition has it.
The bootstrap servers default to `$KAFKA_BOOTSTRAP_SERVERS`, then the local broker of
`make run` (127.0.0.1:`$BIANMIN_KAFKA_PORT`, 19092 when unset; `eventkit.endpoints`).

    python -m eventkit outbox status [--database-url URL] [--schema S] [--json]
    python -m eventkit outbox show [--relay NAME] [--position N] [--json]
    python -m eventkit outbox skip --position N --reason "why" [--relay NAME] [--by WHO]

The outbox relay of a service (`eventkit.outbox`): its checkpoint, backlog and the event it
is blocked at; the next event with its sizes; and the recovery for an event that can never
be published: `skip` records who skipped it and why (the event stays in the store) and moves
the relay past it. The database defaults to `$DATABASE_URL`, then the local cluster's
`postgres` database (127.0.0.1:`$BIANMIN_PG_PORT`, 15432 when unset); the schema to
`$DATABASE_SCHEMA`, then `public`. `--relay` may be left out when the schema has one relay
(a service's database has one: its service name).
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, TypeVar

import asyncpg
import orjson
import typer
from aiokafka.errors import KafkaConnectionError, KafkaError
from rich.console import Console
from rich.table import Table

from . import dlq, outbox
from .endpoints import EndpointError, default_bootstrap, default_database_url

T = TypeVar("T")

app = typer.Typer(help="Bianmin eventkit operator commands.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-letter topics: list and re-drive.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
outbox_app = typer.Typer(
    help="The outbox relay: status, the next event, skip one that cannot be published.",
    no_args_is_help=True,
)
app.add_typer(outbox_app, name="outbox")

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap",
        "-b",
        help="Kafka servers [default: $KAFKA_BOOTSTRAP_SERVERS, else "
        "127.0.0.1:$BIANMIN_KAFKA_PORT (19092)]",
        show_default=False,
    ),
]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _bootstrap(given: str | None) -> str:
    try:
        return given or default_bootstrap()
    except EndpointError as exc:
        raise _fail(str(exc), 2) from None


def _on_kafka(bootstrap: str, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `work`; a broker that cannot be reached is one line and exit status 1, an
    operator error (unknown topic or dead letter) one line and exit status 2."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the one line below says it
    try:
        return asyncio.run(work())
    except (dlq.DeadLetterError, ValueError) as exc:
        raise _fail(str(exc), 2) from None
    except (KafkaError, OSError, TimeoutError) as exc:
        why = (
            "no broker answers"
            if isinstance(exc, KafkaConnectionError)
            else " ".join(str(exc).split()) or type(exc).__name__
        )
        raise _fail(
            f"cannot reach Kafka at {bootstrap}: {why} (is `make run` up? --bootstrap, "
            "KAFKA_BOOTSTRAP_SERVERS or BIANMIN_KAFKA_PORT picks the broker; KAFKA_SASL_* "
            'logs in, the local broker\'s admin after `eval "$(python -m devstack env)"`)',
            1,
        ) from None


@dlq_app.command("list")
def list_cmd(
    topic: Annotated[str, typer.Argument(help="event topic or its .dlq")],
    bootstrap: Bootstrap = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List dead letters (oldest first, by partition)."""
    servers = _bootstrap(bootstrap)
    letters = _on_kafka(servers, lambda: dlq.list_dead_letters(servers, topic, limit))
    if as_json:
        for letter in letters:
            sys.stdout.write(orjson.dumps(letter.as_dict()).decode() + "\n")
        return
    table = Table(title=f"{dlq.dlq_topic_for(topic)}: {len(letters)} dead letter(s)")
    for col in ("id", "reason", "error", "original", "attempts", "event", "consumer"):
        table.add_column(col, overflow="fold")
    for d in letters:
        table.add_row(
            d.id,
            d.reason or "",
            (d.error or "")[:200],
            f"{d.original_topic}/{d.original_partition}@{d.original_offset}",
            str(d.attempts if d.attempts is not None else ""),
            f"{d.event_type or '?'}\n{d.event_id or '?'}",
            d.consumer or "",
        )
    Console(width=200).print(table)


@dlq_app.command("redrive")
def redrive_cmd(
    topic: Annotated[str, typer.Argument(help="event topic or its .dlq")],
    offset: Annotated[
        list[str] | None,
        typer.Option("--offset", "-o", help="PARTITION:OFFSET (or OFFSET); repeatable"),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="re-drive every dead letter")] = False,
    bootstrap: Bootstrap = None,
) -> None:
    """Re-publish dead letters to their original topic (without dlq.* headers)."""
    if bool(offset) == all_:
        raise _fail("give --offset (one or more) or --all", 2)
    servers = _bootstrap(bootstrap)
    done = _on_kafka(servers, lambda: dlq.redrive(servers, topic, None if all_ else offset))
    for r in done:
        typer.echo(f"{r.source} -> {r.topic}/{r.partition}@{r.offset}")
    typer.echo(f"re-driven: {len(done)}")


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        "-d",
        help="the service's database [default: $DATABASE_URL, else "
        "postgresql://bianmin:bianmin@127.0.0.1:$BIANMIN_PG_PORT (15432)/postgres]",
        show_default=False,
    ),
]
Schema = Annotated[
    str, typer.Option("--schema", "-s", envvar="DATABASE_SCHEMA", help="the service's schema")
]
Relay = Annotated[
    str | None,
    typer.Option("--relay", "-r", help="relay name (the service's); optional if only one"),
]
AsJson = Annotated[bool, typer.Option("--json", help="JSON instead of a table")]


def _with_db(
    given: str | None, schema: str, work: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    """Run `work` on one connection; an operator error is a message and exit status 2, a
    database that cannot be reached a message and exit status 1."""
    try:
        url = given or default_database_url("bianmin", "postgres")
    except EndpointError as exc:
        raise _fail(str(exc), 2) from None

    async def go() -> T:
        conn = await asyncpg.connect(
            url,
            server_settings={"search_path": schema, "application_name": "eventkit-outbox-cli"},
        )
        try:
            return await work(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(go())
    except (outbox.OutboxError, asyncpg.UndefinedTableError) as exc:
        raise _fail(str(exc), 2) from None
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        where = url.split("@")[-1]  # never print a password
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise _fail(f"cannot use the database at {where}: {why}", 1) from None


def _json(obj: object) -> None:
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")


@outbox_app.command("status")
def outbox_status_cmd(
    database_url: DatabaseUrl = None,
    schema: Schema = "public",
    relay: Relay = None,
    as_json: AsJson = False,
) -> None:
    """Each relay: checkpoint, backlog, and the event it is blocked at (if any).
    Exit status 1 when a relay is blocked."""
    found = _with_db(database_url, schema, lambda c: outbox.status(c, relay))
    if as_json:
        _json([r.as_dict() for r in found])
    else:
        table = Table(title=f"outbox relays in schema {schema}")
        for col in ("relay", "checkpoint", "backlog", "state", "skipped"):
            table.add_column(col, overflow="fold")
        for r in found:
            b = r.blocked
            state = "ok" if b is None else f"{b.reason}\n({b.attempts} attempts since {b.since})"
            table.add_row(
                r.relay,
                f"position {r.checkpoint.global_position} (tx {r.checkpoint.transaction_id})",
                str(r.backlog),
                state,
                str(r.skipped),
            )
        Console(width=200).print(table)
    if any(r.blocked for r in found):
        raise typer.Exit(1)


@outbox_app.command("show")
def outbox_show_cmd(
    database_url: DatabaseUrl = None,
    schema: Schema = "public",
    relay: Relay = None,
    position: Annotated[
        int | None, typer.Option("--position", "-p", help="default: the next to publish")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The event the relay publishes next (or the one at --position), with its sizes and
    largest fields."""

    async def work(conn: asyncpg.Connection) -> outbox.EventView | None:
        return await outbox.show(conn, await outbox.resolve_relay(conn, relay), position)

    view = _with_db(database_url, schema, work)
    if view is None:
        typer.echo("nothing to publish: the relay is at the end of the store")
        return
    d = view.as_dict()
    if as_json:
        _json(d)
        return
    table = Table(title=f"relay {view.relay}: event at position {view.position}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    for k in ("transaction_id", "stream_id", "event_id", "event_type", "schema_version"):
        table.add_row(k, str(d[k]))
    table.add_row("envelope", f"{d['envelope_bytes']:,} bytes")
    table.add_row("record", f"{d['record_bytes']:,} bytes (key, value, headers, batch framing)")
    lim = d["limits"]
    table.add_row(
        "limits",
        f"event {lim['event_bytes']:,}; producer max_request_size "
        f"{lim['producer_max_request_size']:,}; topic max.message.bytes "
        f"{lim['topic_max_message_bytes']:,}",
    )
    table.add_row("publishable", "yes" if view.publishable else "NO: over max_request_size")
    table.add_row("skipped", "yes" if view.skipped else "no")
    table.add_row("largest fields", "\n".join(f"{f}: {n:,} bytes" for f, n in view.largest))
    Console(width=200).print(table)


@outbox_app.command("skip")
def outbox_skip_cmd(
    position: Annotated[int, typer.Option("--position", "-p", help="the event to pass over")],
    reason: Annotated[str, typer.Option("--reason", help="why; kept with the skip")],
    database_url: DatabaseUrl = None,
    schema: Schema = "public",
    relay: Relay = None,
    by: Annotated[str | None, typer.Option("--by", help="who skips; default: $USER")] = None,
) -> None:
    """Never publish the event at --position (it stays in the store) and move the relay past
    it. Only the next event the relay would publish may be skipped (`outbox show`)."""
    who = by or os.environ.get("USER") or getpass.getuser()

    async def work(conn: asyncpg.Connection) -> outbox.Skipped:
        name = await outbox.resolve_relay(conn, relay)
        return await outbox.skip(conn, name, position, reason=reason, by=who)

    done = _with_db(database_url, schema, work)
    typer.echo(
        f"skipped: relay {done.relay}, position {done.position}, {done.event_type} "
        f"{done.event_id} ({done.bytes:,} bytes), by {done.skipped_by} at "
        f"{done.skipped_at.isoformat()}: {done.reason}"
    )


def main() -> None:
    app(prog_name="eventkit")


if __name__ == "__main__":
    main()
