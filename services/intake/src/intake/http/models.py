"""Request and response bodies of the HTTP API.

Requests forbid unknown fields and check shapes (types, required fields, lengths), so bad
input is refused with a 422 naming the field before it reaches the domain; the rules
(material lists, fees, ID check digits, statuses) are the decider's and come back as domain
refusals naming their field. The caller's identity never comes from the body: the actor,
the first-inquiry staff member and the default center come from the bearer token.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.intake import Channel, DeliveryMethod, MaterialForm
from contracts.limits import (
    MAX_COPIES,
    MAX_MATERIALS,
    ActorId,
    Address,
    Code,
    DocumentNo,
    Fen,
    PersonName,
    Reason,
)

MAX_DIMENSIONS = 10
"""好差评 dimensions a resident may rate (four are used: attitude, efficiency, ...)."""

_CODE = r"^[A-Z]{2,4}-[0-9]{3}$"
_UNIT = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApplicantIn(_In):
    name: PersonName = Field(examples=["陈小芳"])
    id_number: str = Field(
        min_length=1, max_length=18, description="18-character resident ID number"
    )
    phone: str = Field(min_length=1, max_length=20, examples=["13957712345"])
    household_no: DocumentNo | None = None
    registered_community_id: str = Field(
        min_length=1,
        max_length=100,
        description="The community that owns the case (household registration, or where a "
        "non-local resident is registered as living); routing sends the case from there.",
        examples=["ruian.mayu.mabei"],
    )
    address: Address


class MaterialIn(_In):
    code: Code = Field(examples=["ID_CARD"])
    form: MaterialForm
    copies: int = Field(
        default=1, ge=1, le=MAX_COPIES, description="How many copies (份) of it were handed in."
    )


class FeeOverrideIn(_In):
    """An officer accepts a fee or deposit other than the published standard (an event)."""

    reason: Reason
    officer_id: ActorId | None = Field(
        default=None, description="Defaults to the calling officer; must be the caller."
    )


class SubmitRequest(_In):
    item_code: str = Field(pattern=_CODE, examples=["FP-002"])
    applicant: ApplicantIn
    materials_provided: list[MaterialIn] = Field(default_factory=list, max_length=MAX_MATERIALS)
    accepting_center_id: str | None = Field(
        default=None,
        pattern=_UNIT,
        description="Staff: defaults to (and must be) the center in the token. Residents "
        "(online): defaults to the applicant's registered community.",
    )
    accepting_staff_id: ActorId | None = Field(
        default=None,
        description="首问责任人; defaults to the calling staff member. None online.",
    )
    channel: Channel | None = Field(
        default=None, description="window (default for staff), agent (代办) or online (residents)"
    )
    fee_paid_fen: Fen = Field(default=0, description="Fee actually paid, in fen")
    deposit_paid_fen: Fen = Field(default=0, description="Deposit actually paid, in fen")
    payment_receipt_no: DocumentNo | None = None
    fee_override: FeeOverrideIn | None = None


class SupplementRequest(_In):
    materials: list[MaterialIn] = Field(min_length=1, max_length=MAX_MATERIALS)
    received_center_id: str | None = Field(
        default=None,
        pattern=_UNIT,
        description="Staff: defaults to the center in the token; residents: the accepting center.",
    )


class WithdrawRequest(_In):
    reason: Reason | None = None
    verification_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="The 6-digit code of the resident's receipt, given by the resident present "
        "at the window: how staff of a center other than the accepting one record the "
        "resident's withdrawal (recorded as `confirmation: verification_code`).",
    )


class CorrectionRequest(_In):
    correction_id: str | None = Field(
        default=None, description="Defaults to the pending correction of the case."
    )
    materials: list[MaterialIn] = Field(default_factory=list, max_length=MAX_MATERIALS)
    note: Reason | None = None
    received_center_id: str | None = Field(default=None, pattern=_UNIT)


class DeliveryRequest(_In):
    method: DeliveryMethod
    center_id: str | None = Field(
        default=None,
        pattern=_UNIT,
        description="Where it was picked up; defaults to the staff member's center.",
    )
    tracking_no: DocumentNo | None = None


class ArchiveRequest(_In):
    archive_no: DocumentNo | None = None


class EvaluationRequest(_In):
    score: int = Field(ge=1, le=5, description="5 very satisfied ... 1 very dissatisfied")
    dimensions: dict[Code, Annotated[int, Field(ge=1, le=5)]] = Field(
        default_factory=dict,
        max_length=MAX_DIMENSIONS,
        description="Optional scores per dimension: attitude, efficiency, professionalism, "
        "environment",
    )
    comment: Reason | None = None


class RetireRequest(_In):
    retired_from: date
    reason: Reason


# -- responses ---------------------------------------------------------------------------------
class EventRef(BaseModel):
    event_id: str
    event_type: str
    stream_version: int


class CaseResult(BaseModel):
    """The answer to a command on a case: where it stands and the events it caused."""

    case_id: str
    status: str
    events: list[EventRef]
    receipt_no: str | None = None
    verification_code: str | None = None
    accepted_on: date | None = None
    promised_completion_date: date | None = None
    missing_materials: list[dict[str, Any]] = Field(default_factory=list)
    status_url: str


class CatalogWriteResult(BaseModel):
    code: str
    events: list[EventRef]
    version: int | None = None
    effective_from: date | None = None
    retired_from: date | None = None


class TrailEntry(BaseModel):
    stream_version: int
    event_type: str
    occurred_at: datetime
    actor: dict[str, Any]
    org_id: str | None = None
    event_id: str
