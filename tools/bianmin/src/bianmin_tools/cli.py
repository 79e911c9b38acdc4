"""The `bianmin` command: an application over the analytics library and the services.

    bianmin replay analytics     Kafka topics / a store / a file -> DuckDB analytics store
    bianmin replay projection    blue/green rebuild of a service's projection from its store
    bianmin replay republish     copy history onto a topic, marked as a replay (nothing sent)
    bianmin report               the situation report (情况报告): HTML + Markdown + PNG charts
    bianmin generate             a simulated history written by the services' own deciders

The analytics commands are `analytics.cli`'s; the two here run a service's code — its
projection's `apply`, its deciders — which is why the command lives in `tools/`, where an
application may import services, and not in the library.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from analytics.cli import bootstrap_servers, build_app, checked, out, run_command
from analytics.errors import BadInput

app, replay_app = build_app(
    help="Bianmin (便民) replay, reports and simulated histories: any view from the event history."
)


@replay_app.command("projection")
def replay_projection_cmd(
    service: Annotated[str, typer.Option(help="the service owning the projection")],
    name: Annotated[str, typer.Option(help="the projection (e.g. applications)")],
    dsn: Annotated[
        str | None,
        typer.Option(help="the service's database (default: its <SVC>_DATABASE_URL setting)"),
    ] = None,
    schema: Annotated[
        str | None, typer.Option(help="the service's schema (default: its <SVC>_DATABASE_SCHEMA)")
    ] = None,
    switch: Annotated[
        bool,
        typer.Option(help="switch the new version in when built (--no-switch: build only)"),
    ] = True,
    keep_previous: Annotated[
        bool, typer.Option(help="keep the replaced version in <schema>_bianmin_prev")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Blue/green rebuild of a projection from the service's event store.

    The new version is built in `<schema>_bianmin_next` while the old one keeps serving, caught
    up, then switched in one transaction (the service's queries see the old table or the
    new one, never a partial one). Only projection code runs: nothing is sent, published or
    flagged.
    """
    from analytics.progress import Progress
    from analytics.projections import rebuild

    from .projections import resolve

    spec = checked(lambda: resolve(service, name, dsn, schema))

    async def go() -> Any:
        with Progress(quiet=quiet) as progress:
            return await rebuild(
                spec, progress=progress, switch=switch, keep_previous=keep_previous
            )

    result = run_command(go)
    verb = "switched in" if result.switched else "built (not switched)"
    out.print(
        f"{spec.service}.{spec.name}: {result.rows:,} rows from {result.events:,} events, "
        f"{verb} in schema {result.schema}"
    )


@app.command("generate")
def generate_cmd(
    start: Annotated[str, typer.Option(help="first day")] = "2026-10-01",
    end: Annotated[str, typer.Option(help="last day, inclusive")] = "2026-10-31",
    seed: Annotated[int, typer.Option()] = 20261001,
    scale: Annotated[float, typer.Option(help="1.0 = a busy month (~9 cases/community/day)")] = 1.0,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="write NDJSON envelopes to this file")
    ] = None,
    kafka: Annotated[
        bool, typer.Option(help="produce to intake/routing/notify.events (or the --topic-*)")
    ] = False,
    bootstrap: Annotated[str | None, typer.Option()] = None,
    topic_intake: Annotated[str, typer.Option()] = "intake.events",
    topic_routing: Annotated[str, typer.Option()] = "routing.events",
    topic_notify: Annotated[str, typer.Option()] = "notify.events",
) -> None:
    """Simulate the centers over a period: what people do is drawn (seeded), what happens is
    decided by intake's, routing's and notify's own deciders — the events they would write."""
    from .simulate import GeneratorConfig, generate

    def config() -> GeneratorConfig:
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError as exc:
            raise BadInput("--start", str(exc)) from None
        if last < first:
            raise BadInput("--end", f"the end ({end}) is before the start ({start})")
        if scale <= 0:
            raise BadInput("--scale", "must be positive")
        if out_file is None and not kafka:
            raise BadInput("--out", "say where to: --out FILE and/or --kafka")
        return GeneratorConfig(start=first, end=last, seed=seed, scale=scale)

    cfg = checked(config)
    history = generate(cfg)
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_file.with_name(out_file.name + ".tmp")
        with tmp.open("wb") as f:
            for e in history.events:
                f.write(e.value() + b"\n")
        os.replace(tmp, out_file)
        out.print(f"wrote {out_file}: {len(history.events):,} events, {history.cases:,} cases")
    if kafka:
        from analytics.kafka_io import produce

        topics = {"intake": topic_intake, "routing": topic_routing, "notify": topic_notify}
        n = run_command(
            lambda: produce(bootstrap_servers(bootstrap), history.kafka_records(topics))
        )
        out.print(f"produced {n:,} events to {', '.join(topics.values())}")


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `bianmin ... | head`
        sys.exit(0)


if __name__ == "__main__":
    main()
