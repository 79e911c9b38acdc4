"""`python -m eventkit ...`: operator commands.

    python -m eventkit dlq list intake.events [--bootstrap HOST:PORT] [--limit 50] [--json]
    python -m eventkit dlq redrive intake.events --offset 0:12 --offset 1:3
    python -m eventkit dlq redrive intake.events --all

TOPIC may be the event topic or its `.dlq`. A dead letter is named `partition:offset` (the
`id` column of `list`); a bare offset is accepted when only one DLQ partition has it.
The bootstrap servers default to `$KAFKA_BOOTSTRAP_SERVERS`, then 127.0.0.1:19092.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from . import dlq

DEFAULT_BOOTSTRAP = "127.0.0.1:19092"

app = typer.Typer(help="Bianmin eventkit operator commands.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-letter topics: list and re-drive.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")

Bootstrap = Annotated[
    str,
    typer.Option("--bootstrap", "-b", envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka servers"),
]


@dlq_app.command("list")
def list_cmd(
    topic: Annotated[str, typer.Argument(help="event topic or its .dlq")],
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List dead letters (oldest first, by partition)."""
    try:
        letters = asyncio.run(dlq.list_dead_letters(bootstrap, topic, limit))
    except dlq.DeadLetterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
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
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
) -> None:
    """Re-publish dead letters to their original topic (without dlq.* headers)."""
    if bool(offset) == all_:
        typer.echo("error: give --offset (one or more) or --all", err=True)
        raise typer.Exit(2)
    try:
        done = asyncio.run(dlq.redrive(bootstrap, topic, None if all_ else offset))
    except (dlq.DeadLetterError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for r in done:
        typer.echo(f"{r.source} -> {r.topic}/{r.partition}@{r.offset}")
    typer.echo(f"re-driven: {len(done)}")


def main() -> None:
    app(prog_name="eventkit")


if __name__ == "__main__":
    main()
