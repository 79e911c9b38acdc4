"""补正: the officer asks for corrections; the deadline clock stops until they arrive.

`RequestCorrection` lists everything to correct in one request (the spirit of 一次性告知)
and pauses the clock; only the assigned officer may ask. The request keeps the one
contract of `contracts.corrections` (materials of the case's catalog version by code, an
optional note), which intake records it by: a refusal names the field.

`RecordCorrectionSupplied` comes from intake's `intake.correction_supplied`: the pause ends
and the deadline is set again, extended by the working days the pause took off the clock —
the rule of `contracts.workdays.paused_working_days`: the working days in (request day,
supply day]. A redelivered supply (no correction pending, or another correction id)
changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent
from contracts.corrections import CorrectionRequestRefused, correction_request
from contracts.routing import CorrectionReceived, CorrectionRequested, DeadlineSet
from contracts.workdays import Pause

from .case_state import CaseCommand, CaseState, require_known
from .context import CaseContext
from .errors import InvalidValue, NotPermitted, WrongState


class RequestCorrection(CaseCommand):
    requested_materials: tuple[str, ...] = ()  # material codes of the case's catalog version
    note: str | None = None


class RecordCorrectionSupplied(CaseCommand):
    correction_id: str = Field(min_length=1)
    supplied_at: AwareDatetime | None = None  # when intake received it; defaults to `now`


def decide_request_correction(
    cmd: RequestCorrection, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    if state.status != "open":
        raise WrongState("case_id", f"a correction cannot be requested on a {state.status} case")
    if cmd.actor.id != state.assigned_to:
        raise NotPermitted(
            "actor", f"case is assigned to {state.assigned_to}; only they may request corrections"
        )
    try:
        request = correction_request(cmd.requested_materials, cmd.note, state.material_codes)
    except CorrectionRequestRefused as refused:
        raise InvalidValue(refused.field, refused.reason) from None
    return [
        CorrectionRequested(
            **state.case_fields(),
            correction_id=f"{state.case_id}.correction.{state.corrections + 1}",
            requested_materials=request.requested_materials,
            note=request.note,
            paused_at=now,
            requested_by=cmd.actor.id,
        )
    ]


def decide_correction_supplied(
    cmd: RecordCorrectionSupplied, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    if state.status != "correction_pending" or state.correction_id != cmd.correction_id:
        return []
    assert state.paused_at is not None and state.accepted_at is not None
    resumed_at = max(cmd.supplied_at or now, state.paused_at)
    pauses = [*state.pauses, Pause(paused_at=state.paused_at, resumed_at=resumed_at)]
    total = ctx.calendar.paused_working_days(pauses)
    promise = ctx.promise_for(state, pauses)
    return [
        CorrectionReceived(
            **state.case_fields(),
            correction_id=cmd.correction_id,
            paused_at=state.paused_at,
            resumed_at=resumed_at,
            paused_working_days=total,
            recorded_by=cmd.actor.id,
        ),
        DeadlineSet(
            **state.case_fields(),
            accepted_at=state.accepted_at,
            promised_limit_days=state.promised_limit_days,
            paused_working_days=total,
            due_date=promise.due_date,
            due_at=promise.due_at,
            reason="correction_supplied",
            set_by=cmd.actor.id,
            provisional_years=promise.provisional_years,
        ),
    ]
