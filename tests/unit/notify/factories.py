"""Realistic intake / routing events for notify's tests (a 二胎 case at 马北社区)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts import intake as ie
from contracts import joint as je
from contracts import routing as re
from contracts.base import DomainEvent, to_payload
from contracts.workdays import SHANGHAI, OfficeHours
from eventkit.envelope import Actor, Envelope, Producer

#: 2026-03-02 10:00 Asia/Shanghai, a Monday: inside office hours, outside quiet hours.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)

CENTER = "mabei"
TOWN = "mayu"
PHONE = "13857712345"
EMAIL = "zhangli@example.cn"

MISSING_THREE = (
    ie.MissingMaterial(
        code="APPLICATION_FORM",
        name_zh="再生育申请审批表",
        form="original",
        copies=1,
        reason="not_provided",
    ),
    ie.MissingMaterial(
        code="MARRIAGE_CERT", name_zh="结婚证复印件", form="copy", copies=1, reason="not_provided"
    ),
    ie.MissingMaterial(
        code="PHOTO_1IN",
        name_zh="夫妻双方一寸近期免冠照片",
        form="original",
        copies=2,
        reason="not_provided",
    ),
)

REQUIRED = (
    ie.RequiredMaterial(code="APPLICATION_FORM", name_zh="再生育申请审批表", form="original"),
    ie.RequiredMaterial(code="ID_CARD", name_zh="夫妻双方居民身份证复印件", form="copy", copies=2),
    ie.RequiredMaterial(code="MARRIAGE_CERT", name_zh="结婚证复印件", form="copy"),
    ie.RequiredMaterial(code="HOUSEHOLD_REG", name_zh="户口簿复印件", form="copy"),
    ie.RequiredMaterial(
        code="PHOTO_1IN", name_zh="夫妻双方一寸近期免冠照片", form="original", copies=2
    ),
)


def new_case_id() -> str:
    return f"case-{uuid.uuid4().hex}"


def wrap(
    evt: DomainEvent,
    stream_id: str,
    *,
    at: datetime = T0,
    service: str = "intake",
    payload: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> Envelope:
    return Envelope(
        event_type=evt.event_type,
        schema_version=evt.schema_version,
        stream_id=stream_id,
        occurred_at=at,
        producer=Producer(service=service, instance="test-1"),
        actor=actor or Actor(id="agent.mabei.1", role="community_agent", org_id=CENTER),
        payload=payload if payload is not None else to_payload(evt),
    )


def submitted(
    case_id: str,
    *,
    phone: str = PHONE,
    email: str | None = EMAIL,
    name: str = "张丽",
    at: datetime = T0,
) -> Envelope:
    evt = ie.ApplicationSubmitted(
        case_id=case_id,
        item_code="FP-002",
        item_version=1,
        item_name_zh="再生育(二胎)申请审批",
        category="family_planning",
        handling_tier="town",
        case_type="promised",
        statutory_limit_days=30,
        promised_limit_days=15,
        result_type="批复",
        agency_allowed=True,
        required_materials=REQUIRED,
        applicant=ie.Applicant(
            name=name,
            id_number="330381199001011234",
            phone=phone,
            registered_community_id=CENTER,
            address="瑞安市马屿镇马北社区",
        ),
        registered_community_id=CENTER,
        materials_provided=(ie.ProvidedMaterial(code="ID_CARD", form="copy"),),
        accepting_center_id=CENTER,
        accepting_staff_id="agent.mabei.1",
        channel="window",
        fee_standard_fen=0,
        fee_paid_fen=0,
        deposit_standard_fen=300_000,
        deposit_paid_fen=300_000,
        payment_receipt_no="PAY-0001",
        submitted_at=at,
        submitted_by="agent.mabei.1",
    )
    payload = to_payload(evt)
    if email is not None:
        # The contract has no e-mail field yet; notify reads one when present (tolerant
        # reader, see notify.directory.projection).
        payload["applicant"]["email"] = email
    return wrap(evt, case_id, at=at, payload=payload)


def missing_notified(
    case_id: str, missing: tuple[ie.MissingMaterial, ...] = MISSING_THREE, *, at: datetime = T0
) -> Envelope:
    return wrap(
        ie.MaterialsMissingNotified(
            case_id=case_id,
            item_code="FP-002",
            item_version=1,
            item_name_zh="再生育(二胎)申请审批",
            missing=missing,
            accepting_center_id=CENTER,
            notified_by="agent.mabei.1",
        ),
        case_id,
        at=at,
    )


def accepted(
    case_id: str,
    *,
    at: datetime = T0,
    receipt_no: str = "RA20260302K3W9ZD",
    promised: date = date(2026, 3, 23),
    provisional_years: tuple[int, ...] | None = None,
) -> Envelope:
    return wrap(
        ie.ApplicationAccepted(
            case_id=case_id,
            receipt_no=receipt_no,
            item_code="FP-002",
            item_version=1,
            item_name_zh="再生育(二胎)申请审批",
            category="family_planning",
            handling_tier="town",
            case_type="promised",
            statutory_limit_days=30,
            promised_limit_days=15,
            accepted_on=date(2026, 3, 2),
            promised_completion_date=promised,
            registered_community_id=CENTER,
            accepting_center_id=CENTER,
            accepting_staff_id="agent.mabei.1",
            channel="window",
            fee_standard_fen=0,
            fee_charged_fen=0,
            deposit_standard_fen=300_000,
            deposit_charged_fen=300_000,
            fee_overridden=False,
            accepted_at=at,
            accepted_by="agent.mabei.1",
            provisional_years=provisional_years,
        ),
        case_id,
        at=at,
    )


def promised_date_revised(
    case_id: str,
    *,
    previous: date,
    promised: date,
    provisional_years: tuple[int, ...] = (),
    at: datetime = T0,
) -> Envelope:
    return wrap(
        ie.PromisedDateRevised(
            case_id=case_id,
            receipt_no="RA20260302K3W9ZD",
            previous_date=previous,
            promised_completion_date=promised,
            provisional_years=provisional_years,
            reason="holiday_schedule_published",
            year=2027,
            notice_no="国办发明电〔2026〕99号",
            accepting_center_id=CENTER,
            revised_by="intake",
        ),
        case_id,
        at=at,
    )


def result_delivered(case_id: str, *, at: datetime = T0) -> Envelope:
    return wrap(
        ie.ResultDelivered(
            case_id=case_id,
            decision="approve",
            method="picked_up",
            center_id=CENTER,
            tracking_no=None,
            accepting_center_id=CENTER,
            delivered_by="agent.mabei.1",
        ),
        case_id,
        at=at,
    )


# -- routing ---------------------------------------------------------------------------------------
def _routing(evt: DomainEvent, stream_id: str, at: datetime) -> Envelope:
    return wrap(
        evt,
        stream_id,
        at=at,
        service="routing",
        actor=Actor(id="routing", role="system"),
    )


def unit_registered(
    unit_id: str = CENTER, name: str = "马北社区", *, parent: str | None = TOWN
) -> Envelope:
    return _routing(
        re.OrgUnitRegistered(
            unit_id=unit_id,
            name_zh=name,
            tier="community" if parent else "town",
            kind="社区" if parent else "镇",
            parent_id=parent,
            office_hours=OfficeHours.standard(),
            registered_by="admin.seed",
        ),
        re.ORG_STREAM_ID,
        T0 - timedelta(days=30),
    )


def staff_registered(
    staff_id: str,
    name: str,
    *,
    unit_id: str = TOWN,
    email: str | None = None,
    phone: str | None = None,
    roles: tuple[str, ...] = ("officer",),
    at: datetime = T0,
) -> Envelope:
    evt = re.StaffRegistered(
        staff_id=staff_id,
        name_zh=name,
        roles=roles,  # type: ignore[arg-type]
        unit_id=unit_id,
        office_id=f"{unit_id}.jsb",
        registered_by="admin.seed",
        phone=phone,
        email=email,
    )
    return _routing(evt, re.ORG_STREAM_ID, at)


def _case(case_id: str) -> dict[str, Any]:
    return {"case_id": case_id, "org_id": TOWN, "tier": "town"}


def case_routed(case_id: str, *, at: datetime = T0) -> Envelope:
    return _routing(
        re.CaseRouted(
            **_case(case_id),
            item_code="FP-002",
            item_version=1,
            category="family_planning",
            case_type="promised",
            catalog_tier="town",
            handling_tier="town",
            handling_unit_id=TOWN,
            handling_office_id=f"{TOWN}.jsb",
            rule="catalog_tier",
            base_unit_id=CENTER,
            base="registered_community",
            accepting_center_id=CENTER,
            accepting_staff_id="agent.mabei.1",
            agent_id="agent.mabei.1",
            route=(CENTER, TOWN),
            routed_by="routing",
        ),
        case_id,
        at,
    )


def case_assigned(
    case_id: str,
    staff_id: str,
    *,
    as_role: str = "A",
    a_reason: str | None = None,
    at: datetime = T0,
) -> Envelope:
    return _routing(
        re.CaseAssigned(
            **_case(case_id),
            office_id=f"{TOWN}.jsb",
            post_id=f"{TOWN}.jsb.post1",
            assigned_to=staff_id,
            as_role=as_role,  # type: ignore[arg-type]
            a_holder="officer.a",
            b_holder="officer.b",
            a_unavailable_reason=a_reason,
            availability_checked_at=at,
            assigned_by="routing",
        ),
        case_id,
        at,
    )


def correction_requested(case_id: str, *, at: datetime = T0) -> Envelope:
    return _routing(
        re.CorrectionRequested(
            **_case(case_id),
            correction_id="corr-1",
            requested_materials=("MARRIAGE_CERT", "HOUSEHOLD_REG"),
            note="结婚证复印件不清晰",
            paused_at=at,
            requested_by="officer.a",
        ),
        case_id,
        at,
    )


def result_returned(case_id: str, *, final: bool = True, at: datetime = T0) -> Envelope:
    return _routing(
        re.ResultReturned(
            **_case(case_id),
            hop=1,
            from_unit_id=TOWN,
            to_unit_id=CENTER,
            decision="approve",
            carried_by="agent.mabei.1",
            returned_by="officer.a",
            final=final,
        ),
        case_id,
        at,
    )


def deadline_warning(
    case_id: str,
    staff_id: str,
    *,
    a_holder: str | None = None,
    b_holder: str | None = None,
    at: datetime = T0,
) -> Envelope:
    """The warning to `staff_id`; `a_holder`/`b_holder` None as in a v1 event."""
    return _routing(
        re.DeadlineWarningIssued(
            **_case(case_id),
            assigned_to=staff_id,
            due_at=datetime(2026, 3, 23, 17, 30, tzinfo=SHANGHAI),
            working_days_left=1,
            issued_by="routing",
            a_holder=a_holder,
            b_holder=b_holder,
        ),
        case_id,
        at,
    )


def case_overdue(
    case_id: str,
    staff_id: str,
    *,
    a_holder: str | None = None,
    b_holder: str | None = None,
    at: datetime = T0,
) -> Envelope:
    return _routing(
        re.CaseOverdue(
            **_case(case_id),
            assigned_to=staff_id,
            due_at=datetime(2026, 3, 23, 17, 30, tzinfo=SHANGHAI),
            detected_by="routing",
            a_holder=a_holder,
            b_holder=b_holder,
        ),
        case_id,
        at,
    )


def case_escalated(
    case_id: str,
    head_id: str,
    assignee: str,
    *,
    level: int = 1,
    to_unit_id: str = TOWN,
    center_head: str | None = None,
    at: datetime = T0,
) -> Envelope:
    """Level 1 to the handling center's head `head_id`; level 2 to the next tier's head
    `head_id`, with the handling center's head as `center_head`."""
    return _routing(
        re.CaseEscalated(
            **_case(case_id),
            level=level,
            escalated_to=head_id,
            to_unit_id=to_unit_id,
            assigned_to=assignee,
            due_at=datetime(2026, 3, 23, 17, 30, tzinfo=SHANGHAI),
            escalated_by="routing",
            center_head=center_head if center_head is not None else head_id,
        ),
        case_id,
        at,
    )


def bad_review(case_id: str, head_id: str, *, at: datetime = T0) -> Envelope:
    return _routing(
        re.BadReviewFollowUpOpened(
            **_case(case_id),
            followup_id="fu-1",
            evaluation_ref="eval-1",
            score=2,
            low_dimensions=("attitude",),
            comment="窗口人员态度冷淡",
            center_id=CENTER,
            assigned_to=head_id,
            answer_due_at=datetime(2026, 3, 30, 17, 30, tzinfo=SHANGHAI),
            opened_by="routing",
        ),
        case_id,
        at,
    )


def case_reassigned(case_id: str, to: str, *, at: datetime = T0) -> Envelope:
    return _routing(
        re.CaseReassigned(
            **_case(case_id),
            from_officer="officer.a",
            to_officer=to,
            reason="A岗人员出差",
            reassigned_by="head.mayu",
        ),
        case_id,
        at,
    )


def followup_overdue(case_id: str, head_id: str, *, at: datetime = T0) -> Envelope:
    return _routing(
        re.FollowUpOverdue(
            **_case(case_id),
            followup_id="fu-1",
            assigned_to=head_id,
            answer_due_at=datetime(2026, 3, 30, 17, 30, tzinfo=SHANGHAI),
            detected_by="routing",
        ),
        case_id,
        at,
    )


# -- 联办: a joint case (LB-001, the birth-related certificates) ----------------------------------
JOINT_NAMES = {
    "FP-003": "生育登记",
    "OT-004": "新生儿出生登记(申报户口)",
    "LS-003": "新生儿城乡居民基本医疗保险参保登记",
}


def new_joint_id() -> str:
    return f"joint-{uuid.uuid4().hex}"


def joint_missing_notified(joint_id: str, *, at: datetime = T0) -> Envelope:
    return wrap(
        je.JointMaterialsMissingNotified(
            joint_case_id=joint_id,
            bundle_code="LB-001",
            bundle_version=1,
            bundle_name_zh="出生一件事联办",
            missing=je.JointMissing(
                shared=(MISSING_THREE[1],),
                members=(
                    je.MemberMissing(item_code="FP-003", missing=(MISSING_THREE[0],)),
                    je.MemberMissing(item_code="OT-004", missing=()),
                    je.MemberMissing(item_code="LS-003", missing=(MISSING_THREE[2],)),
                ),
            ),
            accepting_center_id=CENTER,
            notified_by="agent.mabei.1",
        ),
        joint_id,
        at=at,
    )


def joint_result_ready(
    joint_id: str,
    outcomes: tuple[tuple[str, str], ...] = (
        ("FP-003", "approved"),
        ("OT-004", "refused"),
        ("LS-003", "approved"),
    ),
    *,
    final: bool = True,
    at: datetime = T0,
) -> Envelope:
    return _routing(
        je.JointResultReady(
            joint_case_id=joint_id,
            outcomes=tuple(
                je.MemberOutcome(case_id=f"case-{code}", item_code=code, status=status)  # type: ignore[arg-type]
                for code, status in outcomes
            ),
            final=final,
            accepting_center_id=CENTER,
        ),
        joint_id,
        at,
    )


def joint_accepted(joint_id: str, *, at: datetime = T0) -> Envelope:
    """The bundle's one receipt: three members, the latest promise the bundle's."""
    members = tuple(
        je.JointMember(
            case_id=f"case-{uuid.uuid5(uuid.NAMESPACE_URL, joint_id + code).hex}",
            item_code=code,
            item_version=1,
            item_name_zh=name,
            category="family_planning",
            handling_tier="community",
            case_type="promised",
            promised_limit_days=5,
        )
        for code, name in JOINT_NAMES.items()
    )
    return wrap(
        je.JointApplicationAccepted(
            joint_case_id=joint_id,
            receipt_no="RA20260302J0INT1",
            bundle_code="LB-001",
            bundle_version=1,
            bundle_name_zh="出生一件事联办",
            members=members,
            approval_order="parallel",
            on_refusal="continue",
            result_return="once",
            accepted_on=date(2026, 3, 2),
            promised_completion_date=date(2026, 3, 9),
            registered_community_id=CENTER,
            accepting_center_id=CENTER,
            accepting_staff_id="agent.mabei.1",
            accepted_at=at,
            accepted_by="agent.mabei.1",
        ),
        joint_id,
        at=at,
    )
