"""What the staff pages (window clerk, officer, center head) share: the centers' words for
statuses and trail events, the working-day countdown, and reading a materials checklist.

The rules stay in `libs/contracts`: the one-time notice is `contracts.materials`, the
working-day count `contracts.workdays`; this module only words them for the screen.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from contracts.intake import ProvidedMaterial, RequiredMaterial
from contracts.materials import missing_materials
from contracts.workdays import local_date, working_days_between

CASE_ID = r"^case-[0-9a-f]{32}$"

APPLICATION_STATUS_ZH = {
    "submitted": "已提交",
    "awaiting_materials": "待补齐材料",
    "accepted": "已受理，办理中",
    "correction_requested": "待补正",
    "decided": "已办结",
    "delivered": "结果已送达",
    "archived": "已归档",
    "withdrawn": "已撤回",
}
QUEUE_STATUS_ZH = {
    "open": "办理中",
    "correction_pending": "待补正",
    "decided": "已决定，待送回",
    "result_returned": "结果已送回",
    "withdrawn": "已撤回",
}
JOINT_HOLD_ZH = {
    "waiting_for_predecessor": "联办：待前序事项准予后办理",
    "stopped_by_refusal": "联办：因关联事项不予许可而终止",
}
"""A 联办 member whose clock does not run (routing's `joint_hold`): it cannot be decided."""
MISSING_ZH = {
    "not_provided": "未提供",
    "original_required": "须提供原件",
    "too_few_copies": "份数不足",
}
FORM_ZH = {"original": "原件", "copy": "复印件"}
TIER_ZH = {"community": "村（社区）", "town": "乡镇（街道）", "city": "市"}
CASE_TYPE_ZH = {"same_day": "即办件", "promised": "承诺件"}
DECISION_ZH = {"approve": "准予", "refuse": "不予"}
DELIVERY_ZH = {"picked_up": "窗口领取", "mailed": "邮寄送达", "electronic": "电子送达"}
SCORE_ZH = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}

EVENT_ZH = {
    "intake.application_submitted": "窗口收件",
    "intake.fee_override_recorded": "收费与标准不符（记录）",
    "intake.materials_missing_notified": "一次性告知缺件",
    "intake.materials_supplemented": "补齐材料",
    "intake.application_accepted": "受理（首问责任人）",
    "intake.promised_date_revised": "承诺日期重算",
    "intake.application_withdrawn": "撤回",
    "intake.decision_received": "收到审批结果",
    "intake.correction_request_received": "收到补正通知",
    "intake.correction_supplied": "补正材料已交",
    "intake.result_delivered": "结果送达群众",
    "intake.case_archived": "登记归档",
    "intake.service_evaluated": "群众评价",
    "routing.case_routed": "确定承办机构",
    "routing.case_handed_off": "层级移交",
    "routing.case_assigned": "分派审批人员",
    "routing.case_reassigned": "改派",
    "routing.deadline_set": "计算承诺时限",
    "routing.deadline_recomputed": "时限重算",
    "routing.correction_requested": "要求补正",
    "routing.correction_received": "补正已收到",
    "routing.correction_closed": "补正结束",
    "routing.case_decided": "审批决定",
    "routing.case_withdrawn": "撤回",
    "routing.result_returned": "结果送回",
    "routing.deadline_warning_issued": "临期预警",
    "routing.case_overdue": "超期",
    "routing.case_escalated": "督办升级",
    "routing.bad_review_followup_opened": "差评督办",
    "routing.bad_review_followup_answered": "差评回复",
}


def event_zh(event_type: str) -> str:
    return EVENT_ZH.get(event_type, event_type)


def trail_detail(entry: dict[str, Any], names: dict[str, str]) -> str:
    """One line saying what a routing event did, with units and staff by name."""
    p: dict[str, Any] = entry.get("payload") or {}

    def n(key: str) -> str:
        v = p.get(key)
        return names.get(v, v) if isinstance(v, str) else "—"

    t = entry.get("event_type", "")
    if t == "routing.case_handed_off":
        way = "上报" if p.get("direction") == "up" else "下转"
        src = TIER_ZH.get(p.get("from_tier", ""), "")
        dst = TIER_ZH.get(p.get("to_tier", ""), "")
        return (
            f"{n('from_unit_id')}（{src}）{way}至{n('to_unit_id')}（{dst}），"
            f"代办员 {n('carried_by')}"
        )
    if t == "routing.case_reassigned":
        return f"{n('from_officer')} 改派给 {n('to_officer')}；原因：{p.get('reason') or '—'}"
    if t == "routing.case_assigned":
        role = p.get("as_role")
        post = f"（{role}岗）" if role in ("A", "B") else ""
        why = f"；原因：{p['reason']}" if p.get("reason") else ""
        return f"分派给 {n('assigned_to')}{post}{why}"
    if t == "routing.deadline_set":
        return f"承诺办结日期 {p.get('due_date', '—')}"
    if t == "routing.case_decided":
        why = f"；理由：{p['reason']}" if p.get("reason") else ""
        return f"{DECISION_ZH.get(p.get('decision', ''), '')}（{n('decided_by')}）{why}"
    if t == "routing.result_returned":
        last = "，已到受理中心" if p.get("final") else ""
        return f"{n('from_unit_id')} → {n('to_unit_id')}{last}"
    if t == "routing.correction_requested":
        codes = "、".join(p.get("requested_materials") or [])
        note = f"；{p['note']}" if p.get("note") else ""
        return f"补正材料：{codes}{note}"
    if t == "routing.case_routed":
        return f"承办：{n('handling_unit_id')}"
    return ""


def working_days_left(due: date | str | None, now: datetime) -> int | None:
    """Working days from today (Rui'an) to the due date: 0 on the day, negative when late."""
    if due is None:
        return None
    due_day = date.fromisoformat(due) if isinstance(due, str) else due
    today = local_date(now)
    if due_day >= today:
        return working_days_between(today, due_day)
    return -working_days_between(due_day, today)


def required_of(item: dict[str, Any]) -> list[RequiredMaterial]:
    """The catalog item's material list (as intake publishes it) as contract values."""
    return [RequiredMaterial.model_validate(m) for m in item.get("materials", [])]


def checked_materials(
    values: dict[str, Any], required: list[RequiredMaterial]
) -> tuple[list[ProvidedMaterial], dict[str, str]]:
    """The materials ticked on the checklist (`m.<CODE>`, with `form.<CODE>` and
    `copies.<CODE>`), and an error per material whose copies are not a number 1-20."""
    provided: list[ProvidedMaterial] = []
    errors: dict[str, str] = {}
    for m in required:
        if not values.get(f"m.{m.code}"):
            continue
        form = values.get(f"form.{m.code}") or m.form
        if form not in ("original", "copy"):
            form = m.form
        raw = str(values.get(f"copies.{m.code}") or m.copies).strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 20:
            errors[f"copies.{m.code}"] = "份数应为1至20的整数"
            continue
        provided.append(ProvidedMaterial(code=m.code, form=form, copies=int(raw)))
    return provided, errors


def notice(
    required: list[RequiredMaterial], provided: list[ProvidedMaterial]
) -> list[dict[str, Any]]:
    """The one-time notice intake will send for this checklist (the same function)."""
    return [g.model_dump(mode="json") for g in missing_materials(required, provided)]


def staff_names(tree: dict[str, Any]) -> dict[str, str]:
    """Staff, unit and office ids to names, from routing's org tree."""
    out: dict[str, str] = {}

    def walk(u: dict[str, Any]) -> None:
        out[u["unit_id"]] = u.get("name_zh") or u["unit_id"]
        for o in u.get("offices", []):
            out[o["office_id"]] = o.get("name_zh") or o["office_id"]
        for s in u.get("staff", []):
            out[s["staff_id"]] = s.get("name_zh") or s["staff_id"]
        for ch in u.get("children", []) or []:
            walk(ch)

    for unit in tree.get("units", []):
        walk(unit)
    return out


def units_of(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """Every unit of the tree, flat, parents first."""
    out: list[dict[str, Any]] = []

    def walk(u: dict[str, Any]) -> None:
        out.append(u)
        for ch in u.get("children", []) or []:
            walk(ch)

    for unit in tree.get("units", []):
        walk(unit)
    return out


def post_roles(tree: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    """post_id -> (A holder, B holder)."""
    return {
        p["post_id"]: (p.get("a_holder"), p.get("b_holder"))
        for u in units_of(tree)
        for p in u.get("posts", [])
    }


def ab_role(post: tuple[str | None, str | None] | None, assigned_to: str | None) -> str | None:
    if post is None or assigned_to is None:
        return None
    if assigned_to == post[0]:
        return "A岗"
    if assigned_to == post[1]:
        return "B岗"
    return None
