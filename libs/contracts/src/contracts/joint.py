"""Joint handling (联办, e.g. 六证联办): several catalog items handled as one visit.

A **bundle** (`JointBundle`) is catalog data: it names its member items, the materials the
members share (handed in once and counted once, at the strictest form and the largest
number of copies any member asks), whether the members are approved one after another or
side by side, what a refused member does to the others, and whether the result goes back
once, when every member is done, or member by member.

A **joint case** (stream id `joint-<uuid4 hex>`) is one intake of a bundle: one receipt and
one one-time notice covering every member (`contracts.materials.joint_missing_materials`).
Each member is an ordinary case (`case-<hex>`, routed and decided where its authority sits);
the joint promise is the latest member's (`joint_promise`), and what a member's decision
does to the rest is `joint_outcome`: one rule, applied by routing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .base import DomainEvent, event
from .intake import (
    Applicant,
    CaseType,
    Category,
    Channel,
    Decision,
    DeliveryMethod,
    MissingMaterial,
    ProvidedMaterial,
    SealedApplicant,
)
from .limits import (
    MAX_MATERIALS,
    MAX_SHORT_LIST,
    ActorId,
    Code,
    DocumentNo,
    Identifier,
    Int32,
    Title,
)
from .workdays import OfficeHours, Promise, WorkingCalendar, promised_deadline

ApprovalOrder = Literal["parallel", "sequential"]
"""并联审批 (every member decided at once) or 串联 (each after the one before it is approved)."""
OnRefusal = Literal["stop_others", "continue"]
"""A refused member stops the members not yet decided, or they go on regardless."""
ResultReturn = Literal["once", "per_member"]
"""The result goes back to the resident once when all are done, or as each member is."""
MemberStatus = Literal["waiting", "open", "approved", "refused", "stopped"]

MAX_MEMBERS = 12


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JointBundle(_Value):
    """One version of a bundle (联办事项), complete."""

    code: Code
    version: Int32
    name_zh: Title
    members: Annotated[tuple[Code, ...], Field(min_length=2, max_length=MAX_MEMBERS)]
    """Member item codes, in approval order when `approval_order` is sequential."""
    shared_materials: Annotated[tuple[Code, ...], Field(max_length=MAX_MATERIALS)] = ()
    """Material codes handed in once for every member that lists them."""
    approval_order: ApprovalOrder = "parallel"
    on_refusal: OnRefusal = "continue"
    result_return: ResultReturn = "once"
    effective_from: date


class MemberMaterials(_Value):
    """What was handed in for one member alone (its own forms); shared ones go once."""

    item_code: Code
    provided: Annotated[tuple[ProvidedMaterial, ...], Field(max_length=MAX_MATERIALS)] = ()


class MemberMissing(_Value):
    """One member's own gaps in the joint notice (the shared gaps are listed once)."""

    item_code: Code
    missing: Annotated[tuple[MissingMaterial, ...], Field(max_length=MAX_MATERIALS)] = ()


class JointMissing(_Value):
    """Every gap of a joint intake, shared ones once: the content of the one notice."""

    shared: Annotated[tuple[MissingMaterial, ...], Field(max_length=MAX_MATERIALS)] = ()
    members: Annotated[tuple[MemberMissing, ...], Field(max_length=MAX_MEMBERS)] = ()

    @property
    def complete(self) -> bool:
        return not self.shared and not any(m.missing for m in self.members)


class JointMember(_Value):
    """A member of a joint case: its own case id and item."""

    case_id: Identifier
    item_code: Code
    item_version: Int32
    item_name_zh: Title
    category: Category
    handling_tier: Literal["community", "town", "city"]
    """The catalog's tier: routing sends the member to the office that holds its authority."""
    case_type: CaseType
    promised_limit_days: Int32
    material_codes: Annotated[tuple[Code, ...], Field(max_length=MAX_MATERIALS)] = ()


class MemberItem(_Value):
    """A member item as a resident reads it: its code and name."""

    item_code: Code
    item_name_zh: Title


class MemberOutcome(_Value):
    case_id: Identifier
    item_code: Code
    status: MemberStatus


# -- events ----------------------------------------------------------------------------------------
@event
class JointBundlePublished(DomainEvent):
    """A version of a bundle, on the catalog stream beside the items."""

    event_type = "intake.joint_bundle_published"

    bundle: JointBundle
    published_at: AwareDatetime
    published_by: ActorId


@event
class JointApplicationSubmitted(DomainEvent):
    """The registration of a joint intake (登记), before its notice or receipt: the applicant
    and what was handed in, shared and per member, so a supplement is judged against it and
    the resident can be told. A supplement (`supplement`) adds what the resident brought
    back for the one notice.

    `applicant` is sealed (`SealedApplicant`, issue 15) with the subject's key, bound to
    `joint_case_id`, as `ApplicationSubmitted`'s is to its case: intake's decider makes the
    plain `Applicant` and intake seals it before the event is stored or published. Events
    written before carry the plain `Applicant` (docs/PERSONAL_DATA.md: not covered)."""

    event_type = "intake.joint_application_submitted"

    joint_case_id: Identifier
    bundle_code: Code
    bundle_version: Int32
    bundle_name_zh: Title
    member_items: Annotated[tuple[MemberItem, ...], Field(min_length=2, max_length=MAX_MEMBERS)]
    """The members in bundle order, by name (the notice and the result name them)."""
    applicant: SealedApplicant | Applicant
    registered_community_id: Identifier
    shared_provided: Annotated[tuple[ProvidedMaterial, ...], Field(max_length=MAX_MATERIALS)] = ()
    member_provided: Annotated[tuple[MemberMaterials, ...], Field(max_length=MAX_MEMBERS)] = ()
    accepting_center_id: Identifier
    accepting_staff_id: ActorId | None
    channel: Channel
    submitted_at: AwareDatetime
    submitted_by: ActorId


@event
class JointMaterialsMissingNotified(DomainEvent):
    """THE one one-time notice of a joint intake: every member's gaps, shared ones once."""

    event_type = "intake.joint_materials_missing_notified"

    joint_case_id: Identifier
    bundle_code: Code
    bundle_version: Int32
    bundle_name_zh: Title
    missing: JointMissing
    accepting_center_id: Identifier
    notified_by: ActorId


@event
class JointMaterialsSupplemented(DomainEvent):
    """The resident answered the one joint notice (补齐): what was brought back, shared and
    per member, and what is still missing (never a second notice). With nothing missing the
    joint case is accepted in the same step, and every member goes on at once."""

    event_type = "intake.joint_materials_supplemented"

    joint_case_id: Identifier
    shared_supplied: Annotated[tuple[ProvidedMaterial, ...], Field(max_length=MAX_MATERIALS)] = ()
    member_supplied: Annotated[tuple[MemberMaterials, ...], Field(max_length=MAX_MEMBERS)] = ()
    still_missing: JointMissing
    received_center_id: Identifier
    supplied_by: ActorId


@event
class JointApplicationAccepted(DomainEvent):
    """One receipt for the whole bundle; the promise is the latest member's."""

    event_type = "intake.joint_application_accepted"

    joint_case_id: Identifier
    receipt_no: Identifier
    bundle_code: Code
    bundle_version: Int32
    bundle_name_zh: Title
    members: Annotated[tuple[JointMember, ...], Field(min_length=2, max_length=MAX_MEMBERS)]
    approval_order: ApprovalOrder
    on_refusal: OnRefusal
    result_return: ResultReturn
    accepted_on: date
    promised_completion_date: date
    registered_community_id: Identifier
    accepting_center_id: Identifier
    accepting_staff_id: ActorId | None
    accepted_at: AwareDatetime
    accepted_by: ActorId


@event
class JointMemberDecided(DomainEvent):
    """A member's decision as the joint case learns it (from the member's own case)."""

    event_type = "routing.joint_member_decided"

    joint_case_id: Identifier
    case_id: Identifier
    item_code: Code
    decision: Decision


@event
class JointMemberReleased(DomainEvent):
    """A sequential bundle's next member may now be decided (the one before was approved)."""

    event_type = "routing.joint_member_released"

    joint_case_id: Identifier
    case_id: Identifier
    item_code: Code
    after_case_id: Identifier


@event
class JointMemberStopped(DomainEvent):
    """A member not yet decided is stopped because another was refused (on_refusal=stop)."""

    event_type = "routing.joint_member_stopped"

    joint_case_id: Identifier
    case_id: Identifier
    item_code: Code
    refused_case_id: Identifier


HoldReason = Literal["waiting_for_predecessor", "stopped_by_refusal"]
"""Why a member's clock does not run: 串联, the member before it is not approved yet; or a
refused member stopped it (`on_refusal` stop_others)."""


@event
class JointMemberHeld(DomainEvent):
    """On a member's OWN case stream: its deadline does not run (not warned, not overdue,
    not escalated) and it may not be decided. Waiting ends with `JointMemberResumed`;
    stopped is for good (the joint result reports it)."""

    event_type = "routing.joint_member_held"

    case_id: Identifier
    org_id: Identifier  # the handling unit, as on every case event
    tier: Literal["community", "town", "city"]
    joint_case_id: Identifier
    reason: HoldReason
    cause_case_id: Identifier | None = None
    """The member it waits for, or the refused member that stopped it."""
    held_at: AwareDatetime


@event
class JointMemberResumed(DomainEvent):
    """On a waiting member's own case stream: the member before it was approved, its clock
    starts now; the `routing.deadline_set` after it (reason `joint_released`) counts its
    limit from here (the wait is a pause, like a correction's)."""

    event_type = "routing.joint_member_resumed"

    case_id: Identifier
    org_id: Identifier
    tier: Literal["community", "town", "city"]
    joint_case_id: Identifier
    after_case_id: Identifier
    held_at: AwareDatetime
    resumed_at: AwareDatetime


@event
class JointResultReady(DomainEvent):
    """A joint result goes back to the resident: once with every member, or one member's
    at a time (`final` marks the last)."""

    event_type = "routing.joint_result_ready"

    joint_case_id: Identifier
    outcomes: Annotated[tuple[MemberOutcome, ...], Field(min_length=1, max_length=MAX_SHORT_LIST)]
    final: bool
    accepting_center_id: Identifier | None = None
    """Where the resident collects the result (the joint case's accepting center)."""


@event
class JointResultRecorded(DomainEvent):
    """Intake's record, on the joint case's own stream, of routing's `routing.joint_result_ready`
    (as a single case records its decision): the members' outcomes as they came back;
    `final` when every member is done and the result waits at the accepting center."""

    event_type = "intake.joint_result_recorded"

    joint_case_id: Identifier
    outcomes: Annotated[tuple[MemberOutcome, ...], Field(min_length=1, max_length=MAX_SHORT_LIST)]
    final: bool
    source_event_id: Identifier
    """routing's event it records (a redelivery of the same one records nothing)."""


@event
class JointResultDelivered(DomainEvent):
    """The joint result reached the resident (领取, once for the whole bundle): picked up at a
    center, mailed with its tracking number, or electronic."""

    event_type = "intake.joint_result_delivered"

    joint_case_id: Identifier
    method: DeliveryMethod
    center_id: Identifier | None
    tracking_no: DocumentNo | None
    accepting_center_id: Identifier
    delivered_by: ActorId


# -- rules -----------------------------------------------------------------------------------------
def joint_promise(
    accepted_at: datetime,
    member_limits: Sequence[int],
    order: ApprovalOrder,
    hours: OfficeHours,
    *,
    calendar: WorkingCalendar,
) -> Promise:
    """The joint promise: the latest member's, by THE promise rule. Side by side, that is the
    longest member's limit; one after another, each member starts when the one before is
    due, so the limits add up."""
    if not member_limits:
        raise ValueError("a joint case has members")
    days = sum(member_limits) if order == "sequential" else max(member_limits)
    return promised_deadline(accepted_at, days, hours, calendar=calendar)


def joint_on_time(result_day: date, promised_date: date) -> bool:
    """A joint case kept its promise when its final result (routing.joint_result_ready,
    final) came on or before the promised completion date (local days). The one rule the
    audit board and the situation reports count joint cases by."""
    return result_day <= promised_date


@dataclass(frozen=True)
class OutcomePlan:
    """What one member's decision does: members released or stopped, results to send."""

    released: tuple[str, ...] = ()
    stopped: tuple[str, ...] = ()
    results: tuple[tuple[MemberOutcome, ...], ...] = ()
    final: bool = False


_DONE: frozenset[str] = frozenset({"approved", "refused", "stopped"})


def initial_statuses(count: int, order: ApprovalOrder) -> tuple[MemberStatus, ...]:
    """Side by side every member is open at once; one after another only the first."""
    first: MemberStatus = "open"
    rest: MemberStatus = "open" if order == "parallel" else "waiting"
    return (first,) + (rest,) * (count - 1)


def joint_outcome(
    members: Sequence[MemberOutcome],
    decided_case_id: str,
    decision: Decision,
    order: ApprovalOrder,
    on_refusal: OnRefusal,
    result_return: ResultReturn,
) -> OutcomePlan:
    """THE JOINT RULE for a member's decision. `members` are in bundle order with their
    status before the decision. A refusal with `stop_others` stops every member not yet
    decided; an approval in a sequential bundle releases the next waiting member; results
    go back once when every member is done, or per member (the stopped ones with the
    refusal that stopped them)."""
    index = next((i for i, m in enumerate(members) if m.case_id == decided_case_id), None)
    if index is None:
        raise KeyError(decided_case_id)
    if members[index].status in _DONE:
        return OutcomePlan()  # already decided or stopped: a repeat changes nothing
    status: MemberStatus = "approved" if decision == "approve" else "refused"
    after = [
        m.model_copy(update={"status": status}) if i == index else m for i, m in enumerate(members)
    ]
    released: list[str] = []
    stopped: list[str] = []
    if status == "refused" and on_refusal == "stop_others":
        for i, m in enumerate(after):
            if m.status in ("waiting", "open"):
                stopped.append(m.case_id)
                after[i] = m.model_copy(update={"status": "stopped"})
    elif order == "sequential":
        nxt = next((m for m in after[index + 1 :] if m.status == "waiting"), None)
        if nxt is not None:
            released.append(nxt.case_id)
            after = [m.model_copy(update={"status": "open"}) if m is nxt else m for m in after]
    final = all(m.status in _DONE for m in after)
    results: tuple[tuple[MemberOutcome, ...], ...] = ()
    if result_return == "once":
        results = (tuple(after),) if final else ()
    else:
        now_done = {decided_case_id, *stopped}
        results = (tuple(m for m in after if m.case_id in now_done),)
    return OutcomePlan(
        released=tuple(released), stopped=tuple(stopped), results=results, final=final
    )


def member_case_id(joint_case_id: str, item_code: str) -> str:
    """A member's case id, derived from the joint case (deciders may be re-run: no draws)."""
    return "case-" + hashlib.sha256(f"{joint_case_id}/{item_code}".encode()).hexdigest()[:32]
