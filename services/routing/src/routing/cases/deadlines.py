"""The deadline loop (服务承诺制): warn, flag overdue, escalate — when the time has come.

Every `ROUTING_DEADLINE_CHECK_INTERVAL_SECONDS` the loop takes the cases whose next notice
is due (`case_deadlines.next_due_at <= now`, an index scan) and sends each a
`CheckDeadlines`. The domain decides what is due and issues each notice at most once, in
order, so checking late or twice is harmless. Each case is checked in its own transaction
holding its `case_deadlines` row (`FOR UPDATE SKIP LOCKED`): several routing instances
share the work without checking one case twice at the same moment, and a concurrent
decision on the case simply wins or retries through the stream's expected version.

Each round first counts again the open deadlines counted by an older working-day calendar
(a holiday schedule was published since: `cases.recompute`), so the notices are checked
against the deadlines the published calendar gives.

`check_due(now, actor)` is also what the admin drill endpoint runs with a chosen `now`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from eventkit.envelope import Actor, Envelope
from eventkit.loops import LoopHealth, sleep_or_stop

from ..domain.case import CaseState, CheckDeadlines
from ..domain.context import CaseContext
from ..domain.errors import DomainError
from ..runtime import SYSTEM_ACTOR, RoutingRuntime
from .projection import next_check_at, set_next_check
from .recompute import DeadlineRecomputer
from .service import CaseService

log = logging.getLogger("routing.deadlines")


@dataclass
class CheckReport:
    now: datetime
    checked: int = 0
    envelopes: list[Envelope] = field(default_factory=list)


class DeadlineChecker:
    def __init__(
        self, ctx: RoutingRuntime, cases: CaseService, recompute: DeadlineRecomputer
    ) -> None:
        self.ctx = ctx
        self.cases = cases
        self.recompute = recompute
        self.stop_event = asyncio.Event()
        self.rounds = 0

    async def run(self, health: LoopHealth) -> None:
        """The loop body (the runtime supervises it: an error ends the body, is logged and
        retried after a capped backoff, the loop's state is in `/readyz`). It ends when
        `stop_event` is set (a stop hook sets it)."""
        interval = self.ctx.settings.deadline_check_interval_seconds
        await self.ctx.org_ready.wait()
        while not self.stop_event.is_set():
            report = await self.check_due(self.ctx.clock(), SYSTEM_ACTOR)
            self.rounds += 1
            health.running()
            if report.envelopes:
                log.info(
                    "deadline notices issued",
                    extra={"checked": report.checked, "events": len(report.envelopes)},
                )
            await sleep_or_stop(self.stop_event, interval)

    async def check_due(self, now: datetime, actor: Actor) -> CheckReport:
        """Check every case whose next notice is due at `now`; what was issued."""
        report = CheckReport(now=now)
        batch = self.ctx.settings.deadline_check_batch
        recounted = await self.recompute.recompute_stale(now, actor, limit=batch)
        report.envelopes += recounted.envelopes
        async with self.ctx.pool.acquire() as conn:
            due = await conn.fetch(
                "SELECT case_id FROM case_deadlines WHERE next_due_at <= $1"
                " ORDER BY next_due_at LIMIT $2",
                now,
                batch,
            )
        for (case_id,) in due:
            envelopes = await self._check_one(case_id, now, actor)
            if envelopes is not None:
                report.checked += 1
                report.envelopes += envelopes
        return report

    async def _check_one(self, case_id: str, now: datetime, actor: Actor) -> list[Envelope] | None:
        async def check(conn: asyncpg.Connection) -> list[Envelope] | None:
            held = await conn.fetchval(
                "SELECT case_id FROM case_deadlines WHERE case_id = $1"
                " AND next_due_at <= $2 FOR UPDATE SKIP LOCKED",
                case_id,
                now,
            )
            if held is None:
                return None  # another instance has it, or it is no longer due
            command = CheckDeadlines(case_id=case_id, actor=actor)
            outcome = await self.cases.handle_in(conn, command, now=now)
            if not outcome.envelopes:
                await self._reschedule_quiet(conn, outcome.state, case_id, now)
            return outcome.envelopes

        try:
            envelopes = await self.cases.in_own_transaction(check)
        except DomainError as exc:
            log.error(
                "deadline check refused; dropping the case from the schedule",
                extra={"case_id": case_id, "field": exc.field, "reason": exc.reason},
            )
            async with self.ctx.pool.acquire() as conn:
                await conn.execute("DELETE FROM case_deadlines WHERE case_id = $1", case_id)
            return None
        if envelopes:
            self.ctx.runtime.wake_relay()
        return envelopes

    async def _reschedule_quiet(
        self, conn: asyncpg.Connection, state: CaseState, case_id: str, now: datetime
    ) -> None:
        """A due check said nothing: store the next instant. Should it still lie in the past
        (it cannot, `next_check_at` mirrors the domain), push it one round on rather than
        spin, and say so."""
        org, _ = await self.ctx.org.current(conn)
        at = next_check_at(state, CaseContext(org, self.ctx.policy))
        if at is not None and at <= now:
            log.warning(
                "deadline schedule disagrees with the domain; postponing one round",
                extra={"case_id": case_id, "next_due_at": at.isoformat()},
            )
            at = now + timedelta(seconds=self.ctx.settings.deadline_check_interval_seconds)
        await set_next_check(conn, case_id, at, now)
