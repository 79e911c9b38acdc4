"""The intake service's published language: the service catalog and the application case.

Two kinds of stream produce these events:

- the **service catalog** (服务事项目录): `CatalogItemPublished` carries one whole version of an
  item, `CatalogItemRetired` ends an item. A case is judged by the version in force when it
  was submitted, so versions are never edited, only superseded.
- the **application case** (stream id `case-<uuid4 hex>`, the same id in every service):
  submitted -> (one-time missing-materials notice -> supplements) -> accepted (受理) ->
  (correction requested <-> supplied) -> decision received -> result delivered -> archived,
  or withdrawn before the decision.

Events are self-contained for their consumers: `ApplicationAccepted` carries the item's tier,
category, time limits, the applicant's registered community and the accepting center, so
routing needs no call back. Personal data appears only in `ApplicationSubmitted.applicant`
(name, id_number, phone, household_no, address, email), sealed per subject
(`SealedApplicant`, `contracts.personal_data`): only intake, which holds the keys, opens
it; everyone else sees the subject id. Money is integer fen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from eventkit.personal_data import SubjectKey

from .base import DomainEvent, event
from .limits import (
    MAX_ADDRESS,
    MAX_ID,
    MAX_MATERIALS,
    MAX_SHORT_LIST,
    ActorId,
    Code,
    DocumentNo,
    Email,
    Identifier,
    Int32,
    Note,
    PersonName,
    Phone,
    Reason,
    SingleLine,
    Title,
)
from .personal_data import PERSONAL_FIELDS, Sealed, SubjectId, field_name

# -- vocabulary ------------------------------------------------------------------------------------
Category = Literal[
    "family_planning",
    "civil_affairs",
    "labour_social_security",
    "agriculture",
    "floating_population",
    "land_construction",
    "disabled_persons",
    "industry_commerce",
    "other",
]
"""The nine categories every community center must take in (九项服务事项)."""

CATEGORY_NAMES_ZH: dict[str, str] = {
    "family_planning": "计划生育",
    "civil_affairs": "民政",
    "labour_social_security": "劳动保障",
    "agriculture": "农业综合",
    "floating_population": "流动人口",
    "land_construction": "国土建设",
    "disabled_persons": "残联",
    "industry_commerce": "工商",
    "other": "其他",
}

HandlingTier = Literal["community", "town", "city"]
CaseType = Literal["same_day", "promised"]
"""即办件 (decided on the spot, 0 days) or 承诺件 (promised within N working days)."""

MaterialForm = Literal["original", "copy"]
Channel = Literal["window", "online", "agent"]
Decision = Literal["approve", "refuse"]
DeliveryMethod = Literal["picked_up", "mailed", "electronic"]
MissingReason = Literal["not_provided", "original_required", "too_few_copies"]
WithdrawalConfirmation = Literal["resident", "accepting_center", "verification_code"]
"""How a withdrawal is known to be the resident's will: the resident withdrew it themself;
staff of the accepting center recorded it (the center holding the resident's file); or
staff elsewhere recorded it with the resident present, who gave the verification code of
their receipt."""


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- catalog values --------------------------------------------------------------------------------
class RequiredMaterial(_Value):
    """One line of an item's material list (申请材料)."""

    code: Code
    name_zh: Title
    form: MaterialForm
    copies: Int32 = 1
    may_supply_later: bool = False
    """容缺: the case may be accepted without it; it is handed in later."""


class FeeStandard(_Value):
    """The published fee (收费标准). `amount_fen == 0` means 不收费."""

    amount_fen: Int32 = 0
    basis: Reason | None = None
    """Legal basis of the fee, or of the exemption; required when a fee is charged."""

    @property
    def free(self) -> bool:
        return self.amount_fen == 0


class DepositStandard(_Value):
    """A deposit (保证金) collected at intake, with the rule that allows it."""

    amount_fen: Int32
    basis: Reason
    refund_condition_zh: Reason | None = None


class CatalogItemVersion(_Value):
    """One version of a service item, complete: events carry whole versions, never diffs."""

    code: Code
    version: Int32
    name_zh: Title
    category: Category
    legal_basis: Reason
    implementing_body: Title
    handling_tier: HandlingTier
    case_type: CaseType
    statutory_limit_days: Int32
    """法定时限, in working days (0 for same-day items)."""
    promised_limit_days: Int32
    """承诺时限, in working days, never above the statutory limit (0 for same-day items)."""
    materials: Annotated[tuple[RequiredMaterial, ...], Field(max_length=MAX_MATERIALS)] = ()
    fee: FeeStandard = FeeStandard()
    deposit: DepositStandard | None = None
    result_type: Title
    """What the resident gets back, e.g. 证件, 批复, 回执, 缴费凭证."""
    agency_allowed: bool = True
    """代办: a community agent may hand it in and carry it for the resident."""
    effective_from: date
    """Local (Asia/Shanghai) date from which this version applies, once published."""

    @property
    def deposit_fen(self) -> int:
        return self.deposit.amount_fen if self.deposit else 0


# -- application values ----------------------------------------------------------------------------
class Applicant(_Value):
    """The applicant. The personal fields are salt-hashed by the audit service.

    `registered_community_id` is the community that owns the case (household registration,
    or for non-local residents the community where they are registered as living); it is
    where routing sends the case, whatever center accepted it.
    """

    name: PersonName
    id_number: DocumentNo
    phone: Phone
    household_no: DocumentNo | None = None
    # the decider checks these (a known community, a non-blank address) and names them;
    # the event only bounds them
    registered_community_id: Annotated[str, StringConstraints(max_length=MAX_ID), SingleLine]
    address: Annotated[str, StringConstraints(max_length=MAX_ADDRESS), SingleLine]
    email: Email | None = None  # optional: residents who want e-mail as well as SMS


class SealedApplicant(_Value):
    """The applicant as events carry it (issue 15): the subject id, the personal fields
    sealed with the subject's data key (`contracts.personal_data`), the registered community
    in the clear (routing sends the case there). Destroying the subject's key (an erasure)
    makes the sealed fields unreadable in every copy."""

    subject_id: SubjectId
    name: Sealed
    id_number: Sealed
    phone: Sealed
    household_no: Sealed | None = None
    registered_community_id: Annotated[str, StringConstraints(max_length=MAX_ID), SingleLine]
    address: Sealed
    email: Sealed | None = None


def seal_applicant(
    key: SubjectKey,
    case_id: str,
    applicant: Applicant,
    nonce: Callable[[], bytes] | None = None,
) -> SealedApplicant:
    """Seal the applicant's personal fields for `case_id` with the subject's key (`nonce`:
    random unless a deterministic generator gives its own, `bianmin generate`)."""
    values = applicant.model_dump()
    sealed = {
        f: None
        if values[f] is None
        else key.seal(case_id, field_name(f), values[f], nonce() if nonce else None)
        for f in PERSONAL_FIELDS
    }
    return SealedApplicant(
        subject_id=key.subject_id,
        registered_community_id=applicant.registered_community_id,
        **sealed,
    )


def open_applicant(key: SubjectKey, case_id: str, sealed: SealedApplicant) -> Applicant:
    """The plain applicant (`eventkit.personal_data.PersonalDataError` if a field was
    tampered with or belongs elsewhere)."""
    values = sealed.model_dump()
    opened = {
        f: None if values[f] is None else key.open(case_id, field_name(f), values[f])
        for f in PERSONAL_FIELDS
    }
    return Applicant(registered_community_id=sealed.registered_community_id, **opened)


class ProvidedMaterial(_Value):
    """A material handed in: the item's material code, the form it was given in and how
    many copies (份). Events written before copies were counted decode as 1 copy."""

    code: Code
    form: MaterialForm
    copies: int = Field(default=1, ge=1)


class MissingMaterial(_Value):
    """A gap named in the one-time notice (一次性告知书): `copies` asked by the catalog;
    for `too_few_copies`, `copies_provided` were handed in (the shortfall is the rest)."""

    code: Code
    name_zh: Title
    form: MaterialForm
    copies: Int32
    reason: MissingReason
    copies_provided: int = 0


class FeeOverride(_Value):
    """An officer's decision to accept a fee or deposit other than the published standard."""

    officer_id: ActorId
    reason: Reason


# -- catalog events --------------------------------------------------------------------------------
@event
class CatalogItemPublished(DomainEvent):
    event_type = "intake.catalog_item_published"

    item: CatalogItemVersion
    published_at: AwareDatetime
    published_by: ActorId


@event
class CatalogItemRetired(DomainEvent):
    event_type = "intake.catalog_item_retired"

    code: Code
    retired_from: date
    reason: Reason
    retired_at: AwareDatetime
    retired_by: ActorId


# -- application events ----------------------------------------------------------------------------
@event
class ApplicationSubmitted(DomainEvent):
    """The registration of a case (登记): everything handed in, and the version it is judged by.

    `applicant` is sealed (`SealedApplicant`) from issue 15 on: intake's decider makes the
    plain `Applicant`, and intake seals it before the event is stored or published. Events
    written before carry the plain `Applicant` (docs/PERSONAL_DATA.md: not covered)."""

    event_type = "intake.application_submitted"

    case_id: Identifier
    item_code: Code
    item_version: Int32
    item_name_zh: Title
    category: Category
    handling_tier: HandlingTier
    case_type: CaseType
    statutory_limit_days: Int32
    promised_limit_days: Int32
    result_type: Title
    agency_allowed: bool
    required_materials: Annotated[tuple[RequiredMaterial, ...], Field(max_length=MAX_MATERIALS)]
    """The version's list the case was checked against: the notice can be verified from it."""
    applicant: SealedApplicant | Applicant
    registered_community_id: Identifier
    materials_provided: Annotated[tuple[ProvidedMaterial, ...], Field(max_length=MAX_MATERIALS)]
    accepting_center_id: Identifier
    accepting_staff_id: ActorId | None
    channel: Channel
    fee_standard_fen: Int32
    fee_paid_fen: Int32
    deposit_standard_fen: Int32
    deposit_paid_fen: Int32
    payment_receipt_no: DocumentNo | None
    submitted_at: AwareDatetime
    submitted_by: ActorId
    line_id: Code | None = None
    """The accepting center's service line (服务条线) the case belongs to, by the one rule
    `contracts.routing.line_for`; None when the center has no line for it, and in events
    written before lines were recorded."""


@event
class FeeOverrideRecorded(DomainEvent):
    """An officer accepted a fee or deposit different from the published standard (阳光运作)."""

    event_type = "intake.fee_override_recorded"

    case_id: Identifier
    item_code: Code
    item_version: Int32
    overridden_fields: Annotated[tuple[Code, ...], Field(max_length=MAX_SHORT_LIST)]
    fee_standard_fen: Int32
    fee_paid_fen: Int32
    deposit_standard_fen: Int32
    deposit_paid_fen: Int32
    officer_id: ActorId
    reason: Reason
    recorded_by: ActorId


@event
class MaterialsMissingNotified(DomainEvent):
    """The one-time notice (一次性告知): every gap at once. Emitted at most once per case."""

    event_type = "intake.materials_missing_notified"

    case_id: Identifier
    item_code: Code
    item_version: Int32
    item_name_zh: Title
    missing: Annotated[tuple[MissingMaterial, ...], Field(max_length=MAX_MATERIALS)]
    accepting_center_id: Identifier
    notified_by: ActorId


@event
class MaterialsSupplemented(DomainEvent):
    """Materials handed in after the notice; `still_missing` is what the notice still awaits."""

    event_type = "intake.materials_supplemented"

    case_id: Identifier
    supplied: Annotated[tuple[ProvidedMaterial, ...], Field(max_length=MAX_MATERIALS)]
    still_missing: Annotated[tuple[MissingMaterial, ...], Field(max_length=MAX_MATERIALS)]
    received_center_id: Identifier
    supplied_by: ActorId


@event
class ApplicationAccepted(DomainEvent):
    """受理: the case is complete; the promise clock starts. Routing needs nothing else.

    v2 adds `provisional_years`: the years the promised date was counted over without an
    official holiday schedule (empty: the date is firm; None in a v1 event, which did not say).
    v3 drops `verification_code`: the resident's code is a secret and no event carries it
    (`contracts.verification`; notify derives it when it sends the receipt).
    """

    event_type = "intake.application_accepted"
    schema_version = 3

    case_id: Identifier
    receipt_no: DocumentNo
    item_code: Code
    item_version: Int32
    item_name_zh: Title
    category: Category
    handling_tier: HandlingTier
    case_type: CaseType
    statutory_limit_days: Int32
    promised_limit_days: Int32
    accepted_on: date
    promised_completion_date: date
    registered_community_id: Identifier
    accepting_center_id: Identifier
    accepting_staff_id: ActorId | None
    channel: Channel
    fee_standard_fen: Int32
    fee_charged_fen: Int32
    deposit_standard_fen: Int32
    deposit_charged_fen: Int32
    fee_overridden: bool
    accepted_at: AwareDatetime
    accepted_by: ActorId
    required_materials: tuple[RequiredMaterial, ...] = ()
    """The material list of the version the case was accepted by: a correction request
    (补正) names materials of this list (`contracts.corrections`). Empty in events
    written before the list travelled with the acceptance."""
    provisional_years: tuple[int, ...] | None = None
    line_id: Code | None = None
    """The accepting center's service line, as at submission (None: none, or an older event)."""


@event
class PromisedDateRevised(DomainEvent):
    """The promised completion date on the receipt, counted again because the working-day
    calendar changed: the State Council's schedule for `year` was published (`notice_no`).
    Emitted when the date or its provisional years changed; notify tells the resident when
    the date moved."""

    event_type = "intake.promised_date_revised"

    case_id: str
    receipt_no: str
    previous_date: date
    promised_completion_date: date
    provisional_years: tuple[int, ...]
    reason: Literal["holiday_schedule_published"]
    year: int
    notice_no: str
    accepting_center_id: str
    revised_by: str


@event
class ApplicationWithdrawn(DomainEvent):
    """The resident took the application back (before the decision).

    v2 adds `confirmation`, how the withdrawal is known to be the resident's act (a staff
    member records it only at the accepting center or with the resident's verification
    code); a v1 event did not say, so None.
    """

    event_type = "intake.application_withdrawn"
    schema_version = 2

    case_id: Identifier
    status_before: str
    reason: Reason | None
    deposit_held_fen: Int32
    """Deposit taken at intake, to be refunded."""
    withdrawn_by: ActorId
    confirmation: WithdrawalConfirmation | None = None


@event
class DecisionReceived(DomainEvent):
    """Intake learned of routing's decision: from now on the case cannot be withdrawn."""

    event_type = "intake.decision_received"

    case_id: Identifier
    decision_id: Identifier
    decision: Decision
    reason: Note | None  # routing's decision reason, as routing took it
    decided_by: ActorId
    decided_at: AwareDatetime
    recorded_by: ActorId


@event
class CorrectionRequestReceived(DomainEvent):
    """Intake learned that the deciding office asked for a correction (补正)."""

    event_type = "intake.correction_request_received"

    case_id: str
    correction_id: str
    requested_materials: tuple[str, ...]
    note: str | None
    requested_by: str
    recorded_by: str


@event
class CorrectionSupplied(DomainEvent):
    event_type = "intake.correction_supplied"

    case_id: str
    correction_id: str
    materials: tuple[ProvidedMaterial, ...]
    note: str | None
    received_center_id: str
    supplied_by: str


@event
class ResultDelivered(DomainEvent):
    event_type = "intake.result_delivered"

    case_id: Identifier
    decision: Decision
    method: DeliveryMethod
    center_id: Identifier | None
    tracking_no: DocumentNo | None
    accepting_center_id: Identifier
    delivered_by: ActorId


@event
class CaseArchived(DomainEvent):
    """登记归档: closed, still fully queryable; nothing is ever deleted."""

    event_type = "intake.case_archived"

    case_id: Identifier
    decision: Decision
    archive_no: DocumentNo | None
    archived_by: ActorId


@event
class PersonalDataErased(DomainEvent):
    """A resident's personal data erased (PIPL, issue 15): intake destroyed the subject's data
    key, so every sealed field of theirs, in every copy, is unreadable; projections and
    deliveries naming `case_ids` are scrubbed by their owners on this event (notify). The
    erasure itself is on the record: who (`erased_by`, an administrator), when and on what
    legal basis. Stream `erasure-<hex>`, one per erasure."""

    event_type = "intake.personal_data_erased"

    erasure_id: Identifier
    subject_id: SubjectId
    case_ids: Annotated[tuple[Identifier, ...], Field(max_length=10_000)]
    legal_basis: Reason
    erased_by: ActorId
    erased_at: AwareDatetime


@event
class LegalHoldPlaced(DomainEvent):
    """An inspector placed a legal hold on a case (issue 15): an inspection (纪检监察) still
    needs it, so its applicant's personal data is not erased while it holds (the erasure is
    refused, 409). Who, when and why are on the record, and so on the audit trail. Placing
    it again records the new reason. Stream `hold-<the case's hex>`, one per case."""

    event_type = "intake.legal_hold_placed"

    case_id: Identifier
    reason: Reason
    placed_by: ActorId
    placed_at: AwareDatetime


@event
class LegalHoldLifted(DomainEvent):
    """An inspector lifted a case's legal hold (issue 15): who, when and why; the applicant
    may be erased again. On the hold's stream (`hold-<the case's hex>`)."""

    event_type = "intake.legal_hold_lifted"

    case_id: Identifier
    reason: Reason
    lifted_by: ActorId
    lifted_at: AwareDatetime


ConflictRole = Literal["accepting_staff_id", "assigned_to", "to_officer", "decided_by"]
"""Which act put the staff member on the case: accepted it, was assigned it (or reassigned
it), decided it."""
SameIdentity = Literal["id_number", "household_no"]


@event
class ConflictOfInterestFound(DomainEvent):
    """A staff member acting on a case is its applicant, or of the applicant's household
    (issue 15, 回避): intake, which alone can open the sealed applicant, compared the
    applicant's ID number and household number with the staff member's (registered with
    intake as keyed hashes) when it learned of the act. It names the case, the staff member,
    the act and which identity matched, never the identity itself, so it holds no personal
    data; the audit's conflict-of-interest rule flags the case from it. On the case stream,
    once per staff member and act."""

    event_type = "intake.conflict_of_interest_found"

    case_id: Identifier
    staff_id: ActorId
    role_field: ConflictRole
    same: Annotated[tuple[SameIdentity, ...], Field(min_length=1, max_length=2)]
    found_at: AwareDatetime


BAD_REVIEW_MAX = 2


def is_bad_review(score: int) -> bool:
    """好差评: a score of 1 or 2 (overall, or on one dimension) is a 差评. Intake draws the
    line once, in `ServiceEvaluated.bad_review`; everyone downstream reads that flag."""
    return score <= BAD_REVIEW_MAX


@event
class ServiceEvaluated(DomainEvent):
    """好差评: a score 1..5; 1-2 is a bad review that opens a follow-up for the center head."""

    event_type = "intake.service_evaluated"

    case_id: Identifier
    score: int
    dimensions: dict[str, int]
    comment: Note | None
    bad_review: bool
    accepting_center_id: Identifier
    accepting_staff_id: ActorId | None
    evaluated_by: ActorId


# Documents are intake's events too (their own module: sniffing and the hash type live there);
# importing intake's language registers them.
from .documents import DocumentAttached as DocumentAttached  # noqa: E402
