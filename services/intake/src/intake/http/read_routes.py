"""Reading cases: one case with its trail, and the case list of a center.

`GET /v1/applications/{case_id}`: the read model row (applicant, materials, missing list,
receipt, promised date, decision, delivery...), where routing has it (handling unit and
office, assigned officer, due date, result ready) and the trail: every event of the case in
order with its actor (责任追究制). Who may read: see `access`.

`GET /v1/applications`: staff list their center's cases (a center head also the units
below), residents their own, inspectors any center's. Staff read only as who the staff
directory lists at their token's center (`access.require_registered_actor`): the cases
hold the applicants' personal data.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request

from contracts.limits import Day, IdNumber, Offset
from eventkit.auth import Principal, require_roles
from eventkit.openapi import errors

from ..domain.state import CaseStatus
from ..projections import routing_view
from .access import (
    CASE_READERS,
    STAFF_ROLES,
    require_read,
    require_registered_actor,
    resident_identity,
)
from .case_flow import case_row, core_of
from .errors import refuse
from .models import TrailEntry
from .personal_reads import open_applicants, reader_of, record_reads

router = APIRouter(
    prefix="/v1/applications", tags=["applications"], responses=errors(403, 404, 409)
)

_JSON_COLUMNS = (
    "applicant",
    "fee_override",
    "materials_provided",
    "required_materials",
    "missing",
    "pending_correction",
    "delivery",
)
_PRIVATE = ("applicant_key",)


def application_dict(row: asyncpg.Record, applicant: dict[str, Any]) -> dict[str, Any]:
    """The row as the API shows it, with the applicant opened (`personal_reads`)."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if k in _PRIVATE:
            continue
        out[k] = orjson.loads(v) if k in _JSON_COLUMNS and v is not None else v
    out["applicant"] = applicant
    return out


def _progress_dict(row: asyncpg.Record | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: v for k, v in row.items() if k != "case_id"}


@router.get("/{case_id}", summary="One case: its data, progress at routing and its trail")
async def get_application(
    request: Request,
    case_id: str = Path(pattern=r"^case-[0-9a-f]{32}$"),
    principal: Principal = Depends(require_roles(*CASE_READERS)),
) -> dict[str, Any]:
    core = core_of(request)
    async with core.pool.acquire() as conn:
        row = await case_row(conn, case_id)
        progress = await conn.fetchrow("SELECT * FROM case_progress WHERE case_id = $1", case_id)
        if core.settings.require_known_center:
            await require_registered_actor(conn, principal)
        await require_read(conn, principal, row, progress, core.applicant_keys)
        trail = await core.load_case(conn, case_id)
        shown = await open_applicants(conn, core.subjects, [(case_id, row["applicant"])])
        await record_reads(
            conn, reader_of(principal), "GET /v1/applications/{case_id}", shown, core.clock()
        )
    return {
        "application": application_dict(row, shown[case_id]),
        "progress": _progress_dict(progress),
        "result_ready": bool(progress and progress["result_ready_at"]),
        "trail": [
            TrailEntry(
                stream_version=e.stream_version,
                event_type=e.event_type,
                occurred_at=e.occurred_at,
                actor=e.actor.model_dump(),
                org_id=e.org_id,
                event_id=str(e.event_id),
            ).model_dump(mode="json")
            for e in trail
        ],
    }


_SUMMARY = """a.case_id, a.status, a.item_code, a.item_name_zh, a.channel, a.accepting_center_id,
    a.accepting_staff_id, a.registered_community_id, a.submitted_at, a.receipt_no,
    a.promised_completion_date, a.decision, a.evaluation_score,
    a.applicant,
    p.handling_unit_id, p.assigned_to, p.result_ready_at IS NOT NULL AS result_ready"""


@router.get("", summary="List cases: a center's (staff), one's own (residents), any (inspectors)")
async def list_applications(
    request: Request,
    center_id: str | None = Query(
        default=None,
        description="Accepting center; staff default to the center in their token",
    ),
    status: CaseStatus | None = Query(default=None),
    submitted_from: Day | None = Query(default=None),
    submitted_to: Day | None = Query(default=None, description="inclusive"),
    applicant_id_number: IdNumber | None = Query(
        default=None,
        description="Staff and inspectors: only this resident's cases (the window's "
        '"this resident\'s cases"); matched through the keyed hash, never stored in the clear',
    ),
    limit: int = Query(default=50, ge=1, le=500),
    offset: Annotated[Offset, Query()] = 0,
    names: bool = Query(
        default=True,
        description="false: no applicant's name (applicant_name null): nothing personal is "
        "opened, so no read is recorded — for figures and counts (a head's dashboard)",
    ),
    principal: Principal = Depends(require_roles(*CASE_READERS)),
) -> dict[str, Any]:
    """Newest first. Each name shown is a read of personal data in the clear, recorded as such
    (`personal_data_reads`); a list asked for without names opens and records nothing."""
    core = core_of(request)
    where: list[str] = []
    args: list[Any] = []

    def add(cond: str, value: Any) -> None:
        args.append(value)
        where.append(cond.replace("{}", f"${len(args)}"))

    async with core.pool.acquire() as conn:
        if principal.role == "resident":
            if center_id is not None:
                raise refuse(403, "center_id", "residents list their own applications only")
            identity = resident_identity(principal)
            hashes = core.applicant_keys.hashes(identity) if identity is not None else []
            args.extend([hashes, principal.sub])
            where.append(
                "(a.applicant_key = ANY($1::text[]) OR (a.submitted_by = $2 AND "
                "a.submitted_by_role = 'resident'))"
            )
        elif principal.role in STAFF_ROLES:
            if core.settings.require_known_center:
                await require_registered_actor(conn, principal)
            own = principal.org_id
            if own is None:
                raise refuse(403, "center_id", "the token names no center (org_id)")
            center = center_id or own
            visible = (
                await routing_view.subtree(conn, own) if principal.role == "center_head" else [own]
            )
            if center not in visible:
                raise refuse(403, "center_id", f"staff of {own} cannot list the cases of {center}")
            if center_id is None and principal.role == "center_head":
                add(
                    "(a.accepting_center_id = ANY({}::text[]) OR p.handling_unit_id = ANY({}))",
                    visible,
                )
            else:
                add("(a.accepting_center_id = {} OR p.handling_unit_id = {})", center)
        elif center_id is not None:  # inspector
            add("a.accepting_center_id = {}", center_id)
        if applicant_id_number is not None and principal.role != "resident":
            add(
                "a.applicant_key = ANY({}::text[])", core.applicant_keys.hashes(applicant_id_number)
            )
        if status is not None:
            add("a.status = {}", status)
        if submitted_from is not None:
            add("a.submitted_at >= {}::date", submitted_from)
        if submitted_to is not None:
            add("a.submitted_at < ({}::date + 1)", submitted_to)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await conn.fetch(
            f"SELECT {_SUMMARY} FROM applications a LEFT JOIN case_progress p USING (case_id)"
            f" {clause} ORDER BY a.submitted_at DESC, a.case_id"
            f" LIMIT {limit} OFFSET {offset}",
            *args,
        )
        shown: dict[str, dict[str, Any]] = {}
        if names:
            shown = await open_applicants(
                conn, core.subjects, [(r["case_id"], r["applicant"]) for r in rows]
            )
            read = {
                c: {
                    "subject_id": a.get("subject_id"),
                    "name": a.get("name"),
                    "erased": a.get("erased"),
                }
                for c, a in shown.items()
            }
            await record_reads(
                conn, reader_of(principal), "GET /v1/applications", read, core.clock()
            )
    items = []
    for r in rows:
        item = {k: v for k, v in r.items() if k != "applicant"}
        item["applicant_name"] = shown.get(r["case_id"], {}).get("name")
        items.append(item)
    return {
        "items": items,
        "limit": limit,
        "offset": offset,
    }
