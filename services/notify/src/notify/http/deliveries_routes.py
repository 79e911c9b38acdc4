"""`GET /v1/deliveries?case_id=`: what notify told whom about a case, and how it went.

Staff and inspectors only (bearer JWT, `eventkit.auth`): inspectors and admins read any
case; officers, community agents and center heads read cases their unit accepted or
handles, and a center head also the cases of the units below theirs. Addresses are
masked (a phone as 138****5678).

The message text (subject and body) follows the case's own access rule (intake's
`GET /v1/applications/{case_id}`, docs/ACCESS.md): it is the case's content. Inspectors and
the case's staff, as the staff directory lists them at their center, read it; an admin
(who keeps the channels and reads no case) and a staff member the directory does not list
there see the delivery's status without its text (`text_withheld` says why). The resident's
verification code is never in the stored text (`notify.domain.CODE_SLOT`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from contracts.limits import Identifier
from eventkit.auth import Principal, require_roles
from eventkit.openapi import errors

router = APIRouter(prefix="/v1", tags=["deliveries"])

READERS = ("inspector", "admin", "center_head", "officer", "community_agent")
READ_ALL = frozenset({"inspector", "admin"})


class DeliveryView(BaseModel):
    delivery_id: str
    event_id: str
    event_type: str
    recipient_id: str
    recipient_kind: str
    channel: str
    address: str
    template: str
    subject: str | None
    body: str | None
    text_withheld: str | None = None
    status: str
    suppressed_reason: str | None
    attempts: int
    due_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str | None


class DeliveriesPage(BaseModel):
    case_id: str
    deliveries: list[DeliveryView]


def mask(channel: str, address: str) -> str:
    if channel == "sms":
        digits = address.strip()
        return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    scheme, _, rest = address.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…"


async def _ancestors(conn: asyncpg.Connection, unit_ids: list[str]) -> set[str]:
    rows = await conn.fetch(
        """
        WITH RECURSIVE up(unit_id, parent_id, depth) AS (
            SELECT unit_id, parent_id, 0 FROM org_units WHERE unit_id = ANY($1::text[])
            UNION ALL
            SELECT o.unit_id, o.parent_id, up.depth + 1
            FROM org_units o JOIN up ON o.unit_id = up.parent_id WHERE up.depth < 10
        )
        SELECT unit_id FROM up
        """,
        unit_ids,
    )
    return {r["unit_id"] for r in rows}


ADMIN_NO_CASES = (
    "administrators keep the channels, not the cases: the message text is the case's and "
    "is withheld"
)
NOT_IN_DIRECTORY = (
    "the staff directory does not list you at your center: the message text is the case's "
    "and is withheld"
)


async def _withheld(conn: asyncpg.Connection, p: Principal) -> str | None:
    """Why this reader may list the deliveries but not read the case's text, or None.
    The case rule's other parts (their center, the units below) are `_may_read`'s."""
    if p.role == "inspector":
        return None
    if p.role == "admin":
        return ADMIN_NO_CASES
    listed = await conn.fetchval(
        "SELECT true FROM staff WHERE staff_id = $1 AND unit_id = $2", p.sub, p.org_id
    )
    return None if listed else NOT_IN_DIRECTORY


async def _may_read(conn: asyncpg.Connection, p: Principal, case: asyncpg.Record) -> bool:
    if p.role in READ_ALL:
        return True
    if p.org_id is None:
        return False
    units = [
        u
        for u in (case["accepting_center_id"], case["handling_unit_id"], case["handling_office_id"])
        if u
    ]
    if p.org_id in units:
        return True
    if p.role == "center_head":
        return p.org_id in await _ancestors(conn, units)
    return False


@router.get("/deliveries", response_model=DeliveriesPage, responses=errors(404))
async def list_deliveries(
    request: Request,
    case_id: Annotated[Identifier, Query(description="The case id")],
    principal: Principal = Depends(require_roles(*READERS)),
) -> DeliveriesPage:
    """Every delivery notify planned for this case, oldest first."""
    pool: asyncpg.Pool = request.app.state.runtime.pool
    async with pool.acquire() as conn:
        case = await conn.fetchrow(
            "SELECT accepting_center_id, handling_unit_id, handling_office_id"
            " FROM cases WHERE case_id = $1",
            case_id,
        )
        if case is None:
            raise HTTPException(
                status_code=404,
                detail={"field": "case_id", "reason": "notify has no record of this case"},
            )
        if not await _may_read(conn, principal, case):
            raise HTTPException(
                status_code=403,
                detail={
                    "field": "case_id",
                    "reason": "this case was neither accepted nor handled by your unit "
                    "(or a unit below it)",
                    "role": principal.role,
                    "org_id": principal.org_id,
                },
            )
        withheld = await _withheld(conn, principal)
        rows = await conn.fetch(
            "SELECT * FROM deliveries WHERE case_id = $1 ORDER BY created_at, event_id,"
            " recipient_id, channel",
            case_id,
        )
    return DeliveriesPage(case_id=case_id, deliveries=[_view(r, withheld) for r in rows])


def _view(r: asyncpg.Record, withheld: str | None) -> DeliveryView:
    d: dict[str, Any] = {k: r[k] for k in DeliveryView.model_fields if k in r.keys()}
    d["delivery_id"] = str(r["delivery_id"])
    d["event_id"] = str(r["event_id"])
    d["address"] = mask(r["channel"], r["address"])
    if withheld is not None:
        d |= {"subject": None, "body": None, "text_withheld": withheld}
    return DeliveryView(**d)
