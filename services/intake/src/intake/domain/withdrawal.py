"""Withdrawal: any time before a decision, by the resident themself or recorded by staff
with the accepting center's or the resident's confirmation."""

from __future__ import annotations

from contracts.base import DomainEvent
from contracts.intake import (
    ApplicationWithdrawn,
)

from .application_commands import (
    WithdrawApplication,
)
from .errors import (
    InvalidField,
    WrongStatus,
)
from .state import BEFORE_DECISION, ApplicationState, submission_of


def decide_withdraw(cmd: WithdrawApplication, state: ApplicationState) -> list[DomainEvent]:
    sub = submission_of(state)
    if state.status == "withdrawn":
        raise WrongStatus("status", "the application was already withdrawn")
    if state.status not in BEFORE_DECISION:
        decision = state.decision.decision if state.decision else "?"
        raise WrongStatus(
            "status",
            f"a decision ({decision}) was recorded: the application can no longer be withdrawn",
        )
    if (cmd.confirmation == "resident") != (cmd.actor.role == "resident"):
        raise InvalidField(
            "confirmation",
            "a resident withdraws as themself; staff record a withdrawal by the accepting "
            "center or with the resident's verification code",
        )
    return [
        ApplicationWithdrawn(
            case_id=sub.case_id,
            status_before=state.status,
            reason=(cmd.reason or "").strip() or None,
            deposit_held_fen=sub.deposit_paid_fen,
            withdrawn_by=cmd.actor.id,
            confirmation=cmd.confirmation,
        )
    ]
