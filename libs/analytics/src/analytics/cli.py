"""The analytics commands of `bianmin`: replay the event history into the analytics store,
republish it, draw the situation report.

    bianmin replay analytics     Kafka topics / a store / a file -> DuckDB analytics store
    bianmin replay republish     copy history onto a topic, marked as a replay (nothing sent)
    bianmin report               the situation report (情况报告): HTML + Markdown + PNG charts

`build_app()` gives a command with these; the `bianmin` program itself is an application
(`tools/bianmin`), which adds the commands that run a service's code (`replay projection`,
`generate`): a library never imports a service. The helpers below (`run_command`,
`checked`, `bootstrap_servers`) give every command the same exits.

Bad input (unknown topic, org unit or event type, an end before the start, a path that
cannot be read or written) prints the option and the reason and exits 2 with nothing
written; an interrupted replay leaves the previous store or projection untouched.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from eventkit.endpoints import EndpointError, default_bootstrap

from .errors import EXIT_BAD_INPUT, EXIT_FAILURE, BadInput, ReplayFailed

T = TypeVar("T")

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _state_dir() -> Path:
    return Path(os.environ.get("BIANMIN_STATE_DIR", ".local"))


def _default_db() -> Path:
    return _state_dir() / "analytics.duckdb"


def bootstrap_servers(value: str | None) -> str:
    """--bootstrap, else the one rule of every CLI (`eventkit.endpoints.default_bootstrap`):
    $KAFKA_BOOTSTRAP_SERVERS, else the local broker at 127.0.0.1:$BIANMIN_KAFKA_PORT."""
    if value:
        return value
    try:
        return default_bootstrap()
    except EndpointError as exc:
        raise BadInput("--bootstrap", str(exc)) from None


def run_command(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command: bad input exits 2, failures 1, Ctrl-C/SIGTERM 130 — each with one clear
    line. Both signals cancel the command's task, so every `finally` runs (the work folder of
    a replay is removed, a DuckDB query in progress is interrupted)."""
    logging.getLogger("aiokafka").setLevel(logging.ERROR)

    async def main() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        stopped: list[int] = []

        def stop(sig: int) -> None:
            stopped.append(sig)
            task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, sig)
        try:
            return await fn()
        except asyncio.CancelledError:
            if stopped:
                raise KeyboardInterrupt from None
            raise

    try:
        return asyncio.run(main())
    except BadInput as exc:
        err.print(f"[bold red]error:[/] {exc.field}: {exc.reason}")
        err.print("nothing was written")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except ReplayFailed as exc:
        err.print(f"[bold red]failed:[/] {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    except KeyboardInterrupt:
        err.print("interrupted: the previous store/projection is untouched; run again to restart")
        raise typer.Exit(130) from None


def checked(fn: Callable[[], T]) -> T:
    """Validation outside the event loop, same exit codes."""
    try:
        return fn()
    except BadInput as exc:
        err.print(f"[bold red]error:[/] {exc.field}: {exc.reason}")
        err.print("nothing was written")
        raise typer.Exit(EXIT_BAD_INPUT) from None


# -- replay analytics ----------------------------------------------------------------------------
def replay_analytics_cmd(
    topic: Annotated[
        list[str] | None,
        typer.Option("--topic", "-t", help="Kafka topic(s) to read (default: all event topics)"),
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(
            help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS, else "
            "127.0.0.1:$BIANMIN_KAFKA_PORT, 19092 when unset)"
        ),
    ] = None,
    offsets: Annotated[
        list[str] | None,
        typer.Option(help="start at given offsets: topic:partition=offset[,partition=offset]"),
    ] = None,
    from_store: Annotated[
        list[str] | None,
        typer.Option(
            "--from-store",
            help="read a service's event store instead of Kafka (PostgreSQL DSN; "
            "`DSN#schema` picks a schema); repeatable",
        ),
    ] = None,
    schema: Annotated[str, typer.Option(help="schema of the stores")] = "public",
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="read an NDJSON file of envelopes")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="keep events that occurred at/after this (ISO date or date-time; "
            "on Kafka also seeks there)"
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="keep events before this (a date is inclusive: the whole day)"),
    ] = None,
    event_type: Annotated[
        list[str] | None, typer.Option("--type", help="keep only these event types")
    ] = None,
    org: Annotated[
        list[str] | None,
        typer.Option(help="keep cases touching these org units (and the units below them)"),
    ] = None,
    tier: Annotated[
        list[str] | None, typer.Option(help="keep cases touching this tier: community/town/city")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="the DuckDB file (default: .local/analytics.duckdb)")
    ] = None,
    parquet: Annotated[
        Path | None, typer.Option(help="also export every table to <DIR>/<table>.parquet")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Replay events into the analytics store (DuckDB: events, cases, center_daily, ...).

    Built in a temporary file and switched in atomically: an interrupted replay leaves the
    previous file untouched. Two replays of the same history give identical tables.
    """
    from . import filters, sources
    from .progress import Progress
    from .replay import AtomicTarget, replay_analytics

    target = db or _default_db()

    def validate() -> tuple[Any, filters.ReplayFilter]:
        flt = filters.build_filter(
            since=since,
            until=until,
            event_types=event_type or (),
            org_units=org or (),
            tiers=tier or (),
        )
        AtomicTarget.check(target, parquet, default_parent=db is None)
        chosen = [bool(from_store), from_file is not None, bool(topic or offsets)]
        if sum(chosen) > 1:
            raise BadInput(
                "--from-store", "choose one source: Kafka topics, --from-store or --from-file"
            )
        if from_file is not None:
            return sources.FileSource(from_file), flt
        if from_store:
            if len(from_store) > 1:
                return _MultiStore([_store(s, schema) for s in from_store]), flt
            return _store(from_store[0], schema), flt
        from contracts.topics import EVENT_TOPICS

        names = filters.check_topics(topic or list(EVENT_TOPICS))
        return (
            sources.KafkaSource(
                bootstrap_servers(bootstrap), names, flt.since, filters.parse_offsets(offsets or ())
            ),
            flt,
        )

    source, flt = checked(validate)

    async def go() -> Any:
        with Progress(quiet=quiet) as progress:
            return await replay_analytics(
                source, flt, target, parquet_dir=parquet, progress=progress
            )

    summary = run_command(go)
    r = summary.result
    out.print(
        f"wrote {summary.target}: {r.events:,} events, {r.cases:,} cases, "
        f"{r.center_days:,} center-days (read {summary.read:,}; "
        f"{r.duplicates:,} duplicates dropped; {r.rejected:,} unreadable lines)"
    )
    for p in summary.parquet:
        out.print(f"wrote {p}")
    if r.rejected:
        err.print(
            f"[yellow]warning:[/] {r.rejected:,} lines were not readable envelopes and were "
            "left out (see the source's dead letters)"
        )


def _store(spec: str, schema: str) -> Any:
    from .sources import StoreSource

    dsn, _, sch = spec.partition("#")
    return StoreSource(dsn, sch or schema)


class _MultiStore:
    """Several services' stores read one after the other (intake + routing + notify)."""

    def __init__(self, stores: list[Any]) -> None:
        self.stores = stores

    def describe(self) -> dict[str, Any]:
        return {"kind": "stores", "schemas": [s.schema for s in self.stores]}

    async def open(self) -> int:
        total = 0
        for s in self.stores:
            total += await s.open()
        return total

    async def read(self, sink: Any, advance: Any) -> int:
        return sum([await s.read(sink, advance) for s in self.stores])

    async def close(self) -> None:
        for s in self.stores:
            await s.close()


# -- replay republish ----------------------------------------------------------------------------
def replay_republish_cmd(
    topic: Annotated[list[str], typer.Option("--topic", "-t", help="topic(s) to read")],
    to_topic: Annotated[str, typer.Option("--to-topic", help="where to publish the copies")],
    bootstrap: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="seek to this time (record timestamps)")] = None,
    offsets: Annotated[list[str] | None, typer.Option()] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Copy history onto a topic (e.g. to feed a fresh environment), every record marked with
    the header `bianmin-replay: 1`, so notify records it and sends nothing."""
    from . import filters
    from .progress import Progress
    from .republish import republish

    names = checked(lambda: filters.check_topics(topic))
    dest = checked(lambda: filters.check_topics([to_topic]))[0]
    start = checked(lambda: filters.parse_instant(since, "--since") if since else None)
    offs = checked(lambda: filters.parse_offsets(offsets or ()))

    async def go() -> int:
        with Progress(quiet=quiet) as progress:
            return await republish(
                bootstrap_servers(bootstrap),
                names,
                dest,
                since=start,
                offsets=offs,
                progress=progress,
            )

    n = run_command(go)
    out.print(f"republished {n:,} records to {dest} (header bianmin-replay: 1)")


# -- report --------------------------------------------------------------------------------------
def report_cmd(
    from_: Annotated[str, typer.Option("--from", help="first day (YYYY-MM-DD)")],
    to: Annotated[str, typer.Option("--to", help="last day, inclusive (YYYY-MM-DD)")],
    org: Annotated[str, typer.Option(help="the org unit reporting (e.g. ruian.mayu)")],
    db: Annotated[Path | None, typer.Option(help="the analytics store")] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="output folder (default: .local/reports/<org>-<from>-<to>)"),
    ] = None,
) -> None:
    """The situation report (情况报告) of an org unit for a period: HTML, Markdown, PNG charts."""
    from .report import write_report

    def dates() -> tuple[date, date]:
        try:
            first = date.fromisoformat(from_)
        except ValueError:
            raise BadInput("--from", f"{from_!r} is not a date (YYYY-MM-DD)") from None
        try:
            last = date.fromisoformat(to)
        except ValueError:
            raise BadInput("--to", f"{to!r} is not a date (YYYY-MM-DD)") from None
        if last < first:
            raise BadInput("--to", f"the end ({to}) is before the start ({from_})")
        return first, last

    first, last = checked(dates)
    folder = out_dir or _state_dir() / "reports" / f"{org}-{first}-{last}"
    written = checked(lambda: write_report(db or _default_db(), org, first, last, folder, err))
    for p in written:
        out.print(f"wrote {p}")


# -- the command --------------------------------------------------------------------------------
def build_app(help: str = "Bianmin (便民) replay and reports.") -> tuple[typer.Typer, typer.Typer]:
    """A command with the analytics commands: (the app, its `replay` group), to which an
    application adds its own."""
    app = typer.Typer(
        help=help, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
    )
    replay_app = typer.Typer(
        help="Replay the event history (no side effects: nothing is sent, nothing flagged).",
        no_args_is_help=True,
    )
    app.add_typer(replay_app, name="replay")
    replay_app.command("analytics")(replay_analytics_cmd)
    replay_app.command("republish")(replay_republish_cmd)
    app.command("report")(report_cmd)
    return app, replay_app
