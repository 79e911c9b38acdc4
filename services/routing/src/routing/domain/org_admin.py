"""Administration of the org tree and reference data: the org aggregate's decider.

Which office approves what, who holds which post and who is on duty are configuration,
not code (审批权限上提、下授 is a rule, not a release). Admins change them only through these
commands; each accepted command is one event on the org stream, so the tree on any past
day can be rebuilt and every change names who made it.

    decide_org(command, state, now) -> [event]      evolve_org(state, event) -> state

Validation here keeps the tree well-formed: ids unique, parents known, tiers stacked
city > town/street > community/village with matching kinds, no cycles, posts held by two
different members of the unit's staff, rosters naming only the unit's staff.

The statutory holiday schedule is reference data too (`PublishHolidaySchedule`): the State
Council's notice for a year, validated and never changed silently by the one rule of
`contracts.holiday_schedules`, folded into the tree's working-day calendar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import DomainEvent
from contracts.holiday_schedules import (
    ScheduleRefused,
    calendar_with,
    check_publication,
    published_schedule,
)
from contracts.routing import (
    AbsenceKind,
    DelegationRuleSet,
    DutyRosterSet,
    HolidaySchedulePublished,
    HopDirection,
    OfficeHoursSet,
    OfficeRegistered,
    OrgUnitRegistered,
    OrgUnitReparented,
    PostAssigned,
    Role,
    RosterEntry,
    ServiceLine,
    ServiceLinesSet,
    StaffAbsenceCancelled,
    StaffAbsenceRecorded,
    StaffRegistered,
    Tier,
    UnitKind,
)
from contracts.workdays import OfficeHours
from eventkit.envelope import Actor

from .errors import AlreadyExists, InvalidValue, NotPermitted, UnknownReference, WrongState
from .org_model import (
    KINDS_BY_TIER,
    PARENT_TIER,
    Absence,
    DelegationRule,
    Office,
    OrgState,
    OrgUnit,
    Post,
    Staff,
)

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
POST_HOLDER_ROLES = frozenset({"officer", "community_agent", "center_head"})


class _OrgCommand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor


class RegisterOrgUnit(_OrgCommand):
    unit_id: str = Field(pattern=ID_PATTERN)
    name_zh: str = Field(min_length=1)
    tier: Tier
    kind: UnitKind
    parent_id: str | None = None
    is_island: bool = False
    access_note_zh: str | None = None
    address_zh: str | None = None
    travel_minutes_to_parent: int | None = Field(default=None, ge=0)
    office_hours: OfficeHours
    service_lines: tuple[ServiceLine, ...] = ()


class ReparentOrgUnit(_OrgCommand):
    unit_id: str
    new_parent_id: str
    reason: str = Field(min_length=1)


class SetOfficeHours(_OrgCommand):
    unit_id: str
    office_hours: OfficeHours


class SetServiceLines(_OrgCommand):
    unit_id: str
    service_lines: tuple[ServiceLine, ...]


class RegisterOffice(_OrgCommand):
    office_id: str = Field(pattern=ID_PATTERN)
    unit_id: str
    name_zh: str = Field(min_length=1)
    categories: tuple[str, ...] = ()
    item_codes: tuple[str, ...] = ()


class RegisterStaff(_OrgCommand):
    """A staff member joins a unit; `phone` / `email` are the work contacts notify uses to
    tell them of their cases, deadlines, escalations and follow-ups (without one, nobody
    reaches them)."""

    staff_id: str = Field(pattern=ID_PATTERN)
    name_zh: str = Field(min_length=1)
    roles: tuple[Role, ...] = Field(min_length=1)
    unit_id: str
    office_id: str | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{6,15}$")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class AssignPost(_OrgCommand):
    """Create a post or change its holders (the same `post_id` again replaces it)."""

    post_id: str = Field(pattern=ID_PATTERN)
    unit_id: str
    office_id: str
    name_zh: str = Field(min_length=1)
    categories: tuple[str, ...] = Field(min_length=1)
    service_line_ids: tuple[str, ...] = ()
    a_holder: str
    b_holder: str


class SetDutyRoster(_OrgCommand):
    unit_id: str
    entries: tuple[RosterEntry, ...]


class RecordStaffAbsence(_OrgCommand):
    absence_id: str = Field(pattern=ID_PATTERN)
    staff_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    kind: AbsenceKind
    reason: str | None = None


class CancelStaffAbsence(_OrgCommand):
    absence_id: str
    reason: str = Field(min_length=1)


class SetDelegationRule(_OrgCommand):
    rule_id: str = Field(pattern=ID_PATTERN)
    item_code: str = Field(min_length=1)
    area_unit_id: str
    handling_tier: Tier
    direction: HopDirection
    effective_from: date
    effective_to: date | None = None
    basis_zh: str = Field(min_length=1)


class PublishHolidaySchedule(_OrgCommand):
    """Publish a year's statutory holiday schedule (国务院办公厅关于X年部分节假日安排的通知):
    its notice number, the days off (weekend days inside a holiday included) and the adjusted
    working weekend days (调休上班). A year that already has a schedule is changed only by
    naming the one it `supersedes` (its notice number, or "chinesecalendar") with a `reason`."""

    year: int = Field(ge=2000, le=2100)
    notice_no: str = Field(min_length=1, max_length=100)
    holidays: tuple[date, ...] = Field(max_length=120)
    makeup_workdays: tuple[date, ...] = Field(default=(), max_length=30)
    supersedes: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=500)


OrgCommand = (
    RegisterOrgUnit
    | ReparentOrgUnit
    | SetOfficeHours
    | SetServiceLines
    | RegisterOffice
    | RegisterStaff
    | AssignPost
    | SetDutyRoster
    | RecordStaffAbsence
    | CancelStaffAbsence
    | SetDelegationRule
    | PublishHolidaySchedule
)


def initial_org_state() -> OrgState:
    return OrgState()


# -- decide ------------------------------------------------------------------------------------
def decide_org(command: OrgCommand, state: OrgState, now: datetime) -> list[DomainEvent]:
    """Validate one admin command against the tree; the event(s) it causes, or a DomainError."""
    if command.actor.role != "admin":
        raise NotPermitted("actor", f"role {command.actor.role!r} may not change reference data")
    handler = _DECIDERS.get(type(command))
    if handler is None:
        raise InvalidValue("command", f"unknown org command {type(command).__name__}")
    return handler(command, state, now)


def _unit(state: OrgState, unit_id: str, field_name: str = "unit_id") -> None:
    if unit_id not in state.units:
        raise UnknownReference(field_name, f"no org unit {unit_id!r}")


def _service_lines_ok(lines: tuple[ServiceLine, ...]) -> None:
    ids = [line.line_id for line in lines]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InvalidValue("service_lines", f"duplicate line ids {dupes}")


def _register_unit(cmd: RegisterOrgUnit, state: OrgState, now: datetime) -> list[DomainEvent]:
    if cmd.unit_id in state.units:
        raise AlreadyExists("unit_id", f"org unit {cmd.unit_id!r} already registered")
    if cmd.kind not in KINDS_BY_TIER[cmd.tier]:
        allowed = sorted(KINDS_BY_TIER[cmd.tier])
        raise InvalidValue("kind", f"a {cmd.tier} unit is one of {allowed}, not {cmd.kind}")
    wanted = PARENT_TIER[cmd.tier]
    if wanted is None:
        if cmd.parent_id is not None:
            raise InvalidValue("parent_id", "a city center is the root and has no parent")
    else:
        if cmd.parent_id is None:
            raise InvalidValue("parent_id", f"a {cmd.tier} unit needs a {wanted} parent")
        _unit(state, cmd.parent_id, "parent_id")
        parent_tier = state.units[cmd.parent_id].tier
        if parent_tier != wanted:
            raise InvalidValue(
                "parent_id",
                f"a {cmd.tier} unit's parent must be a {wanted} unit, "
                f"{cmd.parent_id!r} is {parent_tier}",
            )
    _service_lines_ok(cmd.service_lines)
    return [
        OrgUnitRegistered(
            unit_id=cmd.unit_id,
            name_zh=cmd.name_zh,
            tier=cmd.tier,
            kind=cmd.kind,
            parent_id=cmd.parent_id,
            is_island=cmd.is_island,
            access_note_zh=cmd.access_note_zh,
            address_zh=(cmd.address_zh or "").strip() or None,
            travel_minutes_to_parent=cmd.travel_minutes_to_parent,
            office_hours=cmd.office_hours,
            service_lines=cmd.service_lines,
            registered_by=cmd.actor.id,
        )
    ]


def _reparent(cmd: ReparentOrgUnit, state: OrgState, now: datetime) -> list[DomainEvent]:
    _unit(state, cmd.unit_id)
    _unit(state, cmd.new_parent_id, "new_parent_id")
    unit = state.units[cmd.unit_id]
    if unit.parent_id is None:
        raise InvalidValue("unit_id", "the city center is the root and cannot move")
    if state.is_within(cmd.new_parent_id, cmd.unit_id):
        raise InvalidValue("new_parent_id", "a unit cannot move under itself (cycle)")
    wanted = PARENT_TIER[unit.tier]
    if state.units[cmd.new_parent_id].tier != wanted:
        raise InvalidValue("new_parent_id", f"a {unit.tier} unit's parent must be {wanted}")
    if unit.parent_id == cmd.new_parent_id:
        raise InvalidValue("new_parent_id", "the unit is already there")
    return [
        OrgUnitReparented(
            unit_id=cmd.unit_id,
            old_parent_id=unit.parent_id,
            new_parent_id=cmd.new_parent_id,
            reason=cmd.reason,
            reparented_by=cmd.actor.id,
        )
    ]


def _office_hours(cmd: SetOfficeHours, state: OrgState, now: datetime) -> list[DomainEvent]:
    _unit(state, cmd.unit_id)
    return [OfficeHoursSet(unit_id=cmd.unit_id, office_hours=cmd.office_hours, set_by=cmd.actor.id)]


def _service_lines(cmd: SetServiceLines, state: OrgState, now: datetime) -> list[DomainEvent]:
    _unit(state, cmd.unit_id)
    _service_lines_ok(cmd.service_lines)
    kept = {line.line_id for line in cmd.service_lines}
    for post in state.posts.values():
        lost = sorted(set(post.service_line_ids) - kept)
        if post.unit_id == cmd.unit_id and lost:
            raise InvalidValue("service_lines", f"post {post.post_id!r} still runs lines {lost}")
    return [
        ServiceLinesSet(unit_id=cmd.unit_id, service_lines=cmd.service_lines, set_by=cmd.actor.id)
    ]


def _register_office(cmd: RegisterOffice, state: OrgState, now: datetime) -> list[DomainEvent]:
    if cmd.office_id in state.offices:
        raise AlreadyExists("office_id", f"office {cmd.office_id!r} already registered")
    _unit(state, cmd.unit_id)
    if not cmd.categories and not cmd.item_codes:
        raise InvalidValue("categories", "an office must take some categories or item codes")
    if any(not c.strip() for c in (*cmd.categories, *cmd.item_codes)):
        raise InvalidValue("categories", "a category or item code cannot be blank")
    return [
        OfficeRegistered(
            office_id=cmd.office_id,
            unit_id=cmd.unit_id,
            tier=state.units[cmd.unit_id].tier,
            name_zh=cmd.name_zh,
            categories=cmd.categories,
            item_codes=cmd.item_codes,
            registered_by=cmd.actor.id,
        )
    ]


def _register_staff(cmd: RegisterStaff, state: OrgState, now: datetime) -> list[DomainEvent]:
    if cmd.staff_id in state.staff:
        raise AlreadyExists("staff_id", f"staff {cmd.staff_id!r} already registered")
    _unit(state, cmd.unit_id)
    if cmd.office_id is not None:
        office = state.offices.get(cmd.office_id)
        if office is None:
            raise UnknownReference("office_id", f"no office {cmd.office_id!r}")
        if office.unit_id != cmd.unit_id:
            raise InvalidValue("office_id", f"office {cmd.office_id!r} is not in {cmd.unit_id}")
    if "resident" in cmd.roles:
        raise InvalidValue("roles", "residents are not staff")
    return [
        StaffRegistered(
            staff_id=cmd.staff_id,
            name_zh=cmd.name_zh,
            roles=tuple(dict.fromkeys(cmd.roles)),
            unit_id=cmd.unit_id,
            office_id=cmd.office_id,
            registered_by=cmd.actor.id,
            phone=cmd.phone,
            email=cmd.email,
        )
    ]


def _holder(state: OrgState, staff_id: str, unit_id: str, field_name: str) -> None:
    staff = state.staff.get(staff_id)
    if staff is None:
        raise UnknownReference(field_name, f"no staff {staff_id!r}")
    if staff.unit_id != unit_id:
        raise InvalidValue(field_name, f"{staff_id!r} works at {staff.unit_id}, not {unit_id}")
    if not POST_HOLDER_ROLES.intersection(staff.roles):
        raise InvalidValue(field_name, f"{staff_id!r} has no role that can hold a post")


def _assign_post(cmd: AssignPost, state: OrgState, now: datetime) -> list[DomainEvent]:
    _unit(state, cmd.unit_id)
    office = state.offices.get(cmd.office_id)
    if office is None:
        raise UnknownReference("office_id", f"no office {cmd.office_id!r}")
    if office.unit_id != cmd.unit_id:
        raise InvalidValue("office_id", f"office {cmd.office_id!r} is not in {cmd.unit_id}")
    existing = state.posts.get(cmd.post_id)
    if existing is not None and existing.office_id != cmd.office_id:
        raise InvalidValue("post_id", f"post {cmd.post_id!r} belongs to {existing.office_id}")
    _holder(state, cmd.a_holder, cmd.unit_id, "a_holder")
    _holder(state, cmd.b_holder, cmd.unit_id, "b_holder")
    if cmd.a_holder == cmd.b_holder:
        raise InvalidValue("b_holder", "the B holder must be a different person from A (AB岗)")
    lines = {line.line_id for line in state.units[cmd.unit_id].service_lines}
    unknown = sorted(set(cmd.service_line_ids) - lines)
    if unknown:
        raise UnknownReference("service_line_ids", f"no such lines in {cmd.unit_id}: {unknown}")
    return [
        PostAssigned(
            post_id=cmd.post_id,
            unit_id=cmd.unit_id,
            office_id=cmd.office_id,
            name_zh=cmd.name_zh,
            categories=cmd.categories,
            service_line_ids=cmd.service_line_ids,
            a_holder=cmd.a_holder,
            b_holder=cmd.b_holder,
            assigned_by=cmd.actor.id,
        )
    ]


def _duty_roster(cmd: SetDutyRoster, state: OrgState, now: datetime) -> list[DomainEvent]:
    _unit(state, cmd.unit_id)
    lines = {line.line_id for line in state.units[cmd.unit_id].service_lines}
    for i, entry in enumerate(cmd.entries):
        unknown = [ln for ln in entry.line_ids if ln not in lines]
        if unknown:
            raise UnknownReference(
                f"entries[{i}].line_ids", f"{cmd.unit_id} has no service line {unknown[0]!r}"
            )
        staff = state.staff.get(entry.staff_id)
        if staff is None:
            raise UnknownReference(f"entries[{i}].staff_id", f"no staff {entry.staff_id!r}")
        if staff.unit_id != cmd.unit_id:
            raise InvalidValue(
                f"entries[{i}].staff_id", f"{entry.staff_id!r} is not staff of {cmd.unit_id}"
            )
    return [DutyRosterSet(unit_id=cmd.unit_id, entries=cmd.entries, set_by=cmd.actor.id)]


def _absence(cmd: RecordStaffAbsence, state: OrgState, now: datetime) -> list[DomainEvent]:
    if cmd.absence_id in state.absences:
        raise AlreadyExists("absence_id", f"absence {cmd.absence_id!r} already recorded")
    if cmd.staff_id not in state.staff:
        raise UnknownReference("staff_id", f"no staff {cmd.staff_id!r}")
    if not cmd.starts_at < cmd.ends_at:
        raise InvalidValue("ends_at", "an absence must end after it starts")
    return [
        StaffAbsenceRecorded(
            absence_id=cmd.absence_id,
            staff_id=cmd.staff_id,
            starts_at=cmd.starts_at,
            ends_at=cmd.ends_at,
            kind=cmd.kind,
            reason=cmd.reason,
            recorded_by=cmd.actor.id,
        )
    ]


def _cancel_absence(cmd: CancelStaffAbsence, state: OrgState, now: datetime) -> list[DomainEvent]:
    absence = state.absences.get(cmd.absence_id)
    if absence is None:
        raise UnknownReference("absence_id", f"no absence {cmd.absence_id!r}")
    if absence.cancelled:
        raise WrongState("absence_id", "the absence is already cancelled")
    return [
        StaffAbsenceCancelled(
            absence_id=cmd.absence_id,
            staff_id=absence.staff_id,
            reason=cmd.reason,
            cancelled_by=cmd.actor.id,
        )
    ]


def _delegation(cmd: SetDelegationRule, state: OrgState, now: datetime) -> list[DomainEvent]:
    _unit(state, cmd.area_unit_id, "area_unit_id")
    if cmd.effective_to is not None and cmd.effective_to < cmd.effective_from:
        raise InvalidValue("effective_to", "a rule cannot end before it takes effect")
    return [
        DelegationRuleSet(
            rule_id=cmd.rule_id,
            item_code=cmd.item_code,
            area_unit_id=cmd.area_unit_id,
            handling_tier=cmd.handling_tier,
            direction=cmd.direction,
            effective_from=cmd.effective_from,
            effective_to=cmd.effective_to,
            basis_zh=cmd.basis_zh,
            set_by=cmd.actor.id,
        )
    ]


def _holiday_schedule(
    cmd: PublishHolidaySchedule, state: OrgState, now: datetime
) -> list[DomainEvent]:
    try:
        schedule = published_schedule(cmd.year, cmd.notice_no, cmd.holidays, cmd.makeup_workdays)
        if not check_publication(
            state.calendar, schedule, supersedes=cmd.supersedes, reason=cmd.reason
        ):
            return []  # the same notice again: already in force
    except ScheduleRefused as refused:
        error = WrongState if refused.conflict else InvalidValue
        raise error(refused.field, refused.reason, code=refused.code, ctx=refused.ctx) from None
    supersedes = (cmd.supersedes or "").strip() or None
    return [
        HolidaySchedulePublished(
            year=cmd.year,
            notice_no=schedule.source_ref,
            holidays=tuple(sorted(schedule.holidays)),
            makeup_workdays=tuple(sorted(schedule.makeup_workdays)),
            supersedes=supersedes,
            reason=((cmd.reason or "").strip() or None) if supersedes else None,
            published_by=cmd.actor.id,
        )
    ]


_DECIDERS: dict[type, Callable[[Any, OrgState, datetime], list[DomainEvent]]] = {
    RegisterOrgUnit: _register_unit,
    ReparentOrgUnit: _reparent,
    SetOfficeHours: _office_hours,
    SetServiceLines: _service_lines,
    RegisterOffice: _register_office,
    RegisterStaff: _register_staff,
    AssignPost: _assign_post,
    SetDutyRoster: _duty_roster,
    RecordStaffAbsence: _absence,
    CancelStaffAbsence: _cancel_absence,
    SetDelegationRule: _delegation,
    PublishHolidaySchedule: _holiday_schedule,
}


# -- evolve ------------------------------------------------------------------------------------
def evolve_org(state: OrgState, evt: DomainEvent) -> OrgState:
    """Fold one org event into the state; events of other types leave it unchanged."""
    match evt:
        case OrgUnitRegistered():
            unit = OrgUnit(
                unit_id=evt.unit_id,
                name_zh=evt.name_zh,
                tier=evt.tier,
                kind=evt.kind,
                parent_id=evt.parent_id,
                office_hours=evt.office_hours,
                service_lines=evt.service_lines,
                is_island=evt.is_island,
                access_note_zh=evt.access_note_zh,
                address_zh=evt.address_zh,
                travel_minutes_to_parent=evt.travel_minutes_to_parent,
            )
            state = replace(state, units={**state.units, unit.unit_id: unit})
        case OrgUnitReparented():
            unit = replace(state.units[evt.unit_id], parent_id=evt.new_parent_id)
            state = replace(state, units={**state.units, unit.unit_id: unit})
        case OfficeHoursSet():
            unit = replace(state.units[evt.unit_id], office_hours=evt.office_hours)
            state = replace(state, units={**state.units, unit.unit_id: unit})
        case ServiceLinesSet():
            unit = replace(state.units[evt.unit_id], service_lines=evt.service_lines)
            state = replace(state, units={**state.units, unit.unit_id: unit})
        case OfficeRegistered():
            office = Office(evt.office_id, evt.unit_id, evt.name_zh, evt.categories, evt.item_codes)
            state = replace(state, offices={**state.offices, office.office_id: office})
        case StaffRegistered():
            staff = Staff(evt.staff_id, evt.name_zh, evt.roles, evt.unit_id, evt.office_id)
            state = replace(state, staff={**state.staff, staff.staff_id: staff})
        case PostAssigned():
            post = Post(
                post_id=evt.post_id,
                unit_id=evt.unit_id,
                office_id=evt.office_id,
                name_zh=evt.name_zh,
                categories=evt.categories,
                a_holder=evt.a_holder,
                b_holder=evt.b_holder,
                service_line_ids=evt.service_line_ids,
            )
            state = replace(state, posts={**state.posts, post.post_id: post})
        case DutyRosterSet():
            state = replace(state, rosters={**state.rosters, evt.unit_id: evt.entries})
        case StaffAbsenceRecorded():
            absence = Absence(
                evt.absence_id, evt.staff_id, evt.starts_at, evt.ends_at, evt.kind, evt.reason
            )
            state = replace(state, absences={**state.absences, absence.absence_id: absence})
        case StaffAbsenceCancelled():
            absence = replace(state.absences[evt.absence_id], cancelled=True)
            state = replace(state, absences={**state.absences, absence.absence_id: absence})
        case DelegationRuleSet():
            rule = DelegationRule(
                rule_id=evt.rule_id,
                item_code=evt.item_code,
                area_unit_id=evt.area_unit_id,
                handling_tier=evt.handling_tier,
                direction=evt.direction,
                effective_from=evt.effective_from,
                effective_to=evt.effective_to,
                basis_zh=evt.basis_zh,
            )
            state = replace(state, delegation_rules={**state.delegation_rules, rule.rule_id: rule})
        case HolidaySchedulePublished():
            state = replace(state, calendar=calendar_with(state.calendar, evt))
        case _:
            return state
    return replace(state, version=state.version + 1)
