"""Conflict of interest (回避, issue 15): the staff member acting on a case is its applicant,
or of the applicant's household.

Sealed applicants hide the ID number from the audit, so intake, which holds the keys, makes
the comparison when it learns who acts on a case (accepts it, is assigned or reassigned it,
decides it). The edge opens the applicant and hands in keyed hashes only (the applicant's
and the staff member's, under the same lookup key); this decides, purely, whether that is a
finding and records it once per staff member and act on the case stream as
`ConflictOfInterestFound`, which names no identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from contracts.base import DomainEvent
from contracts.intake import ConflictOfInterestFound, ConflictRole, SameIdentity


@dataclass(frozen=True)
class CheckConflict:
    case_id: str
    staff_id: str
    role_field: ConflictRole
    applicant: Mapping[SameIdentity, str]
    """The applicant's keyed hashes by kind (a kind the applicant lacks is absent)."""
    staff: Mapping[SameIdentity, str]
    """The staff member's keyed hashes by kind, as registered."""


@dataclass(frozen=True)
class ConflictState:
    found: frozenset[tuple[str, str]] = frozenset()
    """(staff id, act) already recorded on this case."""


def initial_state() -> ConflictState:
    return ConflictState()


def evolve(state: ConflictState, event: DomainEvent) -> ConflictState:
    if isinstance(event, ConflictOfInterestFound):
        return ConflictState(state.found | {(event.staff_id, event.role_field)})
    return state


def decide(cmd: CheckConflict, state: ConflictState, now: datetime) -> list[DomainEvent]:
    same = tuple(
        kind
        for kind in ("id_number", "household_no")
        if cmd.applicant.get(kind) and cmd.applicant.get(kind) == cmd.staff.get(kind)
    )
    if not same or (cmd.staff_id, cmd.role_field) in state.found:
        return []
    return [
        ConflictOfInterestFound(
            case_id=cmd.case_id,
            staff_id=cmd.staff_id,
            role_field=cmd.role_field,
            same=same,
            found_at=now,
        )
    ]
