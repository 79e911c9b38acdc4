"""Erasing a resident's personal data (PIPL, issue 15): the decision, pure.

An administrator erases one subject on a stated legal basis. The edge has found the subject's
cases and the ones under a legal hold (an inspection still needs them: 纪检监察 comes
first); a hold refuses the erasure whole (409, naming the held cases), so nothing is half
erased. Otherwise one `PersonalDataErased` is the record of the act; the edge then destroys
the key and scrubs what intake holds, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.base import DomainEvent
from contracts.intake import PersonalDataErased
from eventkit.envelope import Actor

from .errors import AlreadyExists, Conflict, InvalidField


class LegalHold(Conflict):
    """A case of the subject is under a legal hold: the erasure waits until it is released."""


@dataclass(frozen=True)
class ErasePersonalData:
    erasure_id: str
    subject_id: str
    case_ids: tuple[str, ...]
    held_case_ids: tuple[str, ...]
    legal_basis: str
    actor: Actor


@dataclass(frozen=True)
class ErasureState:
    done: bool = False


def initial_state() -> ErasureState:
    return ErasureState()


def evolve(state: ErasureState, event: DomainEvent) -> ErasureState:
    return ErasureState(done=True) if isinstance(event, PersonalDataErased) else state


def decide(cmd: ErasePersonalData, state: ErasureState, now: datetime) -> list[DomainEvent]:
    if state.done:
        raise AlreadyExists("erasure_id", f"{cmd.erasure_id} was already carried out")
    if not cmd.legal_basis.strip():
        raise InvalidField("legal_basis", "an erasure states its legal basis")
    if cmd.held_case_ids:
        raise LegalHold(
            "subject_id",
            f"{len(cmd.held_case_ids)} case(s) of this subject are under a legal hold "
            f"(inspection): {', '.join(cmd.held_case_ids)}; release the hold first",
        )
    return [
        PersonalDataErased(
            erasure_id=cmd.erasure_id,
            subject_id=cmd.subject_id,
            case_ids=cmd.case_ids,
            legal_basis=cmd.legal_basis.strip(),
            erased_by=cmd.actor.id,
            erased_at=now,
        )
    ]
