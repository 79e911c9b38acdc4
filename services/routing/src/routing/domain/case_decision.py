"""The decision: approve, or refuse with a reason — by whom the decision rule allows.

Who may decide is THE DECISION RULE of `contracts.decisions.decision_right` (the assignee;
or, for a same-day item (即办件) handled at a community center, that center's window staff
— recorded as `at_window`); a decision by anyone else is refused naming the field `actor`.
Audit's `decision_by_non_assignee` flags by the same rule.

A decision may also end a pending correction (补正). A center expects the officer's
decision to be the last word on the case: most often a refusal because the applicant never
supplied the correction (逾期未补正), sometimes an approval because the officer verified the
material another way; refusing the decision instead would strand a case whose resident
never comes back. So the decision closes the pause: `CorrectionClosed` (the pause from the
request to the decision, the paused working days in total) comes just before `CaseDecided`,
and `on_time` counts that pause as paused time, by the same promise rule. A verdict judged
by a deadline over a year without an official holiday schedule says so (`provisional_years`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from contracts.base import DomainEvent
from contracts.decisions import DecisionRight, StaffPost, decision_right
from contracts.routing import CaseDecided, CorrectionClosed
from contracts.workdays import Pause

from .case_state import CaseCommand, CaseState, require_known
from .context import CaseContext
from .errors import InvalidValue, NotPermitted, WrongState

DECIDABLE = frozenset({"open", "correction_pending"})


class DecideCase(CaseCommand):
    decision: Literal["approve", "refuse"]
    reason: str | None = Field(default=None)


def _right(ctx: CaseContext, state: CaseState, actor_id: str) -> DecisionRight | None:
    staff = ctx.org.staff.get(actor_id)
    return decision_right(
        decided_by=actor_id,
        assigned_to=state.assigned_to,
        case_type=state.case_type,
        handling_tier=state.handling_tier,
        handling_unit_id=state.handling_unit_id,
        staff=None if staff is None else StaffPost(unit_id=staff.unit_id, roles=staff.roles),
    )


def decide_decision(
    cmd: DecideCase, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    if state.status not in DECIDABLE:
        raise WrongState("case_id", f"a {state.status} case cannot be decided")
    if state.joint_hold == "waiting_for_predecessor":
        raise WrongState(
            "case_id", "a sequential member is decided only after the one before it is approved"
        )
    if state.joint_hold == "stopped_by_refusal":
        raise WrongState("case_id", "this joint member was stopped: another member was refused")
    reason = (cmd.reason or "").strip() or None
    if cmd.decision == "refuse" and reason is None:
        raise InvalidValue("reason", "a refusal must give its reason")
    right = _right(ctx, state, cmd.actor.id)
    if right is None:
        raise NotPermitted(
            "actor",
            f"case is assigned to {state.assigned_to}; only the assigned officer may decide"
            " (or, for a same-day item of a community center, its window staff)",
        )
    assert state.accepted_at is not None and state.due_at is not None
    events: list[DomainEvent] = []
    pauses = list(state.pauses)
    if state.paused_at is not None and state.correction_id is not None:
        pause = Pause(paused_at=state.paused_at, resumed_at=max(now, state.paused_at))
        pauses.append(pause)
        events.append(
            CorrectionClosed(
                **state.case_fields(),
                correction_id=state.correction_id,
                paused_at=pause.paused_at,
                resumed_at=pause.resumed_at,
                paused_working_days=ctx.calendar.paused_working_days(pauses),
                closed_by=cmd.actor.id,
            )
        )
    promise = ctx.promise_for(state, pauses)
    return [
        *events,
        CaseDecided(
            **state.case_fields(),
            decision_id=f"{state.case_id}.decision",
            decision=cmd.decision,
            reason=reason,
            decided_by=cmd.actor.id,
            at_window=right == "at_window",
            on_time=now <= promise.due_at,
            provisional_years=promise.provisional_years,
        ),
    ]
