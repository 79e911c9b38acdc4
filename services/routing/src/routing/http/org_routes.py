"""Org tree and reference data administration (role `admin`), and the tree for everyone.

Each POST is one admin command of `routing.domain.org_admin` and becomes event(s) on the
org stream, published on the routing topic — so who changed which post, roster or rule is
on the trail (责任追究制) and the other services' projections follow. The request bodies are
the commands' own fields (minus the actor, who is the caller), so the rules and error
messages are the domain's.

The statutory holiday schedule is reference data too: `POST /v1/org/holiday-schedules`
publishes a year's State Council notice (`routing.holiday_schedule_published`); the open
cases whose deadline depends on that year are then counted again (`cases.recompute`: a pass
starts at once, and every round of the deadline loop finishes what is left).
`GET /v1/org/holiday-schedules` shows the calendar every deadline is counted by.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, get_args

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from contracts.limits import (
    MAX_CATEGORIES,
    MAX_ITEM_CODES,
    MAX_ROSTER_ENTRIES,
    MAX_SHORT_LIST,
    Address,
    Category,
    Code,
    Identifier,
    Minutes,
    PersonName,
    Reason,
    UnitName,
)
from contracts.routing import Role, RosterEntry, ServiceLine
from contracts.workdays import YearSchedule
from eventkit.auth import Principal, authenticate, require_roles
from eventkit.idempotency import idempotency_key
from eventkit.openapi import errors

from ..cases.recompute import DeadlineRecomputer
from ..domain.org_admin import (
    AssignPost,
    CancelStaffAbsence,
    OrgCommand,
    PublishHolidaySchedule,
    RecordStaffAbsence,
    RegisterOffice,
    RegisterOrgUnit,
    RegisterStaff,
    ReparentOrgUnit,
    SetDelegationRule,
    SetDutyRoster,
    SetOfficeHours,
    SetServiceLines,
)
from ..domain.org_model import OrgState
from ..org.admin import OrgAdmin
from ..runtime import SYSTEM_ACTOR, RoutingRuntime
from .access import actor_of, subtree
from .deps import ctx, deadline_recomputer, org_admin
from .errors import refuse
from .idempotent import run_idempotent
from .views import EventRef, event_refs

log = logging.getLogger("routing.org")

router = APIRouter(prefix="/v1/org", tags=["org"])
Key = Annotated[str | None, Depends(idempotency_key)]
Admin = Depends(require_roles("admin"))


# What each field of an admin command holds (contracts.limits): the body bounds it, the
# command's own rules (id patterns, known references) still decide and name it.
_IDS = Annotated[tuple[Identifier, ...], Field(max_length=MAX_SHORT_LIST)]
LIMITS: dict[str, Any] = {
    **{
        name: Identifier
        for name in (
            "unit_id",
            "parent_id",
            "new_parent_id",
            "office_id",
            "staff_id",
            "post_id",
            "absence_id",
            "rule_id",
            "area_unit_id",
            "a_holder",
            "b_holder",
        )
    },
    "name_zh": UnitName,
    "reason": Reason,
    "basis_zh": Reason,
    "access_note_zh": Reason,
    "address_zh": Address,
    "item_code": Code,
    "travel_minutes_to_parent": Minutes,
    "categories": Annotated[tuple[Category, ...], Field(max_length=MAX_CATEGORIES)],
    "item_codes": Annotated[tuple[Code, ...], Field(max_length=MAX_ITEM_CODES)],
    "service_line_ids": Annotated[tuple[Code, ...], Field(max_length=MAX_SHORT_LIST)],
    "roles": Annotated[tuple[Role, ...], Field(max_length=MAX_SHORT_LIST)],
    "service_lines": Annotated[tuple[ServiceLine, ...], Field(max_length=MAX_SHORT_LIST)],
    "entries": Annotated[tuple[RosterEntry, ...], Field(max_length=MAX_ROSTER_ENTRIES)],
}
PER_COMMAND: dict[tuple[str, str], Any] = {("RegisterStaff", "name_zh"): PersonName}


def _bounded(command: type[BaseModel], name: str, f: FieldInfo) -> tuple[Any, FieldInfo]:
    """The field's annotation with its limit (optional stays optional); its own constraints
    and default are kept."""
    limit = PER_COMMAND.get((command.__name__, name), LIMITS.get(name))
    if limit is None:
        return f.annotation, f
    if type(None) in get_args(f.annotation):
        limit = limit | None
    return limit, f


def body_of(command: type[BaseModel], *path_fields: str) -> type[BaseModel]:
    """The request body of an admin command: its fields except the actor (the caller) and
    those taken from the path; the command's constraints and messages, plus the limits of
    what each field holds (`LIMITS`)."""
    fields: dict[str, Any] = {
        name: _bounded(command, name, f)
        for name, f in command.model_fields.items()
        if name != "actor" and name not in path_fields
    }
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{command.__name__}Body",
        __config__=ConfigDict(extra="forbid"),
        __doc__=command.__doc__,
        **fields,
    )


UnitBody = body_of(RegisterOrgUnit)
ReparentBody = body_of(ReparentOrgUnit, "unit_id")
HoursBody = body_of(SetOfficeHours, "unit_id")
LinesBody = body_of(SetServiceLines, "unit_id")
OfficeBody = body_of(RegisterOffice)
StaffBody = body_of(RegisterStaff)
PostBody = body_of(AssignPost)
RosterBody = body_of(SetDutyRoster)
AbsenceBody = body_of(RecordStaffAbsence)
CancelAbsenceBody = body_of(CancelStaffAbsence, "absence_id")
DelegationBody = body_of(SetDelegationRule)
HolidayBody = body_of(PublishHolidaySchedule)


class OrgCommandResult(BaseModel):
    org_version: int
    events: list[EventRef]


COMMAND: dict[str, Any] = {"response_model": OrgCommandResult, "responses": errors(404, 409)}
"""What every admin command answers: the new org version, or a refusal naming the field."""


async def _run(
    c: RoutingRuntime,
    admin: OrgAdmin,
    request: Request,
    principal: Principal,
    key: str | None,
    body: BaseModel,
    command_type: type[OrgCommand],
    **path: str,
) -> Response:
    try:
        command = command_type(actor=actor_of(principal), **dict(body), **path)
    except ValidationError as exc:  # a path value the command refuses: the caller's input
        raise RequestValidationError(
            [
                {**e, "loc": ("path" if e["loc"][0] in path else "body", *e["loc"])}
                for e in exc.errors()
            ]
        ) from None
    fingerprinted = {**body.model_dump(mode="json"), **path}

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        envelopes, version = await admin.decide_and_append(conn, command)
        result = OrgCommandResult(org_version=version, events=event_refs(envelopes))
        return 200, result.model_dump(mode="json")

    response = await run_idempotent(c, request, principal, key, fingerprinted, work)
    await admin.refresh()
    return response


UnitId = Annotated[Identifier, Path(description="An org unit id, e.g. `ruian.mayu.mabei`.")]


@router.post("/units", **COMMAND)
async def register_unit(
    body: UnitBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """Register a center of one of the three tiers under its parent."""
    return await _run(c, admin, request, principal, key, body, RegisterOrgUnit)


@router.post(
    "/units/{unit_id}/reparent", response_model=OrgCommandResult, responses=errors(404, 409)
)
async def reparent_unit(
    unit_id: UnitId,
    body: ReparentBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """Move a unit under another parent (行政区划调整), with a reason."""
    return await _run(c, admin, request, principal, key, body, ReparentOrgUnit, unit_id=unit_id)


@router.post(
    "/units/{unit_id}/office-hours", response_model=OrgCommandResult, responses=errors(404, 409)
)
async def set_office_hours(
    unit_id: UnitId,
    body: HoursBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """Replace a center's office hours (extended and staggered hours: 延时、错时办公)."""
    return await _run(c, admin, request, principal, key, body, SetOfficeHours, unit_id=unit_id)


@router.post(
    "/units/{unit_id}/service-lines", response_model=OrgCommandResult, responses=errors(404, 409)
)
async def set_service_lines(
    unit_id: UnitId,
    body: LinesBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """Replace a center's service lines (windows with clear duties)."""
    return await _run(c, admin, request, principal, key, body, SetServiceLines, unit_id=unit_id)


@router.post("/offices", **COMMAND)
async def register_office(
    body: OfficeBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """Register an office of a unit, taking categories and/or item codes."""
    return await _run(c, admin, request, principal, key, body, RegisterOffice)


@router.post("/staff", **COMMAND)
async def register_staff(
    body: StaffBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """Register a staff member of a unit with their roles (and office)."""
    return await _run(c, admin, request, principal, key, body, RegisterStaff)


@router.post("/posts", **COMMAND)
async def assign_post(
    body: PostBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """Create a post or change its A and B holders (AB岗工作制)."""
    return await _run(c, admin, request, principal, key, body, AssignPost)


@router.post("/roster", **COMMAND)
async def set_roster(
    body: RosterBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """Replace a unit's whole duty roster."""
    return await _run(c, admin, request, principal, key, body, SetDutyRoster)


@router.post("/absences", **COMMAND)
async def record_absence(
    body: AbsenceBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """Record a staff absence (leave, training...): B takes the A holder's new cases."""
    return await _run(c, admin, request, principal, key, body, RecordStaffAbsence)


@router.post(
    "/absences/{absence_id}/cancel", response_model=OrgCommandResult, responses=errors(404, 409)
)
async def cancel_absence(
    absence_id: Annotated[Identifier, Path()],
    body: CancelAbsenceBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """Cancel a recorded absence, with a reason."""
    return await _run(
        c, admin, request, principal, key, body, CancelStaffAbsence, absence_id=absence_id
    )


@router.post("/delegations", **COMMAND)
async def set_delegation(
    body: DelegationBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
) -> Response:
    """审批权限上提、下授: for an item in an area, handle at another tier, effective-dated."""
    return await _run(c, admin, request, principal, key, body, SetDelegationRule)


@router.post("/holiday-schedules", response_model=OrgCommandResult)
async def publish_holiday_schedule(
    body: HolidayBody,  # type: ignore[valid-type]
    request: Request,
    key: Key,
    principal: Principal = Admin,
    c: RoutingRuntime = Depends(ctx),
    admin: OrgAdmin = Depends(org_admin),
    recompute: DeadlineRecomputer = Depends(deadline_recomputer),
) -> Response:
    """Publish a year's statutory holiday schedule (国务院办公厅节假日安排通知): the notice
    number, the days off, the adjusted working weekend days. A year that has a schedule is
    changed only with `supersedes` (the notice in force, or "chinesecalendar") and a
    `reason` (409 otherwise). The open cases whose deadline depends on the year are counted
    again (`routing.deadline_recomputed`); intake revises its receipts the same way."""
    response = await _run(c, admin, request, principal, key, body, PublishHolidaySchedule)
    if response.status_code == 200:
        c.runtime.spawn(_recompute_now(c, recompute), "deadline_recompute")
    return response


async def _recompute_now(c: RoutingRuntime, recompute: DeadlineRecomputer) -> None:
    """The pass right after a publication (the deadline loop's rounds finish what is left)."""
    try:
        await recompute.recompute_stale(c.clock(), SYSTEM_ACTOR)
    except Exception:
        log.exception("deadline recompute after publication failed; the loop will retry")


def _year_view(s: YearSchedule) -> dict[str, Any]:
    return {
        "year": s.year,
        "official": s.official,
        "source": s.source,
        "notice_no": s.notice_no,
        "holidays": [d.isoformat() for d in sorted(s.holidays)],
        "makeup_workdays": [d.isoformat() for d in sorted(s.makeup_workdays)],
    }


@router.get("/holiday-schedules")
async def holiday_schedules(
    year: int | None = Query(default=None, ge=2000, le=2100, description="Only this year."),
    principal: Principal = Depends(authenticate),
    c: RoutingRuntime = Depends(ctx),
) -> dict[str, Any]:
    """The working-day calendar deadlines are counted by: each year's schedule, official (a
    published notice, or the chinesecalendar package) or provisional (an estimate: promises
    counted over it are marked provisional). Without `year`: the published years, the
    provisional estimates and the range of years the package carries."""
    async with c.pool.acquire() as conn:
        org, _ = await c.org.current(conn)
    cal = org.calendar
    if year is not None:
        return {"revision": cal.revision, "years": [_year_view(cal.year(year))]}
    published = [s for s in cal.years.values() if s.notice_no is not None]
    package = [y for y, s in cal.years.items() if s.notice_no is None]
    shown = sorted(
        [*published, *(s for y, s in cal.estimates.items() if y not in cal.years)],
        key=lambda s: s.year,
    )
    return {
        "revision": cal.revision,
        "package_years": [min(package), max(package)] if package else None,
        "years": [_year_view(s) for s in shown],
    }


# -- the tree ----------------------------------------------------------------------------------
DIRECTORY_READERS = ("community_agent", "officer", "center_head", "inspector", "admin")
"""Who reads the staff directory (names, A/B posts' holders, rosters: who works when).
Residents see the centers, their hours and offices, never the people (issue 18 #6)."""


def _directory_view(org: OrgState, unit_id: str) -> dict[str, Any]:
    """The people of one unit: its staff, its posts' A/B holders, its duty roster."""
    return {
        "staff": [
            {
                "staff_id": s.staff_id,
                "name_zh": s.name_zh,
                "roles": list(s.roles),
                "office_id": s.office_id,
            }
            for s in org.staff_of(unit_id)
        ],
        "posts": [
            {
                "post_id": p.post_id,
                "office_id": p.office_id,
                "name_zh": p.name_zh,
                "categories": list(p.categories),
                "service_line_ids": list(p.service_line_ids),
                "a_holder": p.a_holder,
                "b_holder": p.b_holder,
            }
            for p in sorted(org.posts.values(), key=lambda p: p.post_id)
            if p.unit_id == unit_id
        ],
        "roster": [e.model_dump(mode="json") for e in org.rosters.get(unit_id, ())],
    }


def _unit_view(
    org: OrgState,
    unit_id: str,
    children: dict[str, list[str]],
    admin: bool,
    people: bool,
    headed: frozenset[str] = frozenset(),
) -> Any:
    u = org.units[unit_id]
    view: dict[str, Any] = {
        "unit_id": u.unit_id,
        "name_zh": u.name_zh,
        "tier": u.tier,
        "kind": u.kind,
        "parent_id": u.parent_id,
        "is_island": u.is_island,
        "access_note_zh": u.access_note_zh,
        "address_zh": u.address_zh,
        "travel_minutes_to_parent": u.travel_minutes_to_parent,
        "office_hours": u.office_hours.model_dump(mode="json"),
        "service_lines": [line.model_dump(mode="json") for line in u.service_lines],
        "offices": [
            {
                "office_id": o.office_id,
                "name_zh": o.name_zh,
                "categories": list(o.categories),
                "item_codes": list(o.item_codes),
            }
            for o in org.offices_of(unit_id)
        ],
    }
    if people:
        view |= _directory_view(org, unit_id)
    # absences say why someone is away (sick leave...): the reason to reference-data admins
    # only; the head of the center (or of one above it) sees who is away, when and the kind,
    # to plan the A/B posts and rosters
    if admin or unit_id in headed:
        ids = {s.staff_id for s in org.staff_of(unit_id)}
        view["absences"] = [
            {
                "absence_id": a.absence_id,
                "staff_id": a.staff_id,
                "starts_at": a.starts_at.isoformat(),
                "ends_at": a.ends_at.isoformat(),
                "kind": a.kind,
                **({"reason": a.reason} if admin else {}),
                "cancelled": a.cancelled,
            }
            for a in sorted(org.absences.values(), key=lambda a: a.absence_id)
            if a.staff_id in ids
        ]
    view["children"] = [
        _unit_view(org, ch, children, admin, people, headed) for ch in children.get(unit_id, [])
    ]
    return view


@router.get("/tree", responses=errors(404))
async def tree(
    unit_id: Annotated[
        Identifier | None, Query(description="Only this unit and those below.")
    ] = None,
    principal: Principal = Depends(authenticate),
    c: RoutingRuntime = Depends(ctx),
) -> dict[str, Any]:
    """The org tree as it stands: units of the three tiers with their hours, service lines,
    offices and delegation rules, for any signed-in caller; for staff, inspectors and admins
    also each unit's staff, A/B posts and roster (the staff directory, `GET /v1/org/staff`).
    A resident sees the centers, never the people who work there. Absences to admins (with
    the reason) and to the head of the center or of one above it."""
    async with c.pool.acquire() as conn:
        org, version = await c.org.current(conn)
    if unit_id is not None and unit_id not in org.units:
        raise refuse(404, "unit_id", f"no org unit {unit_id!r}")
    children: dict[str, list[str]] = {}
    for u in sorted(org.units.values(), key=lambda u: u.unit_id):
        if u.parent_id is not None:
            children.setdefault(u.parent_id, []).append(u.unit_id)
    roots = [unit_id] if unit_id else sorted(u for u, x in org.units.items() if x.parent_id is None)
    area = subtree(org, unit_id) if unit_id else frozenset(org.units)
    admin = principal.role == "admin"
    people = principal.role in DIRECTORY_READERS
    headed = (
        subtree(org, principal.org_id)
        if principal.role == "center_head"
        and principal.org_id is not None
        and principal.org_id in org.units
        else frozenset()
    )
    return {
        "org_version": version,
        "units": [_unit_view(org, r, children, admin, people, headed) for r in roots],
        "delegation_rules": [
            {
                "rule_id": r.rule_id,
                "item_code": r.item_code,
                "area_unit_id": r.area_unit_id,
                "handling_tier": r.handling_tier,
                "direction": r.direction,
                "effective_from": r.effective_from.isoformat(),
                "effective_to": r.effective_to.isoformat() if r.effective_to else None,
                "basis_zh": r.basis_zh,
            }
            for r in sorted(org.delegation_rules.values(), key=lambda r: r.rule_id)
            if r.area_unit_id in area or unit_id is None
        ],
    }


@router.get("/staff", responses=errors(404))
async def staff_directory(
    unit_id: Annotated[
        Identifier | None, Query(description="Only this unit and those below.")
    ] = None,
    principal: Principal = Depends(require_roles(*DIRECTORY_READERS)),
    c: RoutingRuntime = Depends(ctx),
) -> dict[str, Any]:
    """The staff directory: each unit's staff, A/B posts with their holders and duty roster.
    Staff, inspectors and admins; residents are refused (who works when is not theirs)."""
    async with c.pool.acquire() as conn:
        org, version = await c.org.current(conn)
    if unit_id is not None and unit_id not in org.units:
        raise refuse(404, "unit_id", f"no org unit {unit_id!r}")
    area = subtree(org, unit_id) if unit_id else frozenset(org.units)
    return {
        "org_version": version,
        "units": [{"unit_id": u, **_directory_view(org, u)} for u in sorted(area)],
    }
