"""Supplements after the one-time notice: recorded with what is still missing (never a second
notice); the case is accepted once nothing is."""

from __future__ import annotations

from datetime import datetime

from contracts.base import DomainEvent
from contracts.intake import (
    MaterialsSupplemented,
)
from contracts.materials import missing_materials

from .application_commands import (
    SupplementMaterials,
)
from .checks import check_materials_listed, check_org
from .context import IntakeContext
from .errors import (
    InvalidField,
    WrongStatus,
)
from .state import ApplicationState, submission_of
from .submission import accept


def decide_supplement(
    cmd: SupplementMaterials, state: ApplicationState, now: datetime, ctx: IntakeContext
) -> list[DomainEvent]:
    sub = submission_of(state)
    if state.status != "awaiting_materials":
        raise WrongStatus(
            "status",
            f"the case is {state.status}; supplements are taken only while materials are awaited",
        )
    if not cmd.materials:
        raise InvalidField("materials", "nothing was supplied")
    check_org("received_center_id", cmd.received_center_id)
    check_materials_listed("materials", cmd.materials, sub.required_materials)
    still_missing = missing_materials(
        (r for r in sub.required_materials if r.code in {m.code for m in state.outstanding}),
        (*state.provided, *cmd.materials),
    )
    events: list[DomainEvent] = [
        MaterialsSupplemented(
            case_id=sub.case_id,
            supplied=cmd.materials,
            still_missing=still_missing,
            received_center_id=cmd.received_center_id,
            supplied_by=cmd.actor.id,
        )
    ]
    if not still_missing:
        events.append(accept(sub, state.fee_override, now, cmd.actor.id, ctx))
    return events
