"""The application case as intake knows it (`ApplicationState`) and how each event moves it
(`evolve`): the status model every use case checks against.

    new -> submitted -> awaiting_materials -> accepted <-> correction_requested
                                   (complete at once: submitted -> accepted)
    accepted / correction_requested -> decided -> delivered -> archived
    any state before decided -> withdrawn (terminal)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from contracts.base import DomainEvent
from contracts.documents import DocumentAttached
from contracts.intake import (
    ApplicationAccepted,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CaseArchived,
    CorrectionRequestReceived,
    CorrectionSupplied,
    DecisionReceived,
    FeeOverrideRecorded,
    MaterialsMissingNotified,
    MaterialsSupplemented,
    MissingMaterial,
    PromisedDateRevised,
    ProvidedMaterial,
    ResultDelivered,
    ServiceEvaluated,
)

from .errors import (
    CaseNotFound,
)

CaseStatus = Literal[
    "submitted",
    "awaiting_materials",
    "accepted",
    "correction_requested",
    "decided",
    "delivered",
    "archived",
    "withdrawn",
]
"""The statuses a case has once it exists: what the read model stores and a query filters by."""

Status = Literal["new", CaseStatus]
"""A stream's status; "new" is the state before its first event (never stored)."""


BEFORE_DECISION: frozenset[str] = frozenset(
    {"submitted", "awaiting_materials", "accepted", "correction_requested"}
)


@dataclass(frozen=True)
class ApplicationState:
    """One case as intake knows it. `submitted` keeps the registration record whole."""

    status: Status = "new"
    submitted: ApplicationSubmitted | None = None
    fee_override: FeeOverrideRecorded | None = None
    notified: bool = False
    outstanding: tuple[MissingMaterial, ...] = ()
    provided: tuple[ProvidedMaterial, ...] = ()
    accepted: ApplicationAccepted | None = None
    pending_correction: CorrectionRequestReceived | None = None
    decision: DecisionReceived | None = None
    delivered: ResultDelivered | None = None
    evaluated: bool = False
    promised: date | None = None  # the receipt's promised date, as last revised
    provisional_years: tuple[int, ...] | None = ()
    documents: tuple[DocumentAttached, ...] = ()


def initial_state() -> ApplicationState:
    return ApplicationState()


def submission_of(state: ApplicationState) -> ApplicationSubmitted:
    if state.submitted is None:  # decide() checked already; keeps the type checker honest
        raise CaseNotFound("case_id", "no such application")
    return state.submitted


def evolve(state: ApplicationState, evt: DomainEvent) -> ApplicationState:
    s = state
    match evt:
        case ApplicationSubmitted():
            return ApplicationState(
                status="submitted", submitted=evt, provided=evt.materials_provided
            )
        case FeeOverrideRecorded():
            return replace(s, fee_override=evt)
        case MaterialsMissingNotified():
            return replace(s, status="awaiting_materials", notified=True, outstanding=evt.missing)
        case MaterialsSupplemented():
            return replace(s, provided=(*s.provided, *evt.supplied), outstanding=evt.still_missing)
        case ApplicationAccepted():
            return replace(
                s,
                status="accepted",
                accepted=evt,
                outstanding=(),
                promised=evt.promised_completion_date,
                provisional_years=evt.provisional_years,
            )
        case PromisedDateRevised():
            return replace(
                s, promised=evt.promised_completion_date, provisional_years=evt.provisional_years
            )
        case CorrectionRequestReceived():
            return replace(s, status="correction_requested", pending_correction=evt)
        case CorrectionSupplied():
            return replace(
                s,
                status="accepted",
                pending_correction=None,
                provided=(*s.provided, *evt.materials),
            )
        case DecisionReceived():
            return replace(s, status="decided", decision=evt, pending_correction=None)
        case ResultDelivered():
            return replace(s, status="delivered", delivered=evt)
        case CaseArchived():
            return replace(s, status="archived")
        case ServiceEvaluated():
            return replace(s, evaluated=True)
        case DocumentAttached():
            return replace(s, documents=(*s.documents, evt))
        case ApplicationWithdrawn():
            return replace(s, status="withdrawn", pending_correction=None)
    return state
