"""Every open deadline counted again after a holiday schedule is published (issue 13 #7).

The org tree's calendar has a revision: the number of holiday schedules published so far
(`contracts.workdays.WorkingCalendar.revision`, the same in every instance). Each case's
queue row records the revision its deadline was last counted by (`calendar_revision`,
written with every `routing.deadline_set` / `routing.deadline_recomputed`). A pass takes the
open cases (running or awaiting a correction) counted by an older revision — an index scan
that finds nothing unless something was published — and sends each a `RecomputeDeadline`
in its own transaction, through `CaseService.handle_in` like every other case command. The
domain says `routing.deadline_recomputed` when the due moment or its provisional years
changed; when nothing changed, the row is simply marked as counted by this revision.

The pass runs right after a publication (the admin route starts it) and at the start of
every round of the deadline loop, so it finishes whatever a crash or a concurrent command
left: a case being routed by the old calendar while the schedule was published commits
with the old revision and is counted again on the next round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from eventkit.envelope import Actor, Envelope

from ..domain.case import RecomputeDeadline
from ..domain.errors import DomainError
from ..domain.recompute_deadline import RECOMPUTABLE
from ..runtime import RoutingRuntime
from .service import CaseService

log = logging.getLogger("routing.recompute")

_STALE = (
    "SELECT case_id FROM case_queue WHERE status = ANY($1::text[]) AND calendar_revision < $2"
    " ORDER BY case_id LIMIT $3"
)
_COUNTED = (
    "UPDATE case_queue SET calendar_revision = greatest(calendar_revision, $2) WHERE case_id = $1"
)


@dataclass
class RecomputeReport:
    revision: int = 0
    counted: int = 0
    envelopes: list[Envelope] = field(default_factory=list)


class DeadlineRecomputer:
    def __init__(self, ctx: RoutingRuntime, cases: CaseService) -> None:
        self.ctx = ctx
        self.cases = cases

    async def recompute_stale(
        self, now: datetime, actor: Actor, limit: int | None = None
    ) -> RecomputeReport:
        """Count again the open deadlines counted by an older calendar (at most `limit`
        cases; all of them when None)."""
        async with self.ctx.pool.acquire() as conn:
            org, _ = await self.ctx.org.current(conn)
        report = RecomputeReport(revision=org.calendar.revision)
        if report.revision == 0:
            return report  # nothing was ever published: every deadline is as counted
        batch = self.ctx.settings.deadline_check_batch
        while limit is None or report.counted < limit:
            take = batch if limit is None else min(batch, limit - report.counted)
            async with self.ctx.pool.acquire() as conn:
                rows = await conn.fetch(_STALE, sorted(RECOMPUTABLE), report.revision, take)
            if not rows:
                break
            for (case_id,) in rows:
                report.envelopes += await self._one(case_id, report.revision, now, actor)
                report.counted += 1
        if report.envelopes:
            log.info(
                "deadlines recomputed by the published calendar",
                extra={
                    "revision": report.revision,
                    "counted": report.counted,
                    "events": len(report.envelopes),
                },
            )
        return report

    async def _one(
        self, case_id: str, revision: int, now: datetime, actor: Actor
    ) -> list[Envelope]:
        async def recompute(conn: asyncpg.Connection) -> list[Envelope]:
            command = RecomputeDeadline(case_id=case_id, actor=actor)
            outcome = await self.cases.handle_in(conn, command, now=now)
            if not outcome.envelopes:
                # counted by at least `revision` (the tree only moves forward)
                await conn.execute(_COUNTED, case_id, revision)
            return outcome.envelopes

        try:
            envelopes = await self.cases.in_own_transaction(recompute)
        except DomainError as exc:
            log.error(
                "deadline recompute refused; the case keeps its deadline",
                extra={"case_id": case_id, "field": exc.field, "reason": exc.reason},
            )
            async with self.ctx.pool.acquire() as conn:
                await conn.execute(_COUNTED, case_id, revision)
            return []
        if envelopes:
            self.ctx.runtime.wake_relay()
        return envelopes
