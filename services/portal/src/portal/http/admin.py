"""系统管理 pages (role `admin`): reference data through the services' own admin APIs.

Each page is one admin command: a new catalog version with its effective date (intake
`POST /v1/catalog/items`), org units, staff, A/B posts, duty rosters, absences, delegations
(上提/下授) and the year's holiday schedule (routing `POST /v1/org/...`). A page is declared
once as a `Command` (its fields and how the typed values become the service's body); one
template and one handler serve them all: errors beside the field in Chinese, what was typed
kept, an idempotency key on every form. The services decide; the checks here only spare
the admin a round trip for what cannot be sent at all (a date that is not a date).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from contracts.workdays import SHANGHAI

from ..forms import FormState, form_state, read_form, refused
from ..services_api import Api, ServiceError
from ..session import Person
from ..web import Audience, person_api, render, require

router = APIRouter(prefix="/admin")
AUDIENCE = Audience("admin", "系统管理", router, roles={"admin"}, home="/admin")
Admin = Depends(require("admin"))

TIER_ZH = {
    "community": "社区（村）便民服务中心",
    "town": "乡镇（街道）便民服务中心",
    "city": "市行政服务中心",
}
KIND_ZH = ["社区", "村", "街道", "镇", "市中心"]
ROLE_ZH = {
    "community_agent": "窗口代办员",
    "officer": "审批人员",
    "center_head": "中心主任",
    "inspector": "纪检监察",
    "admin": "系统管理员",
}
ABSENCE_ZH = {
    "leave": "请假",
    "sick_leave": "病假",
    "training": "培训",
    "business_trip": "出差",
    "other": "其他",
}
DIRECTION_ZH = {"up": "上提（由上级中心办理）", "down": "下授（由下级中心办理）"}
WEEKDAY_ZH = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


# -- what the pages know: the org tree, the catalog, the calendar --------------------------------
@dataclass
class Reference:
    tree: dict[str, Any]
    units: list[dict[str, Any]]  # flattened, parents first
    catalog: list[dict[str, Any]]
    holidays: dict[str, Any]

    def staff(self) -> list[tuple[str, str]]:
        return [
            (s["staff_id"], f"{s['name_zh']}（{u['name_zh']}，{s['staff_id']}）")
            for u in self.units
            for s in u.get("staff", [])
        ]

    def unit_options(self) -> list[tuple[str, str]]:
        return [(u["unit_id"], f"{u['name_zh']}（{u['unit_id']}）") for u in self.units]

    def item_options(self) -> list[tuple[str, str]]:
        return [(i["code"], f"{i['code']} {i['name_zh']}") for i in self.catalog]

    def office_options(self) -> list[tuple[str, str]]:
        return [
            (o["office_id"], f"{o['name_zh']}（{u['name_zh']}）")
            for u in self.units
            for o in u.get("offices", [])
        ]

    def unit(self, unit_id: str) -> dict[str, Any] | None:
        return next((u for u in self.units if u["unit_id"] == unit_id), None)


async def reference(api: Api) -> Reference:
    # three independent reads: the page waits for the slowest, not their sum
    tree, catalog_doc, holidays = await asyncio.gather(
        api.get("routing", "/v1/org/tree"),
        api.get("intake", "/v1/catalog"),
        api.get("routing", "/v1/org/holiday-schedules"),
    )
    units: list[dict[str, Any]] = []

    def walk(u: dict[str, Any], depth: int) -> None:
        units.append({**u, "depth": depth})
        for ch in u.get("children", []):
            walk(ch, depth + 1)

    for u in tree.get("units", []):
        walk(u, 0)
    return Reference(tree, units, catalog_doc["items"], holidays)


# -- typed values -> the service's body -----------------------------------------------------------
def _text(form: FormState, name: str) -> str:
    v = form.values.get(name, "")
    return (v[-1] if isinstance(v, list) else str(v or "")).strip()


def _required(form: FormState, name: str, label: str) -> str:
    v = _text(form, name)
    if not v:
        form.error(name, f"请填写{label}")
    return v


def _optional(form: FormState, name: str) -> str | None:
    return _text(form, name) or None


def _date(form: FormState, name: str, label: str, required: bool = True) -> str | None:
    v = _text(form, name)
    if not v:
        if required:
            form.error(name, f"请填写{label}")
        return None
    try:
        return date.fromisoformat(v).isoformat()
    except ValueError:
        form.error(name, f"{label}“{v}”格式有误，应为 年-月-日，例如 2027-01-01")
        return None


def _instant(form: FormState, name: str, label: str) -> datetime | None:
    """A local date and time (datetime-local), in Rui'an's time zone."""
    v = _text(form, name)
    if not v:
        form.error(name, f"请填写{label}")
        return None
    try:
        d = datetime.fromisoformat(v)
    except ValueError:
        form.error(name, f"{label}“{v}”格式有误，应为 年-月-日 时:分")
        return None
    return d if d.tzinfo else d.replace(tzinfo=SHANGHAI)


def _int(form: FormState, name: str, label: str, required: bool = True) -> int | None:
    v = _text(form, name)
    if not v:
        if required:
            form.error(name, f"请填写{label}")
        return None
    try:
        return int(v)
    except ValueError:
        form.error(name, f"{label}应为整数")
        return None


def _list(form: FormState, name: str) -> list[str]:
    return [x for x in re.split(r"[\s,，、;；]+", _text(form, name)) if x]


def _dates(form: FormState, name: str, label: str) -> list[str]:
    """Dates separated by spaces, commas or new lines; a range as 2027-10-01~2027-10-07."""
    out: list[str] = []
    for i, token in enumerate(_list(form, name), start=1):
        try:
            if "~" in token or ".." in token:
                a, b = re.split(r"~|\.\.", token, maxsplit=1)
                start, end = date.fromisoformat(a), date.fromisoformat(b)
                if end < start:
                    form.error(name, f"{label}第{i}项“{token}”的结束日期早于开始日期")
                    continue
                out.extend(
                    date.fromordinal(o).isoformat()
                    for o in range(start.toordinal(), end.toordinal() + 1)
                )
            else:
                out.append(date.fromisoformat(token).isoformat())
        except ValueError:
            form.error(name, f"{label}第{i}项“{token}”不是日期，应为 年-月-日（区间写作 起~止）")
    return out


def _checked(form: FormState, name: str) -> list[str]:
    v = form.values.get(name)
    return v if isinstance(v, list) else [v] if v else []


# -- the pages -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    name: str
    label: str
    type: str = "text"  # text, date, datetime-local, number, time, select, textarea, checks
    required: bool = False
    hint: str | None = None
    options: Callable[[Reference], list[tuple[str, str]]] | None = None


@dataclass(frozen=True)
class Command:
    slug: str
    title: str
    intro: str
    service: str
    path: str
    inputs: tuple[Input, ...]
    body: Callable[[FormState, Reference], Any]
    defaults: Callable[[Reference], dict[str, Any]] = field(default=lambda ref: {})
    shown: str | None = None  # a template of what stands now, beside the form


def _holiday_body(f: FormState, ref: Reference) -> dict[str, Any]:
    return {
        "year": _int(f, "year", "年份"),
        "notice_no": _required(f, "notice_no", "通知文号"),
        "holidays": _dates(f, "holidays", "放假日期"),
        "makeup_workdays": _dates(f, "makeup_workdays", "调休上班日期"),
        "supersedes": _optional(f, "supersedes"),
        "reason": _optional(f, "reason"),
    }


def _absence_body(f: FormState, ref: Reference) -> dict[str, Any]:
    starts = _instant(f, "starts_at", "开始时间")
    ends = _instant(f, "ends_at", "结束时间")
    if starts and ends and ends <= starts:
        f.error("ends_at", "结束时间应晚于开始时间")
    return {
        "absence_id": _required(f, "absence_id", "登记编号"),
        "staff_id": _required(f, "staff_id", "工作人员"),
        "starts_at": starts.isoformat() if starts else None,
        "ends_at": ends.isoformat() if ends else None,
        "kind": _required(f, "kind", "类别"),
        "reason": _optional(f, "reason"),
    }


def _delegation_body(f: FormState, ref: Reference) -> dict[str, Any]:
    start = _date(f, "effective_from", "生效日期")
    end = _date(f, "effective_to", "失效日期", required=False)
    if start and end and end < start:
        f.error("effective_to", "失效日期不能早于生效日期")
    return {
        "rule_id": _required(f, "rule_id", "规则编号"),
        "item_code": _required(f, "item_code", "事项"),
        "area_unit_id": _required(f, "area_unit_id", "适用区域"),
        "handling_tier": _required(f, "handling_tier", "办理层级"),
        "direction": _required(f, "direction", "方向"),
        "effective_from": start,
        "effective_to": end,
        "basis_zh": _required(f, "basis_zh", "依据"),
    }


def _staff_body(f: FormState, ref: Reference) -> dict[str, Any]:
    roles = _checked(f, "roles")
    if not roles:
        f.error("roles", "请至少选择一个角色")
    return {
        "staff_id": _required(f, "staff_id", "人员编号"),
        "name_zh": _required(f, "name_zh", "姓名"),
        "roles": roles,
        "unit_id": _required(f, "unit_id", "所在中心"),
        "office_id": _optional(f, "office_id"),
        "phone": _optional(f, "phone"),
        "email": _optional(f, "email"),
    }


def _post_body(f: FormState, ref: Reference) -> dict[str, Any]:
    cats = _list(f, "categories")
    if not cats:
        f.error("categories", "请填写岗位承办的事项类别")
    return {
        "post_id": _required(f, "post_id", "岗位编号"),
        "unit_id": _required(f, "unit_id", "所在中心"),
        "office_id": _required(f, "office_id", "科室"),
        "name_zh": _required(f, "name_zh", "岗位名称"),
        "categories": cats,
        "service_line_ids": _list(f, "service_line_ids"),
        "a_holder": _required(f, "a_holder", "A岗"),
        "b_holder": _required(f, "b_holder", "B岗"),
    }


def _roster_body(f: FormState, ref: Reference) -> dict[str, Any]:
    """One duty added to the unit's roster (the service replaces the whole roster: the
    entries it has now are sent along unchanged)."""
    unit_id = _required(f, "unit_id", "中心")
    unit = ref.unit(unit_id) if unit_id else None
    if unit_id and unit is None:
        f.error("unit_id", f"没有编号为 {unit_id} 的中心")
    weekdays = [int(x) for x in _checked(f, "weekdays") if x.isdigit()]
    working = _text(f, "working_days") == "on"
    if not working and not weekdays:
        f.error("weekdays", "请勾选“每个法定工作日”或至少一个星期几")
    starts, ends = _required(f, "starts", "上岗时间"), _required(f, "ends", "下岗时间")
    if starts and ends and ends <= starts:
        f.error("ends", "下岗时间应晚于上岗时间")
    entry = {
        "staff_id": _required(f, "staff_id", "工作人员"),
        "starts": starts,
        "ends": ends,
        "working_days": working,
        "weekdays": weekdays,
        "valid_from": _date(f, "valid_from", "起始日期", required=False),
        "valid_to": _date(f, "valid_to", "截止日期", required=False),
    }
    return {"unit_id": unit_id, "entries": [*(unit or {}).get("roster", []), entry]}


def _hours(spec: str) -> list[dict[str, str]]:
    out = []
    for part in _split_intervals(spec):
        a, b = part.split("-")
        out.append({"opens": a, "closes": b})
    return out


def _split_intervals(spec: str) -> list[str]:
    return [p for p in re.split(r"[\s,，、]+", spec) if p]


def _unit_body(f: FormState, ref: Reference) -> dict[str, Any]:
    weekday = _required(f, "weekday_hours", "工作日办公时间")
    saturday = _text(f, "saturday_hours")
    interval = re.compile(r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    for name, spec in (("weekday_hours", weekday), ("saturday_hours", saturday)):
        if spec and not all(interval.match(p) for p in _split_intervals(spec)):
            f.error(name, "格式应为 08:30-12:00,14:00-17:30")
    weekly: dict[str, Any] = {}
    if weekday and "weekday_hours" not in f.errors:
        for d in range(5):
            weekly[str(d)] = _hours(weekday)
    if saturday and "saturday_hours" not in f.errors:
        weekly["5"] = _hours(saturday)
    return {
        "unit_id": _required(f, "unit_id", "中心编号"),
        "name_zh": _required(f, "name_zh", "名称"),
        "tier": _required(f, "tier", "层级"),
        "kind": _required(f, "kind", "类型"),
        "parent_id": _optional(f, "parent_id"),
        "is_island": _text(f, "is_island") == "on",
        "address_zh": _optional(f, "address_zh"),
        "office_hours": {"weekly": weekly},
    }


def _catalog_body(f: FormState, ref: Reference) -> dict[str, Any]:
    """A new version of an item: the typed changes on the version now in force (materials,
    fee, deposit and the rest carried over as they are)."""
    code = _required(f, "code", "事项")
    current = next((i for i in ref.catalog if i["code"] == code), None)
    if code and current is None:
        f.error("code", f"目录中没有事项 {code}")
    body = {
        k: v
        for k, v in (current or {}).items()
        if k not in ("version", "category_name_zh", "fee_free", "deposit_fen")
    }
    body.update(
        {
            "code": code,
            "name_zh": _required(f, "name_zh", "事项名称"),
            "statutory_limit_days": _int(f, "statutory_limit_days", "法定时限"),
            "promised_limit_days": _int(f, "promised_limit_days", "承诺时限"),
            "effective_from": _date(f, "effective_from", "生效日期"),
        }
    )
    return body


def _tiers(ref: Reference) -> list[tuple[str, str]]:
    return list(TIER_ZH.items())


def _directions(ref: Reference) -> list[tuple[str, str]]:
    return list(DIRECTION_ZH.items())


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


COMMANDS: dict[str, Command] = {
    c.slug: c
    for c in (
        Command(
            "holidays",
            "节假日安排",
            "发布某年的国务院办公厅节假日安排通知：放假日期与调休上班日期。承诺时限按此计算工作日；"
            "已有安排的年份须写明所取代的通知和理由。",
            "routing",
            "/v1/org/holiday-schedules",
            (
                Input("year", "年份", "number", True),
                Input("notice_no", "通知文号", required=True, hint="例如 国办发明电〔2026〕7号"),
                Input(
                    "holidays",
                    "放假日期",
                    "textarea",
                    True,
                    "每行或以逗号分隔一个日期；连续假期写作 2027-10-01~2027-10-07",
                ),
                Input("makeup_workdays", "调休上班日期", "textarea", hint="须为周六或周日"),
                Input("supersedes", "取代的安排", hint="仅修改已有安排的年份时填写（原通知文号）"),
                Input("reason", "修改理由"),
            ),
            _holiday_body,
            shown="admin/_holidays.html",
        ),
        Command(
            "absences",
            "人员请假与外出",
            "登记工作人员请假、培训、出差：期间A岗的新办件由B岗承接（AB岗工作制）。",
            "routing",
            "/v1/org/absences",
            (
                Input("absence_id", "登记编号", required=True),
                Input("staff_id", "工作人员", "select", True, options=Reference.staff),
                Input("kind", "类别", "select", True, options=lambda r: list(ABSENCE_ZH.items())),
                Input("starts_at", "开始时间", "datetime-local", True),
                Input("ends_at", "结束时间", "datetime-local", True),
                Input("reason", "事由"),
            ),
            _absence_body,
            defaults=lambda r: {"absence_id": _new_id("abs")},
            shown="admin/_absences.html",
        ),
        Command(
            "delegations",
            "审批权限上提、下授",
            "某区域内某事项改由其他层级的中心办理，自生效日期起执行。",
            "routing",
            "/v1/org/delegations",
            (
                Input("rule_id", "规则编号", required=True),
                Input("item_code", "事项", "select", True, options=Reference.item_options),
                Input("area_unit_id", "适用区域", "select", True, options=Reference.unit_options),
                Input(
                    "handling_tier",
                    "办理层级",
                    "select",
                    True,
                    options=lambda r: list(TIER_ZH.items()),
                ),
                Input(
                    "direction",
                    "方向",
                    "select",
                    True,
                    options=lambda r: list(DIRECTION_ZH.items()),
                ),
                Input("effective_from", "生效日期", "date", True),
                Input("effective_to", "失效日期", "date", hint="不填则长期有效"),
                Input("basis_zh", "依据", required=True, hint="文件名称及文号"),
            ),
            _delegation_body,
            defaults=lambda r: {"rule_id": _new_id("dlg")},
            shown="admin/_delegations.html",
        ),
        Command(
            "staff",
            "工作人员",
            "登记工作人员及其角色；手机、邮箱用于通知其办件、预警和督办。",
            "routing",
            "/v1/org/staff",
            (
                Input("staff_id", "人员编号", required=True, hint="小写字母、数字、点、横线"),
                Input("name_zh", "姓名", required=True),
                Input("roles", "角色", "checks", True, options=lambda r: list(ROLE_ZH.items())),
                Input("unit_id", "所在中心", "select", True, options=Reference.unit_options),
                Input("office_id", "科室", "select", options=Reference.office_options),
                Input("phone", "工作手机"),
                Input("email", "工作邮箱"),
            ),
            _staff_body,
            shown="admin/_staff.html",
        ),
        Command(
            "posts",
            "AB岗",
            "设立岗位或更换其A岗、B岗人员（同一岗位编号即为更换）。",
            "routing",
            "/v1/org/posts",
            (
                Input("post_id", "岗位编号", required=True),
                Input("unit_id", "所在中心", "select", True, options=Reference.unit_options),
                Input("office_id", "科室", "select", True, options=Reference.office_options),
                Input("name_zh", "岗位名称", required=True),
                Input("categories", "事项类别", required=True, hint="以逗号分隔；* 表示综合窗口"),
                Input("service_line_ids", "服务条线", hint="以逗号分隔，可不填"),
                Input("a_holder", "A岗", "select", True, options=Reference.staff),
                Input("b_holder", "B岗", "select", True, options=Reference.staff),
            ),
            _post_body,
        ),
        Command(
            "roster",
            "值班安排",
            "为中心的值班表增加一条安排（如周六上午延时服务）；原有安排保留。",
            "routing",
            "/v1/org/roster",
            (
                Input("unit_id", "中心", "select", True, options=Reference.unit_options),
                Input("staff_id", "工作人员", "select", True, options=Reference.staff),
                Input("starts", "上岗时间", "time", True),
                Input("ends", "下岗时间", "time", True),
                Input("working_days", "每个法定工作日", "checks", options=lambda r: [("on", "是")]),
                Input(
                    "weekdays",
                    "星期几",
                    "checks",
                    hint="法定节假日除外",
                    options=lambda r: [(str(i), d) for i, d in enumerate(WEEKDAY_ZH)],
                ),
                Input("valid_from", "起始日期", "date"),
                Input("valid_to", "截止日期", "date"),
            ),
            _roster_body,
            shown="admin/_roster.html",
        ),
        Command(
            "units",
            "便民服务中心",
            "登记三级便民服务中心之一及其上级与办公时间。",
            "routing",
            "/v1/org/units",
            (
                Input("unit_id", "中心编号", required=True, hint="例如 ruian.mayu.newvillage"),
                Input("name_zh", "名称", required=True),
                Input("tier", "层级", "select", True, options=lambda r: list(TIER_ZH.items())),
                Input("kind", "类型", "select", True, options=lambda r: [(k, k) for k in KIND_ZH]),
                Input("parent_id", "上级中心", "select", options=Reference.unit_options),
                Input("is_island", "海岛", "checks", options=lambda r: [("on", "是")]),
                Input(
                    "address_zh",
                    "地址",
                    hint="群众办事去的地址，如 瑞安市马屿镇马北村村委会大楼一楼",
                ),
                Input(
                    "weekday_hours", "工作日办公时间", required=True, hint="08:30-12:00,14:00-17:30"
                ),
                Input("saturday_hours", "周六办公时间", hint="延时服务，如 08:30-11:30"),
            ),
            _unit_body,
            defaults=lambda r: {"weekday_hours": "08:30-12:00,14:00-17:30"},
            shown="admin/_units.html",
        ),
        Command(
            "catalog",
            "事项目录新版本",
            "发布事项的新版本，自生效日期起适用；材料、收费、保证金等沿用现行版本。",
            "intake",
            "/v1/catalog/items",
            (
                Input("code", "事项", "select", True, options=Reference.item_options),
                Input("name_zh", "事项名称", required=True),
                Input("statutory_limit_days", "法定时限（工作日）", "number", True),
                Input("promised_limit_days", "承诺时限（工作日）", "number", True),
                Input("effective_from", "生效日期", "date", True),
            ),
            _catalog_body,
            shown="admin/_catalog.html",
        ),
    )
}


@router.get("")
async def home(request: Request, person: Person = Admin) -> Response:
    ref = await reference(person_api(request, person))
    return render(
        request, "admin/home.html", audience=AUDIENCE, commands=COMMANDS, ref=ref, tier_zh=TIER_ZH
    )


def _command(slug: str) -> Command:
    c = COMMANDS.get(slug)
    if c is None:
        raise HTTPException(404, detail="没有这个管理页面")
    return c


def _page(
    request: Request, c: Command, ref: Reference, form: FormState, status: int = 200, done: str = ""
) -> Response:
    options = {i.name: i.options(ref) for i in c.inputs if i.options}
    return render(
        request,
        "admin/command.html",
        status_code=status,
        audience=AUDIENCE,
        c=c,
        ref=ref,
        form=form,
        options=options,
        done=done,
        absence_zh=ABSENCE_ZH,
        direction_zh=DIRECTION_ZH,
        tier_zh=TIER_ZH,
        role_zh=ROLE_ZH,
        weekday_zh=WEEKDAY_ZH,
    )


@router.get("/{slug}")
async def command_page(request: Request, slug: str, person: Person = Admin) -> Response:
    c = _command(slug)
    ref = await reference(person_api(request, person))
    return _page(
        request, c, ref, form_state(**c.defaults(ref)), done=request.query_params.get("done", "")
    )


@router.post("/{slug}")
async def command_submit(request: Request, slug: str, person: Person = Admin) -> Response:
    c = _command(slug)
    api = person_api(request, person)
    form = await read_form(request)
    ref = await reference(api)
    body = c.body(form, ref)
    if not form.ok:
        return _page(request, c, ref, form, status=422)
    try:
        result = await api.post(c.service, c.path, body, idempotency_key=form.idempotency_key)
    except ServiceError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        # routing names a body field as sent; intake's catalog names it inside the item
        fields = {i.name: i.name for i in c.inputs} | {f"item.{i.name}": i.name for i in c.inputs}
        again = refused(form, exc, fields | {"entries": "staff_id"})
        return _page(request, c, ref, again, status=exc.status if exc.status < 500 else 400)
    if "org_version" in result:
        done = f"已生效（机构版本 {result['org_version']}）"
    else:
        done = (
            f"已发布（{result.get('code')} 第 {result.get('version')} 版，"
            f"{result.get('effective_from')} 起适用）"
        )
    return RedirectResponse(f"/admin/{slug}?done={quote(done)}", status_code=303)
