"""The application case at intake: submit, one-time notice, supplements, acceptance, and the
case's life at the front door until it is archived.

Status model::

    new -> submitted -> awaiting_materials -> accepted <-> correction_requested
                                   (complete at once: submitted -> accepted)
    accepted / correction_requested -> decided -> delivered -> archived
    any state before decided -> withdrawn (terminal)

Rules of the centers this enforces:

- 一次性告知 one-time notification: the first check names EVERY missing material in one
  `MaterialsMissingNotified` (not handed in, an original required, or fewer copies than the
  catalog asks: then the notice says how many were given). Later supplements that still
  leave gaps emit `MaterialsSupplemented` with `still_missing`, never a second notice: the
  notice was the promise of a complete list, so a second one would mean the first was
  incomplete. (A gap can only shrink: the list was fixed by the version in force at
  submission.)
- 首问责任 first-inquiry responsibility: `accepting_staff_id` is fixed at submission and
  carried to acceptance, whoever later records a supplement.
- 阳光运作 sunshine: the fee and deposit must equal the published standard of the version in
  force, unless an officer overrides with a reason (`FeeOverrideRecorded` names the officer).
- Location independence: any center may accept; the case carries the applicant's
  registered community so routing sends it to the office that owns it.

The decider needs the catalog, the verification secret, the office hours of the center
handling the command and the working-day calendar; they come in an `IntakeContext` (no I/O,
no clock, no randomness inside `decide`). The promised date on the receipt is
`contracts.workdays.promised_deadline`, the rule routing's deadline clock runs on, counted by
the calendar intake holds (the package's years and the schedules routing published): a
receipt over a year without an official schedule says so (`provisional_years`), and
`RevisePromisedDate` counts it again once the year is published. `decider_for(ctx)`
gives the three-argument `decide(command, state, now)` the test helpers and the edge use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

from contracts.base import DomainEvent
from contracts.corrections import CorrectionRequestRefused, correction_request
from contracts.intake import (
    Applicant,
    ApplicationAccepted,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CaseArchived,
    CatalogItemVersion,
    CorrectionRequestReceived,
    CorrectionSupplied,
    DecisionReceived,
    FeeOverrideRecorded,
    MaterialsMissingNotified,
    MaterialsSupplemented,
    MissingMaterial,
    PromisedDateRevised,
    ProvidedMaterial,
    RequiredMaterial,
    ResultDelivered,
    ServiceEvaluated,
    is_bad_review,
)
from contracts.workdays import OfficeHours, WorkingCalendar, default_calendar, promised_deadline

from .application_commands import (
    EVALUATION_DIMENSIONS,
    ApplicationCommand,
    ArchiveCase,
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
from .catalog import Catalog, local_date
from .errors import (
    AlreadyExists,
    CaseNotFound,
    FeeMismatch,
    InvalidField,
    InvalidIdNumber,
    ItemNotInForce,
    MaterialNotInList,
    UnknownItem,
    WrongStatus,
)
from .id_number import id_number_problem, normalize_id_number
from .receipts import receipt_number, verification_code

CASE_ID = re.compile(r"^case-[0-9a-f]{32}$")
ORG_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
PHONE = re.compile(r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$")
COMMENT_MAX = 500

Status = Literal[
    "new",
    "submitted",
    "awaiting_materials",
    "accepted",
    "correction_requested",
    "decided",
    "delivered",
    "archived",
    "withdrawn",
]
_BEFORE_DECISION: frozenset[str] = frozenset(
    {"submitted", "awaiting_materials", "accepted", "correction_requested"}
)


@dataclass(frozen=True)
class IntakeContext:
    """What the decider reads besides the case: the catalog as it stands, the secret the
    resident verification code is derived from, the office hours of the accepting center
    (as routing's org tree publishes them; the standard hours when it lists none) and the
    working-day calendar (the package's years plus the published holiday schedules; the
    edge passes the one it holds, the default is the package's alone)."""

    catalog: Catalog
    verification_secret: bytes
    office_hours: OfficeHours = field(default_factory=OfficeHours.standard)
    calendar: WorkingCalendar = field(default_factory=default_calendar)

    def __post_init__(self) -> None:
        if len(self.verification_secret) < 16:
            raise ValueError("verification_secret must be at least 16 bytes")


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


def initial_state() -> ApplicationState:
    return ApplicationState()


# -- decide ----------------------------------------------------------------------------------------
def decide(
    command: ApplicationCommand, state: ApplicationState, now: datetime, ctx: IntakeContext
) -> list[DomainEvent]:
    local_date(now)  # refuses a naive clock early
    if state.submitted is not None and command.case_id != state.submitted.case_id:
        raise InvalidField("case_id", f"does not match the loaded case {state.submitted.case_id}")
    match command:
        case SubmitApplication():
            return _submit(command, state, now, ctx)
    if state.submitted is None:
        raise CaseNotFound("case_id", f"no application {command.case_id}")
    match command:
        case SupplementMaterials():
            return _supplement(command, state, now, ctx)
        case WithdrawApplication():
            return _withdraw(command, state)
        case RecordDecisionReceived():
            return _record_decision(command, state)
        case RecordCorrectionRequested():
            return _record_correction_request(command, state)
        case SupplyCorrection():
            return _supply_correction(command, state)
        case DeliverResult():
            return _deliver(command, state)
        case ArchiveCase():
            return _archive(command, state)
        case EvaluateService():
            return _evaluate(command, state)
        case RevisePromisedDate():
            return _revise_promise(command, state, ctx)
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


# -- submit ----------------------------------------------------------------------------------------
def _submit(
    cmd: SubmitApplication, state: ApplicationState, now: datetime, ctx: IntakeContext
) -> list[DomainEvent]:
    if state.status != "new":
        raise AlreadyExists("case_id", f"case {cmd.case_id} was already submitted")
    if not CASE_ID.match(cmd.case_id):
        raise InvalidField("case_id", "must be 'case-' followed by 32 lower-case hex digits")
    item = _item_in_force(cmd.item_code, now, ctx.catalog)
    _check_channel(cmd, item)
    _check_org("accepting_center_id", cmd.accepting_center_id)
    applicant = _checked_applicant(cmd.applicant, now)
    _check_materials_listed("materials_provided", cmd.materials_provided, item.materials)
    overridden = _check_money(cmd, item)

    submitted = ApplicationSubmitted(
        case_id=cmd.case_id,
        item_code=item.code,
        item_version=item.version,
        item_name_zh=item.name_zh,
        category=item.category,
        handling_tier=item.handling_tier,
        case_type=item.case_type,
        statutory_limit_days=item.statutory_limit_days,
        promised_limit_days=item.promised_limit_days,
        result_type=item.result_type,
        agency_allowed=item.agency_allowed,
        required_materials=item.materials,
        applicant=applicant,
        registered_community_id=applicant.registered_community_id,
        materials_provided=cmd.materials_provided,
        accepting_center_id=cmd.accepting_center_id,
        accepting_staff_id=cmd.accepting_staff_id,
        channel=cmd.channel,
        fee_standard_fen=item.fee.amount_fen,
        fee_paid_fen=cmd.fee_paid_fen,
        deposit_standard_fen=item.deposit_fen,
        deposit_paid_fen=cmd.deposit_paid_fen,
        payment_receipt_no=(cmd.payment_receipt_no or "").strip() or None,
        submitted_at=now,
        submitted_by=cmd.actor.id,
    )
    events: list[DomainEvent] = [submitted]
    override: FeeOverrideRecorded | None = None
    if overridden and cmd.fee_override is not None:
        override = FeeOverrideRecorded(
            case_id=cmd.case_id,
            item_code=item.code,
            item_version=item.version,
            overridden_fields=overridden,
            fee_standard_fen=item.fee.amount_fen,
            fee_paid_fen=cmd.fee_paid_fen,
            deposit_standard_fen=item.deposit_fen,
            deposit_paid_fen=cmd.deposit_paid_fen,
            officer_id=cmd.fee_override.officer_id.strip(),
            reason=cmd.fee_override.reason.strip(),
            recorded_by=cmd.actor.id,
        )
        events.append(override)

    missing = missing_materials(item.materials, cmd.materials_provided)
    if missing:
        events.append(
            MaterialsMissingNotified(
                case_id=cmd.case_id,
                item_code=item.code,
                item_version=item.version,
                item_name_zh=item.name_zh,
                missing=missing,
                accepting_center_id=cmd.accepting_center_id,
                notified_by=cmd.actor.id,
            )
        )
    else:
        events.append(_accept(submitted, override, now, cmd.actor.id, ctx))
    return events


def _item_in_force(code: str, now: datetime, catalog: Catalog) -> CatalogItemVersion:
    if catalog.history(code) is None:
        raise UnknownItem("item_code", f"no service item with code {code}")
    item = catalog.version_in_force(code, now)
    if item is None:
        raise ItemNotInForce("item_code", catalog.why_not_in_force(code, now))
    return item


def _check_channel(cmd: SubmitApplication, item: CatalogItemVersion) -> None:
    if cmd.channel == "agent" and not item.agency_allowed:
        raise InvalidField(
            "channel",
            f"item {item.code} does not allow agency (代办): the applicant must come in person",
        )
    if cmd.channel != "online" and not (cmd.accepting_staff_id or "").strip():
        raise InvalidField(
            "accepting_staff_id",
            "the first-inquiry responsible staff member (首问责任人) is required at a center",
        )


def _check_org(field: str, value: str) -> None:
    if not ORG_ID.match(value):
        raise InvalidField(field, f"{value!r} is not an org unit id such as 'ruian.dongshan'")


def _checked_applicant(applicant: Applicant, now: datetime) -> Applicant:
    """Validate the applicant and return it normalized (trimmed, upper-case X)."""
    if not applicant.name.strip():
        raise InvalidField("applicant.name", "must not be blank")
    problem = id_number_problem(applicant.id_number, local_date(now))
    if problem is not None:
        raise InvalidIdNumber("applicant.id_number", problem)
    phone = applicant.phone.strip()
    if not PHONE.match(phone):
        raise InvalidField("applicant.phone", "not a mainland mobile or landline number")
    if not applicant.address.strip():
        raise InvalidField("applicant.address", "must not be blank")
    _check_org("applicant.registered_community_id", applicant.registered_community_id)
    return applicant.model_copy(
        update={
            "name": applicant.name.strip(),
            "id_number": normalize_id_number(applicant.id_number),
            "phone": phone,
            "household_no": (applicant.household_no or "").strip() or None,
            "address": applicant.address.strip(),
        }
    )


def _check_materials_listed(
    field: str, provided: Sequence[ProvidedMaterial], listed: Iterable[RequiredMaterial]
) -> None:
    codes = {m.code for m in listed}
    for i, m in enumerate(provided):
        if m.code not in codes:
            raise MaterialNotInList(
                f"{field}[{i}].code",
                f"{m.code} is not in this item's material list ({', '.join(sorted(codes))})",
            )


def _check_money(cmd: SubmitApplication, item: CatalogItemVersion) -> tuple[str, ...]:
    """The fields that differ from the published standard, if an override allows them."""
    for name in ("fee_paid_fen", "deposit_paid_fen"):
        if getattr(cmd, name) < 0:
            raise InvalidField(name, "must not be negative")
    mismatches: list[tuple[str, str]] = []
    if cmd.fee_paid_fen != item.fee.amount_fen:
        standard = "不收费 (free)" if item.fee.free else f"{item.fee.amount_fen} fen"
        mismatches.append(
            (
                "fee_paid_fen",
                f"paid {cmd.fee_paid_fen} fen; the published fee of {item.code} "
                f"v{item.version} is {standard}",
            )
        )
    if cmd.deposit_paid_fen != item.deposit_fen:
        mismatches.append(
            (
                "deposit_paid_fen",
                f"paid {cmd.deposit_paid_fen} fen; the published deposit of {item.code} "
                f"v{item.version} is {item.deposit_fen} fen",
            )
        )
    override = cmd.fee_override
    if mismatches and override is None:
        field, reason = mismatches[0]
        raise FeeMismatch(field, reason + " (an officer may override with a reason)")
    if override is not None:
        if not mismatches:
            raise InvalidField(
                "fee_override", "fee and deposit match the standard: nothing to override"
            )
        if not override.officer_id.strip():
            raise InvalidField("fee_override.officer_id", "the overriding officer is required")
        if not override.reason.strip():
            raise InvalidField("fee_override.reason", "an override needs a reason")
    if (cmd.fee_paid_fen or cmd.deposit_paid_fen) and not (cmd.payment_receipt_no or "").strip():
        raise InvalidField("payment_receipt_no", "money was paid: the payment receipt is required")
    return tuple(name for name, _ in mismatches)


def missing_materials(
    required: Iterable[RequiredMaterial], provided: Iterable[ProvidedMaterial]
) -> tuple[MissingMaterial, ...]:
    """Every gap at once, in the item's list order. Materials that may be supplied later
    (容缺) are never gaps; a copy where an original is required is one; so are fewer
    copies (份) than the catalog asks, counted over everything handed in so far (an
    original counts towards the copies of a material asked as a copy)."""
    counts: dict[tuple[str, str], int] = {}
    for p in provided:
        counts[(p.code, p.form)] = counts.get((p.code, p.form), 0) + p.copies
    gaps: list[MissingMaterial] = []
    for m in required:
        if m.may_supply_later:
            continue
        originals = counts.get((m.code, "original"), 0)
        given = originals if m.form == "original" else originals + counts.get((m.code, "copy"), 0)
        reason: Literal["not_provided", "original_required", "too_few_copies"]
        if not originals and not counts.get((m.code, "copy"), 0):
            reason = "not_provided"
        elif not given:
            reason = "original_required"
        elif given < m.copies:
            reason = "too_few_copies"
        else:
            continue
        gaps.append(
            MissingMaterial(
                code=m.code,
                name_zh=m.name_zh,
                form=m.form,
                copies=m.copies,
                reason=reason,
                copies_provided=given if reason == "too_few_copies" else 0,
            )
        )
    return tuple(gaps)


def _accept(
    sub: ApplicationSubmitted,
    override: FeeOverrideRecorded | None,
    now: datetime,
    accepted_by: str,
    ctx: IntakeContext,
) -> ApplicationAccepted:
    accepted_on = local_date(now)
    promise = promised_deadline(
        now, sub.promised_limit_days, ctx.office_hours, calendar=ctx.calendar
    )
    return ApplicationAccepted(
        case_id=sub.case_id,
        receipt_no=receipt_number(sub.case_id, accepted_on),
        verification_code=verification_code(sub.case_id, ctx.verification_secret),
        item_code=sub.item_code,
        item_version=sub.item_version,
        item_name_zh=sub.item_name_zh,
        category=sub.category,
        handling_tier=sub.handling_tier,
        case_type=sub.case_type,
        statutory_limit_days=sub.statutory_limit_days,
        promised_limit_days=sub.promised_limit_days,
        accepted_on=accepted_on,
        promised_completion_date=promise.due_date,
        registered_community_id=sub.registered_community_id,
        accepting_center_id=sub.accepting_center_id,
        accepting_staff_id=sub.accepting_staff_id,
        channel=sub.channel,
        fee_standard_fen=sub.fee_standard_fen,
        fee_charged_fen=sub.fee_paid_fen,
        deposit_standard_fen=sub.deposit_standard_fen,
        deposit_charged_fen=sub.deposit_paid_fen,
        fee_overridden=override is not None,
        accepted_at=now,
        accepted_by=accepted_by,
        required_materials=sub.required_materials,
        provisional_years=promise.provisional_years,
    )


_PROMISED: frozenset[str] = frozenset({"accepted", "correction_requested"})
"""Where a receipt's promise still stands: accepted and not yet decided."""


def _revise_promise(
    cmd: RevisePromisedDate, state: ApplicationState, ctx: IntakeContext
) -> list[DomainEvent]:
    """The receipt's promise counted again by the calendar now (a year was published): said
    only when the date or its provisional years changed."""
    accepted = state.accepted
    if state.status not in _PROMISED or accepted is None or state.promised is None:
        return []
    promise = promised_deadline(
        accepted.accepted_at,
        accepted.promised_limit_days,
        ctx.office_hours,
        calendar=ctx.calendar,
    )
    if (promise.due_date, promise.provisional_years) == (state.promised, state.provisional_years):
        return []
    return [
        PromisedDateRevised(
            case_id=accepted.case_id,
            receipt_no=accepted.receipt_no,
            previous_date=state.promised,
            promised_completion_date=promise.due_date,
            provisional_years=promise.provisional_years,
            reason="holiday_schedule_published",
            year=cmd.year,
            notice_no=cmd.notice_no,
            accepting_center_id=accepted.accepting_center_id,
            revised_by=cmd.actor.id,
        )
    ]


# -- supplements and corrections -------------------------------------------------------------------
def _supplement(
    cmd: SupplementMaterials, state: ApplicationState, now: datetime, ctx: IntakeContext
) -> list[DomainEvent]:
    sub = _submitted(state)
    if state.status != "awaiting_materials":
        raise WrongStatus(
            "status",
            f"the case is {state.status}; supplements are taken only while materials are awaited",
        )
    if not cmd.materials:
        raise InvalidField("materials", "nothing was supplied")
    _check_org("received_center_id", cmd.received_center_id)
    _check_materials_listed("materials", cmd.materials, sub.required_materials)
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
        events.append(_accept(sub, state.fee_override, now, cmd.actor.id, ctx))
    return events


def _record_correction_request(
    cmd: RecordCorrectionRequested, state: ApplicationState
) -> list[DomainEvent]:
    sub = _submitted(state)
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


def _supply_correction(cmd: SupplyCorrection, state: ApplicationState) -> list[DomainEvent]:
    sub = _submitted(state)
    pending = state.pending_correction
    if state.status != "correction_requested" or pending is None:
        raise WrongStatus("status", f"the case is {state.status}; no correction is pending")
    if cmd.correction_id != pending.correction_id:
        raise InvalidField("correction_id", f"the pending correction is {pending.correction_id}")
    _check_org("received_center_id", cmd.received_center_id)
    _check_materials_listed("materials", cmd.materials, sub.required_materials)
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


# -- withdrawal and decision -----------------------------------------------------------------------
def _withdraw(cmd: WithdrawApplication, state: ApplicationState) -> list[DomainEvent]:
    sub = _submitted(state)
    if state.status == "withdrawn":
        raise WrongStatus("status", "the application was already withdrawn")
    if state.status not in _BEFORE_DECISION:
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


def _record_decision(cmd: RecordDecisionReceived, state: ApplicationState) -> list[DomainEvent]:
    sub = _submitted(state)
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


# -- result, archive, evaluation -------------------------------------------------------------------
def _deliver(cmd: DeliverResult, state: ApplicationState) -> list[DomainEvent]:
    sub = _submitted(state)
    if state.status in ("delivered", "archived"):
        raise WrongStatus("status", "the result was already delivered")
    if state.status != "decided" or state.decision is None:
        raise WrongStatus("status", f"the case is {state.status}: no decision to deliver yet")
    center = (cmd.center_id or "").strip() or None
    tracking = (cmd.tracking_no or "").strip() or None
    if cmd.method == "picked_up" and center is None:
        raise InvalidField("center_id", "where was it picked up? the center is required")
    if center is not None:
        _check_org("center_id", center)
    if cmd.method == "mailed" and tracking is None:
        raise InvalidField("tracking_no", "a mailed result needs its tracking number")
    return [
        ResultDelivered(
            case_id=sub.case_id,
            decision=state.decision.decision,
            method=cmd.method,
            center_id=center,
            tracking_no=tracking,
            accepting_center_id=sub.accepting_center_id,
            delivered_by=cmd.actor.id,
        )
    ]


def _archive(cmd: ArchiveCase, state: ApplicationState) -> list[DomainEvent]:
    sub = _submitted(state)
    if state.status == "archived":
        raise WrongStatus("status", "the case is already archived")
    if state.status != "delivered" or state.decision is None:
        raise WrongStatus("status", f"the case is {state.status}; archive after delivery")
    return [
        CaseArchived(
            case_id=sub.case_id,
            decision=state.decision.decision,
            archive_no=(cmd.archive_no or "").strip() or None,
            archived_by=cmd.actor.id,
        )
    ]


def _evaluate(cmd: EvaluateService, state: ApplicationState) -> list[DomainEvent]:
    sub = _submitted(state)
    if state.status not in ("delivered", "archived"):
        raise WrongStatus(
            "status", f"the case is {state.status}; evaluation opens after the result is delivered"
        )
    if state.evaluated:
        raise AlreadyExists("case_id", "this case was already evaluated (once per case)")
    if not 1 <= cmd.score <= 5:
        raise InvalidField("score", f"{cmd.score} is outside 1..5")
    for key, value in cmd.dimensions.items():
        if key not in EVALUATION_DIMENSIONS:
            raise InvalidField(
                f"dimensions.{key}", f"unknown dimension; known: {', '.join(EVALUATION_DIMENSIONS)}"
            )
        if not 1 <= value <= 5:
            raise InvalidField(f"dimensions.{key}", f"{value} is outside 1..5")
    comment = (cmd.comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_MAX:
        raise InvalidField("comment", f"at most {COMMENT_MAX} characters")
    return [
        ServiceEvaluated(
            case_id=sub.case_id,
            score=cmd.score,
            dimensions=dict(cmd.dimensions),
            comment=comment,
            bad_review=is_bad_review(cmd.score),
            accepting_center_id=sub.accepting_center_id,
            accepting_staff_id=sub.accepting_staff_id,
            evaluated_by=cmd.actor.id,
        )
    ]


def _submitted(state: ApplicationState) -> ApplicationSubmitted:
    if state.submitted is None:  # decide() checked already; keeps the type checker honest
        raise CaseNotFound("case_id", "no such application")
    return state.submitted


# -- evolve ----------------------------------------------------------------------------------------
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
        case ApplicationWithdrawn():
            return replace(s, status="withdrawn", pending_correction=None)
    return state
