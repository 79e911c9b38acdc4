"""Which event tells whom what, over which channels: `plan(envelope, directory, setup, now)`.

Residents (the case's applicant) hear about:
    intake.materials_missing_notified   the one-time notice, every missing material in one
    intake.application_accepted         the receipt (受理编号, promised date, query code)
    routing.correction_requested        what to correct (补正); the clock is paused
    routing.result_returned (final hop) the result is at the accepting center
    intake.result_delivered             the invitation to rate the service (好差评)
Staff hear about:
    routing.case_assigned / case_reassigned    a new case (the A or B holder)
    routing.deadline_warning_issued            a deadline is near
    routing.case_overdue                       a deadline passed
    routing.case_escalated                     the center head is asked to supervise
    routing.bad_review_followup_opened         a bad review to follow up
    routing.followup_overdue                   that follow-up is late

Every other event type plans nothing. Channels per recipient: SMS when there is a phone
number and an SMS gateway, e-mail when there is an address and an SMTP server, and the
webhook of the recipient's kind when one is configured. Each (event, recipient, channel)
is one intent with a deterministic `delivery_id`.

The applicant's contacts come from `intake.application_submitted` and staff contacts from
`routing.staff_registered`; when the one this event needs has not been seen yet (events of
two topics are not ordered against each other), the plan says what it waits for and the
edge plans the event again once that arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts import intake as ie
from contracts import routing as re
from contracts.base import DomainEvent, payload_of
from contracts.notify import ChannelName, RecipientKind
from contracts.workdays import SHANGHAI
from eventkit.envelope import Envelope

from .model import (
    CaseInfo,
    ChannelSetup,
    DeliveryIntent,
    Directory,
    Plan,
    applicant_id,
    delivery_id,
)
from .quiet_hours import DEFAULT_QUIET_HOURS, QuietHours, next_allowed_time
from .templates import Template, load_templates, render

FORM_ZH = {"original": "原件", "copy": "复印件"}
DECISION_ZH = {"approve": "准予办理", "refuse": "不予办理"}
LEVEL_ZH = {1: "一级督办", 2: "二级督办"}
UNAVAILABLE_ZH = {
    "off_duty": "不在岗",
    "no_post": "未设岗",
    "absent:leave": "请假",
    "absent:sick_leave": "病假",
    "absent:training": "培训",
    "absent:business_trip": "出差",
    "absent:other": "外出",
}
DIMENSION_ZH = {  # intake's evaluation dimensions (a service never imports another: copied)
    "attitude": "服务态度",
    "efficiency": "办事效率",
    "professionalism": "业务水平",
    "environment": "服务环境",
}


def fmt_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def fmt_time(t: datetime) -> str:
    local = t.astimezone(SHANGHAI)
    return f"{fmt_date(local.date())} {local:%H:%M}"


def _numbered(items: list[str], sms: bool) -> str:
    """A list inside a message: one per line for e-mail and webhooks, `；` for SMS."""
    if sms:
        return "；".join(f"{i}.{s}" for i, s in enumerate(items, 1)) + "。"
    return "".join(f"\n{i}. {s}" for i, s in enumerate(items, 1))


# -- rules -------------------------------------------------------------------------------------
Context = Callable[[Any, Envelope, Directory, bool], dict[str, str]]
"""(payload, envelope, directory, sms) -> template fields."""


@dataclass(frozen=True)
class Rule:
    template: str
    kind: RecipientKind
    recipient: Callable[[Any], str]
    """Payload -> the case id (residents) or the staff id (staff)."""
    context: Context
    applies: Callable[[Any], bool] = lambda _p: True
    other_staff: Callable[[Any], tuple[str, ...]] = lambda _p: ()
    units: Callable[[Any], tuple[str, ...]] = lambda _p: ()


def _case_fields(info: CaseInfo) -> dict[str, str]:
    return {
        "case_id": info.case_id,
        "item_name": info.item_name_zh or "办件",
        "receipt_no": info.receipt_no or info.case_id,
        "applicant_name": info.applicant_name or "申请人",
    }


def _missing(p: ie.MaterialsMissingNotified, env: Envelope, d: Directory, sms: bool) -> dict:
    info = d.case(p.case_id)
    items = []
    for m in p.missing:
        note = ""
        if m.reason == "original_required":
            note = "，须提供原件"
        elif m.reason == "too_few_copies":
            note = f"，已交{m.copies_provided}份，还差{m.copies - m.copies_provided}份"
        items.append(f"{m.name_zh}（{FORM_ZH[m.form]}{m.copies}份{note}）")
    return {
        **_case_fields(info),
        "item_name": p.item_name_zh,
        "center_name": d.unit_name(p.accepting_center_id),
        "missing_count": str(len(items)),
        "missing_list": _numbered(items, sms),
    }


def _receipt(p: ie.ApplicationAccepted, env: Envelope, d: Directory, sms: bool) -> dict:
    return {
        **_case_fields(d.case(p.case_id)),
        "item_name": p.item_name_zh,
        "receipt_no": p.receipt_no,
        "promised_date": fmt_date(p.promised_completion_date),
        "verification_code": p.verification_code,
        "center_name": d.unit_name(p.accepting_center_id),
    }


def _correction(p: re.CorrectionRequested, env: Envelope, d: Directory, sms: bool) -> dict:
    info = d.case(p.case_id)
    names = [info.material_names.get(m, m) for m in p.requested_materials]
    return {
        **_case_fields(info),
        "materials_count": str(len(names)),
        "materials_list": _numbered(names, sms),
        "note_line": f"说明：{p.note}" if p.note else "",
    }


def _result_ready(p: re.ResultReturned, env: Envelope, d: Directory, sms: bool) -> dict:
    return {
        **_case_fields(d.case(p.case_id)),
        "decision_zh": DECISION_ZH[p.decision],
        "center_name": d.unit_name(p.to_unit_id),
    }


def _evaluation(p: ie.ResultDelivered, env: Envelope, d: Directory, sms: bool) -> dict:
    return _case_fields(d.case(p.case_id))


def _staff_fields(d: Directory, staff_id: str, case_id: str) -> dict[str, str]:
    s = d.staff.get(staff_id)
    return {**_case_fields(d.case(case_id)), "staff_name": s.name_zh if s else staff_id}


def _assigned(p: re.CaseAssigned, env: Envelope, d: Directory, sms: bool) -> dict:
    if p.as_role == "B":
        why = UNAVAILABLE_ZH.get(p.a_unavailable_reason or "", "不在岗")
        note = f"（B岗：A岗{why}）"
    elif p.as_role == "A":
        note = "（A岗）"
    else:
        note = ""
    return {**_staff_fields(d, p.assigned_to, p.case_id), "role_note": note}


def _reassigned(p: re.CaseReassigned, env: Envelope, d: Directory, sms: bool) -> dict:
    return {
        **_staff_fields(d, p.to_officer, p.case_id),
        "role_note": f"（改派，原因：{p.reason}）",
    }


def _warning(p: re.DeadlineWarningIssued, env: Envelope, d: Directory, sms: bool) -> dict:
    return {
        **_staff_fields(d, p.assigned_to, p.case_id),
        "due_at": fmt_time(p.due_at),
        "working_days_left": str(p.working_days_left),
    }


def _overdue(p: re.CaseOverdue, env: Envelope, d: Directory, sms: bool) -> dict:
    return {**_staff_fields(d, p.assigned_to, p.case_id), "due_at": fmt_time(p.due_at)}


def _escalated(p: re.CaseEscalated, env: Envelope, d: Directory, sms: bool) -> dict:
    assignee = d.staff.get(p.assigned_to)
    return {
        **_staff_fields(d, p.escalated_to, p.case_id),
        "due_at": fmt_time(p.due_at),
        "assignee_name": assignee.name_zh if assignee else p.assigned_to,
        "level_zh": LEVEL_ZH.get(p.level, f"{p.level}级督办"),
    }


def _bad_review(p: re.BadReviewFollowUpOpened, env: Envelope, d: Directory, sms: bool) -> dict:
    parts = []
    if p.low_dimensions:
        parts.append("低分项：" + "、".join(DIMENSION_ZH.get(x, x) for x in p.low_dimensions))
    if p.comment:
        parts.append(f"评价内容：“{p.comment}”")
    return {
        **_staff_fields(d, p.assigned_to, p.case_id),
        "score": str(p.score),
        "center_name": d.unit_name(p.center_id),
        "detail": ("，" + "；".join(parts)) if parts else "",
        "answer_due_at": fmt_time(p.answer_due_at),
    }


def _followup_overdue(p: re.FollowUpOverdue, env: Envelope, d: Directory, sms: bool) -> dict:
    return {
        **_staff_fields(d, p.assigned_to, p.case_id),
        "answer_due_at": fmt_time(p.answer_due_at),
    }


def _case(p: Any) -> str:
    return str(p.case_id)


RULES: Mapping[str, Rule] = {
    ie.MaterialsMissingNotified.event_type: Rule(
        "resident_missing_materials",
        "resident",
        _case,
        _missing,
        units=lambda p: (p.accepting_center_id,),
    ),
    ie.ApplicationAccepted.event_type: Rule(
        "resident_receipt", "resident", _case, _receipt, units=lambda p: (p.accepting_center_id,)
    ),
    re.CorrectionRequested.event_type: Rule(
        "resident_correction_request", "resident", _case, _correction
    ),
    re.ResultReturned.event_type: Rule(
        "resident_result_ready",
        "resident",
        _case,
        _result_ready,
        applies=lambda p: p.final,
        units=lambda p: (p.to_unit_id,),
    ),
    ie.ResultDelivered.event_type: Rule(
        "resident_evaluation_invitation", "resident", _case, _evaluation
    ),
    re.CaseAssigned.event_type: Rule(
        "staff_new_assignment", "staff", lambda p: p.assigned_to, _assigned
    ),
    re.CaseReassigned.event_type: Rule(
        "staff_new_assignment", "staff", lambda p: p.to_officer, _reassigned
    ),
    re.DeadlineWarningIssued.event_type: Rule(
        "staff_deadline_warning", "staff", lambda p: p.assigned_to, _warning
    ),
    re.CaseOverdue.event_type: Rule("staff_overdue", "staff", lambda p: p.assigned_to, _overdue),
    re.CaseEscalated.event_type: Rule(
        "staff_escalation",
        "staff",
        lambda p: p.escalated_to,
        _escalated,
        other_staff=lambda p: (p.assigned_to,),
    ),
    re.BadReviewFollowUpOpened.event_type: Rule(
        "staff_bad_review",
        "staff",
        lambda p: p.assigned_to,
        _bad_review,
        units=lambda p: (p.center_id,),
    ),
    re.FollowUpOverdue.event_type: Rule(
        "staff_followup_overdue", "staff", lambda p: p.assigned_to, _followup_overdue
    ),
}

NOTIFYING_TYPES: frozenset[str] = frozenset(RULES)


# -- what the edge must load -------------------------------------------------------------------
@dataclass(frozen=True)
class Needs:
    """The directory entries planning this event reads."""

    case_ids: tuple[str, ...] = ()
    staff_ids: tuple[str, ...] = ()
    unit_ids: tuple[str, ...] = ()


def _rule_and_payload(envelope: Envelope) -> tuple[Rule, DomainEvent] | None:
    rule = RULES.get(envelope.event_type)
    if rule is None:
        return None
    payload = payload_of(envelope)
    if not rule.applies(payload):
        return None
    return rule, payload


def needs(envelope: Envelope) -> Needs | None:
    """None if this event notifies nobody; else what to load before `plan`."""
    found = _rule_and_payload(envelope)
    if found is None:
        return None
    rule, p = found
    staff = (rule.recipient(p), *rule.other_staff(p)) if rule.kind == "staff" else ()
    return Needs(
        case_ids=(str(p.case_id),),  # type: ignore[attr-defined]
        staff_ids=staff,
        unit_ids=tuple(u for u in rule.units(p) if u),
    )


# -- planning ----------------------------------------------------------------------------------
def _channels(
    kind: RecipientKind, phone: str | None, email: str | None, setup: ChannelSetup
) -> list[tuple[ChannelName, str]]:
    out: list[tuple[ChannelName, str]] = []
    if setup.sms and phone:
        out.append(("sms", phone))
    if setup.email and email:
        out.append(("email", email))
    hook = setup.resident_webhook if kind == "resident" else setup.staff_webhook
    if hook:
        out.append(("webhook", hook))
    return out


def plan(
    envelope: Envelope,
    directory: Directory,
    setup: ChannelSetup,
    now: datetime,
    quiet: QuietHours | None = DEFAULT_QUIET_HOURS,
    templates: Mapping[str, Template] | None = None,
) -> Plan:
    """The deliveries this event causes (empty if none), or what planning must wait for."""
    found = _rule_and_payload(envelope)
    if found is None:
        return Plan()
    rule, p = found
    templates = templates if templates is not None else load_templates()
    template = templates[rule.template]
    key = rule.recipient(p)
    if rule.kind == "resident":
        info = directory.case(key)
        if not info.applicant_known:
            return Plan(waiting_for=f"case:{key}")
        recipient_id, phone, email = applicant_id(key), info.phone, info.email
    else:
        staff = directory.staff.get(key)
        if staff is None:
            return Plan(waiting_for=f"staff:{key}")
        recipient_id, phone, email = key, staff.phone, staff.email
    intents = []
    for channel, address in _channels(rule.kind, phone, email, setup):
        sms = channel == "sms"
        context = rule.context(p, envelope, directory, sms)
        subject, body = render(template, context)
        if sms:
            body = setup.sms_signature + body.replace("\n", "")
        due = next_allowed_time(channel, rule.kind, now, quiet)
        intents.append(
            DeliveryIntent(
                delivery_id=delivery_id(envelope.event_id, recipient_id, channel),
                recipient_id=recipient_id,
                recipient_kind=rule.kind,
                channel=channel,
                address=address,
                template=rule.template,
                subject=subject,
                body=body,
                data={**context, "case_id": str(p.case_id)},  # type: ignore[attr-defined]
                due_at=due,
                deferred=due > now,
            )
        )
    return Plan(intents=tuple(intents))
