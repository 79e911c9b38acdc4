"""Events published by routing: the org tree and reference data, and each case's route.

Two kinds of stream:
- the org stream (`routing.ORG_STREAM_ID`): org units of the three tiers, offices, staff,
  posts (AB岗), duty rosters, absences and delegation rules (审批权限上提、下授). Reference
  data is changed only through admin commands, and every change is one of these events,
  so the tree on any past day can be rebuilt and an inspector sees who changed what.
- the case stream (`case-<hex>`, the id intake gave): route, hand-offs between tiers
  (全程代理), assignment to the A or B holder, deadline, correction pauses (补正), decision,
  the result carried back down, deadline warnings / overdue / escalation, and the follow-up
  of a bad review.

Every event names its actor in the payload (`registered_by`, `assigned_by`, `decided_by`,
...: 责任追究制). Case events carry `org_id` and `tier` of the handling unit so the edge can
put them on the envelope and per-center statistics need no join.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.base import DomainEvent, event
from contracts.limits import (
    MAX_CATEGORIES,
    MAX_CODE,
    MAX_ID,
    MAX_ITEM_CODES,
    MAX_MATERIALS,
    MAX_ROSTER_ENTRIES,
    MAX_SHORT_LIST,
    ActorId,
    Address,
    Category,
    Code,
    Email,
    Identifier,
    Int32,
    Note,
    PersonName,
    Phone,
    Reason,
    Title,
    UnitName,
)
from contracts.workdays import OfficeHours

ORG_STREAM_ID = "org-ruian"
"""The single stream holding Rui'an's org tree and reference data."""

Tier = Literal["community", "town", "city"]
TIER_RANK: dict[str, int] = {"community": 0, "town": 1, "city": 2}
UnitKind = Literal["社区", "村", "街道", "镇", "市中心"]
Role = Literal["resident", "community_agent", "officer", "center_head", "inspector", "admin"]
PostRole = Literal["A", "B", "center_head"]
Decision = Literal["approve", "refuse"]  # the same words as intake.decision_received
HopDirection = Literal["up", "down"]
AbsenceKind = Literal["leave", "sick_leave", "training", "business_trip", "other"]

ALL_CATEGORIES = "*"
"""An office or post whose categories include this takes every category (综合窗口)."""

_ID = r"^[a-z0-9][a-z0-9_.-]*$"


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceLine(_Value):
    """A service line (办事窗口/条线) of a center: a window with clear duties (明确各自职责)."""

    line_id: str = Field(pattern=_ID, max_length=MAX_CODE)
    name_zh: UnitName
    categories: tuple[Category, ...] = Field(min_length=1, max_length=MAX_CATEGORIES)
    duties_zh: Annotated[tuple[Title, ...], Field(max_length=MAX_SHORT_LIST)] = ()
    item_codes: Annotated[tuple[Code, ...], Field(max_length=MAX_ITEM_CODES)] = ()
    """Items this line takes by name (育才's 老年人服务 takes 老年优待证 among the 民政
    items); a line naming an item takes it before the lines taking its category."""


def lines_taking(lines: Sequence[Mapping[str, Any]], category: str | None) -> list[str]:
    """The ids of the service lines that take a case of `category`: each line whose
    categories list it (or ``*``, every category). A case counts in each of them (the
    board's per-line figures); none when the center has no line for it. Lines as JSON."""
    if category is None:
        return []
    return [
        str(line["line_id"])
        for line in lines
        if category in line.get("categories", ()) or "*" in line.get("categories", ())
    ]


def line_for(
    lines: Sequence[Mapping[str, Any]], item_code: str | None, category: str | None
) -> str | None:
    """THE rule: the one service line a case belongs to at a center — the first line naming
    the item (`item_codes`); else, of the lines taking its category (`lines_taking`: the
    category or ``*``), the first naming no items (a line naming items is there for those:
    育才's 自来水缴费 takes the water bill, the other "other" items go to 咨询与全程代理),
    else the first of them; in the center's order. None when the center has no line for it
    (or no lines). Lines as JSON (`ServiceLine.model_dump()`)."""
    if item_code is not None:
        for line in lines:
            if item_code in line.get("item_codes", ()):
                return str(line["line_id"])
    taking = set(lines_taking(lines, category))
    candidates = [line for line in lines if line["line_id"] in taking]
    general = [line for line in candidates if not line.get("item_codes")]
    chosen = (general or candidates)[:1]
    return str(chosen[0]["line_id"]) if chosen else None


class RosterEntry(_Value):
    """One rule of a duty roster: `staff_id` is on duty from `starts` to `ends` (local time)

    on every statutory working day (`working_days`), on the given `weekdays` (0 = Monday)
    unless the day is a statutory holiday — this is how Saturday-morning duty at a center
    with extended hours is written — and on the listed `dates`, within the optional
    `valid_from` .. `valid_to` (inclusive). `line_ids` are the service lines (服务条线)
    they serve in those hours (empty: any line of the unit); several entries give one
    person different lines at different hours (错时: a morning and an afternoon shift).
    """

    staff_id: str = Field(pattern=_ID, max_length=MAX_ID)
    starts: time
    ends: time
    working_days: bool = False
    weekdays: tuple[int, ...] = Field(default=(), max_length=7)
    dates: tuple[date, ...] = Field(default=(), max_length=366)
    valid_from: date | None = None
    valid_to: date | None = None
    line_ids: Annotated[tuple[Code, ...], Field(max_length=MAX_SHORT_LIST)] = ()

    def serves(self, line_id: str | None) -> bool:
        """Whether this entry's hours are for `line_id` (any line when it names none)."""
        return not self.line_ids or line_id is None or line_id in self.line_ids

    @model_validator(mode="after")
    def _valid(self) -> RosterEntry:
        if not self.starts < self.ends:
            raise ValueError("a duty must start before it ends")
        if not (self.working_days or self.weekdays or self.dates):
            raise ValueError("a roster entry must name working_days, weekdays or dates")
        if any(not 0 <= wd <= 6 for wd in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) .. 6 (Sunday)")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


# -- org tree and reference data ---------------------------------------------------------------
@event
class OrgUnitRegistered(DomainEvent):
    """A center of one of the three tiers joined the tree. `address_zh` (where residents
    go; optional, added after the first events: an event without it reads as None)."""

    event_type = "routing.org_unit_registered"

    unit_id: Identifier
    name_zh: UnitName
    tier: Tier
    kind: UnitKind
    parent_id: Identifier | None
    is_island: bool = False
    access_note_zh: Reason | None = None
    travel_minutes_to_parent: Int32 | None = None
    office_hours: OfficeHours
    service_lines: Annotated[tuple[ServiceLine, ...], Field(max_length=MAX_SHORT_LIST)] = ()
    registered_by: ActorId
    address_zh: Address | None = None


@event
class OrgUnitReparented(DomainEvent):
    """A unit moved under another parent (行政区划调整, villages merged into communities)."""

    event_type = "routing.org_unit_reparented"

    unit_id: Identifier
    old_parent_id: Identifier
    new_parent_id: Identifier
    reason: Reason
    reparented_by: ActorId


@event
class OfficeHoursSet(DomainEvent):
    """A center changed its hours (extended, staggered: 延时/错时办公)."""

    event_type = "routing.office_hours_set"

    unit_id: Identifier
    office_hours: OfficeHours
    set_by: ActorId


@event
class ServiceLinesSet(DomainEvent):
    """A center redrew its service lines (e.g. 12 lines run by 6 staff)."""

    event_type = "routing.service_lines_set"

    unit_id: Identifier
    service_lines: Annotated[tuple[ServiceLine, ...], Field(max_length=MAX_SHORT_LIST)]
    set_by: ActorId


@event
class OfficeRegistered(DomainEvent):
    """An office inside a unit (计生办, 民政办, 社保所, a city section, a 警务室...).

    It takes the listed item codes (a 警务室 takes e-bike registration only) and the listed
    categories; `*` among the categories makes it the unit's general window.
    """

    event_type = "routing.office_registered"

    office_id: Identifier
    unit_id: Identifier
    tier: Tier
    name_zh: UnitName
    categories: Annotated[tuple[Category, ...], Field(max_length=MAX_CATEGORIES)]
    item_codes: Annotated[tuple[Code, ...], Field(max_length=MAX_ITEM_CODES)] = ()
    registered_by: ActorId


@event
class StaffRegistered(DomainEvent):
    event_type = "routing.staff_registered"

    staff_id: Identifier
    name_zh: PersonName
    roles: Annotated[tuple[Role, ...], Field(max_length=MAX_SHORT_LIST)]
    unit_id: Identifier
    office_id: Identifier | None = None
    registered_by: ActorId
    phone: Phone | None = None  # work contact for notifications (SMS)
    email: Email | None = None  # work contact for notifications (e-mail)


@event
class PostAssigned(DomainEvent):
    """A post (岗位) and its A and B holders (AB岗工作制); re-sent when holders change."""

    event_type = "routing.post_assigned"

    post_id: Identifier
    unit_id: Identifier
    office_id: Identifier
    name_zh: UnitName
    categories: Annotated[tuple[Category, ...], Field(max_length=MAX_CATEGORIES)]
    service_line_ids: Annotated[tuple[Code, ...], Field(max_length=MAX_SHORT_LIST)] = ()
    a_holder: ActorId
    b_holder: ActorId
    assigned_by: ActorId


@event
class DutyRosterSet(DomainEvent):
    """The whole duty roster of a unit (replaces the previous one)."""

    event_type = "routing.duty_roster_set"

    unit_id: Identifier
    entries: Annotated[tuple[RosterEntry, ...], Field(max_length=MAX_ROSTER_ENTRIES)]
    set_by: ActorId


@event
class StaffAbsenceRecorded(DomainEvent):
    event_type = "routing.staff_absence_recorded"

    absence_id: Identifier
    staff_id: Identifier
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    kind: AbsenceKind
    reason: Reason | None = None
    recorded_by: ActorId


@event
class StaffAbsenceCancelled(DomainEvent):
    event_type = "routing.staff_absence_cancelled"

    absence_id: Identifier
    staff_id: Identifier
    reason: Reason
    cancelled_by: ActorId


@event
class DelegationRuleSet(DomainEvent):
    """审批权限上提/下授: for `item_code` in the subtree of `area_unit_id`, handle at

    `handling_tier` from `effective_from` to `effective_to` (inclusive; open-ended when
    None). Setting an existing `rule_id` again replaces it (e.g. to end it).
    """

    event_type = "routing.delegation_rule_set"

    rule_id: Identifier
    item_code: Code
    area_unit_id: Identifier
    handling_tier: Tier
    direction: HopDirection
    effective_from: date
    effective_to: date | None = None
    basis_zh: Reason
    set_by: ActorId


@event
class HolidaySchedulePublished(DomainEvent):
    """A year's statutory holiday schedule (放假调休安排) as the State Council's notice sets
    it: the days off and the adjusted working weekend days (调休上班) every center counts its
    promises by from now on (`contracts.holiday_schedules`).

    On the org stream with the rest of the reference data, so routing's deciders get it with
    the tree and intake (a consumer of routing's topic) gets it too: both count promises by
    the same calendar. `supersedes` names the notice (or "chinesecalendar") a changed
    schedule replaces, with its `reason`; None for a year's first publication.
    """

    event_type = "routing.holiday_schedule_published"

    year: int
    notice_no: str
    holidays: tuple[date, ...]
    makeup_workdays: tuple[date, ...] = ()
    supersedes: str | None = None
    reason: str | None = None
    published_by: str


# -- case lifecycle ----------------------------------------------------------------------------
class _CaseEvent(DomainEvent):
    case_id: Identifier
    org_id: Identifier  # the handling unit
    tier: Tier  # the handling unit's tier


@event
class CaseRouted(_CaseEvent):
    """Which office holds the authority, and the rule that decided it."""

    event_type = "routing.case_routed"

    item_code: Code
    item_version: Int32
    category: Category
    case_type: str
    catalog_tier: Tier
    handling_tier: Tier
    handling_unit_id: Identifier
    handling_office_id: Identifier
    rule: str  # "catalog_tier" or "delegation_rule:<rule_id>"
    base_unit_id: Identifier  # whose ancestor handles: the registered community, else the center
    base: Literal["registered_community", "accepting_center"]
    accepting_center_id: Identifier
    accepting_staff_id: ActorId | None  # None for an online submission
    agent_id: ActorId  # who carries the case between tiers (全程代理)
    route: Annotated[
        tuple[Identifier, ...], Field(max_length=MAX_SHORT_LIST)
    ]  # unit ids from the accepting center to the handling unit
    routed_by: ActorId
    material_codes: Annotated[tuple[Code, ...], Field(max_length=MAX_MATERIALS)] = ()
    """The material codes of the case's catalog version (from the acceptance): what a
    correction request may name (`contracts.corrections`)."""
    line_id: Code | None = None
    """The handling unit's service line (服务条线) the case is queued on (`line_for`): the
    acceptance's line when the accepting center handles it, else the handling unit's own
    line for the item. None when the unit has no line for it, and in older events."""
    accepting_line_id: Code | None = None
    """The accepting center's line, as intake recorded it (None in older events)."""


@event
class CaseHandedOff(_CaseEvent):
    """One hop of the case between two units, carried by the agent."""

    event_type = "routing.case_handed_off"

    hop: Int32
    from_unit_id: Identifier
    from_tier: Tier
    to_unit_id: Identifier
    to_tier: Tier
    to_office_id: Identifier | None  # the handling office on the last hop
    direction: HopDirection
    carried_by: ActorId


@event
class CaseAssigned(_CaseEvent):
    """The officer who must decide, and why: the A holder, or B when A is unavailable."""

    event_type = "routing.case_assigned"

    office_id: Identifier
    post_id: Identifier | None
    assigned_to: ActorId
    as_role: PostRole
    a_holder: ActorId | None
    b_holder: ActorId | None
    a_unavailable_reason: str | None = None  # "off_duty" | "absent:<kind>" | "no_post"
    b_unavailable_reason: str | None = None
    availability_checked_at: AwareDatetime
    assigned_by: ActorId


@event
class CaseReassigned(_CaseEvent):
    event_type = "routing.case_reassigned"

    from_officer: ActorId
    to_officer: ActorId
    reason: Reason
    reassigned_by: ActorId


@event
class DeadlineSet(_CaseEvent):
    """The promised completion time (服务承诺制), counted in working days.

    v2 adds `provisional_years`: the years the deadline was counted over without an official
    holiday schedule (`contracts.workdays.Promise`). Empty: the date is firm; else it rests
    on the provisional estimate and is recomputed when the year is published
    (`DeadlineRecomputed`). None in a v1 event (it did not say)."""

    event_type = "routing.deadline_set"
    schema_version = 2

    accepted_at: AwareDatetime
    promised_limit_days: Int32
    paused_working_days: Int32
    due_date: date
    due_at: AwareDatetime
    reason: Literal["accepted", "correction_supplied", "joint_released"]
    """`joint_released`: a 串联 joint member's clock starts when the one before is approved."""
    set_by: ActorId
    provisional_years: tuple[int, ...] | None = None


@event
class DeadlineRecomputed(_CaseEvent):
    """The same promise counted again because the calendar it was counted by changed: a year
    it depends on got its official holiday schedule (or a superseding one). `notices` are the
    published notices of the years the new deadline was counted over. Emitted only when the
    due moment or the provisional years changed; nothing else about the case changes."""

    event_type = "routing.deadline_recomputed"

    accepted_at: AwareDatetime
    promised_limit_days: Int32
    paused_working_days: Int32
    previous_due_date: date
    previous_due_at: AwareDatetime
    due_date: date
    due_at: AwareDatetime
    provisional_years: tuple[int, ...]
    reason: Literal["holiday_schedule_published"]
    notices: tuple[str, ...] = ()
    recomputed_by: ActorId


@event
class CorrectionRequested(_CaseEvent):
    """补正: the officer lists everything to correct; the deadline clock stops."""

    event_type = "routing.correction_requested"

    correction_id: str
    requested_materials: tuple[str, ...]  # everything to correct, in one request
    note: str | None = None
    paused_at: AwareDatetime
    requested_by: str


@event
class CorrectionReceived(_CaseEvent):
    """The correction came in (from intake); the clock runs again."""

    event_type = "routing.correction_received"

    correction_id: str
    paused_at: AwareDatetime
    resumed_at: AwareDatetime
    paused_working_days: int  # the total over every pause of this case
    recorded_by: str


@event
class CorrectionClosed(_CaseEvent):
    """The case was decided while a correction was pending: the request ends unsupplied and
    the clock's pause ends at the decision (emitted just before `CaseDecided`). Most often
    a refusal because the applicant never came back (逾期未补正); an approval is possible
    when the officer verified the material another way."""

    event_type = "routing.correction_closed"

    correction_id: str
    paused_at: AwareDatetime
    resumed_at: AwareDatetime  # the moment of the decision
    paused_working_days: int  # the total over every pause of this case
    reason: Literal["decided"] = "decided"
    closed_by: str


@event
class CaseDecided(_CaseEvent):
    """The decision. v2 adds `provisional_years`: the years the deadline that `on_time` was
    judged by was counted over without an official holiday schedule (the verdict is then
    provisional too; None in a v1 event)."""

    event_type = "routing.case_decided"
    schema_version = 2

    decision_id: Identifier
    decision: Decision
    reason: Note | None  # a refusal may cite its legal basis at length (the API takes 2000)
    decided_by: ActorId
    at_window: bool  # a same-day item decided at the community window (即办件)
    on_time: bool
    provisional_years: tuple[int, ...] | None = None


@event
class CaseWithdrawn(_CaseEvent):
    """The applicant withdrew before the decision (from intake): the clock stops for good."""

    event_type = "routing.case_withdrawn"

    recorded_by: ActorId


@event
class ResultReturned(_CaseEvent):
    """One hop of the result back down to the accepting center (`final` on the last)."""

    event_type = "routing.result_returned"

    hop: Int32
    from_unit_id: Identifier
    to_unit_id: Identifier
    decision: Decision
    carried_by: ActorId
    returned_by: ActorId
    final: bool


@event
class DeadlineWarningIssued(_CaseEvent):
    """The deadline is near. v2 names the A and B holders of the case's post when the notice
    was issued (AB岗: both answer for the post's cases, so both are told); None for a case
    held without a post, and in v1 events (upcast: unknown)."""

    event_type = "routing.deadline_warning_issued"
    schema_version = 2

    assigned_to: ActorId
    due_at: AwareDatetime
    working_days_left: Int32
    issued_by: ActorId
    a_holder: ActorId | None = None
    b_holder: ActorId | None = None


@event
class CaseOverdue(_CaseEvent):
    """The deadline passed. v2 names the post's A and B holders, as `DeadlineWarningIssued`."""

    event_type = "routing.case_overdue"
    schema_version = 2

    assigned_to: ActorId
    due_at: AwareDatetime
    detected_by: ActorId
    a_holder: ActorId | None = None
    b_holder: ActorId | None = None


@event
class CaseEscalated(_CaseEvent):
    """Level 1: the head of the handling center; level 2: the head one tier up.

    v2 adds `center_head`, the head of the handling center (level 1's `escalated_to`): at
    level 2 the case goes over their head and they are still told. None in v1 events.
    """

    event_type = "routing.case_escalated"
    schema_version = 2

    level: Int32
    escalated_to: ActorId
    to_unit_id: Identifier
    assigned_to: ActorId
    due_at: AwareDatetime
    escalated_by: ActorId
    center_head: ActorId | None = None


@event
class BadReviewFollowUpOpened(_CaseEvent):
    """A 1-2 rating (差评) opens a task for the accepting center's head."""

    event_type = "routing.bad_review_followup_opened"

    followup_id: Identifier
    evaluation_ref: str
    score: int
    low_dimensions: Annotated[tuple[Code, ...], Field(max_length=MAX_SHORT_LIST)] = ()
    comment: Note | None = None
    center_id: Identifier
    assigned_to: ActorId
    answer_due_at: AwareDatetime
    opened_by: ActorId


@event
class BadReviewFollowUpAnswered(_CaseEvent):
    event_type = "routing.bad_review_followup_answered"

    followup_id: Identifier
    answer: Note
    answered_by: ActorId
    on_time: bool


@event
class FollowUpOverdue(_CaseEvent):
    event_type = "routing.followup_overdue"

    followup_id: Identifier
    assigned_to: ActorId
    answer_due_at: AwareDatetime
    detected_by: ActorId
