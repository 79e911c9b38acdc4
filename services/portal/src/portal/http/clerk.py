"""窗口受理: the community agent's window (role `community_agent`).

Intake on behalf of a resident, driven by the published catalog: the item's materials as a
checklist, the one-time notice (一次性告知) of everything still missing shown live BEFORE
submitting — `contracts.materials.missing_materials`, the function intake itself applies —
the fee standard and deposit beside what was paid; the A5 receipt with the QR code of the
resident's status page and the verification code; supplements; today's cases; results
waiting for collection and their delivery. Every action is intake's API with the clerk's
own token (首问负责: the token names who accepted).

Scans of the materials come with the documents issue: until then the checklist records
which materials were seen, in which form and how many copies.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from contracts.workdays import local_date

from .. import casework as cw
from .. import documents
from ..forms import FormState, form_state, read_form, refused
from ..services_api import Api, ServiceError
from ..session import Person
from ..web import Audience, person_api, public_api, render, require

router = APIRouter(prefix="/clerk")
AUDIENCE = Audience("clerk", "窗口受理", router, roles={"community_agent"}, home="/clerk")
Clerk = Depends(require("community_agent"))

CASE_ID = re.compile(cw.CASE_ID)
ITEM_CODE = re.compile(r"^[A-Z]{2,4}-[0-9]{3}$")
MONEY = re.compile(r"^\d{1,7}(\.\d{1,2})?$")
RECEIPTS_KEPT = 20

# intake's field names -> the form's
SUBMIT_FIELDS = {
    "item_code": "item_code",
    "applicant.name": "name",
    "applicant.id_number": "id_number",
    "applicant.phone": "phone",
    "applicant.registered_community_id": "community",
    "applicant.address": "address",
    "fee_paid_fen": "fee_paid",
    "deposit_paid_fen": "deposit_paid",
    "payment_receipt_no": "payment_receipt_no",
    "materials_provided": "materials",
    "accepting_staff_id": "materials",
}


def _fen(text: str) -> int:
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


async def _catalog(request: Request) -> list[dict[str, Any]]:
    got = await public_api(request).get("intake", "/v1/catalog")
    items: list[dict[str, Any]] = got["items"]
    return items


async def _communities(request: Request) -> list[dict[str, Any]]:
    got = await public_api(request).get("intake", "/v1/centers", tier="community")
    items: list[dict[str, Any]] = got["items"]
    return items


def status_link(base_url: str, ref: str, code: str | None) -> str:
    """The resident's status page for the receipt's QR code: `/s/<receipt no>`, with
    `?c=<code>` when the code is known."""
    link = f"{base_url.rstrip('/')}/s/{quote(ref, safe='')}"
    return f"{link}?c={quote(code, safe='')}" if code else link


def _remember_code(request: Request, case_id: str, code: str | None) -> None:
    """The verification code comes back once, with the submission or acceptance: kept in
    the clerk's session for printing the receipt (intake keeps only its hash's seed)."""
    if not code:
        return
    kept = dict(request.session.get("receipt_codes") or {})
    kept[case_id] = code
    while len(kept) > RECEIPTS_KEPT:
        kept.pop(next(iter(kept)))
    request.session["receipt_codes"] = kept


# -- home: today's cases, waiting for materials, results waiting for collection ----------------


@router.get("")
async def home(request: Request, person: Person = Clerk) -> Response:
    api = person_api(request, person)
    today = local_date(datetime.now(UTC))
    todays = await api.get(
        "intake", "/v1/applications", submitted_from=today.isoformat(), limit=200
    )
    waiting = await api.get("intake", "/v1/applications", status="awaiting_materials", limit=200)
    decided = await api.get("intake", "/v1/applications", status="decided", limit=200)
    return render(
        request,
        "clerk/home.html",
        audience=AUDIENCE,
        today=today,
        todays=todays["items"],
        waiting=waiting["items"],
        ready=[c for c in decided["items"] if c.get("result_ready")],
    )


# -- intake at the window ------------------------------------------------------------------------


async def _intake_page(request: Request, form: FormState, status_code: int = 200) -> Response:
    catalog = await _catalog(request)
    code = str(form.values.get("item_code") or "")
    item = next((i for i in catalog if i["code"] == code), None)
    gaps: list[dict[str, Any]] = []
    if item is not None:
        required = cw.required_of(item)
        provided, errors = cw.checked_materials(form.values, required)
        for k, v in errors.items():
            form.error(k, v)
        gaps = cw.notice(required, provided)
    return render(
        request,
        "clerk/intake.html",
        status_code=status_code,
        audience=AUDIENCE,
        catalog=catalog,
        item=item,
        gaps=gaps,
        form=form,
        communities=await _communities(request),
    )


@router.get("/intake")
async def intake_form(request: Request, item: str = "", person: Person = Clerk) -> Response:
    form = form_state(item_code=item if ITEM_CODE.match(item) else "")
    return await _intake_page(request, form)


@router.post("/intake/check")
async def intake_check(request: Request, person: Person = Clerk) -> Response:
    """The live checklist (HTMX): the notice for what is ticked now, nothing submitted."""
    form = await read_form(request)
    catalog = await _catalog(request)
    item = next((i for i in catalog if i["code"] == form.values.get("item_code")), None)
    if item is None:
        return render(request, "clerk/_notice_live.html", item=None, gaps=[], form=form)
    required = cw.required_of(item)
    provided, errors = cw.checked_materials(form.values, required)
    for k, v in errors.items():
        form.error(k, v)
    return render(
        request,
        "clerk/_notice_live.html",
        item=item,
        gaps=cw.notice(required, provided),
        form=form,
    )


def _check_submit(form: FormState, item: dict[str, Any] | None) -> None:
    v = form.values
    if item is None:
        form.error("item_code", "请选择办理事项")
    if not str(v.get("name", "")).strip():
        form.error("name", "请填写申请人姓名")
    if not re.match(r"^\d{17}[\dXx]$", str(v.get("id_number", "")).strip()):
        form.error("id_number", "身份证号应为18位（末位可为X）")
    if not re.match(r"^[\d-]{7,20}$", str(v.get("phone", "")).strip()):
        form.error("phone", "请填写手机或座机号码")
    if not str(v.get("community", "")).strip():
        form.error("community", "请选择户籍（居住登记）所在社区")
    if not str(v.get("address", "")).strip():
        form.error("address", "请填写住址")
    for name in ("fee_paid", "deposit_paid"):
        raw = str(v.get(name, "") or "0").strip()
        if not MONEY.match(raw):
            form.error(name, "金额以元填写，最多两位小数")


@router.post("/intake")
async def intake_submit(request: Request, person: Person = Clerk) -> Response:
    form = await read_form(request)
    if form.values.get("action") == "check":  # the no-script path of the live checklist
        return await _intake_page(
            request, FormState(values=form.values, idempotency_key=form.idempotency_key)
        )
    catalog = await _catalog(request)
    item = next((i for i in catalog if i["code"] == form.values.get("item_code")), None)
    _check_submit(form, item)
    provided: list[Any] = []
    if item is not None:
        provided, errors = cw.checked_materials(form.values, cw.required_of(item))
        for k, e in errors.items():
            form.error(k, e)
    if not form.ok or item is None:
        kept = FormState(
            values=form.values, errors=form.errors, idempotency_key=form.idempotency_key
        )
        return await _intake_page(request, kept, status_code=422)
    v = form.values
    body = {
        "item_code": item["code"],
        "applicant": {
            "name": str(v["name"]).strip(),
            "id_number": str(v["id_number"]).strip().upper(),
            "phone": str(v["phone"]).strip(),
            "registered_community_id": str(v["community"]).strip(),
            "address": str(v["address"]).strip(),
        },
        "materials_provided": [p.model_dump(mode="json") for p in provided],
        "fee_paid_fen": _fen(str(v.get("fee_paid") or "0").strip()),
        "deposit_paid_fen": _fen(str(v.get("deposit_paid") or "0").strip()),
        "payment_receipt_no": str(v.get("payment_receipt_no") or "").strip() or None,
    }
    try:
        got = await person_api(request, person).post(
            "intake", "/v1/applications", body, idempotency_key=form.idempotency_key
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        return await _intake_page(
            request,
            refused(form, exc, SUBMIT_FIELDS),
            status_code=exc.status if exc.status < 500 else 503,
        )
    _remember_code(request, got["case_id"], got.get("verification_code"))
    return RedirectResponse(f"/clerk/cases/{got['case_id']}", status_code=303)


# -- one case: notice, supplement, receipt, delivery ----------------------------------------------


async def _names(api: Api, person: Person) -> dict[str, str]:
    """The clerk's center and its staff by name (routing's tree below the center)."""
    tree = await api.get("routing", "/v1/org/tree", unit_id=person.org_id)
    return cw.staff_names(tree)


async def _case(api: Api, case_id: str) -> dict[str, Any]:
    if not CASE_ID.match(case_id):
        raise ServiceError("intake", 404, "case_id", "没有这个办件")
    got: dict[str, Any] = await api.get("intake", f"/v1/applications/{case_id}")
    return got


def _outstanding(app: dict[str, Any]) -> list[dict[str, Any]]:
    """What the one-time notice still awaits, by the same rule (contracts.materials)."""
    from contracts.intake import ProvidedMaterial, RequiredMaterial

    required = [RequiredMaterial.model_validate(m) for m in app.get("required_materials") or []]
    provided = [ProvidedMaterial.model_validate(m) for m in app.get("materials_provided") or []]
    return cw.notice(required, provided)


async def _case_page(
    request: Request,
    person: Person,
    case_id: str,
    supplement: FormState | None = None,
    delivery: FormState | None = None,
    attach: FormState | None = None,
    status_code: int = 200,
) -> Response:
    api = person_api(request, person)
    case = await _case(api, case_id)
    app = case["application"]
    gaps = _outstanding(app) if app["status"] == "awaiting_materials" else []
    return render(
        request,
        "clerk/case.html",
        status_code=status_code,
        audience=AUDIENCE,
        case=case,
        app=app,
        gaps=gaps,
        supplement=supplement or form_state(),
        delivery=delivery or form_state(method="picked_up"),
        attach=attach or form_state(),
        documents=await documents.listed(api, case_id),
        has_code=case_id in (request.session.get("receipt_codes") or {}),
        names=await _names(api, person),
    )


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: str, person: Person = Clerk) -> Response:
    return await _case_page(request, person, case_id)


@router.post("/cases/{case_id}/materials")
async def supplement(request: Request, case_id: str, person: Person = Clerk) -> Response:
    """补齐: the materials the notice named, handed in now (at any center)."""
    form = await read_form(request)
    api = person_api(request, person)
    app = (await _case(api, case_id))["application"]
    from contracts.intake import RequiredMaterial

    required = [RequiredMaterial.model_validate(m) for m in app.get("required_materials") or []]
    provided, errors = cw.checked_materials(form.values, required)
    for k, e in errors.items():
        form.error(k, e)
    if not provided and not errors:
        form.error("materials", "请勾选本次补交的材料")
    if not form.ok:
        kept = FormState(values=form.values, errors=form.errors)
        return await _case_page(request, person, case_id, supplement=kept, status_code=422)
    try:
        got = await api.post(
            "intake",
            f"/v1/applications/{case_id}/materials",
            {"materials": [p.model_dump(mode="json") for p in provided]},
            idempotency_key=form.idempotency_key,
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        again = refused(form, exc, {"materials": "materials", "status": "materials"})
        return await _case_page(
            request, person, case_id, supplement=again, status_code=min(exc.status, 503)
        )
    _remember_code(request, case_id, got.get("verification_code"))
    return RedirectResponse(f"/clerk/cases/{case_id}?done=supplement", status_code=303)


@router.post("/cases/{case_id}/documents")
async def attach_documents(request: Request, case_id: str, person: Person = Clerk) -> Response:
    """扫描件: scans or photos of one material, forwarded to intake as they were spooled."""
    form = await read_form(request)
    api = person_api(request, person)
    code = form.values.get("material_code")
    raw = form.values.get("file")
    uploads = [f for f in (raw if isinstance(raw, list) else [raw]) if isinstance(f, UploadFile)]
    uploads = [f for f in uploads if f.filename]
    if not isinstance(code, str) or not code:
        form.error("material_code", "请选择材料")
    if not uploads:
        form.error("file", "请选择要上传的扫描件")
    if not form.ok:
        kept = FormState(values={"material_code": code}, errors=form.errors)
        return await _case_page(request, person, case_id, attach=kept, status_code=422)
    try:
        await api.upload(
            "intake",
            f"/v1/applications/{case_id}/documents",
            {"material_code": code},
            [
                ("file", (f.filename, f.file, f.content_type or "application/octet-stream"))
                for f in uploads
            ],
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        again = refused(
            FormState(values={"material_code": code}),
            exc,
            {"material_code": "material_code", "file": "file", "status": "file"},
        )
        return await _case_page(
            request, person, case_id, attach=again, status_code=min(exc.status, 503)
        )
    finally:
        for f in uploads:
            await f.close()
    return RedirectResponse(f"/clerk/cases/{case_id}?done=documents", status_code=303)


@router.get("/cases/{case_id}/documents/{document_id}")
async def document(
    request: Request, case_id: str, document_id: str, person: Person = Clerk
) -> Response:
    if not CASE_ID.match(case_id):
        raise ServiceError("intake", 404, "case_id", "没有这个办件")
    return await documents.download(person_api(request, person), case_id, document_id)


@router.post("/cases/{case_id}/delivery")
async def deliver(request: Request, case_id: str, person: Person = Clerk) -> Response:
    """送达: the result handed to the resident (or mailed, with its tracking number)."""
    form = await read_form(request)
    method = str(form.values.get("method", ""))
    tracking = str(form.values.get("tracking_no", "")).strip()
    if method not in cw.DELIVERY_ZH:
        form.error("method", "请选择送达方式")
    if method == "mailed" and not tracking:
        form.error("tracking_no", "邮寄送达请填写快递单号")
    if not form.ok:
        kept = FormState(values=form.values, errors=form.errors)
        return await _case_page(request, person, case_id, delivery=kept, status_code=422)
    body: dict[str, Any] = {"method": method}
    if tracking:
        body["tracking_no"] = tracking
    try:
        await person_api(request, person).post(
            "intake",
            f"/v1/applications/{case_id}/delivery",
            body,
            idempotency_key=form.idempotency_key,
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        again = refused(
            form, exc, {"method": "method", "tracking_no": "tracking_no", "status": "method"}
        )
        return await _case_page(
            request, person, case_id, delivery=again, status_code=min(exc.status, 503)
        )
    return RedirectResponse(f"/clerk/cases/{case_id}?done=delivery", status_code=303)


@router.get("/cases/{case_id}/receipt")
async def receipt(request: Request, case_id: str, person: Person = Clerk) -> Response:
    """The A5 receipt (受理回执 or 一次性告知书), printed from the browser (print CSS).

    The QR code of the status page is always printed: with the verification code when this
    session still holds it (it is given once, at submission or acceptance), else the link
    alone — a reprint after signing in again — and the resident types the code from the SMS."""
    api = person_api(request, person)
    case = await _case(api, case_id)
    app = case["application"]
    code = (request.session.get("receipt_codes") or {}).get(case_id)
    link = status_link(str(request.base_url), app.get("receipt_no") or case_id, code)
    qr_svg = segno.make(link, error="m").svg_inline(scale=3, title="办件查询二维码")
    return render(
        request,
        "clerk/receipt.html",
        app=app,
        code=code,
        link=link,
        qr_svg=qr_svg,
        gaps=_outstanding(app) if app["status"] == "awaiting_materials" else [],
        names=await _names(api, person),
    )
