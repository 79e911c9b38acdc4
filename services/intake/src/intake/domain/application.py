"""The application case at intake: submit, one-time notice, supplements, acceptance, and the
case's life at the front door until it is archived.

Status model: `state` (`ApplicationState`, `evolve`).

Rules of the centers this enforces, each told where it is decided: 一次性告知 one-time
notification, 首问责任 first-inquiry responsibility and location independence (`submission`;
later gaps in `supplement`, never a second notice), 阳光运作 sunshine on fees (`fees`).

The decider needs the catalog, the verification secret, the office hours of the center
handling the command and the working-day calendar; they come in an `IntakeContext` (no I/O,
no clock, no randomness inside `decide`). The promised date on the receipt is
`contracts.workdays.promised_deadline`, the rule routing's deadline clock runs on, counted by
the calendar intake holds (the package's years and the schedules routing published): a
receipt over a year without an official schedule says so (`provisional_years`), and
`RevisePromisedDate` counts it again once the year is published. `decider_for(ctx)`
gives the three-argument `decide(command, state, now)` the test helpers and the edge use.

Each use case lives in its own module (as routing's domain does); this module is the entry,
dispatching a command to its rule:

- `SubmitApplication`, `RevisePromisedDate` (submission: the one-time notice, acceptance and
  the promise); the fee check (fees);
- `SupplementMaterials` (supplement); `RecordCorrectionRequested`, `SupplyCorrection`
  (correction); `WithdrawApplication` (withdrawal); `RecordDecisionReceived` (decision);
- `DeliverResult`, `ArchiveCase` (closing); `EvaluateService` (evaluation);
- the state and `evolve` (state), the decider's input `IntakeContext` (context), field checks
  shared by several use cases (checks).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from contracts.base import DomainEvent

from .application_commands import (
    ApplicationCommand,
    ArchiveCase,
    AttachDocument,
    DeliverResult,
    EvaluateService,
    RecordCorrectionRequested,
    RecordDecisionReceived,
    RevisePromisedDate,
    SubmitApplication,
    SupplementMaterials,
    SupplyCorrection,
    WithdrawApplication,
)
from .catalog import local_date
from .checks import CASE_ID, ORG_ID, PHONE
from .closing import decide_archive, decide_deliver
from .context import IntakeContext
from .correction import decide_correction_request, decide_supply_correction
from .decision import decide_record_decision
from .documents import decide_attach
from .errors import CaseNotFound, InvalidField
from .evaluation import COMMENT_MAX, decide_evaluate
from .state import ApplicationState, Status, evolve, initial_state
from .submission import decide_revise_promise, decide_submit, missing_materials
from .supplement import decide_supplement
from .withdrawal import decide_withdraw

__all__ = [
    "CASE_ID",
    "COMMENT_MAX",
    "ORG_ID",
    "PHONE",
    "ApplicationState",
    "IntakeContext",
    "Status",
    "decide",
    "decider_for",
    "evolve",
    "initial_state",
    "missing_materials",
]


def decide(
    command: ApplicationCommand, state: ApplicationState, now: datetime, ctx: IntakeContext
) -> list[DomainEvent]:
    local_date(now)  # refuses a naive clock early
    if state.submitted is not None and command.case_id != state.submitted.case_id:
        raise InvalidField("case_id", f"does not match the loaded case {state.submitted.case_id}")
    match command:
        case SubmitApplication():
            return decide_submit(command, state, now, ctx)
    if state.submitted is None:
        raise CaseNotFound("case_id", f"no application {command.case_id}")
    match command:
        case SupplementMaterials():
            return decide_supplement(command, state, now, ctx)
        case AttachDocument():
            return decide_attach(command, state)
        case WithdrawApplication():
            return decide_withdraw(command, state)
        case RecordDecisionReceived():
            return decide_record_decision(command, state)
        case RecordCorrectionRequested():
            return decide_correction_request(command, state)
        case SupplyCorrection():
            return decide_supply_correction(command, state)
        case DeliverResult():
            return decide_deliver(command, state)
        case ArchiveCase():
            return decide_archive(command, state)
        case EvaluateService():
            return decide_evaluate(command, state)
        case RevisePromisedDate():
            return decide_revise_promise(command, state, ctx)
    raise TypeError(f"not an application command: {type(command).__name__}")


def decider_for(
    ctx: IntakeContext,
) -> Callable[[ApplicationCommand, ApplicationState, datetime], list[DomainEvent]]:
    """`decide` with its context bound: the (command, state, now) shape of every decider."""

    def bound(
        command: ApplicationCommand, state: ApplicationState, now: datetime
    ) -> list[DomainEvent]:
        return decide(command, state, now, ctx)

    return bound
