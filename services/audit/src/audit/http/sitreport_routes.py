"""Situation reports (情况报告制) over HTTP: read by the center's own head, the heads above it
and inspectors; sent up, with a comment, by its own head. Rules: `contracts.access`.

    GET  /v1/sitreports?unit_id=...                    a center's reports and those sent up to it
    GET  /v1/sitreports/{report_id}                    one report: figures, status, comment
    GET  /v1/sitreports/{report_id}/document/{name}    report.html, report.pdf, charts/<chart>.png
    POST /v1/sitreports/{report_id}/submit             {"comment": "..."}: send it up

Whose report it is comes from its id (`sitrep:<unit>:<period>:<first day>`) and the org tree as
the log holds it, so a refusal never depends on whether the report exists yet.

`report.pdf` is the stored HTML with its charts printed by `sitreport.pdf` the first time it is
asked for (in a worker thread, one at a time), then stored beside them and served from there.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.limits import Identifier
from contracts.sitreports import SituationReportSubmitted
from eventkit.auth import Principal, require_roles
from eventkit.envelope import Actor

from ..runtime import AuditRuntime
from ..sitreport.pdf import PdfUnavailable, to_pdf
from ..sitreport.report import MAX_COMMENT, Refused
from ..sitreport.service import org_units, submit
from .deps import ctx

router = APIRouter(prefix="/v1/sitreports", tags=["situation reports"])

Reader = Annotated[Principal, Depends(require_roles("center_head", "inspector"))]
Head = Annotated[Principal, Depends(require_roles("center_head"))]
Ctx = Annotated[AuditRuntime, Depends(ctx)]
ReportId = Annotated[
    str,
    Path(
        min_length=10,
        max_length=200,
        pattern=r"^sitrep:[A-Za-z0-9_.\-]+:(weekly|monthly):\d{4}-\d{2}-\d{2}$",
        description="sitrep:<unit_id>:<weekly|monthly>:<first day>",
    ),
]
Scope = Literal["own_report", "report_below", "report_other"]


def _refuse(reason: str, field: str = "report_id") -> HTTPException:
    return HTTPException(403, detail={"field": field, "reason": reason})


async def scope_of(c: AuditRuntime, who: Principal, unit_id: str) -> Scope:
    if who.org_id == unit_id:
        return "own_report"
    async with c.pool.acquire() as conn:
        parents = {u.unit_id: u.parent_id for u in await org_units(conn)}
    seen, up = set(), parents.get(unit_id)
    while up is not None and up not in seen:
        if up == who.org_id:
            return "report_below"
        seen.add(up)
        up = parents.get(up)
    return "report_other"


async def may_read(c: AuditRuntime, who: Principal, unit_id: str) -> None:
    if who.role == "inspector":
        return
    if await scope_of(c, who, unit_id) == "report_other":
        raise _refuse(
            f"the report of {unit_id} does not come up to {who.org_id}: a report goes up its "
            "own tiers only"
        )


def _unit(report_id: str) -> str:
    return report_id.split(":")[1]


def _row(r: Any) -> dict[str, Any]:
    out = dict(r)
    out["figures"] = orjson.loads(out["figures"])
    out["rolls_up"] = list(out["rolls_up"])
    for k in ("first_day", "last_day", "deadline", "generated_at", "submitted_at"):
        if out.get(k) is not None:
            out[k] = out[k].isoformat()
    f = out["figures"]
    out["on_time_rate"] = f["on_time"] / f["judged"] if f["judged"] else None
    out["document"] = f"/v1/sitreports/{out['report_id']}/document/report.html"
    out["document_pdf"] = f"/v1/sitreports/{out['report_id']}/document/report.pdf"
    return out


COLUMNS = """report_id, unit_id, unit_tier, goes_to, period, first_day, last_day, deadline,
             status, late, figures, rolls_up, document_sha256, comment, submitted_by,
             generated_at, submitted_at"""


@router.get("")
async def list_reports(
    c: Ctx,
    who: Reader,
    unit_id: Annotated[Identifier, Query()],
    period: Annotated[Literal["weekly", "monthly"] | None, Query()] = None,
    since: Annotated[date | None, Query(description="first day on or after")] = None,
) -> dict[str, Any]:
    """The unit's own reports and the ones that came up to it (its units directly below)."""
    await may_read(c, who, unit_id)
    async with c.pool.acquire() as conn:
        rows = await conn.fetch(
            f"""SELECT {COLUMNS} FROM situation_reports
                WHERE (unit_id = $1 OR goes_to = $1) AND ($2::text IS NULL OR period = $2)
                  AND ($3::date IS NULL OR first_day >= $3)
                ORDER BY first_day DESC, period, unit_id LIMIT 1000""",
            unit_id,
            period,
            since,
        )
    return {"unit_id": unit_id, "reports": [_row(r) for r in rows]}


@router.get("/{report_id}")
async def get_report(c: Ctx, who: Reader, report_id: ReportId) -> dict[str, Any]:
    await may_read(c, who, _unit(report_id))
    async with c.pool.acquire() as conn:
        r = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM situation_reports WHERE report_id = $1", report_id
        )
    if r is None:
        raise HTTPException(404, detail={"field": "report_id", "reason": "no such report"})
    return _row(r)


@router.get("/{report_id}/document/{name:path}")
async def get_document(
    c: Ctx,
    who: Reader,
    report_id: ReportId,
    name: Annotated[
        str, Path(max_length=100, pattern=r"^(report\.(html|pdf)|charts/[a-z_]+\.png)$")
    ],
) -> Response:
    await may_read(c, who, _unit(report_id))
    if name == PDF:
        return await _pdf(c, report_id)
    async with c.pool.acquire() as conn:
        r = await conn.fetchrow(
            "SELECT content_type, body FROM situation_report_files "
            "WHERE report_id = $1 AND name = $2",
            report_id,
            name,
        )
    if r is None:
        raise HTTPException(404, detail={"field": "name", "reason": "no such document"})
    return Response(bytes(r["body"]), media_type=r["content_type"])


PDF = "report.pdf"
_PRINTING = asyncio.Semaphore(1)
"""One PDF printed at a time per process: printing is CPU-bound, the log's writer shares it."""


async def _pdf(c: AuditRuntime, report_id: str) -> Response:
    """The report as PDF: stored, or printed now from the stored HTML and charts and stored."""
    async with c.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT name, body FROM situation_report_files WHERE report_id = $1", report_id
        )
    files = {r["name"]: bytes(r["body"]) for r in rows}
    if "report.html" not in files:
        raise HTTPException(404, detail={"field": "name", "reason": "no such document"})
    body = files.get(PDF)
    if body is None:
        charts = {n.removeprefix("charts/"): b for n, b in files.items() if n.startswith("charts/")}
        async with _PRINTING:
            try:
                body = await asyncio.to_thread(to_pdf, files["report.html"], charts)
            except PdfUnavailable as exc:
                raise HTTPException(
                    503, detail={"field": "name", "reason": f"PDF printing unavailable: {exc}"}
                ) from None
        async with c.pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO situation_report_files (report_id, name, content_type, body)
                   VALUES ($1, $2, 'application/pdf', $3) ON CONFLICT DO NOTHING""",
                report_id,
                PDF,
                body,
            )
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{report_id.replace(":", "_")}.pdf"',
            "X-Content-Type-Options": "nosniff",
        },
    )


class SubmitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(default="", max_length=MAX_COMMENT)


@router.post("/{report_id}/submit")
async def submit_report(c: Ctx, who: Head, report_id: ReportId, body: SubmitBody) -> dict[str, Any]:
    """The head's comment, and the report goes up (pending → submitted)."""
    unit = _unit(report_id)
    if await scope_of(c, who, unit) != "own_report":
        raise _refuse(f"only the head of {unit} sends its report up")
    try:
        evt = await submit(
            c, report_id, body.comment, Actor(id=who.sub, role=who.role, org_id=who.org_id)
        )
    except Refused as exc:
        status = 404 if exc.message == "no such report" else 409
        raise HTTPException(status, detail={"field": exc.field, "reason": exc.message}) from None
    assert isinstance(evt, SituationReportSubmitted)
    return {"report_id": report_id, "status": "submitted", "late": evt.late}
