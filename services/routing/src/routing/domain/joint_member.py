"""A joint member's own clock (联办): held while it waits its turn or after it was stopped.

A member of a sequential (串联) bundle after the first waits for the one before it to be
approved; a member stopped because another was refused (`on_refusal` stop_others) is over
without a decision. Neither has a running deadline: not warned, not overdue, not escalated,
and neither may be decided (`HoldJointMember`). When a waiting member is released
(`ResumeJointMember`) its clock starts: the wait counts as a pause, like a correction's
(`contracts.workdays.promised_deadline` with the pause), so its deadline is its own limit
counted from the release; the joint promise (`contracts.joint.joint_promise`, the latest
member's) already counts the members one after another.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from contracts.base import DomainEvent
from contracts.joint import HoldReason, JointMemberHeld, JointMemberResumed
from contracts.routing import DeadlineSet
from contracts.workdays import Pause, promised_deadline

from .case_state import CaseCommand, CaseState, require_known
from .context import CaseContext

JOINT_ID_PATTERN = r"^joint-[0-9a-f]{32}$"


class HoldJointMember(CaseCommand):
    joint_case_id: str = Field(pattern=JOINT_ID_PATTERN)
    reason: HoldReason
    cause_case_id: str | None = None


class ResumeJointMember(CaseCommand):
    joint_case_id: str = Field(pattern=JOINT_ID_PATTERN)
    after_case_id: str


def decide_hold(
    cmd: HoldJointMember, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    if state.status != "open" or state.joint_hold == "stopped_by_refusal":
        return []  # decided, withdrawn or stopped already: nothing runs to hold
    if state.joint_hold == cmd.reason:
        return []  # a redelivery
    held_at = state.joint_held_at if state.joint_hold else now
    return [
        JointMemberHeld(
            **state.case_fields(),
            joint_case_id=cmd.joint_case_id,
            reason=cmd.reason,
            cause_case_id=cmd.cause_case_id,
            held_at=held_at or now,
        )
    ]


def decide_resume(
    cmd: ResumeJointMember, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    if state.joint_hold != "waiting_for_predecessor" or state.joint_held_at is None:
        return []  # not waiting (a redelivery, or stopped meanwhile)
    assert state.accepted_at is not None
    held_at = state.joint_held_at
    resumed_at = max(now, held_at)
    pauses = [*state.pauses, Pause(paused_at=held_at, resumed_at=resumed_at)]
    promise = promised_deadline(
        state.accepted_at,
        state.promised_limit_days,
        ctx.hours_of(state.handling_unit_id),
        pauses,
        calendar=ctx.calendar,
    )
    return [
        JointMemberResumed(
            **state.case_fields(),
            joint_case_id=cmd.joint_case_id,
            after_case_id=cmd.after_case_id,
            held_at=held_at,
            resumed_at=resumed_at,
        ),
        DeadlineSet(
            **state.case_fields(),
            accepted_at=state.accepted_at,
            promised_limit_days=state.promised_limit_days,
            paused_working_days=ctx.calendar.paused_working_days(pauses),
            due_date=promise.due_date,
            due_at=promise.due_at,
            reason="joint_released",
            set_by=cmd.actor.id,
            provisional_years=promise.provisional_years,
        ),
    ]
