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

from datetime import date, time
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.base import DomainEvent, event
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

    line_id: str = Field(pattern=_ID)
    name_zh: str = Field(min_length=1)
    categories: tuple[str, ...] = Field(min_length=1)
    duties_zh: tuple[str, ...] = ()


class RosterEntry(_Value):
    """One rule of a duty roster: `staff_id` is on duty from `starts` to `ends` (local time)

    on every statutory working day (`working_days`), on the given `weekdays` (0 = Monday)
    unless the day is a statutory holiday — this is how Saturday-morning duty at a center
    with extended hours is written — and on the listed `dates`, within the optional
    `valid_from` .. `valid_to` (inclusive).
    """

    staff_id: str = Field(pattern=_ID)
    starts: time
    ends: time
    working_days: bool = False
    weekdays: tuple[int, ...] = ()
    dates: tuple[date, ...] = ()
    valid_from: date | None = None
    valid_to: date | None = None

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
    """A center of one of the three tiers joined the tree."""

    event_type = "routing.org_unit_registered"

    unit_id: str
    name_zh: str
    tier: Tier
    kind: UnitKind
    parent_id: str | None
    is_island: bool = False
    access_note_zh: str | None = None
    travel_minutes_to_parent: int | None = None
    office_hours: OfficeHours
    service_lines: tuple[ServiceLine, ...] = ()
    registered_by: str


@event
class OrgUnitReparented(DomainEvent):
    """A unit moved under another parent (行政区划调整, villages merged into communities)."""

    event_type = "routing.org_unit_reparented"

    unit_id: str
    old_parent_id: str
    new_parent_id: str
    reason: str
    reparented_by: str


@event
class OfficeHoursSet(DomainEvent):
    """A center changed its hours (extended, staggered: 延时/错时办公)."""

    event_type = "routing.office_hours_set"

    unit_id: str
    office_hours: OfficeHours
    set_by: str


@event
class ServiceLinesSet(DomainEvent):
    """A center redrew its service lines (e.g. 12 lines run by 6 staff)."""

    event_type = "routing.service_lines_set"

    unit_id: str
    service_lines: tuple[ServiceLine, ...]
    set_by: str


@event
class OfficeRegistered(DomainEvent):
    """An office inside a unit (计生办, 民政办, 社保所, a city section, a 警务室...).

    It takes the listed item codes (a 警务室 takes e-bike registration only) and the listed
    categories; `*` among the categories makes it the unit's general window.
    """

    event_type = "routing.office_registered"

    office_id: str
    unit_id: str
    tier: Tier
    name_zh: str
    categories: tuple[str, ...]
    item_codes: tuple[str, ...] = ()
    registered_by: str


@event
class StaffRegistered(DomainEvent):
    event_type = "routing.staff_registered"

    staff_id: str
    name_zh: str
    roles: tuple[Role, ...]
    unit_id: str
    office_id: str | None = None
    registered_by: str
    phone: str | None = None  # work contact for notifications (SMS)
    email: str | None = None  # work contact for notifications (e-mail)


@event
class PostAssigned(DomainEvent):
    """A post (岗位) and its A and B holders (AB岗工作制); re-sent when holders change."""

    event_type = "routing.post_assigned"

    post_id: str
    unit_id: str
    office_id: str
    name_zh: str
    categories: tuple[str, ...]
    service_line_ids: tuple[str, ...] = ()
    a_holder: str
    b_holder: str
    assigned_by: str


@event
class DutyRosterSet(DomainEvent):
    """The whole duty roster of a unit (replaces the previous one)."""

    event_type = "routing.duty_roster_set"

    unit_id: str
    entries: tuple[RosterEntry, ...]
    set_by: str


@event
class StaffAbsenceRecorded(DomainEvent):
    event_type = "routing.staff_absence_recorded"

    absence_id: str
    staff_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    kind: AbsenceKind
    reason: str | None = None
    recorded_by: str


@event
class StaffAbsenceCancelled(DomainEvent):
    event_type = "routing.staff_absence_cancelled"

    absence_id: str
    staff_id: str
    reason: str
    cancelled_by: str


@event
class DelegationRuleSet(DomainEvent):
    """审批权限上提/下授: for `item_code` in the subtree of `area_unit_id`, handle at

    `handling_tier` from `effective_from` to `effective_to` (inclusive; open-ended when
    None). Setting an existing `rule_id` again replaces it (e.g. to end it).
    """

    event_type = "routing.delegation_rule_set"

    rule_id: str
    item_code: str
    area_unit_id: str
    handling_tier: Tier
    direction: HopDirection
    effective_from: date
    effective_to: date | None = None
    basis_zh: str
    set_by: str


# -- case lifecycle ----------------------------------------------------------------------------
class _CaseEvent(DomainEvent):
    case_id: str
    org_id: str  # the handling unit
    tier: Tier  # the handling unit's tier


@event
class CaseRouted(_CaseEvent):
    """Which office holds the authority, and the rule that decided it."""

    event_type = "routing.case_routed"

    item_code: str
    item_version: int
    category: str
    case_type: str
    catalog_tier: Tier
    handling_tier: Tier
    handling_unit_id: str
    handling_office_id: str
    rule: str  # "catalog_tier" or "delegation_rule:<rule_id>"
    base_unit_id: str  # whose ancestor handles: the registered community, else the center
    base: Literal["registered_community", "accepting_center"]
    accepting_center_id: str
    accepting_staff_id: str | None  # None for an online submission
    agent_id: str  # who carries the case between tiers (全程代理)
    route: tuple[str, ...]  # unit ids from the accepting center to the handling unit
    routed_by: str
    material_codes: tuple[str, ...] = ()
    """The material codes of the case's catalog version (from the acceptance): what a
    correction request may name (`contracts.corrections`)."""


@event
class CaseHandedOff(_CaseEvent):
    """One hop of the case between two units, carried by the agent."""

    event_type = "routing.case_handed_off"

    hop: int
    from_unit_id: str
    from_tier: Tier
    to_unit_id: str
    to_tier: Tier
    to_office_id: str | None  # the handling office on the last hop
    direction: HopDirection
    carried_by: str


@event
class CaseAssigned(_CaseEvent):
    """The officer who must decide, and why: the A holder, or B when A is unavailable."""

    event_type = "routing.case_assigned"

    office_id: str
    post_id: str | None
    assigned_to: str
    as_role: PostRole
    a_holder: str | None
    b_holder: str | None
    a_unavailable_reason: str | None = None  # "off_duty" | "absent:<kind>" | "no_post"
    b_unavailable_reason: str | None = None
    availability_checked_at: AwareDatetime
    assigned_by: str


@event
class CaseReassigned(_CaseEvent):
    event_type = "routing.case_reassigned"

    from_officer: str
    to_officer: str
    reason: str
    reassigned_by: str


@event
class DeadlineSet(_CaseEvent):
    """The promised completion time (服务承诺制), counted in working days."""

    event_type = "routing.deadline_set"

    accepted_at: AwareDatetime
    promised_limit_days: int
    paused_working_days: int
    due_date: date
    due_at: AwareDatetime
    reason: Literal["accepted", "correction_supplied"]
    set_by: str


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
    event_type = "routing.case_decided"

    decision_id: str
    decision: Decision
    reason: str | None
    decided_by: str
    at_window: bool  # a same-day item decided at the community window (即办件)
    on_time: bool


@event
class CaseWithdrawn(_CaseEvent):
    """The applicant withdrew before the decision (from intake): the clock stops for good."""

    event_type = "routing.case_withdrawn"

    recorded_by: str


@event
class ResultReturned(_CaseEvent):
    """One hop of the result back down to the accepting center (`final` on the last)."""

    event_type = "routing.result_returned"

    hop: int
    from_unit_id: str
    to_unit_id: str
    decision: Decision
    carried_by: str
    returned_by: str
    final: bool


@event
class DeadlineWarningIssued(_CaseEvent):
    """The deadline is near. v2 names the A and B holders of the case's post when the notice
    was issued (AB岗: both answer for the post's cases, so both are told); None for a case
    held without a post, and in v1 events (upcast: unknown)."""

    event_type = "routing.deadline_warning_issued"
    schema_version = 2

    assigned_to: str
    due_at: AwareDatetime
    working_days_left: int
    issued_by: str
    a_holder: str | None = None
    b_holder: str | None = None


@event
class CaseOverdue(_CaseEvent):
    """The deadline passed. v2 names the post's A and B holders, as `DeadlineWarningIssued`."""

    event_type = "routing.case_overdue"
    schema_version = 2

    assigned_to: str
    due_at: AwareDatetime
    detected_by: str
    a_holder: str | None = None
    b_holder: str | None = None


@event
class CaseEscalated(_CaseEvent):
    """Level 1: the head of the handling center; level 2: the head one tier up.

    v2 adds `center_head`, the head of the handling center (level 1's `escalated_to`): at
    level 2 the case goes over their head and they are still told. None in v1 events.
    """

    event_type = "routing.case_escalated"
    schema_version = 2

    level: int
    escalated_to: str
    to_unit_id: str
    assigned_to: str
    due_at: AwareDatetime
    escalated_by: str
    center_head: str | None = None


@event
class BadReviewFollowUpOpened(_CaseEvent):
    """A 1-2 rating (差评) opens a task for the accepting center's head."""

    event_type = "routing.bad_review_followup_opened"

    followup_id: str
    evaluation_ref: str
    score: int
    low_dimensions: tuple[str, ...] = ()
    comment: str | None = None
    center_id: str
    assigned_to: str
    answer_due_at: AwareDatetime
    opened_by: str


@event
class BadReviewFollowUpAnswered(_CaseEvent):
    event_type = "routing.bad_review_followup_answered"

    followup_id: str
    answer: str
    answered_by: str
    on_time: bool


@event
class FollowUpOverdue(_CaseEvent):
    event_type = "routing.followup_overdue"

    followup_id: str
    assigned_to: str
    answer_due_at: AwareDatetime
    detected_by: str
