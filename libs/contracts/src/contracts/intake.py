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
(name, id_number, phone, household_no, address): the audit service salt-hashes those fields,
and notify keeps its own case -> contact projection from that event. Money is integer fen.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .base import DomainEvent, event

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

    code: str
    name_zh: str
    form: MaterialForm
    copies: int = 1
    may_supply_later: bool = False
    """容缺: the case may be accepted without it; it is handed in later."""


class FeeStandard(_Value):
    """The published fee (收费标准). `amount_fen == 0` means 不收费."""

    amount_fen: int = 0
    basis: str | None = None
    """Legal basis of the fee, or of the exemption; required when a fee is charged."""

    @property
    def free(self) -> bool:
        return self.amount_fen == 0


class DepositStandard(_Value):
    """A deposit (保证金) collected at intake, with the rule that allows it."""

    amount_fen: int
    basis: str
    refund_condition_zh: str | None = None


class CatalogItemVersion(_Value):
    """One version of a service item, complete: events carry whole versions, never diffs."""

    code: str
    version: int
    name_zh: str
    category: Category
    legal_basis: str
    implementing_body: str
    handling_tier: HandlingTier
    case_type: CaseType
    statutory_limit_days: int
    """法定时限, in working days (0 for same-day items)."""
    promised_limit_days: int
    """承诺时限, in working days, never above the statutory limit (0 for same-day items)."""
    materials: tuple[RequiredMaterial, ...] = ()
    fee: FeeStandard = FeeStandard()
    deposit: DepositStandard | None = None
    result_type: str
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

    name: str
    id_number: str
    phone: str
    household_no: str | None = None
    registered_community_id: str
    address: str
    email: str | None = None  # optional: residents who want e-mail as well as SMS


class ProvidedMaterial(_Value):
    """A material handed in: the item's material code, the form it was given in and how
    many copies (份). Events written before copies were counted decode as 1 copy."""

    code: str
    form: MaterialForm
    copies: int = Field(default=1, ge=1)


class MissingMaterial(_Value):
    """A gap named in the one-time notice (一次性告知书): `copies` asked by the catalog;
    for `too_few_copies`, `copies_provided` were handed in (the shortfall is the rest)."""

    code: str
    name_zh: str
    form: MaterialForm
    copies: int
    reason: MissingReason
    copies_provided: int = 0


class FeeOverride(_Value):
    """An officer's decision to accept a fee or deposit other than the published standard."""

    officer_id: str
    reason: str


# -- catalog events --------------------------------------------------------------------------------
@event
class CatalogItemPublished(DomainEvent):
    event_type = "intake.catalog_item_published"

    item: CatalogItemVersion
    published_at: AwareDatetime
    published_by: str


@event
class CatalogItemRetired(DomainEvent):
    event_type = "intake.catalog_item_retired"

    code: str
    retired_from: date
    reason: str
    retired_at: AwareDatetime
    retired_by: str


# -- application events ----------------------------------------------------------------------------
@event
class ApplicationSubmitted(DomainEvent):
    """The registration of a case (登记): everything handed in, and the version it is judged by."""

    event_type = "intake.application_submitted"

    case_id: str
    item_code: str
    item_version: int
    item_name_zh: str
    category: Category
    handling_tier: HandlingTier
    case_type: CaseType
    statutory_limit_days: int
    promised_limit_days: int
    result_type: str
    agency_allowed: bool
    required_materials: tuple[RequiredMaterial, ...]
    """The version's list the case was checked against: the notice can be verified from it."""
    applicant: Applicant
    registered_community_id: str
    materials_provided: tuple[ProvidedMaterial, ...]
    accepting_center_id: str
    accepting_staff_id: str | None
    channel: Channel
    fee_standard_fen: int
    fee_paid_fen: int
    deposit_standard_fen: int
    deposit_paid_fen: int
    payment_receipt_no: str | None
    submitted_at: AwareDatetime
    submitted_by: str


@event
class FeeOverrideRecorded(DomainEvent):
    """An officer accepted a fee or deposit different from the published standard (阳光运作)."""

    event_type = "intake.fee_override_recorded"

    case_id: str
    item_code: str
    item_version: int
    overridden_fields: tuple[str, ...]
    fee_standard_fen: int
    fee_paid_fen: int
    deposit_standard_fen: int
    deposit_paid_fen: int
    officer_id: str
    reason: str
    recorded_by: str


@event
class MaterialsMissingNotified(DomainEvent):
    """The one-time notice (一次性告知): every gap at once. Emitted at most once per case."""

    event_type = "intake.materials_missing_notified"

    case_id: str
    item_code: str
    item_version: int
    item_name_zh: str
    missing: tuple[MissingMaterial, ...]
    accepting_center_id: str
    notified_by: str


@event
class MaterialsSupplemented(DomainEvent):
    """Materials handed in after the notice; `still_missing` is what the notice still awaits."""

    event_type = "intake.materials_supplemented"

    case_id: str
    supplied: tuple[ProvidedMaterial, ...]
    still_missing: tuple[MissingMaterial, ...]
    received_center_id: str
    supplied_by: str


@event
class ApplicationAccepted(DomainEvent):
    """受理: the case is complete; the promise clock starts. Routing needs nothing else."""

    event_type = "intake.application_accepted"

    case_id: str
    receipt_no: str
    verification_code: str
    item_code: str
    item_version: int
    item_name_zh: str
    category: Category
    handling_tier: HandlingTier
    case_type: CaseType
    statutory_limit_days: int
    promised_limit_days: int
    accepted_on: date
    promised_completion_date: date
    registered_community_id: str
    accepting_center_id: str
    accepting_staff_id: str | None
    channel: Channel
    fee_standard_fen: int
    fee_charged_fen: int
    deposit_standard_fen: int
    deposit_charged_fen: int
    fee_overridden: bool
    accepted_at: AwareDatetime
    accepted_by: str
    required_materials: tuple[RequiredMaterial, ...] = ()
    """The material list of the version the case was accepted by: a correction request
    (补正) names materials of this list (`contracts.corrections`). Empty in events
    written before the list travelled with the acceptance."""


@event
class ApplicationWithdrawn(DomainEvent):
    """The resident took the application back (before the decision).

    v2 adds `confirmation`, how the withdrawal is known to be the resident's act (a staff
    member records it only at the accepting center or with the resident's verification
    code); a v1 event did not say, so None.
    """

    event_type = "intake.application_withdrawn"
    schema_version = 2

    case_id: str
    status_before: str
    reason: str | None
    deposit_held_fen: int
    """Deposit taken at intake, to be refunded."""
    withdrawn_by: str
    confirmation: WithdrawalConfirmation | None = None


@event
class DecisionReceived(DomainEvent):
    """Intake learned of routing's decision: from now on the case cannot be withdrawn."""

    event_type = "intake.decision_received"

    case_id: str
    decision_id: str
    decision: Decision
    reason: str | None
    decided_by: str
    decided_at: AwareDatetime
    recorded_by: str


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

    case_id: str
    decision: Decision
    method: DeliveryMethod
    center_id: str | None
    tracking_no: str | None
    accepting_center_id: str
    delivered_by: str


@event
class CaseArchived(DomainEvent):
    """登记归档: closed, still fully queryable; nothing is ever deleted."""

    event_type = "intake.case_archived"

    case_id: str
    decision: Decision
    archive_no: str | None
    archived_by: str


BAD_REVIEW_MAX = 2


def is_bad_review(score: int) -> bool:
    """好差评: a score of 1 or 2 (overall, or on one dimension) is a 差评. Intake draws the
    line once, in `ServiceEvaluated.bad_review`; everyone downstream reads that flag."""
    return score <= BAD_REVIEW_MAX


@event
class ServiceEvaluated(DomainEvent):
    """好差评: a score 1..5; 1-2 is a bad review that opens a follow-up for the center head."""

    event_type = "intake.service_evaluated"

    case_id: str
    score: int
    dimensions: dict[str, int]
    comment: str | None
    bad_review: bool
    accepting_center_id: str
    accepting_staff_id: str | None
    evaluated_by: str
