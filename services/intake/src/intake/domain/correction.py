"""补正 correction: the request routing's officer made (one contract with routing,
`contracts.corrections.correction_request`) and the resident's supply that answers it."""

from __future__ import annotations

from contracts.base import DomainEvent
from contracts.corrections import CorrectionRequestRefused, correction_request
from contracts.intake import (
    CorrectionRequestReceived,
    CorrectionSupplied,
)

from .application_commands import (
    RecordCorrectionRequested,
    SupplyCorrection,
)
from .checks import check_materials_listed, check_org
from .errors import (
    InvalidField,
    WrongStatus,
)
from .state import ApplicationState, submission_of


def decide_correction_request(
    cmd: RecordCorrectionRequested, state: ApplicationState
) -> list[DomainEvent]:
    sub = submission_of(state)
    pending = state.pending_correction
    if pending is not None and pending.correction_id == cmd.correction_id:
        return []  # the same request delivered again: already recorded
    if state.status != "accepted":
        raise WrongStatus(
            "status", f"the case is {state.status}; a correction needs an accepted case"
        )
    try:  # the one contract routing checked the officer's request with
        request = correction_request(
            cmd.requested_materials, cmd.note, {m.code for m in sub.required_materials}
        )
    except CorrectionRequestRefused as refused:
        raise InvalidField(refused.field, refused.reason) from None
    return [
        CorrectionRequestReceived(
            case_id=sub.case_id,
            correction_id=cmd.correction_id,
            requested_materials=request.requested_materials,
            note=request.note,
            requested_by=cmd.requested_by,
            recorded_by=cmd.actor.id,
        )
    ]


def decide_supply_correction(cmd: SupplyCorrection, state: ApplicationState) -> list[DomainEvent]:
    sub = submission_of(state)
    pending = state.pending_correction
    if state.status != "correction_requested" or pending is None:
        raise WrongStatus("status", f"the case is {state.status}; no correction is pending")
    if cmd.correction_id != pending.correction_id:
        raise InvalidField("correction_id", f"the pending correction is {pending.correction_id}")
    check_org("received_center_id", cmd.received_center_id)
    check_materials_listed("materials", cmd.materials, sub.required_materials)
    given = {m.code for m in cmd.materials}
    lacking = [c for c in pending.requested_materials if c not in given]
    if lacking:
        raise InvalidField("materials", f"the correction asks for {', '.join(lacking)}")
    note = (cmd.note or "").strip() or None
    if not cmd.materials and note is None:
        raise InvalidField("materials", "nothing was supplied")
    return [
        CorrectionSupplied(
            case_id=sub.case_id,
            correction_id=pending.correction_id,
            materials=cmd.materials,
            note=note,
            received_center_id=cmd.received_center_id,
            supplied_by=cmd.actor.id,
        )
    ]
