"""The deadline counted again when the working-day calendar changed (服务承诺制, issue 13 #7).

`RecomputeDeadline` is sent by the edge to every open case whose deadline was counted by an
older calendar (after an admin published a year's holiday schedule, see
`cases.recompute`). The same promise is counted again — acceptance time, promised days, the
pauses of the corrections already supplied, the handling unit's hours — by the calendar of
the tree now. When the due moment or its provisional years changed,
`routing.deadline_recomputed` says from what to what, why, and by which notices; otherwise
nothing is said (a deadline that does not depend on the published year stays as it was).

A case whose clock has stopped for good (decided, withdrawn) keeps the deadline it was
judged by. A pending correction stays pending: its pause is counted when the correction is
supplied. Notices already issued (warning, overdue, escalation) stand as issued.
"""

from __future__ import annotations

from datetime import datetime

from contracts.base import DomainEvent
from contracts.routing import DeadlineRecomputed
from contracts.workdays import local_date

from .case_state import CaseCommand, CaseState, require_known
from .context import CaseContext

RECOMPUTABLE = frozenset({"open", "correction_pending"})


class RecomputeDeadline(CaseCommand):
    pass


def decide_recompute(
    cmd: RecomputeDeadline, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    if state.status not in RECOMPUTABLE or state.accepted_at is None:
        return []
    assert state.due_date is not None and state.due_at is not None
    cal = ctx.calendar
    promise = ctx.promise_for(state, state.pauses)
    before = (state.due_date, state.due_at, state.provisional_years)
    if (promise.due_date, promise.due_at, promise.provisional_years) == before:
        return []
    counted = range(local_date(state.accepted_at).year, promise.due_date.year + 1)
    notices = tuple(n for y in counted if (n := cal.year(y).notice_no) is not None)
    return [
        DeadlineRecomputed(
            **state.case_fields(),
            accepted_at=state.accepted_at,
            promised_limit_days=state.promised_limit_days,
            paused_working_days=cal.paused_working_days(state.pauses),
            previous_due_date=state.due_date,
            previous_due_at=state.due_at,
            due_date=promise.due_date,
            due_at=promise.due_at,
            provisional_years=promise.provisional_years,
            reason="holiday_schedule_published",
            notices=notices,
            recomputed_by=cmd.actor.id,
        )
    ]
