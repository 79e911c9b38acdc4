"""The resident's pages: status by receipt number and code (public, also as a link), and,
signed in, their own cases: the one-time notice of missing materials, answering a
correction (补正), the result and where to collect it, and rating the service (好差评) —
also on the full-screen window evaluator (服务评价器) the clerk turns toward them.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from contracts.limits import MAX_REASON

from ..forms import FormState, form_state, read_form, refused
from ..services_api import ServiceError
from ..session import Person
from ..web import Audience, person_api, public_api, render, require

router = APIRouter()
AUDIENCE = Audience(
    "resident",
    "我的办件",
    router,
    roles={"resident"},
    home="/resident",
)
Resident = Depends(require("resident"))

CASE_ID = re.compile(r"^case-[0-9a-f]{32}$")
RECEIPT = re.compile(r"^[A-Z0-9]{6,40}$")
CODE = re.compile(r"^[0-9]{6}$")
MISSING_ZH = {
    "not_provided": "未提供",
    "original_required": "须提供原件",
    "too_few_copies": "份数不足",
}
FORM_ZH = {"original": "原件", "copy": "复印件"}
SCORE_ZH = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
STATUS_ZH = {
    "submitted": "已提交",
    "awaiting_materials": "待补齐材料",
    "accepted": "已受理，办理中",
    "correction_requested": "待补正",
    "decided": "已办结，待领取结果",
    "delivered": "结果已送达",
    "archived": "已归档",
    "withdrawn": "已撤回",
}


# -- status by receipt number + code (public) --------------------------------------------------


def _status_form(values: dict[str, Any]) -> FormState:
    """Checks what was typed before asking intake (which answers any mistake with one 404)."""
    state = form_state(**values)
    ref = str(values.get("receipt_no", "")).strip().upper()
    code = str(values.get("code", "")).strip()
    if not ref:
        state.error("receipt_no", "请填写受理回执号（未受理时填申请编号）")
    elif not (RECEIPT.match(ref) or CASE_ID.match(ref.lower())):
        state.error("receipt_no", "回执号应为字母和数字；申请编号形如 case-…")
    if not CODE.match(code):
        state.error("code", "查询码为回执上的6位数字")
    return state


@router.get("/status")
async def status(request: Request, receipt_no: str = "", code: str = "") -> Response:
    """The form; with both values (typed, or a case link / QR code) the case's status.
    With the receipt number alone (a reprinted receipt's QR code) the form, filled in."""
    if not code:
        if not receipt_no:
            return render(request, "resident/status_form.html", form=form_state())
        return render(
            request, "resident/status_form.html", form=form_state(receipt_no=receipt_no.strip())
        )
    state = _status_form({"receipt_no": receipt_no, "code": code})
    if not state.ok:
        return render(request, "resident/status_form.html", form=state, status_code=422)
    ref = receipt_no.strip().upper()
    params = {"code": code.strip()}
    if CASE_ID.match(ref.lower()):
        params["case_id"] = ref.lower()
    else:
        params["receipt_no"] = ref
    try:
        view = await public_api(request).get("intake", "/v1/status", **params)
    except ServiceError as exc:
        if exc.status == 404:
            state.error("code", "回执号与查询码不匹配，请核对回执后重试")
        elif exc.status == 429:
            state.error("code", "查询过于频繁，请稍后再试")
        else:
            raise
        return render(request, "resident/status_form.html", form=state, status_code=exc.status)
    return render(
        request, "resident/status.html", view=view, missing_zh=MISSING_ZH, form_zh=FORM_ZH
    )


@router.get("/s/{ref}")
async def status_link(ref: str, c: str = "") -> Response:
    """The short case link printed as the receipt's QR code: /s/<receipt no>?c=<code>
    (a reprint without the code: /s/<receipt no>, the form with the number filled in)."""
    from urllib.parse import urlencode

    query = {"receipt_no": ref, "code": c} if c else {"receipt_no": ref}
    return RedirectResponse("/status?" + urlencode(query), status_code=303)


# -- signed in: my cases -------------------------------------------------------------------------


@router.get("/resident")
async def my_cases(request: Request, person: Person = Resident) -> Response:
    got = await person_api(request, person).get("intake", "/v1/applications", limit=100)
    return render(request, "resident/home.html", cases=got["items"], status_zh=STATUS_ZH)


async def _case(request: Request, person: Person, case_id: str) -> dict[str, Any]:
    if not CASE_ID.match(case_id):
        raise ServiceError("intake", 404, "case_id", "没有这个办件")
    got: dict[str, Any] = await person_api(request, person).get(
        "intake", f"/v1/applications/{case_id}"
    )
    return got


@router.get("/resident/cases/{case_id}")
async def my_case(request: Request, case_id: str, person: Person = Resident) -> Response:
    case = await _case(request, person, case_id)
    return render(
        request,
        "resident/case.html",
        case=case,
        app=case["application"],
        status_zh=STATUS_ZH,
        missing_zh=MISSING_ZH,
        form_zh=FORM_ZH,
    )


# -- answering a correction (补正) ----------------------------------------------------------------


def _requested(app: dict[str, Any]) -> list[dict[str, Any]]:
    pending = app.get("pending_correction") or {}
    names = {m["code"]: m for m in app.get("required_materials", [])}
    return [
        {
            "code": c,
            "name_zh": names.get(c, {}).get("name_zh", c),
            "form": names.get(c, {}).get("form", "copy"),
            "copies": names.get(c, {}).get("copies", 1),
        }
        for c in pending.get("requested_materials", [])
    ]


@router.get("/resident/cases/{case_id}/correction")
async def correction_form(request: Request, case_id: str, person: Person = Resident) -> Response:
    case = await _case(request, person, case_id)
    app = case["application"]
    requested = _requested(app)
    return render(
        request,
        "resident/correction.html",
        app=app,
        requested=requested,
        form=form_state(materials=[m["code"] for m in requested]),
        form_zh=FORM_ZH,
    )


@router.post("/resident/cases/{case_id}/correction")
async def correction_send(request: Request, case_id: str, person: Person = Resident) -> Response:
    form = await read_form(request)
    case = await _case(request, person, case_id)
    app = case["application"]
    requested = _requested(app)
    chosen = form.values.get("materials", [])
    chosen = [chosen] if isinstance(chosen, str) else list(chosen)
    note = str(form.values.get("note", "")).strip()
    form.values["materials"] = chosen
    if not chosen and not note:
        form.error("materials", "请勾选补交的材料，或在说明中写明补正内容")
    if len(note) > 500:
        form.error("note", "说明不超过500字")
    if not form.ok:
        return render(
            request,
            "resident/correction.html",
            app=app,
            requested=requested,
            form=form,
            form_zh=FORM_ZH,
            status_code=422,
        )
    by_code = {m["code"]: m for m in requested}
    body = {
        "materials": [
            {"code": c, "form": by_code[c]["form"], "copies": by_code[c]["copies"]}
            for c in chosen
            if c in by_code
        ],
        "note": note or None,
    }
    try:
        await person_api(request, person).post(
            "intake",
            f"/v1/applications/{case_id}/correction",
            body,
            idempotency_key=form.idempotency_key,
        )
    except ServiceError as exc:
        if exc.status in (401,):
            raise
        again = refused(
            form, exc, {"materials": "materials", "note": "note", "status": "materials"}
        )
        return render(
            request,
            "resident/correction.html",
            app=app,
            requested=requested,
            form=again,
            form_zh=FORM_ZH,
            status_code=exc.status if exc.status < 500 else 503,
        )
    return RedirectResponse(f"/resident/cases/{case_id}?done=correction", status_code=303)


# -- rating (好差评), on the page and on the window evaluator --------------------------------------


def _rating_page(evaluator: bool) -> str:
    return "resident/evaluator.html" if evaluator else "resident/rating.html"


@router.get("/resident/cases/{case_id}/rating")
async def rating_form(request: Request, case_id: str, person: Person = Resident) -> Response:
    case = await _case(request, person, case_id)
    return render(
        request, _rating_page(False), app=case["application"], form=form_state(), scores=SCORE_ZH
    )


@router.get("/resident/cases/{case_id}/evaluator")
async def evaluator(request: Request, case_id: str, person: Person = Resident) -> Response:
    case = await _case(request, person, case_id)
    return render(
        request, _rating_page(True), app=case["application"], form=form_state(), scores=SCORE_ZH
    )


@router.post("/resident/cases/{case_id}/rating")
async def rating_send(request: Request, case_id: str, person: Person = Resident) -> Response:
    form = await read_form(request)
    evaluator_page = form.values.get("evaluator") == "1"
    case = await _case(request, person, case_id)
    app = case["application"]
    score_raw = str(form.values.get("score", ""))
    comment = str(form.values.get("comment", "")).strip()
    if score_raw not in {"1", "2", "3", "4", "5"}:
        form.error("score", "请选择1至5分")
    if len(comment) > MAX_REASON:  # intake takes a comment as a Reason (contracts.limits)
        form.error("comment", f"评价内容不超过{MAX_REASON}字")
    if not form.ok:
        return render(
            request,
            _rating_page(evaluator_page),
            app=app,
            form=form,
            scores=SCORE_ZH,
            status_code=422,
        )
    try:
        await person_api(request, person).post(
            "intake",
            f"/v1/applications/{case_id}/evaluation",
            {"score": int(score_raw), "comment": comment or None},
            idempotency_key=form.idempotency_key,
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        again = refused(form, exc, {"score": "score", "comment": "comment", "status": "score"})
        return render(
            request,
            _rating_page(evaluator_page),
            app=app,
            form=again,
            scores=SCORE_ZH,
            status_code=exc.status if exc.status < 500 else 503,
        )
    return render(
        request,
        "resident/thanks.html",
        app=app,
        score=int(score_raw),
        scores=SCORE_ZH,
        evaluator=evaluator_page,
    )
