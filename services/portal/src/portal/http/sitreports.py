"""情况报告 pages (roles `center_head` and `inspector`): a center's situation reports and the
ones that came up to it, one report's figures, its document (HTML, PDF) and the head's
comment; the center's own head sends a pending report up from here.

Everything comes from the audit's situation-report API with the person's own token, which
decides who reads what (a head: their center's reports and those below it; an inspector:
every report, each read recorded); the portal shows its refusal. The documents are the
audit's stream passed on with their type.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from contracts.workdays import SHANGHAI

from .. import casework as cw
from ..forms import FormState, form_state, read_form, refused
from ..services_api import Api, ServiceError
from ..session import Person
from ..web import Audience, person_api, render, require

router = APIRouter(prefix="/sitreports")
AUDIENCE = Audience(
    "sitreports", "情况报告", router, roles={"center_head", "inspector"}, home="/sitreports"
)
Reader = Depends(require("center_head", "inspector"))

REPORT_ID = re.compile(r"^sitrep:[A-Za-z0-9_.\-]{1,100}:(weekly|monthly):\d{4}-\d{2}-\d{2}$")
UNIT_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
COMMENT_MAX = 4000
PERIOD_ZH = {"weekly": "周报", "monthly": "月报"}
STATUS_ZH = {"pending": "待报送", "submitted": "已报送"}
TIER_ZH = {"community": "社区", "town": "乡镇（街道）", "city": "市"}
FIGURES_ZH = (
    ("received", "登记受理（件）"),
    ("accepted", "受理（件）"),
    ("completed", "办结（件）"),
    ("on_time", "按时办结（件）"),
    ("first_time", "一次办成（件）"),
    ("corrected", "补正（件）"),
    ("refused", "不予办理（件）"),
    ("withdrawn", "撤回（件）"),
    ("overdue", "超期（件）"),
    ("escalated", "督办（件）"),
    ("rated", "评价（条）"),
    ("satisfied", "满意（4–5分，条）"),
    ("bad_reviews", "差评（件）"),
    ("joint_received", "联办件登记（件）"),
    ("joint_completed", "联办件办结（件）"),
    ("joint_on_time", "联办件按时办结（件）"),
)
DOCUMENTS = {"html": "report.html", "pdf": "report.pdf"}
PRINT_TIMEOUT_S = 90.0
CHART = re.compile(r"^[a-z_]{1,40}\.png$")
PASSED_HEADERS = ("content-type", "content-disposition", "content-length")


async def _names(api: Api) -> dict[str, str]:
    """Units by id (their Chinese names); empty if the tree cannot be read: ids are shown."""
    try:
        tree = await api.get("routing", "/v1/org/tree")  # the whole tree: the tiers above too
    except ServiceError:
        return {}
    return {u["unit_id"]: u["name_zh"] for u in cw.units_of(tree)}


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _local(iso: str | None) -> str | None:
    """An instant as Rui'an's wall clock reads it (年-月-日 时:分)."""
    return None if iso is None else f"{_instant(iso).astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def _report_id(report_id: str) -> str:
    if not REPORT_ID.match(report_id):
        raise ServiceError("audit", 404, "report_id", "没有这份情况报告")
    return report_id


@router.get("")
async def reports(
    request: Request,
    person: Person = Reader,
    unit_id: str | None = None,
    period: str | None = None,
) -> Response:
    """A center's reports (the person's own center unless another is asked for) and the
    reports its centers below sent up to it, newest first."""
    unit = (unit_id or person.org_id or "").strip()
    if not UNIT_ID.match(unit):
        raise ServiceError("audit", 422, "unit_id", "请指定中心")
    params: dict[str, Any] = {"unit_id": unit}
    if period in PERIOD_ZH:
        params["period"] = period
    api = person_api(request, person)
    got = await api.get("audit", "/v1/sitreports", **params)
    rows = got["reports"]
    return render(
        request,
        "sitreports/list.html",
        audience=AUDIENCE,
        unit_id=unit,
        period=params.get("period"),
        own=[r for r in rows if r["unit_id"] == unit],
        below=[r for r in rows if r["unit_id"] != unit],
        names=await _names(api),
        period_zh=PERIOD_ZH,
        status_zh=STATUS_ZH,
    )


async def _report_page(
    request: Request,
    person: Person,
    report_id: str,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    api = person_api(request, person)
    r = await api.get("audit", f"/v1/sitreports/{_report_id(report_id)}")
    names = await _names(api)
    may_send = (
        person.role == "center_head" and person.org_id == r["unit_id"] and r["status"] == "pending"
    )
    return render(
        request,
        "sitreports/report.html",
        status_code=status_code,
        audience=AUDIENCE,
        r=r,
        names=names,
        figures=[(label, r["figures"].get(key, 0)) for key, label in FIGURES_ZH],
        may_send=may_send,
        form=form or form_state(),
        overdue=r["status"] == "pending" and datetime.now(UTC) > _instant(r["deadline"]),
        deadline=_local(r["deadline"]),
        submitted_at=_local(r.get("submitted_at")),
        period_zh=PERIOD_ZH,
        status_zh=STATUS_ZH,
        tier_zh=TIER_ZH,
    )


@router.get("/{report_id}")
async def report(request: Request, report_id: str, person: Person = Reader) -> Response:
    return await _report_page(request, person, report_id)


@router.post("/{report_id}/submit")
async def submit(request: Request, report_id: str, person: Person = Reader) -> Response:
    """报送: the center's own head adds a comment and sends the report up (audit decides)."""
    form = await read_form(request)
    comment = str(form.values.get("comment", "")).strip()
    if len(comment) > COMMENT_MAX:
        form.error("comment", f"说明不超过{COMMENT_MAX}字")
    if not form.ok:
        kept = FormState(values=form.values, errors=form.errors)
        return await _report_page(request, person, report_id, kept, status_code=422)
    try:
        await person_api(request, person).post(
            "audit",
            f"/v1/sitreports/{_report_id(report_id)}/submit",
            {"comment": comment},
            idempotency_key=form.idempotency_key,
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        again = refused(form, exc, {"comment": "comment"})
        return await _report_page(
            request, person, report_id, again, status_code=min(exc.status, 503)
        )
    return RedirectResponse(f"/sitreports/{report_id}?done=submit", status_code=303)


@router.get("/{report_id}/report.{kind}")
async def document(
    request: Request, report_id: str, kind: str, person: Person = Reader
) -> Response:
    """The report's document (HTML or PDF) as the audit serves it, streamed through."""
    name = DOCUMENTS.get(kind)
    if name is None:
        raise ServiceError("audit", 404, "name", "没有这个文档")
    return await _passed_on(request, person, report_id, name)


@router.get("/{report_id}/charts/{chart}")
async def chart(request: Request, report_id: str, chart: str, person: Person = Reader) -> Response:
    """A chart of the HTML report (which links them as `charts/<name>.png`)."""
    if not CHART.match(chart):
        raise ServiceError("audit", 404, "name", "没有这个图表")
    return await _passed_on(request, person, report_id, f"charts/{chart}")


async def _passed_on(request: Request, person: Person, report_id: str, name: str) -> Response:
    api = person_api(request, person)
    r = await api.open_stream(
        "audit",
        f"/v1/sitreports/{_report_id(report_id)}/document/{name}",
        # the PDF is printed the first time it is asked for: seconds on a busy audit
        timeout=PRINT_TIMEOUT_S if name == "report.pdf" else None,
    )

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in r.aiter_raw():
                yield chunk
        finally:
            await r.aclose()

    headers = {k: v for k, v in r.headers.items() if k.lower() in PASSED_HEADERS}
    headers["Cache-Control"] = "private, no-store"
    headers["X-Content-Type-Options"] = "nosniff"
    if name == "report.html":  # the report's own page: its images and styles, no scripts
        headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
        )
    return StreamingResponse(body(), headers=headers)
