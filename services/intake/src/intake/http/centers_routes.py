"""`GET /v1/centers`: where a resident can hand in (public).

The centers intake accepts applications at, as routing's org tree lists them (intake keeps a
projection of routing's `org_unit_*` events; see `projections.routing_view`).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request

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
            "SELECT unit_id, name_zh, tier, kind, parent_id, is_island FROM centers"
            " WHERE ($1::text IS NULL OR tier = $1) AND ($2::text IS NULL OR parent_id = $2)"
            " ORDER BY unit_id",
            tier,
            parent_id,
        )
    return {"items": [dict(r) for r in rows]}
