"""The decision routing's office made, recorded at intake (idempotent: the same decision
delivered again is already recorded)."""

from __future__ import annotations

from contracts.base import DomainEvent
from contracts.intake import (
    DecisionReceived,
)

from .application_commands import (
    RecordDecisionReceived,
)
from .errors import (
    InvalidField,
    WrongStatus,
)
from .state import ApplicationState, submission_of


def decide_record_decision(
    cmd: RecordDecisionReceived, state: ApplicationState
) -> list[DomainEvent]:
    sub = submission_of(state)
    if state.decision is not None and state.decision.decision_id == cmd.decision_id:
        return []  # the same decision delivered again: already recorded
    if state.status not in ("accepted", "correction_requested"):
        raise WrongStatus(
            "status", f"the case is {state.status}; a decision needs an accepted, open case"
        )
    reason = (cmd.reason or "").strip() or None
    if cmd.decision == "refuse" and reason is None:
        raise InvalidField("reason", "a refusal states its reason")
    return [
        DecisionReceived(
            case_id=sub.case_id,
            decision_id=cmd.decision_id,
            decision=cmd.decision,
            reason=reason,
            decided_by=cmd.decided_by,
            decided_at=cmd.decided_at,
            recorded_by=cmd.actor.id,
        )
    ]
