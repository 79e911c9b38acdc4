"""`GET /v1/centers`: where a resident can hand in; `GET /v1/centers/{unit_id}`: one
center's opening hours, service lines and access note (both public).

The centers intake accepts applications at, as routing's org tree lists them (intake keeps a
projection of routing's `org_unit_*` events; see `projections.routing_view`).
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request

from contracts.limits import ID_PATTERN, MAX_ID
from eventkit.openapi import errors

from .case_flow import core_of

router = APIRouter(prefix="/v1", tags=["centers"])


@router.get("/centers", summary="Centers of the three tiers (from routing's org tree)")
async def list_centers(
    request: Request,
    tier: Literal["community", "town", "city"] | None = Query(default=None),
    parent_id: str | None = Query(default=None),
) -> dict[str, Any]:
    core = core_of(request)
    async with core.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT unit_id, name_zh, tier, kind, parent_id, is_island, address_zh FROM centers"
            " WHERE ($1::text IS NULL OR tier = $1) AND ($2::text IS NULL OR parent_id = $2)"
            " ORDER BY unit_id",
            tier,
            parent_id,
        )
    return {"items": [dict(r) for r in rows]}


@router.get(
    "/centers/{unit_id}",
    summary="One center: its hours, service lines and how to get there (public)",
    responses=errors(404),
)
async def get_center(
    request: Request,
    unit_id: str = Path(
        min_length=1, max_length=MAX_ID, pattern=ID_PATTERN, examples=["ruian.mayu.mabei"]
    ),
) -> dict[str, Any]:
    core = core_of(request)
    async with core.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT unit_id, name_zh, tier, kind, parent_id, is_island, access_note_zh,"
            " address_zh, office_hours, service_lines FROM centers WHERE unit_id = $1",
            unit_id,
        )
    if row is None:
        raise HTTPException(
            404, detail={"field": "unit_id", "reason": f"no center {unit_id} in the org tree"}
        )
    out = dict(row)
    for k in ("office_hours", "service_lines"):
        out[k] = orjson.loads(out[k]) if out[k] is not None else None
    return out
