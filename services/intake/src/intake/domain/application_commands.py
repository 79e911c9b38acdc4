"""Commands on an application case (imperative names; past-tense events answer them).

Each command names the case (`case_id`, the stream id) and the actor who issues it. Shapes
are checked by pydantic (unknown fields refused); the rules are checked by the decider in
`application.py`, which names the field at fault. Numbers such as scores and amounts are
plain ints here on purpose, so a bad value is refused by the domain with its reason.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.intake import (
    Applicant,
    Channel,
    Decision,
    DeliveryMethod,
    FeeOverride,
    ProvidedMaterial,
    WithdrawalConfirmation,
)
from eventkit.envelope import Actor


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    actor: Actor


class SubmitApplication(_Command):
    """Hand an application in at any center (or online).

    `accepting_staff_id` is the first-inquiry responsible staff member (首问责任人); it is
    None only for online applications. Fee and deposit are what was actually paid, in fen.
    """

    item_code: str
    applicant: Applicant
    materials_provided: tuple[ProvidedMaterial, ...] = ()
    accepting_center_id: str
    accepting_staff_id: str | None = None
    channel: Channel
    fee_paid_fen: int = 0
    deposit_paid_fen: int = 0
    payment_receipt_no: str | None = None
    fee_override: FeeOverride | None = None


class SupplementMaterials(_Command):
    """Hand in materials named by the one-time notice, at any center."""

    materials: tuple[ProvidedMaterial, ...]
    received_center_id: str


class AttachDocument(_Command):
    """Attach a stored scan or photo (by its SHA-256) to one material of the case."""

    document_id: str
    material_code: str
    sha256: str
    size: int
    content_type: str
    received_center_id: str | None = None


class WithdrawApplication(_Command):
    """The resident takes the application back; possible any time before the decision.

    `confirmation` says how it is known to be the resident's act (the edge establishes it:
    `intake.http.access.withdrawal_confirmation`); it is recorded in the event.
    """

    reason: str | None = None
    confirmation: WithdrawalConfirmation


class RecordDecisionReceived(_Command):
    """Routing decided (from its decision event): intake records it, once per decision id."""

    decision_id: str
    decision: Decision
    reason: str | None = None
    decided_by: str
    decided_at: AwareDatetime


class RecordCorrectionRequested(_Command):
    """Routing asked for a correction (补正); the resident supplies it at intake."""

    correction_id: str
    requested_materials: tuple[str, ...] = ()
    note: str | None = None
    requested_by: str


class SupplyCorrection(_Command):
    correction_id: str
    materials: tuple[ProvidedMaterial, ...] = ()
    note: str | None = None
    received_center_id: str


class DeliverResult(_Command):
    """The result reaches the resident. `center_id` is where it was picked up (required then);
    `tracking_no` is the postal tracking number (required when mailed)."""

    method: DeliveryMethod
    center_id: str | None = None
    tracking_no: str | None = None


class ArchiveCase(_Command):
    """登记归档: close a delivered case. It stays queryable for ever."""

    archive_no: str | None = None


class RevisePromisedDate(_Command):
    """The working-day calendar changed: `year`'s holiday schedule was published (notice
    `notice_no`). Count the receipt's promise again (the edge sends it to every open case
    whose promise was counted over that year)."""

    year: int
    notice_no: str


class EvaluateService(_Command):
    """好差评: 5 very satisfied ... 1 very dissatisfied; dimensions optional (see
    `EVALUATION_DIMENSIONS`)."""

    score: int
    dimensions: dict[str, int] = Field(default_factory=dict)
    comment: str | None = None


ApplicationCommand = (
    SubmitApplication
    | SupplementMaterials
    | AttachDocument
    | WithdrawApplication
    | RecordDecisionReceived
    | RecordCorrectionRequested
    | SupplyCorrection
    | DeliverResult
    | ArchiveCase
    | EvaluateService
    | RevisePromisedDate
)

EVALUATION_DIMENSIONS: dict[str, str] = {
    "attitude": "服务态度",
    "efficiency": "办事效率",
    "professionalism": "业务水平",
    "environment": "服务环境",
}
