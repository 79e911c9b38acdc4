"""Reading cases: the work queue and one case with its whole trail.

`GET /v1/queue` filters the `case_queue` read model (kept in the append transaction, so it
never disagrees with the trail) by office, unit, service line (服务条线), assignee, item, status
and due time, within what
the caller may see (`access.case_scope`). `GET /v1/cases/{case_id}` folds the case stream
and returns it with every event: who did what, when, and what caused it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from contracts.base import payload_of
from contracts.limits import Code, Identifier, Offset
from contracts.workdays import SHANGHAI
from eventkit.auth import Principal, require_roles
from eventkit.openapi import errors

from ..domain.case import evolve_case
from ..domain.case_state import CASE_ID_PATTERN, initial_case_state
from ..runtime import RoutingRuntime
from .access import READERS, case_scope
from .deps import ctx
from .errors import refuse
from .views import CaseDetail, CaseView, QueueItem, QueuePage, TrailEntry

router = APIRouter(tags=["queue"], responses=errors(403, 404, 409))

Status = Literal["open", "correction_pending", "decided", "result_returned", "withdrawn"]


def _instant(value: str) -> datetime:
    """`due_before`: a date (00:00 in Rui'an) or a date-time with its UTC offset."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=SHANGHAI)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise refuse(
            422, "due_before", "expected a date (2026-10-12) or a date-time with its offset"
        ) from None
    if parsed.tzinfo is None:
        raise refuse(422, "due_before", "a date-time needs its UTC offset, e.g. +08:00")
    return parsed


@router.get("/v1/queue", response_model=QueuePage)
async def queue(
    office_id: Identifier | None = Query(default=None, description="Handling office."),
    unit_id: Identifier | None = Query(default=None, description="Handling unit (center)."),
    assignee: Identifier | None = Query(
        default=None, description="Staff id the case is assigned to."
    ),
    item_code: Identifier | None = Query(
        default=None, description="Service item (catalog code, e.g. FP-002)."
    ),
    line_id: Code | None = Query(
        default=None, description="Service line (服务条线) of the handling unit, e.g. l03."
    ),
    status: Annotated[list[Status] | None, Query()] = None,
    due_before: str | None = Query(
        default=None,
        description="Due strictly before this instant (a date means 00:00 Asia/Shanghai).",
    ),
    overdue: bool | None = Query(default=None, description="Only late (or only on-time) cases."),
    limit: int = Query(default=100, ge=1, le=500),
    offset: Annotated[Offset, Query()] = 0,
    principal: Principal = Depends(require_roles(*READERS)),
    c: RoutingRuntime = Depends(ctx),
) -> QueuePage:
    """The work queue, soonest due first. Officers see their office's cases (and any case
    assigned to them), center heads their center's and, at town or city level, the units
    below; inspectors everything."""
    if limit > c.settings.queue_page_max:
        raise refuse(422, "limit", f"at most {c.settings.queue_page_max}")
    now = c.clock()
    async with c.pool.acquire() as conn:
        org, _ = await c.org.current(conn)
        scope = case_scope(principal, org)
        if office_id is not None and not scope.everything:
            office = org.offices.get(office_id)
            if office is None or (
                office_id not in scope.offices and office.unit_id not in scope.units
            ):
                raise refuse(403, "office_id", f"office {office_id!r} is not in your scope")
        if unit_id is not None and not scope.everything and unit_id not in scope.units:
            raise refuse(403, "unit_id", f"unit {unit_id!r} is not in your scope")
        args: list[object] = []
        where = [scope.sql(args)]
        for column, value in (
            ("handling_office_id", office_id),
            ("handling_unit_id", unit_id),
            ("assigned_to", assignee),
            ("item_code", item_code),
            ("line_id", line_id),
        ):
            if value is not None:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        if status:
            args.append(list(status))
            where.append(f"status = ANY(${len(args)}::text[])")
        if due_before is not None:
            args.append(_instant(due_before))
            where.append(f"due_at < ${len(args)}")
        if overdue is not None:
            args.append(now)
            late = (
                f"(overdue OR (status = 'open' AND joint_hold IS NULL AND due_at < ${len(args)}))"
            )
            where.append(late if overdue else f"NOT {late}")
        args += [limit, offset]
        rows = await conn.fetch(
            f"SELECT * FROM case_queue WHERE {' AND '.join(where)}"
            f" ORDER BY due_at NULLS LAST, case_id LIMIT ${len(args) - 1} OFFSET ${len(args)}",
            *args,
        )
    items = [QueueItem.of(r, now) for r in rows]
    return QueuePage(now=now, count=len(items), items=items)


@router.get("/v1/cases/{case_id}", response_model=CaseDetail, tags=["cases"])
async def case_detail(
    case_id: Annotated[str, Path(pattern=CASE_ID_PATTERN)],
    principal: Principal = Depends(require_roles(*READERS)),
    c: RoutingRuntime = Depends(ctx),
) -> CaseDetail:
    """Routing's state of the case and its whole trail (every event, actor and cause)."""
    async with c.pool.acquire() as conn:
        org, _ = await c.org.current(conn)
        row = await conn.fetchrow(
            "SELECT handling_unit_id, handling_office_id, assigned_to, agent_id FROM case_queue"
            " WHERE case_id = $1",
            case_id,
        )
    if row is None:
        raise refuse(404, "case_id", f"routing has no case {case_id!r}")
    if not case_scope(principal, org).allows(row):
        raise refuse(403, "case_id", "the case is handled outside your office or center")
    envelopes = await c.store.read_stream(case_id)
    state = initial_case_state()
    for env in envelopes:
        state = evolve_case(state, payload_of(env))
    return CaseDetail(state=CaseView.of(state), trail=[TrailEntry.of(e) for e in envelopes])
