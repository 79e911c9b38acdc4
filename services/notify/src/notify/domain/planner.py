"""Which event tells whom what, over which channels: `plan(envelope, directory, setup, now)`.

Residents (the case's applicant) hear about:
    intake.materials_missing_notified   the one-time notice, every missing material in one
    intake.application_accepted         the receipt (受理编号, promised date, query code; a
                                        date counted by the provisional holiday estimate
                                        says it may move)
    intake.promised_date_revised        the promised date moved: the year's holiday
                                        schedule was published (not sent when it did not)
    routing.correction_requested        what to correct (补正); the clock is paused
    routing.result_returned (final hop) the result is at the accepting center
    intake.joint_materials_missing_notified  THE one notice of a joint case (联办): every
                                        member's gaps, the shared ones once
    intake.joint_application_accepted   a joint case's ONE receipt, naming every member
    routing.joint_result_ready          a joint case's result: once when every member is
                                        done, or member by member as the bundle says
    intake.result_delivered             the invitation to rate the service (好差评)
Staff hear about (who, from the event's own fields: routing knows the org tree, notify not):
    routing.case_assigned / case_reassigned    a new case: the officer it went to
    routing.deadline_warning_issued            a deadline is near: the assignee and the
    routing.case_overdue                       a deadline passed:  post's A and B holders
    routing.case_escalated                     supervise (督办): level 1 the handling center's
                                               head; level 2 the head one tier up, and the
                                               center's head again
    routing.bad_review_followup_opened         a bad review to follow up: the head it went to
    routing.followup_overdue                   that follow-up is late: the same head

Every other event type plans nothing. Channels per recipient: SMS when there is a phone
number and an SMS gateway, e-mail when there is an address and an SMTP server, and the
webhook of the recipient's kind when one is configured. Each (event, recipient, channel)
is one intent with a deterministic `delivery_id`; a staff member named twice (the assignee
is usually the A holder) is told once.

The applicant's contacts come from `intake.application_submitted` and staff contacts from
`routing.staff_registered`; when the one this event needs has not been seen yet (events of
two topics are not ordered against each other), the plan says what it waits for and the
edge plans the event again once that arrives. An event for several staff waits until all
of them are known: routing registers every post holder and head before naming them, so
each does arrive, and nobody is told a second time when the event is planned again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts import intake as ie
from contracts import joint as je
from contracts import routing as re
from contracts.base import DomainEvent, payload_of
from contracts.notify import ChannelName, RecipientKind
from contracts.workdays import SHANGHAI
from eventkit.envelope import Envelope

from .model import (
    CODE_SLOT,
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


def _sentence(text: str | None) -> str:
    """`text` as one sentence ending in 。 (or its own ！/？), "" when blank: an officer's note
    is typed however it is typed, and must not run into the sentence after it."""
    core = (text or "").strip().rstrip("，,；;、：: \t")
    if not core:
        return ""
    return core if core[-1] in "。！？!?…" else core + "。"


def _once(*ids: str | None) -> tuple[str, ...]:
    """The ids given, in order, each once, without the unknown (None) ones."""
    return tuple(dict.fromkeys(i for i in ids if i))


# -- rules -------------------------------------------------------------------------------------
Context = Callable[[Any, Envelope, Directory, bool, str], dict[str, str]]
"""(payload, envelope, directory, sms, recipient key) -> template fields."""


@dataclass(frozen=True)
class Rule:
    template: str
    kind: RecipientKind
    recipients: Callable[[Any], tuple[str, ...]]
    """Payload -> (the case id) for residents, the staff ids to tell for staff."""
    context: Context
    applies: Callable[[Any], bool] = lambda _p: True
    other_staff: Callable[[Any], tuple[str, ...]] = lambda _p: ()
    """Further staff whose names the text uses (loaded with the recipients)."""
    units: Callable[[Any], tuple[str, ...]] = lambda _p: ()
    case_key: Callable[[Any], str] = lambda p: str(p.case_id)
    """The case the event is about: its id, or a joint case's (联办) `joint_case_id`."""


def _case_fields(info: CaseInfo) -> dict[str, str]:
    return {
        "case_id": info.case_id,
        "item_name": info.item_name_zh or "办件",
        "receipt_no": info.receipt_no or info.case_id,
        "applicant_name": info.applicant_name or "申请人",
    }


def _gap(m: ie.MissingMaterial) -> str:
    note = ""
    if m.reason == "original_required":
        note = "，须提供原件"
    elif m.reason == "too_few_copies":
        note = f"，已交{m.copies_provided}份，还差{m.copies - m.copies_provided}份"
    return f"{m.name_zh}（{FORM_ZH[m.form]}{m.copies}份{note}）"


def _missing(
    p: ie.MaterialsMissingNotified, env: Envelope, d: Directory, sms: bool, to: str
) -> dict:
    info = d.case(p.case_id)
    items = [_gap(m) for m in p.missing]
    return {
        **_case_fields(info),
        "item_name": p.item_name_zh,
        "center_name": d.unit_name(p.accepting_center_id),
        "missing_count": str(len(items)),
        "missing_list": _numbered(items, sms),
    }


def _joint_missing(
    p: je.JointMaterialsMissingNotified, env: Envelope, d: Directory, sms: bool, to: str
) -> dict:
    """The joint notice as one list: the shared gaps once, then each member's own, named."""
    info = d.case(p.joint_case_id)
    items = [f"{_gap(m)}（各事项共用）" for m in p.missing.shared]
    for member in p.missing.members:
        name = info.material_names.get(member.item_code, member.item_code)  # its item name
        items += [f"{_gap(m)}（{name}）" for m in member.missing]
    return {
        **_case_fields(info),
        "item_name": p.bundle_name_zh,
        "center_name": d.unit_name(p.accepting_center_id),
        "missing_count": str(len(items)),
        "missing_list": _numbered(items, sms),
    }


MEMBER_STATUS_ZH = {
    "approved": "准予办理",
    "refused": "不予办理",
    "stopped": "因关联事项不予办理而终止",
}


def _joint_result(p: je.JointResultReady, env: Envelope, d: Directory, sms: bool, to: str) -> dict:
    info = d.case(p.joint_case_id)
    names = info.material_names  # a joint case's: item code -> item name
    lines = [
        f"{names.get(o.item_code, o.item_code)}：{MEMBER_STATUS_ZH.get(o.status, o.status)}"
        for o in p.outcomes
    ]
    center = d.unit_name(p.accepting_center_id or info.accepting_center_id)
    collect = any(o.status == "approved" for o in p.outcomes)
    return {
        **_case_fields(info),
        "result_title": "办结通知" if p.final else "办理进度",
        "progress": "已全部办结" if p.final else "部分事项已办结",
        "results_list": _numbered(lines, sms),
        "center_name": center,
        "collect_line": (
            f"办理结果已送达{center}，请携带本人身份证件前往领取。"
            if collect
            else "如有疑问，请咨询受理窗口。"
        ),
    }


def _joint_receipt(
    p: je.JointApplicationAccepted, env: Envelope, d: Directory, sms: bool, to: str
) -> dict:
    """The bundle's one receipt (受理编号 and the latest member's promise), each member named.
    No query code: the status page reads a case by its own receipt, not a joint one's."""
    return {
        **_case_fields(d.case(p.joint_case_id)),
        "item_name": p.bundle_name_zh,
        "receipt_no": p.receipt_no,
        "promised_date": fmt_date(p.promised_completion_date),
        "member_count": str(len(p.members)),
        "members_list": _numbered([m.item_name_zh for m in p.members], sms),
        "center_name": d.unit_name(p.accepting_center_id),
    }


def _years_zh(years: tuple[int, ...]) -> str:
    return "、".join(f"{y}年" for y in years)


def _receipt(p: ie.ApplicationAccepted, env: Envelope, d: Directory, sms: bool, to: str) -> dict:
    years = p.provisional_years or ()
    note = (
        f"（按预估的{_years_zh(years)}节假日安排计算，国务院办公厅公布后可能调整，届时另行告知）"
        if years
        else ""
    )
    return {
        **_case_fields(d.case(p.case_id)),
        "item_name": p.item_name_zh,
        "receipt_no": p.receipt_no,
        "promised_date": fmt_date(p.promised_completion_date),
        "promised_note": note,
        "verification_code": CODE_SLOT,  # filled at send time: no event carries the code
        "center_name": d.unit_name(p.accepting_center_id),
    }


def _promise_revised(
    p: ie.PromisedDateRevised, env: Envelope, d: Directory, sms: bool, to: str
) -> dict:
    years = p.provisional_years
    note = (
        f"该日期仍按预估的{_years_zh(years)}节假日安排计算，如有调整将另行告知。" if years else ""
    )
    return {
        **_case_fields(d.case(p.case_id)),
        "receipt_no": p.receipt_no,
        "year": str(p.year),
        "notice_no": p.notice_no,
        "previous_date": fmt_date(p.previous_date),
        "promised_date": fmt_date(p.promised_completion_date),
        "provisional_note": note,
        "center_name": d.unit_name(p.accepting_center_id),
    }


def _correction(p: re.CorrectionRequested, env: Envelope, d: Directory, sms: bool, to: str) -> dict:
    info = d.case(p.case_id)
    names = [info.material_names.get(m, m) for m in p.requested_materials]
    return {
        **_case_fields(info),
        "materials_count": str(len(names)),
        "materials_list": _numbered(names, sms),
        # its own line in an e-mail, its own sentence in an SMS (lines are joined there)
        "note_line": f"\n说明：{note}" if (note := _sentence(p.note)) else "",
    }


def _result_ready(p: re.ResultReturned, env: Envelope, d: Directory, sms: bool, to: str) -> dict:
    return {
        **_case_fields(d.case(p.case_id)),
        "decision_zh": DECISION_ZH[p.decision],
        "center_name": d.unit_name(p.to_unit_id),
    }


def _evaluation(p: ie.ResultDelivered, env: Envelope, d: Directory, sms: bool, to: str) -> dict:
    return _case_fields(d.case(p.case_id))


def _staff_fields(d: Directory, staff_id: str, case_id: str) -> dict[str, str]:
    s = d.staff.get(staff_id)
    return {**_case_fields(d.case(case_id)), "staff_name": s.name_zh if s else staff_id}


def _assigned(p: re.CaseAssigned, env: Envelope, d: Directory, sms: bool, to: str) -> dict:
    if p.as_role == "B":
        why = UNAVAILABLE_ZH.get(p.a_unavailable_reason or "", "不在岗")
        note = f"（B岗：A岗{why}）"
    elif p.as_role == "A":
        note = "（A岗）"
    else:
        note = ""
    return {**_staff_fields(d, to, p.case_id), "role_note": note}


def _reassigned(p: re.CaseReassigned, env: Envelope, d: Directory, sms: bool, to: str) -> dict:
    return {
        **_staff_fields(d, to, p.case_id),
        "role_note": f"（改派，原因：{p.reason}）",
    }


def _name(d: Directory, staff_id: str) -> str:
    s = d.staff.get(staff_id)
    return s.name_zh if s else staff_id


def _post_holders(p: re.DeadlineWarningIssued | re.CaseOverdue) -> tuple[str, ...]:
    """AB岗: the assignee, then the post's A and B holders (both answer for its cases)."""
    return _once(p.assigned_to, p.a_holder, p.b_holder)


def _whose(p: re.DeadlineWarningIssued | re.CaseOverdue, d: Directory, to: str) -> str:
    if to == p.assigned_to:
        return "您经办的"
    return f"您所在岗位由{_name(d, p.assigned_to)}经办的"


HELP_ZH = "请作为AB岗协助督促办理"
"""What a post holder who does not hold the case is asked to do."""


def _warning(p: re.DeadlineWarningIssued, env: Envelope, d: Directory, sms: bool, to: str) -> dict:
    return {
        **_staff_fields(d, to, p.case_id),
        "whose": _whose(p, d, to),
        "due_at": fmt_time(p.due_at),
        "working_days_left": str(p.working_days_left),
        "action": "请抓紧办理" if to == p.assigned_to else HELP_ZH,
    }


def _overdue(p: re.CaseOverdue, env: Envelope, d: Directory, sms: bool, to: str) -> dict:
    return {
        **_staff_fields(d, to, p.case_id),
        "whose": _whose(p, d, to),
        "due_at": fmt_time(p.due_at),
        "action": "请立即办理" if to == p.assigned_to else HELP_ZH,
    }


def _escalation_heads(p: re.CaseEscalated) -> tuple[str, ...]:
    """Level 1: the handling center's head. Level 2: the head one tier up, and the center's
    head again (the case went over their head; they still answer for it)."""
    return _once(p.escalated_to, p.center_head if p.level >= 2 else None)


def _escalated(p: re.CaseEscalated, env: Envelope, d: Directory, sms: bool, to: str) -> dict:
    level_zh = LEVEL_ZH.get(p.level, f"{p.level}级督办")
    if to == p.escalated_to:
        request = f"现提请您督办（{level_zh}）"
    else:
        upper = f"{d.unit_name(p.to_unit_id)}{_name(d, p.escalated_to)}"
        request = f"仍未办结，现已提请{upper}督办（{level_zh}），请您继续督促办理"
    return {
        **_staff_fields(d, to, p.case_id),
        "due_at": fmt_time(p.due_at),
        "assignee_name": _name(d, p.assigned_to),
        "level_zh": level_zh,
        "request": request,
    }


def _bad_review(
    p: re.BadReviewFollowUpOpened, env: Envelope, d: Directory, sms: bool, to: str
) -> dict:
    parts = []
    if p.low_dimensions:
        parts.append("低分项：" + "、".join(DIMENSION_ZH.get(x, x) for x in p.low_dimensions))
    if p.comment:
        parts.append(f"评价内容：“{p.comment}”")
    return {
        **_staff_fields(d, to, p.case_id),
        "score": str(p.score),
        "center_name": d.unit_name(p.center_id),
        "detail": ("，" + "；".join(parts)) if parts else "",
        "answer_due_at": fmt_time(p.answer_due_at),
    }


def _followup_overdue(
    p: re.FollowUpOverdue, env: Envelope, d: Directory, sms: bool, to: str
) -> dict:
    return {
        **_staff_fields(d, to, p.case_id),
        "answer_due_at": fmt_time(p.answer_due_at),
    }


def _case(p: Any) -> tuple[str, ...]:
    return (str(p.case_id),)


def _assignee(p: Any) -> tuple[str, ...]:
    return (str(p.assigned_to),)


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
    ie.PromisedDateRevised.event_type: Rule(
        "resident_promised_date_revised",
        "resident",
        _case,
        _promise_revised,
        applies=lambda p: p.promised_completion_date != p.previous_date,
        units=lambda p: (p.accepting_center_id,),
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
    je.JointMaterialsMissingNotified.event_type: Rule(
        "resident_missing_materials",
        "resident",
        lambda p: (p.joint_case_id,),
        _joint_missing,
        units=lambda p: (p.accepting_center_id,),
        case_key=lambda p: p.joint_case_id,
    ),
    je.JointApplicationAccepted.event_type: Rule(
        "resident_joint_receipt",
        "resident",
        lambda p: (p.joint_case_id,),
        _joint_receipt,
        units=lambda p: (p.accepting_center_id,),
        case_key=lambda p: p.joint_case_id,
    ),
    je.JointResultReady.event_type: Rule(
        "resident_joint_result_ready",
        "resident",
        lambda p: (p.joint_case_id,),
        _joint_result,
        units=lambda p: (p.accepting_center_id,),
        case_key=lambda p: p.joint_case_id,
    ),
    ie.ResultDelivered.event_type: Rule(
        "resident_evaluation_invitation", "resident", _case, _evaluation
    ),
    re.CaseAssigned.event_type: Rule("staff_new_assignment", "staff", _assignee, _assigned),
    re.CaseReassigned.event_type: Rule(
        "staff_new_assignment", "staff", lambda p: (p.to_officer,), _reassigned
    ),
    re.DeadlineWarningIssued.event_type: Rule(
        "staff_deadline_warning",
        "staff",
        _post_holders,
        _warning,
        other_staff=_assignee,
    ),
    re.CaseOverdue.event_type: Rule(
        "staff_overdue", "staff", _post_holders, _overdue, other_staff=_assignee
    ),
    re.CaseEscalated.event_type: Rule(
        "staff_escalation",
        "staff",
        _escalation_heads,
        _escalated,
        other_staff=lambda p: (p.assigned_to, p.escalated_to),
        units=lambda p: (p.to_unit_id,),
    ),
    re.BadReviewFollowUpOpened.event_type: Rule(
        "staff_bad_review", "staff", _assignee, _bad_review, units=lambda p: (p.center_id,)
    ),
    re.FollowUpOverdue.event_type: Rule(
        "staff_followup_overdue", "staff", _assignee, _followup_overdue
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
    staff = (*rule.recipients(p), *rule.other_staff(p)) if rule.kind == "staff" else ()
    return Needs(
        case_ids=(rule.case_key(p),),
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
    # (key, recipient id, phone, e-mail) of everyone to tell, or what to wait for first
    recipients: list[tuple[str, str, str | None, str | None]] = []
    for key in _once(*rule.recipients(p)):
        if rule.kind == "resident":
            info = directory.case(key)
            if not info.applicant_known:
                return Plan(waiting_for=f"case:{key}")
            recipients.append((key, applicant_id(key), info.phone, info.email))
        else:
            staff = directory.staff.get(key)
            if staff is None:
                return Plan(waiting_for=f"staff:{key}")
            recipients.append((key, key, staff.phone, staff.email))
    intents = []
    for key, recipient_id, phone, email in recipients:
        for channel, address in _channels(rule.kind, phone, email, setup):
            sms = channel == "sms"
            context = rule.context(p, envelope, directory, sms, key)
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
                    data={**context, "case_id": rule.case_key(p)},
                    due_at=due,
                    deferred=due > now,
                )
            )
    return Plan(intents=tuple(intents))
