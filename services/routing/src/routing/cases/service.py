"""Running one case command: org tree, decide, append, read models — one transaction.

Every path that changes a case comes through here, inside the caller's transaction: the
intake consumer's inbox transaction, the HTTP routes' Idempotency-Key transaction, the
deadline loop's per-case transaction — each retried whole when another writer of the same
case won the race (`ConcurrencyError`). The decider is built per command from the tree as
this transaction sees it, so a case is always judged against the current posts, rosters
and absences.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from contracts.base import payload_of, to_payload
from eventkit.aggregate import CommandRunner, Outcome
from eventkit.envelope import Envelope
from eventkit.store import ConcurrencyError

from ..domain.case import CaseCommandType, CaseDecider, CaseState, evolve_case
from ..domain.case_state import initial_case_state
from ..domain.context import CaseContext
from ..domain.joint_member import HoldJointMember, ResumeJointMember
from ..runtime import SYSTEM_ACTOR, RoutingRuntime
from .joint import after_member_decided
from .projection import project_case

log = logging.getLogger("routing.cases")

T = TypeVar("T")

# The case's case_deadlines row lock, then the org events after the cached version. The lock
# is an InitPlan of a one-time filter, so it is taken (or waited for) before the events are
# read, even when there are none; the org rows come from the statement's snapshot, taken
# before any wait, which is as good as a catch-up just before the lock (org changes are not
# serialised by this lock). The rows are decoded by the service's read path (`OrgCache.reader`,
# eventkit's `EventReader`), like every other read of the store.
_LOCK_THEN_ORG = """
SELECT envelope FROM events
WHERE stream_id = $2 AND stream_version > $3
  AND (SELECT count(*) FROM (SELECT FROM case_deadlines WHERE case_id = $1 FOR UPDATE) l) >= 0
ORDER BY stream_version
"""


class CaseService:
    def __init__(self, ctx: RoutingRuntime, retries: int = 8) -> None:
        self.ctx = ctx
        self.retries = retries

    async def in_own_transaction(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run `work` in a transaction of its own, run again whole when another writer of the
        case won the race (`ConcurrencyError`), at most `retries` times: how the deadline
        loop and the recompute pass send their per-case commands."""
        for attempt in range(1, self.retries + 1):
            try:
                async with self.ctx.pool.acquire() as conn, conn.transaction():
                    return await work(conn)
            except ConcurrencyError:
                if attempt >= self.retries:
                    raise
        raise ValueError(f"retries must be at least 1, not {self.retries}")

    def runner(self, decider: CaseDecider) -> CommandRunner[CaseState, Any]:
        return CommandRunner(
            store=self.ctx.store,
            decide=decider.decide,
            evolve=evolve_case,
            initial=initial_case_state,
            from_envelope=payload_of,
            to_payload=to_payload,
            producer=self.ctx.producer,
        )

    async def handle_in(
        self,
        conn: asyncpg.Connection,
        command: CaseCommandType,
        *,
        now: datetime,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
        item_name_zh: str | None = None,
    ) -> Outcome[CaseState]:
        """Decide and append inside the caller's transaction, with the read models.

        Domain errors propagate before anything is written; a `ConcurrencyError` means the
        caller's transaction must be retried whole."""
        # Same lock order as the deadline loop (its case_deadlines row, then the append):
        # otherwise a command and a deadline check on one case can deadlock. The lock rides
        # on the org catch-up query (one round trip; see _LOCK_THEN_ORG).
        org_rows = await conn.fetch(
            _LOCK_THEN_ORG, command.case_id, self.ctx.org.stream_id, self.ctx.org.version
        )
        org, _ = self.ctx.org.fold(self.ctx.org.reader.decode_rows(r[0] for r in org_rows))
        decider = CaseDecider(org, self.ctx.policy)
        # without one given (the HTTP commands), the events continue the case's correlation:
        # its first routing event's, which continues intake's
        outcome = await self.runner(decider).handle(
            command.case_id,
            command,
            actor=command.actor,
            now=now,
            correlation_id=correlation_id,
            causation_id=causation_id,
            conn=conn,
            continue_correlation=True,
        )
        if outcome.envelopes:
            await project_case(
                conn,
                outcome.state,
                outcome.version,
                outcome.envelopes,
                CaseContext(org, self.ctx.policy),
                now,
                item_name_zh=item_name_zh,
            )
        for env in outcome.envelopes:
            if env.event_type == "routing.case_decided":
                # a joint case's member (联办): the bundle's rule, in this same transaction
                joint = await after_member_decided(
                    self.ctx,
                    conn,
                    command.case_id,
                    str(env.payload["decision"]),
                    command.actor,
                    now,
                    env.event_id,
                )
                if joint is not None:
                    await self._joint_members_clocks(conn, joint.envelopes, now)
        return outcome

    async def _joint_members_clocks(
        self, conn: asyncpg.Connection, joint_events: list[Envelope], now: datetime
    ) -> None:
        """What the joint rule did to other members, on their own cases: a released member's
        clock starts, a stopped member's is held for good (`domain.joint_member`)."""
        for jenv in joint_events:
            p = jenv.payload
            follow: HoldJointMember | ResumeJointMember
            if jenv.event_type == "routing.joint_member_released":
                follow = ResumeJointMember(
                    case_id=p["case_id"],
                    actor=SYSTEM_ACTOR,
                    joint_case_id=p["joint_case_id"],
                    after_case_id=p["after_case_id"],
                )
            elif jenv.event_type == "routing.joint_member_stopped":
                follow = HoldJointMember(
                    case_id=p["case_id"],
                    actor=SYSTEM_ACTOR,
                    joint_case_id=p["joint_case_id"],
                    reason="stopped_by_refusal",
                    cause_case_id=p["refused_case_id"],
                )
            else:
                continue
            await self.handle_in(conn, follow, now=now, causation_id=jenv.event_id)
