"""中心主任: the center's dashboard (role `center_head`).

Overdue and warned cases (routing's queue, the head's center and those below it), the
bad-review follow-ups (好差评督办) with their answer deadlines and the answer form, the
on-time rate and ratings per service line and per staff member, reassigning a case to
another officer of the handling center, and the center's staff, A/B posts, duty rosters
and absences (routing's org tree). Per service line the figures are the board's
(`GET /v1/board/lines`: which lines take a case is `contracts.routing.lines_taking`, applied
by audit, not again here), and so are they per staff member (`GET /v1/board/centers/{id}/
staff`, every case of the center); the totals are counted from what the head's own token
reads: routing's queue (on time or late) joined with intake's list (the scores).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from contracts.limits import MAX_NOTE

from .. import casework as cw
from ..forms import FormState, read_form, refused
from ..services_api import ServiceError
from ..session import Person
from ..web import Audience, person_api, public_api, render, require
from .officer import queue_rows

router = APIRouter(prefix="/head")
AUDIENCE = Audience("head", "中心主任", router, roles={"center_head"}, home="/head")
Head = Depends(require("center_head"))

CASE_ID = re.compile(cw.CASE_ID)
FOLLOWUP_ID = re.compile(r"^case-[0-9a-f]{32}\.followup\.[A-Za-z0-9_.:-]+$")
ANSWER_MAX = MAX_NOTE  # routing takes an answer as a Note (contracts.limits)
CLOSED = ("decided", "result_returned")


def _figures(rows: list[dict[str, Any]], scores: dict[str, int]) -> dict[str, Any]:
    """Cases, decided, on time (of decided), late open cases, reviews and average score."""
    decided = [r for r in rows if r["status"] in CLOSED]
    on_time = [r for r in decided if not r["overdue"]]
    rated = [scores[r["case_id"]] for r in rows if r["case_id"] in scores]
    return {
        "cases": len(rows),
        "decided": len(decided),
        "on_time_pct": (100.0 * len(on_time) / len(decided)) if decided else None,
        "late_open": sum(1 for r in rows if r["status"] == "open" and r["overdue"]),
        "reviews": len(rated),
        "avg_score": (sum(rated) / len(rated)) if rated else None,
    }


def by_line(unit: dict[str, Any], board_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per service line of the center: the board's figures (`GET /v1/board/lines`, audit,
    which counts a case in each line taking its category by `contracts.routing.lines_taking`),
    every line of the center shown, with nothing yet where the board has no case."""
    mine = {r["line_id"]: r for r in board_rows if r.get("center_id") == unit.get("unit_id")}
    out = []
    for line in unit.get("service_lines", []):
        r = mine.get(line["line_id"], {})
        out.append(
            {
                "line_id": line["line_id"],
                "name_zh": line.get("name_zh") or r.get("name_zh") or line["line_id"],
                "cases": r.get("received", 0),
                "decided": r.get("decided", 0),
                "on_time_pct": r.get("on_time_pct"),
                "reviews": r.get("reviews", 0),
                "avg_score": r.get("satisfaction"),
            }
        )
    return out


def by_staff(board_staff: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """Per staff member of the center: the board's figures (`GET /v1/board/centers/{id}/staff`,
    audit, over every case of the center, not only the queue's page): taken in at the window
    as first-inquiry responsible (首问), handled (assigned or decided), still open, decided,
    on time and ratings."""
    return [
        {
            "staff_id": s["staff_id"],
            "name_zh": s.get("name_zh") or names.get(s["staff_id"], s["staff_id"]),
            "accepted": s["accepted"],
            "cases": s["handled"],
            "open": s["open"],
            "decided": s["decided"],
            "on_time_pct": s["on_time_pct"],
            "reviews": s["reviews"] + s["accepted_reviews"],
            "avg_score": _mean_score(s),
        }
        for s in board_staff["staff"]
    ]


def _mean_score(s: dict[str, Any]) -> float | None:
    """The ratings of the cases the staff member handled and of those they took in, as one."""
    parts = [
        (s["satisfaction"], s["reviews"]),
        (s["accepted_satisfaction"], s["accepted_reviews"]),
    ]
    n = sum(k for v, k in parts if v is not None)
    return sum(v * k for v, k in parts if v is not None) / n if n else None


def _unit(tree: dict[str, Any], unit_id: str | None) -> dict[str, Any]:
    return next((u for u in cw.units_of(tree) if u["unit_id"] == unit_id), {})


async def _dashboard(
    request: Request,
    person: Person,
    forms: dict[str, FormState] | None = None,
    status_code: int = 200,
) -> Response:
    api = person_api(request, person)
    # the six calls do not wait for each other: the page waits for the slowest, not the sum
    tree, queue, listed, followups, board, board_staff = await asyncio.gather(
        api.get("routing", "/v1/org/tree", unit_id=person.org_id),
        api.get("routing", "/v1/queue", limit=500),
        api.get("intake", "/v1/applications", limit=500, names="false"),  # scores only
        api.get("routing", "/v1/followups", limit=200),
        public_api(request).get("audit", "/v1/board/lines"),  # public figures
        api.get("audit", f"/v1/board/centers/{person.org_id}/staff"),
    )
    names = cw.staff_names(tree)
    now = datetime.now(UTC)
    rows = queue_rows(queue["items"], tree, now)
    scores = {
        c["case_id"]: c["evaluation_score"]
        for c in listed["items"]
        if c.get("evaluation_score") is not None
    }
    unit = _unit(tree, person.org_id)
    lines = by_line(unit, board["rows"])
    staff = by_staff(board_staff, names)
    open_rows = [r for r in rows if r["status"] == "open"]
    officers = {
        u["unit_id"]: [s for s in u.get("staff", []) if "officer" in s.get("roles", [])]
        for u in cw.units_of(tree)
    }
    return render(
        request,
        "head/home.html",
        status_code=status_code,
        audience=AUDIENCE,
        unit=unit,
        units=cw.units_of(tree),
        names=names,
        overdue=[r for r in open_rows if r["overdue"]],
        warned=[r for r in open_rows if r["warning_issued"] and not r["overdue"]],
        followups=sorted(followups, key=lambda f: (f["answered"], f["answer_due_at"])),
        total=_figures(rows, scores),
        lines=lines,
        staff=staff,
        officers=officers,
        forms=forms or {},
        now=now,
        uuid=lambda: str(uuid.uuid4()),
    )


@router.get("")
async def home(request: Request, person: Person = Head) -> Response:
    return await _dashboard(request, person)


@router.post("/followups/{followup_id}/answer")
async def answer(request: Request, followup_id: str, person: Person = Head) -> Response:
    """The head's answer to a bad review (only the head it was given to: routing says so)."""
    form = await read_form(request)
    text = str(form.values.get("answer", "")).strip()
    if not FOLLOWUP_ID.match(followup_id):
        raise ServiceError("routing", 404, "followup_id", "没有这个督办事项")
    if not text:
        form.error("answer", "请填写回复内容（回访情况与整改措施）")
    elif len(text) > ANSWER_MAX:
        form.error("answer", f"回复不超过{ANSWER_MAX}字")
    if not form.ok:
        kept = FormState(values=form.values, errors=form.errors)
        return await _dashboard(request, person, {followup_id: kept}, status_code=422)
    try:
        await person_api(request, person).post(
            "routing",
            f"/v1/followups/{followup_id}/answer",
            {"answer": text},
            idempotency_key=form.idempotency_key,
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        again = refused(form, exc, {"answer": "answer", "actor": "answer"})
        return await _dashboard(
            request, person, {followup_id: again}, status_code=min(exc.status, 503)
        )
    return RedirectResponse("/head?done=answer#followups", status_code=303)


@router.post("/cases/{case_id}/reassign")
async def reassign(request: Request, case_id: str, person: Person = Head) -> Response:
    """改派: to another officer of the handling center, with the reason (on the trail)."""
    form = await read_form(request)
    if not CASE_ID.match(case_id):
        raise ServiceError("routing", 404, "case_id", "没有这个办件")
    to = str(form.values.get("to_officer", "")).strip()
    reason = str(form.values.get("reason", "")).strip()
    if not to:
        form.error("to_officer", "请选择改派给谁")
    if not reason:
        form.error("reason", "请写明改派原因")
    if not form.ok:
        kept = FormState(values=form.values, errors=form.errors)
        return await _dashboard(request, person, {case_id: kept}, status_code=422)
    try:
        await person_api(request, person).post(
            "routing",
            f"/v1/cases/{case_id}/reassign",
            {"to_officer": to, "reason": reason},
            idempotency_key=form.idempotency_key,
        )
    except ServiceError as exc:
        if exc.status == 401:
            raise
        again = refused(
            form, exc, {"to_officer": "to_officer", "reason": "reason", "actor": "to_officer"}
        )
        return await _dashboard(request, person, {case_id: again}, status_code=min(exc.status, 503))
    return RedirectResponse("/head?done=reassign", status_code=303)
