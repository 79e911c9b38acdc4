"""Legal holds (issue 15): an inspection still needs a case, so its applicant is not erased.

Placing and lifting a hold are acts of an inspector, recorded as events (who, when, why) on
the hold's own stream (`hold-<the case's hex>`), so they reach the audit trail like every
intake event; `legal_holds` is their projection, which the erasure reads (a held case
refuses it whole, 409). Pure: the edge checks the case exists and passes the clock in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.base import DomainEvent
from contracts.intake import LegalHoldLifted, LegalHoldPlaced
from eventkit.envelope import Actor

from .errors import InvalidField, NotFound


def hold_stream(case_id: str) -> str:
    """The hold's stream of a case: `hold-` + the case's hex."""
    return "hold-" + case_id.removeprefix("case-")


@dataclass(frozen=True)
class PlaceLegalHold:
    case_id: str
    reason: str
    actor: Actor


@dataclass(frozen=True)
class LiftLegalHold:
    case_id: str
    reason: str
    actor: Actor


@dataclass(frozen=True)
class HoldState:
    held: bool = False


def initial_state() -> HoldState:
    return HoldState()


def evolve(state: HoldState, event: DomainEvent) -> HoldState:
    if isinstance(event, LegalHoldPlaced):
        return HoldState(held=True)
    if isinstance(event, LegalHoldLifted):
        return HoldState(held=False)
    return state


def decide(
    cmd: PlaceLegalHold | LiftLegalHold, state: HoldState, now: datetime
) -> list[DomainEvent]:
    reason = cmd.reason.strip()
    if not reason:
        raise InvalidField("reason", "a legal hold is placed and lifted for a stated reason")
    if isinstance(cmd, PlaceLegalHold):
        return [
            LegalHoldPlaced(
                case_id=cmd.case_id, reason=reason, placed_by=cmd.actor.id, placed_at=now
            )
        ]
    if not state.held:
        raise NotFound("case_id", f"{cmd.case_id} is not under a legal hold")
    return [
        LegalHoldLifted(case_id=cmd.case_id, reason=reason, lifted_by=cmd.actor.id, lifted_at=now)
    ]
