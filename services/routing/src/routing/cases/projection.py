"""Read models of a case, written in the transaction that appends its events.

- `case_queue`: the work queue row (who has it, status, due date, flags, the years the
  deadline rests on a provisional calendar, a 联办 member's hold) — a function of the
  folded `CaseState`, so it is simply rewritten after every append; `calendar_revision`
  changes only when the deadline is counted (a deadline event), see `cases.recompute`;
- `case_deadlines`: the next instant at which `CheckDeadlines` has something to say for the
  case, mirroring the domain's thresholds exactly (`next_check_at`), so the deadline loop
  reads an index instead of folding every open case;
- `followups`: bad-review follow-ups, from their events (the state lacks score and center).

Because these rows commit or roll back with the events, a reader never sees a queue that
disagrees with the trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from eventkit.envelope import Envelope

from ..domain.case_state import CaseState
from ..domain.context import CaseContext
from ..domain.deadline_check import escalation_after, escalation_target, warning_from

DEADLINE_EVENTS = frozenset({"routing.deadline_set", "routing.deadline_recomputed"})
"""The events that (re)count a deadline by the tree's calendar."""

EPSILON = timedelta(microseconds=1)
"""The domain's "after" thresholds are strict (`now > due_at`): due one tick later."""


def next_check_at(state: CaseState, ctx: CaseContext) -> datetime | None:
    """The earliest instant at which `CheckDeadlines` would emit something, or None."""
    if state.case_id is None:
        return None
    times: list[datetime] = []
    if (
        state.clock_running
        and state.due_at is not None
        and state.due_date is not None
        and state.assigned_to is not None
    ):
        if not state.warning_issued:
            times.append(warning_from(state, ctx))
        if not state.overdue:
            times.append(state.due_at + EPSILON)
        for level in (1, 2):
            if state.escalation_level >= level:
                continue
            if escalation_target(state, ctx, level) is None:
                break
            times.append(escalation_after(state, ctx, level) + EPSILON)
    for f in state.followups:
        if not f.answered and not f.overdue_reported:
            times.append(f.answer_due_at + EPSILON)
    return min(times) if times else None


_UPSERT_QUEUE = """
INSERT INTO case_queue AS q (
    case_id, stream_version, status, item_code, item_version, item_name_zh, category,
    case_type, handling_tier, handling_unit_id, handling_office_id, accepting_center_id,
    agent_id, post_id, assigned_to, accepted_at, due_date, due_at, warning_issued, overdue,
    escalation_level, decision, decided_by, updated_at, provisional_years, calendar_revision,
    line_id, joint_hold)
VALUES ($1, $2, $3, $4, $5,
        coalesce($6, (SELECT c.name_zh FROM catalog_items c
                      WHERE c.code = $4 AND c.version = $5)),
        $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24,
        $25, coalesce($26, 0), $28, $29)
ON CONFLICT (case_id) DO UPDATE SET
    stream_version = EXCLUDED.stream_version,
    status = EXCLUDED.status,
    item_name_zh = coalesce(EXCLUDED.item_name_zh, q.item_name_zh),
    handling_office_id = EXCLUDED.handling_office_id,
    post_id = EXCLUDED.post_id,
    assigned_to = EXCLUDED.assigned_to,
    accepted_at = EXCLUDED.accepted_at,
    due_date = EXCLUDED.due_date,
    due_at = EXCLUDED.due_at,
    warning_issued = EXCLUDED.warning_issued,
    overdue = EXCLUDED.overdue,
    escalation_level = EXCLUDED.escalation_level,
    decision = EXCLUDED.decision,
    decided_by = EXCLUDED.decided_by,
    updated_at = EXCLUDED.updated_at,
    provisional_years = EXCLUDED.provisional_years,
    calendar_revision = coalesce($26, q.calendar_revision),
    line_id = EXCLUDED.line_id,
    joint_hold = EXCLUDED.joint_hold
WHERE q.stream_version <= EXCLUDED.stream_version
"""


# The queue row and the next deadline in one statement (the queue upsert as a CTE: both
# always run, on different tables, so the order between them does not matter; the
# case_deadlines row is already locked by the command, see CaseService.handle_in).
_QUEUE_AND_DEADLINE = (
    "WITH queue AS (" + _UPSERT_QUEUE + ")\n"
    "INSERT INTO case_deadlines (case_id, next_due_at, updated_at) VALUES ($1, $27, $24)\n"
    "ON CONFLICT (case_id) DO UPDATE\n"
    "SET next_due_at = EXCLUDED.next_due_at, updated_at = EXCLUDED.updated_at"
)
_QUEUE_AND_NO_DEADLINE = (
    "WITH queue AS (" + _UPSERT_QUEUE + ")\n"
    # $27 (the next check) is None here; named so both statements take the same arguments
    "DELETE FROM case_deadlines WHERE case_id = $1 AND $27::timestamptz IS NULL"
)


async def project_case(
    conn: asyncpg.Connection,
    state: CaseState,
    version: int,
    envelopes: Sequence[Envelope],
    ctx: CaseContext,
    now: datetime,
    *,
    item_name_zh: str | None = None,
) -> None:
    """Rewrite the queue row and the next deadline of a case; record follow-up events."""
    if state.case_id is None:
        return
    at = next_check_at(state, ctx)
    counted = any(e.event_type in DEADLINE_EVENTS for e in envelopes)
    await conn.execute(
        _QUEUE_AND_NO_DEADLINE if at is None else _QUEUE_AND_DEADLINE,
        state.case_id,
        version,
        state.status,
        state.item_code,
        _item_version(envelopes),
        item_name_zh,
        state.category,
        state.case_type,
        state.handling_tier,
        state.handling_unit_id,
        state.handling_office_id,
        state.accepting_center_id,
        state.agent_id or None,
        state.post_id,
        state.assigned_to,
        state.accepted_at,
        state.due_date,
        state.due_at,
        state.warning_issued,
        state.overdue,
        state.escalation_level,
        state.decision,
        state.decided_by,
        now,
        None if state.provisional_years is None else list(state.provisional_years),
        ctx.calendar.revision if counted else None,
        at,
        state.line_id,
        state.joint_hold,
    )
    for env in envelopes:
        await _project_followup(conn, env)


def _item_version(envelopes: Sequence[Envelope]) -> int | None:
    for env in envelopes:
        if env.event_type == "routing.case_routed":
            return int(env.payload["item_version"])
    return None


async def set_next_check(
    conn: asyncpg.Connection, case_id: str, at: datetime | None, now: datetime
) -> None:
    if at is None:
        await conn.execute("DELETE FROM case_deadlines WHERE case_id = $1", case_id)
        return
    await conn.execute(
        """INSERT INTO case_deadlines (case_id, next_due_at, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (case_id) DO UPDATE
           SET next_due_at = EXCLUDED.next_due_at, updated_at = EXCLUDED.updated_at""",
        case_id,
        at,
        now,
    )


async def _project_followup(conn: asyncpg.Connection, env: Envelope) -> None:
    p = env.payload
    if env.event_type == "routing.bad_review_followup_opened":
        await conn.execute(
            """INSERT INTO followups (followup_id, case_id, center_id, assigned_to, score,
                   low_dimensions, comment, answer_due_at, opened_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (followup_id) DO NOTHING""",
            p["followup_id"],
            p["case_id"],
            p["center_id"],
            p["assigned_to"],
            p["score"],
            list(p.get("low_dimensions") or ()),
            p.get("comment"),
            datetime.fromisoformat(p["answer_due_at"]),
            env.occurred_at,
        )
    elif env.event_type == "routing.bad_review_followup_answered":
        await conn.execute(
            """UPDATE followups SET answered = true, answered_by = $2, answer = $3,
                   answered_on_time = $4 WHERE followup_id = $1""",
            p["followup_id"],
            p["answered_by"],
            p["answer"],
            p["on_time"],
        )
    elif env.event_type == "routing.followup_overdue":
        await conn.execute(
            "UPDATE followups SET overdue = true WHERE followup_id = $1", p["followup_id"]
        )
