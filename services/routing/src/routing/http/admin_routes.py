"""Admin tools: the deadline drill and the list of acceptances routing could not route.

`POST /v1/admin/clock/check-deadlines?now=...` EXISTS FOR DRILLS, DEMOS AND TESTS. It runs
the deadline check (warning, overdue, escalation, follow-up overdue) over every case due at
the given instant, as if the clock said so, and returns what it issued. It requires the
`admin` role AND `ROUTING_DRILL_ENDPOINTS=true` (off by default: in production the events it
issues would carry a time that has not come). The events name the admin who ran the drill
as their actor, so a drill is never mistaken for the scheduler's work.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query
from pydantic import AwareDatetime, BaseModel

from contracts.intake import ApplicationAccepted
from contracts.joint import JointApplicationAccepted
from eventkit.auth import Principal, require_roles
from eventkit.envelope import Actor
from eventkit.openapi import errors

from ..cases.deadlines import DeadlineChecker
from ..cases.intake_consumer import route_command
from ..cases.service import CaseService
from ..domain.case_state import CASE_ID_PATTERN
from ..domain.joint_case import member_routes
from ..runtime import RoutingRuntime
from .access import actor_of
from .deps import case_service, ctx, deadline_checker
from .errors import refuse
from .views import CaseCommandResult, CaseView, event_refs

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=errors(403, 404, 409))


class IssuedEvent(BaseModel):
    case_id: str
    event_id: str
    event_type: str


class DrillReport(BaseModel):
    now: datetime
    checked: int
    events: list[IssuedEvent]


@router.post("/clock/check-deadlines", response_model=DrillReport)
async def check_deadlines_as_of(
    now: AwareDatetime = Query(description="The instant to check as of (with its offset)."),
    principal: Principal = Depends(require_roles("admin")),
    c: RoutingRuntime = Depends(ctx),
    deadlines: DeadlineChecker = Depends(deadline_checker),
) -> DrillReport:
    """DRILLS AND TESTS ONLY: run the deadline check as of `now` (admin; needs
    `ROUTING_DRILL_ENDPOINTS=true`)."""
    if not c.settings.drill_endpoints:
        raise refuse(403, "now", "drill endpoints are disabled (set ROUTING_DRILL_ENDPOINTS=true)")
    report = await deadlines.check_due(now, actor_of(principal))
    return DrillReport(
        now=report.now,
        checked=report.checked,
        events=[
            IssuedEvent(case_id=e.stream_id, event_id=str(e.event_id), event_type=e.event_type)
            for e in report.envelopes
        ],
    )


class UnroutedCase(BaseModel):
    case_id: str
    event_id: str
    field: str
    reason: str
    recorded_at: datetime


@router.get("/unrouted", response_model=list[UnroutedCase])
async def unrouted(
    principal: Principal = Depends(require_roles("admin", "inspector")),
    c: RoutingRuntime = Depends(ctx),
) -> list[UnroutedCase]:
    """Accepted cases routing could not route (a center or office missing from the tree):
    fix the reference data, then retry them (`POST /v1/admin/unrouted/{case_id}/retry`)."""
    async with c.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT case_id, event_id::text, field, reason, recorded_at FROM unrouted_cases"
            " ORDER BY recorded_at"
        )
    return [UnroutedCase(**dict(r)) for r in rows]


@router.post("/unrouted/{case_id}/retry", response_model=CaseCommandResult)
async def retry_unrouted(
    case_id: Annotated[str, Path(pattern=CASE_ID_PATTERN)],
    principal: Principal = Depends(require_roles("admin")),
    c: RoutingRuntime = Depends(ctx),
    cases: CaseService = Depends(case_service),
) -> CaseCommandResult:
    """Route a kept acceptance again, against the tree as it stands now (after an admin
    fixed what was missing). A refusal answers with its field and reason, as before."""
    async with c.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT event_id, accepted FROM unrouted_cases WHERE case_id = $1 FOR UPDATE",
            case_id,
        )
        if row is None:
            raise refuse(404, "case_id", f"{case_id!r} is not waiting to be routed")
        command, name = _kept_route(orjson.loads(row["accepted"]), case_id, actor_of(principal))
        outcome = await cases.handle_in(
            conn,
            command,
            now=c.clock(),
            causation_id=uuid.UUID(str(row["event_id"])),
            item_name_zh=name,
        )
        await conn.execute("DELETE FROM unrouted_cases WHERE case_id = $1", case_id)
    c.runtime.wake_relay()
    return CaseCommandResult(
        case_id=case_id,
        version=outcome.version,
        events=event_refs(outcome.envelopes),
        state=CaseView.of(outcome.state),
    )


def _kept_route(payload: dict[str, Any], case_id: str, actor: Actor) -> tuple[Any, str]:
    """The routing command of a kept acceptance: a single case's, or one member's of a
    joint acceptance (联办, kept per member)."""
    if "joint_case_id" in payload:
        joint = JointApplicationAccepted.model_validate(payload)
        command = next(r for r in member_routes(joint, actor) if r.case_id == case_id)
        name = next(m.item_name_zh for m in joint.members if m.case_id == case_id)
        return command, name
    evt = ApplicationAccepted.model_validate(payload)
    return route_command(evt, actor), evt.item_name_zh
