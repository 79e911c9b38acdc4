"""The situation-report scheduler and the head's "send it up": the I/O around `report.decide`.

Why in the audit and not a new deployable: the audit already holds every service's events in
its log (the history the reports are generated from, personal values already salt-hashed), it
is the one place inspectors and the public board read figures from, and it already runs
leader-only loops (`bootstrap._when_leader`): the scheduler runs only in the process that holds
the writer lease, so any number of audit instances may run and exactly one generates. A report
id is its stream id and `decide` generates each once, so a lease changing hands mid-round
repeats nothing (the per-stream advisory lock of `append_in_transaction` serializes them).

Each round: fold the org tree from the log, ask `schedule.due` what has closed, replay the log
into an analytics store once (only if something is due), then per report: figures and HTML
(`generate`), `decide(Generate)`, append the events and the read model in one transaction;
then `decide(CheckLate)` for every pending report past its deadline.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from contracts.base import DomainEvent, payload_of, to_payload
from contracts.sitreports import (
    SituationReportGenerated,
    SituationReportLate,
    SituationReportSubmitted,
)
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.loops import LoopHealth

from ..decoding import read_leaf
from ..runtime import AuditRuntime, append_in_transaction
from . import generate
from .report import CheckLate, Command, Generate, ReportState, Submit, decide, evolve
from .schedule import ScheduleConfig, Unit, due

log = logging.getLogger("audit.sitreport")

AUDIT_ACTOR = Actor(id="audit", role="system")
ORG_TYPES = ("routing.org_unit_registered", "routing.org_unit_reparented")


def schedule_config(c: AuditRuntime) -> ScheduleConfig:
    s = c.settings
    return ScheduleConfig(
        periods=s.sitreport_period_list(),
        start=s.sitreport_start,
        submit_days=s.sitreport_submit_days,
    )


async def org_units(conn: asyncpg.Connection) -> list[Unit]:
    """The org tree as the log holds it (registered units, latest parent)."""
    rows = await conn.fetch(
        "SELECT leaf FROM leaves WHERE event_type = ANY($1::text[]) AND status = 'accepted' "
        "ORDER BY idx",
        list(ORG_TYPES),
    )
    units: dict[str, Unit] = {}
    for r in rows:
        doc = read_leaf(r["leaf"])
        p = doc["payload"]
        if doc["event_type"] == ORG_TYPES[0]:
            if p.get("tier") in ("community", "town", "city"):
                units[p["unit_id"]] = Unit(p["unit_id"], p["tier"], p.get("parent_id"))
        elif p.get("unit_id") in units:
            u = units[p["unit_id"]]
            units[u.unit_id] = Unit(u.unit_id, u.tier, p.get("new_parent_id"))
    return list(units.values())


REPORT_EVENTS = frozenset(
    t.event_type for t in (SituationReportGenerated, SituationReportSubmitted, SituationReportLate)
)


async def _state(c: AuditRuntime, conn: asyncpg.Connection, report_id: str) -> ReportState:
    """The report's own events folded; others on its stream are the inspector's (the anomaly
    rules flag a late report on the report's stream, `audit.anomaly_flagged`) and left out."""
    state = ReportState()
    for env in await c.events.read_stream(report_id, conn=conn):
        if env.event_type in REPORT_EVENTS:
            state = evolve(state, payload_of(env))
    return state


def _envelope(
    c: AuditRuntime, report_id: str, evt: DomainEvent, now: datetime, actor: Actor
) -> Envelope:
    unit = getattr(evt, "unit_id", None)
    return Envelope(
        event_type=evt.event_type,
        schema_version=evt.schema_version,
        stream_id=report_id,
        occurred_at=now,
        producer=Producer(service="audit", instance=c.settings.instance_id),
        actor=actor,
        org_id=unit,
        tier=getattr(evt, "unit_tier", None),
        correlation_id=uuid.uuid5(uuid.NAMESPACE_URL, f"bianmin:{report_id}"),
        payload=to_payload(evt),
    )


async def _project(conn: asyncpg.Connection, evt: DomainEvent, now: datetime) -> None:
    if isinstance(evt, SituationReportGenerated):
        await conn.execute(
            """INSERT INTO situation_reports (report_id, unit_id, unit_tier, goes_to, period,
                   first_day, last_day, deadline, status, figures, rolls_up, document_sha256,
                   generated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12)
               ON CONFLICT (report_id) DO NOTHING""",
            evt.report_id,
            evt.unit_id,
            evt.unit_tier,
            evt.goes_to,
            evt.period,
            evt.first_day,
            evt.last_day,
            evt.deadline,
            orjson.dumps(evt.figures.model_dump()).decode(),
            evt.rolls_up,
            evt.document_sha256,
            now,
        )
    elif isinstance(evt, SituationReportLate):
        await conn.execute(
            "UPDATE situation_reports SET late = true WHERE report_id = $1", evt.report_id
        )
    elif isinstance(evt, SituationReportSubmitted):
        await conn.execute(
            """UPDATE situation_reports SET status = 'submitted', comment = $2,
                   submitted_by = $3, submitted_at = $4, late = late OR $5
               WHERE report_id = $1""",
            evt.report_id,
            evt.comment,
            evt.submitted_by,
            evt.submitted_at,
            evt.late,
        )


async def handle(
    c: AuditRuntime,
    report_id: str,
    cmd: Command,
    actor: Actor = AUDIT_ACTOR,
    document: generate.Document | None = None,
) -> list[DomainEvent]:
    """Decide `cmd` on the report's folded stream and append what it returns, with the read
    model (and the document, for a generation), in one transaction."""
    async with c.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('audit.stream:' || $1, 0))",
            report_id,
        )
        now = c.clock()
        events = decide(cmd, await _state(c, conn, report_id), now)
        if not events:
            return []
        await append_in_transaction(
            c.events, conn, report_id, [_envelope(c, report_id, e, now, actor) for e in events]
        )
        for e in events:
            await _project(conn, e, now)
        if document is not None and isinstance(events[0], SituationReportGenerated):
            files = [("report.html", "text/html; charset=utf-8", document.html)]
            files += [(f"charts/{n}", "image/png", b) for n, b in sorted(document.charts.items())]
            await conn.executemany(
                """INSERT INTO situation_report_files (report_id, name, content_type, body)
                   VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
                [(report_id, *f) for f in files],
            )
        return events


async def submit(c: AuditRuntime, report_id: str, comment: str, actor: Actor) -> DomainEvent:
    (evt,) = await handle(c, report_id, Submit(comment, actor.id), actor)
    return evt


class Scheduler:
    """The loop: `rounds` runs forever (leader only, supervised by the runtime)."""

    def __init__(self, c: AuditRuntime) -> None:
        self.c = c
        self.config = schedule_config(c)
        self.rounds_done = 0
        self.generated = 0
        self.flagged_late = 0

    async def round(self) -> None:
        c = self.c
        now = c.clock()
        async with c.pool.acquire() as conn:
            units = await org_units(conn)
            done = [
                r["report_id"] for r in await conn.fetch("SELECT report_id FROM situation_reports")
            ]
        todo = due(now, self.config, units, done)
        if todo:
            s = c.settings
            path = await generate.build_store(
                s.database_url, s.database_schema, s.sitreport_work_dir
            )
            con = generate.open_store(path)
            try:
                for d in todo:
                    doc = await asyncio.to_thread(generate.document, con, d, s.sitreport_charts)
                    got = await handle(
                        c, d.report_id, Generate(d, doc.figures, doc.sha256), document=doc
                    )
                    self.generated += sum(isinstance(e, SituationReportGenerated) for e in got)
                    self.flagged_late += sum(isinstance(e, SituationReportLate) for e in got)
            finally:
                con.close()
                shutil.rmtree(path.parent, ignore_errors=True)
        async with c.pool.acquire() as conn:
            pending = await conn.fetch(
                """SELECT report_id FROM situation_reports
                   WHERE status = 'pending' AND NOT late AND deadline <= $1 ORDER BY deadline""",
                now,
            )
        for r in pending:
            try:
                got = await handle(c, r["report_id"], CheckLate())
            except Exception:  # one odd report must not keep the others from being marked late
                log.exception("could not check a report for lateness", extra={"report": r[0]})
                continue
            self.flagged_late += len(got)
        self.rounds_done += 1

    async def rounds(self, health: LoopHealth) -> None:
        while True:
            await self.round()
            health.running()
            await asyncio.sleep(self.c.settings.sitreport_interval_seconds)


def stats(s: Scheduler) -> dict[str, Any]:
    return {"rounds": s.rounds_done, "generated": s.generated, "flagged_late": s.flagged_late}
