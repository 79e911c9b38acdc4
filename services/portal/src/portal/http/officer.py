"""审批工作台: the officer's work queue and cases (role `officer`).

The queue is routing's (`GET /v1/queue`, the officer's office and what is assigned to them),
soonest due first, with the A or B post the officer holds for each case, the working days
left as a countdown (`contracts.workdays`), warned and overdue cases highlighted, and filters
by item, status and center. A case shows routing's trail (hand-offs between tiers, who did
what) and intake's materials; the officer approves or refuses with a reason, asks for a
correction (补正: catalog materials by code and a note, `contracts.corrections`), and sends
the result back. Routing decides who may: the page shows its refusal beside the field.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from contracts.corrections import CorrectionRequestRefused, correction_request
from contracts.limits import MAX_NOTE

from .. import casework as cw
from .. import documents
from ..forms import FormState, form_state, read_form, refused
from ..refusals import message_zh
from ..services_api import Api, ServiceError
from ..session import Person
from ..web import Audience, person_api, public_api, render, require

router = APIRouter(prefix="/officer")
AUDIENCE = Audience("officer", "审批工作台", router, roles={"officer"}, home="/officer")
Officer = Depends(require("officer"))

CASE_ID = re.compile(cw.CASE_ID)
ITEM_CODE = re.compile(r"^[A-Z]{2,4}-[0-9]{3}$")
UNIT_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
LINE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")  # contracts.limits.Code


def queue_rows(
    items: list[dict[str, Any]], tree: dict[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """Queue items with the A/B post of the assignee and the working days left."""
    posts = cw.post_roles(tree)
    names = cw.staff_names(tree)
    rows = []
    for i in items:
        running = i["status"] == "open" and not i.get("joint_hold")
        left = cw.working_days_left(i.get("due_date"), now) if running else None
        rows.append(
            {
                **i,
                "ab": cw.ab_role(posts.get(i.get("post_id") or ""), i.get("assigned_to")),
                "left": left,
                "assignee_name": names.get(i.get("assigned_to") or "", i.get("assigned_to")),
                "unit_name": names.get(i["handling_unit_id"], i["handling_unit_id"]),
                "accepting_name": names.get(i["accepting_center_id"], i["accepting_center_id"]),
            }
        )
    return rows


@router.get("")
async def queue(
    request: Request,
    item: str = "",
    status: str = "",
    center: str = "",
    line: str = "",
    mine: str = "",
    person: Person = Officer,
) -> Response:
    api = person_api(request, person)
    form = form_state(item=item, status=status, center=center, line=line, mine=mine)
    if item and not ITEM_CODE.match(item):
        form.error("item", "事项编码形如 FP-002")
    if status and status not in cw.QUEUE_STATUS_ZH:
        form.error("status", "请选择列出的状态")
    if center and not UNIT_ID.match(center):
        form.error("center", "请选择列出的中心")
    if line and not LINE_ID.match(line):
        form.error("line", "请选择列出的服务条线")
    params: dict[str, Any] = {
        "limit": 300,
        "item_code": item or None,
        "unit_id": center,
        "line_id": line or None,
    }
    params["status"] = status or ["open", "correction_pending", "decided"]
    if mine:
        params["assignee"] = person.sub

    async def queue_items() -> list[dict[str, Any]] | ServiceError:
        if not form.ok:
            return []
        try:
            got = await api.request("routing", "GET", "/v1/queue", params=params)
        except ServiceError as exc:
            if exc.status in (401,) or exc.status >= 500:
                raise
            return exc
        items: list[dict[str, Any]] = got.json()["items"]
        return items

    # the three calls do not wait for each other: the page waits for the slowest, not the sum
    tree, catalog_doc, items = await asyncio.gather(
        api.get("routing", "/v1/org/tree", unit_id=person.org_id),
        public_api(request).get("intake", "/v1/catalog"),
        queue_items(),
    )
    catalog = catalog_doc["items"]
    rows: list[dict[str, Any]] = []
    if isinstance(items, ServiceError):
        form = refused(
            form,
            items,
            {"unit_id": "center", "item_code": "item", "status": "status", "line_id": "line"},
        )
        form.values = {"item": item, "status": status, "center": center, "line": line, "mine": mine}
    else:
        rows = queue_rows(items, tree, datetime.now(UTC))
    units = cw.units_of(tree)  # the officer's center and those below it
    lines: dict[str, str] = {}  # 服务条线 of those centers, by id (the queue filters by id)
    for u in units:
        for ln in u.get("service_lines", []):
            lines.setdefault(ln["line_id"], ln.get("name_zh") or ln["line_id"])
    return render(
        request,
        "officer/home.html",
        audience=AUDIENCE,
        rows=rows,
        form=form,
        catalog=catalog,
        units=units,
        lines=lines,
    )


# -- one case ------------------------------------------------------------------------------------


async def _case(api: Api, case_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Routing's case (state and trail) and intake's application (materials), if intake
    has heard of the hand-off yet (its view of who handles the case follows routing's)."""
    if not CASE_ID.match(case_id):
        raise ServiceError("routing", 404, "case_id", "没有这个办件")

    async def application() -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await api.get("intake", f"/v1/applications/{case_id}")
        except ServiceError as exc:
            if exc.status not in (403, 404):
                raise
            return None
        return found

    detail, intake = await asyncio.gather(api.get("routing", f"/v1/cases/{case_id}"), application())
    return detail, intake


async def _case_page(
    request: Request,
    person: Person,
    case_id: str,
    decision: FormState | None = None,
    correction: FormState | None = None,
    back: FormState | None = None,
    status_code: int = 200,
) -> Response:
    api = person_api(request, person)
    (detail, intake), tree = await asyncio.gather(
        _case(api, case_id), api.get("routing", "/v1/org/tree", unit_id=person.org_id)
    )
    names = cw.staff_names(tree)
    state = detail["state"]
    app = intake["application"] if intake else None
    trail = [
        {**e, "label": cw.event_zh(e["event_type"]), "detail": cw.trail_detail(e, names)}
        for e in detail["trail"]
    ]
    now = datetime.now(UTC)
    return render(
        request,
        "officer/case.html",
        status_code=status_code,
        audience=AUDIENCE,
        state=state,
        app=app,
        trail=trail,
        documents=await documents.listed(api, case_id),
        names=names,
        ab=cw.ab_role(cw.post_roles(tree).get(state.get("post_id") or ""), state["assigned_to"]),
        left=cw.working_days_left(state.get("due_date"), now)
        if state["status"] == "open" and not state.get("joint_hold")
        else None,
        mine=state["assigned_to"] == person.sub,
        decision=decision or form_state(),
        correction=correction or form_state(),
        back=back or form_state(),
    )


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: str, person: Person = Officer) -> Response:
    return await _case_page(request, person, case_id)


@router.get("/cases/{case_id}/documents/{document_id}")
async def document(
    request: Request, case_id: str, document_id: str, person: Person = Officer
) -> Response:
    """A scan of the case, streamed from intake (intake decides who may read it)."""
    if not CASE_ID.match(case_id):
        raise ServiceError("intake", 404, "case_id", "没有这个办件")
    return await documents.download(person_api(request, person), case_id, document_id)


@router.post("/cases/{case_id}/decision")
async def decide(request: Request, case_id: str, person: Person = Officer) -> Response:
    """准予 or 不予 (with the reason routing requires to refuse)."""
    form = await read_form(request)
    decision = str(form.values.get("decision", ""))
    reason = str(form.values.get("reason", "")).strip()
    if decision not in cw.DECISION_ZH:
        form.error("decision", "请选择准予或不予")
    if len(reason) > MAX_NOTE:  # routing takes a decision's reason as a Note
        form.error("reason", f"理由不超过{MAX_NOTE}字")
    if not form.ok:
        kept = FormState(values=form.values, errors=form.errors)
        return await _case_page(request, person, case_id, decision=kept, status_code=422)
    try:
        await person_api(request, person).post(
            "routing",
            f"/v1/cases/{case_id}/decision",
            {"decision": decision, "reason": reason or None},
            idempotency_key=form.idempotency_key,
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        again = refused(
            form, exc, {"decision": "decision", "reason": "reason", "actor": "decision"}
        )
        return await _case_page(
            request, person, case_id, decision=again, status_code=min(exc.status, 503)
        )
    return RedirectResponse(f"/officer/cases/{case_id}?done=decision", status_code=303)


@router.post("/cases/{case_id}/correction")
async def ask_correction(request: Request, case_id: str, person: Person = Officer) -> Response:
    """补正: every material to correct, by catalog code, with a note — in one request."""
    form = await read_form(request)
    api = person_api(request, person)
    chosen = form.values.get("materials", [])
    chosen = [chosen] if isinstance(chosen, str) else list(chosen)
    form.values["materials"] = chosen
    note = str(form.values.get("note", "")).strip()
    _, intake = await _case(api, case_id)
    codes = [m["code"] for m in (intake or {}).get("application", {}).get("required_materials", [])]
    try:  # the contract routing applies, checked here first so the form keeps what was typed
        correction_request(chosen, note, codes)
    except CorrectionRequestRefused as exc:
        field = "note" if exc.field == "note" else "materials"
        form.error(
            field,
            "请勾选至少一项需补正的材料"
            if field == "materials" and not chosen
            else message_zh(422, exc.field, "invalid_value"),
        )
    if not form.ok:
        kept = FormState(values=form.values, errors=form.errors)
        return await _case_page(request, person, case_id, correction=kept, status_code=422)
    try:
        await api.post(
            "routing",
            f"/v1/cases/{case_id}/correction-request",
            {"requested_materials": chosen, "note": note or None},
            idempotency_key=form.idempotency_key,
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        again = refused(
            form,
            exc,
            {"requested_materials": "materials", "note": "note", "actor": "materials"},
        )
        return await _case_page(
            request, person, case_id, correction=again, status_code=min(exc.status, 503)
        )
    return RedirectResponse(f"/officer/cases/{case_id}?done=correction", status_code=303)


@router.post("/cases/{case_id}/return")
async def return_result(request: Request, case_id: str, person: Person = Officer) -> Response:
    """送回: the decided result goes back down the route to the accepting center."""
    form = await read_form(request)
    try:
        await person_api(request, person).post(
            "routing",
            f"/v1/cases/{case_id}/result-return",
            {},
            idempotency_key=form.idempotency_key,
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        again = refused(form, exc, {})
        return await _case_page(
            request, person, case_id, back=again, status_code=min(exc.status, 503)
        )
    return RedirectResponse(f"/officer/cases/{case_id}?done=return", status_code=303)
