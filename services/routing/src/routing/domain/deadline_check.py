"""服务承诺制 enforcement: warn before the deadline, flag it after, escalate twice.

`CheckDeadlines` is sent per open case by a scheduler at the edge (any frequency; it is
safe to send it often). Given `now`, it emits every notice whose time has come and that
was not issued before, in this order, each at most once per case:

1. `routing.deadline_warning_issued` — from 00:00 of the Nth working day before the due day;
2. `routing.case_overdue` — after close of business on the due day;
3. `routing.case_escalated` level 1 — to the head of the handling center;
4. `routing.case_escalated` level 2 — to the head of the center one tier up (none above
   the city: a city-tier case stops at level 1), naming the handling center's head too;
5. `routing.followup_overdue` — for each bad-review follow-up unanswered after its due time.

1 and 2 name the A and B holders of the case's post as it stands when they are issued (AB岗:
the backup answers for the post's cases too), and 3-4 the handling center's head, so notify
tells each of them without knowing the org tree.

The thresholds come from `DeadlinePolicy`. A late first check catches up on every notice
due, still in order, so the trail always reads warning < overdue < escalation. While a
correction is pending the clock stands still and 1-4 are not checked; after the decision
(or a withdrawal) they never are.
"""

from __future__ import annotations

from datetime import datetime, time

from contracts.base import DomainEvent
from contracts.routing import CaseEscalated, CaseOverdue, DeadlineWarningIssued, FollowUpOverdue
from contracts.workdays import (
    SHANGHAI,
    add_working_days,
    local_date,
    subtract_working_days,
    working_days_between,
)

from .case_state import CaseCommand, CaseState, require_known
from .context import CaseContext


class CheckDeadlines(CaseCommand):
    pass


def warning_from(state: CaseState, ctx: CaseContext) -> datetime:
    assert state.due_date is not None
    day = subtract_working_days(state.due_date, ctx.policy.warning_working_days)
    return datetime.combine(day, time(0, 0), tzinfo=SHANGHAI)


def escalation_after(state: CaseState, ctx: CaseContext, level: int) -> datetime:
    """The instant after which escalation `level` (1 or 2) is due."""
    assert state.due_date is not None and state.due_at is not None
    delay = ctx.policy.first_escalation_delay_working_days
    if level == 2:
        delay += ctx.policy.second_escalation_delay_working_days
    if delay == 0:
        return state.due_at
    hours = ctx.hours_of(state.handling_unit_id)
    return hours.close_of_business(add_working_days(state.due_date, delay))


def escalation_target(state: CaseState, ctx: CaseContext, level: int) -> tuple[str, str] | None:
    """(unit, head) for `level`: the handling center's head, then the head one tier up."""
    org = ctx.org
    first = org.nearest_head(state.handling_unit_id)
    if first is None or level == 1:
        return first
    parent = org.units[first[0]].parent_id
    return org.nearest_head(parent) if parent is not None else None


def post_holders(state: CaseState, ctx: CaseContext) -> dict[str, str | None]:
    """The A and B holders of the case's post now (None for a case held without a post)."""
    post = ctx.org.posts.get(state.post_id) if state.post_id else None
    return {
        "a_holder": post.a_holder if post else None,
        "b_holder": post.b_holder if post else None,
    }


def _clock_notices(state: CaseState, now: datetime, ctx: CaseContext, by: str) -> list[DomainEvent]:
    if not state.clock_running or state.due_at is None or state.due_date is None:
        return []
    assert state.assigned_to is not None
    fields = state.case_fields()
    holders = post_holders(state, ctx)
    events: list[DomainEvent] = []
    if not state.warning_issued and now >= warning_from(state, ctx):
        events.append(
            DeadlineWarningIssued(
                **fields,
                assigned_to=state.assigned_to,
                due_at=state.due_at,
                working_days_left=working_days_between(local_date(now), state.due_date),
                issued_by=by,
                **holders,
            )
        )
    if not state.overdue and now > state.due_at:
        events.append(
            CaseOverdue(
                **fields,
                assigned_to=state.assigned_to,
                due_at=state.due_at,
                detected_by=by,
                **holders,
            )
        )
    first = escalation_target(state, ctx, 1)
    for level in (1, 2):
        if state.escalation_level >= level or now <= escalation_after(state, ctx, level):
            continue
        target = escalation_target(state, ctx, level)
        if target is None:
            break
        events.append(
            CaseEscalated(
                **fields,
                level=level,
                escalated_to=target[1],
                to_unit_id=target[0],
                assigned_to=state.assigned_to,
                due_at=state.due_at,
                escalated_by=by,
                center_head=first[1] if first else None,
            )
        )
    return events


def decide_check_deadlines(
    cmd: CheckDeadlines, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    events = _clock_notices(state, now, ctx, cmd.actor.id)
    for f in state.followups:
        if not f.answered and not f.overdue_reported and now > f.answer_due_at:
            events.append(
                FollowUpOverdue(
                    **state.case_fields(),
                    followup_id=f.followup_id,
                    assigned_to=f.assigned_to,
                    answer_due_at=f.answer_due_at,
                    detected_by=cmd.actor.id,
                )
            )
    return events
