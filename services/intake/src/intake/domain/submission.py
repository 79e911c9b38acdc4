"""Submission at the window: the item in force, the applicant, the 一次性告知 one-time notice
(`contracts.materials.missing_materials`, the rule the window's checklist shows too),
acceptance with its receipt and promised date, and the promise counted again when a year's
holiday schedule is published.

- 一次性告知 one-time notification: the first check names EVERY missing material in one
  `MaterialsMissingNotified` (not handed in, an original required, or fewer copies than the
  catalog asks: then the notice says how many were given). Later supplements that still
  leave gaps emit `MaterialsSupplemented` with `still_missing`, never a second notice: the
  notice was the promise of a complete list, so a second one would mean the first was
  incomplete. (A gap can only shrink: the list was fixed by the version in force at
  submission.)
- 首问责任 first-inquiry responsibility: `accepting_staff_id` is fixed at submission and
  carried to acceptance, whoever later records a supplement.
- Location independence: any center may accept; the case carries the applicant's
  registered community so routing sends it to the office that owns it.
- 服务条线 service lines: the case belongs to one line of the accepting center, by the one
  rule `contracts.routing.line_for` (the line naming the item, else the first taking its
  category), recorded at submission and carried to acceptance.
"""

from __future__ import annotations

from datetime import datetime

from contracts.base import DomainEvent
from contracts.intake import (
    Applicant,
    ApplicationAccepted,
    ApplicationSubmitted,
    CatalogItemVersion,
    FeeOverrideRecorded,
    MaterialsMissingNotified,
    PromisedDateRevised,
)
from contracts.materials import missing_materials
from contracts.routing import line_for
from contracts.workdays import promised_deadline

from .application_commands import (
    RevisePromisedDate,
    SubmitApplication,
)
from .catalog import Catalog, local_date
from .checks import CASE_ID, PHONE, check_materials_listed, check_org
from .context import IntakeContext
from .errors import (
    AlreadyExists,
    InvalidField,
    InvalidIdNumber,
    ItemNotInForce,
    UnknownItem,
)
from .fees import check_money
from .id_number import id_number_problem, normalize_id_number
from .receipts import receipt_number
from .state import ApplicationState


def decide_submit(
    cmd: SubmitApplication, state: ApplicationState, now: datetime, ctx: IntakeContext
) -> list[DomainEvent]:
    if state.status != "new":
        raise AlreadyExists("case_id", f"case {cmd.case_id} was already submitted")
    if not CASE_ID.match(cmd.case_id):
        raise InvalidField("case_id", "must be 'case-' followed by 32 lower-case hex digits")
    item = _item_in_force(cmd.item_code, now, ctx.catalog)
    _check_channel(cmd, item)
    check_org("accepting_center_id", cmd.accepting_center_id)
    applicant = _checked_applicant(cmd.applicant, now)
    check_materials_listed("materials_provided", cmd.materials_provided, item.materials)
    overridden = check_money(cmd, item)

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
        line_id=line_for(ctx.service_lines, item.code, item.category),
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
        events.append(accept(submitted, override, now, cmd.actor.id, ctx))
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
    check_org("applicant.registered_community_id", applicant.registered_community_id)
    return applicant.model_copy(
        update={
            "name": applicant.name.strip(),
            "id_number": normalize_id_number(applicant.id_number),
            "phone": phone,
            "household_no": (applicant.household_no or "").strip() or None,
            "address": applicant.address.strip(),
        }
    )


def accept(
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
        line_id=sub.line_id,
    )


_PROMISED: frozenset[str] = frozenset({"accepted", "correction_requested"})
"""Where a receipt's promise still stands: accepted and not yet decided."""


def decide_revise_promise(
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
