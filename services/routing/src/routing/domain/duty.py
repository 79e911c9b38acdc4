"""Who is at work: duty rosters, absences, and the A/B post rule (AB岗工作制).

A staff member is AVAILABLE at an instant when the roster of their unit has them on duty
then and no (uncancelled) absence covers it. A unit with no roster at all is taken to have
everyone on duty whenever the center is open — a new center should not send every case to
its head before an admin has typed in a roster.

A roster entry may name the service lines (服务条线) its hours are for (`line_ids`, empty:
any line): at 育才 six people run twelve lines, each line at set hours (错时, Saturday
mornings). Someone rostered then on other lines only is at work but not on the case's line.

Assignment (`choose_assignee`) looks at the moment the handling center is next open
(`now` itself during office hours): a case that arrives at night is assigned as the
morning shift would find it, not to the center head because everyone went home.
1. the post of the handling office that holds the case's line, else covers its category;
2. of its A and B holders, the one on duty on the case's line then: A first, then B (A's
   reason recorded: absent, off duty, or `not_on_line` — at work on other lines);
3. neither is on the line then: the A holder if at work at all, else the B holder (the
   line is served by its post even outside its hours);
4. neither available, or no post covers the case: the head of the handling center
   (the nearest head above when the center has none), both reasons recorded — the head
   then reassigns. If no head exists anywhere above, the case is unroutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from contracts.routing import PostRole, RosterEntry
from contracts.workdays import SHANGHAI, WorkingCalendar

from .errors import Unroutable
from .org_model import OrgState

OFF_DUTY = "off_duty"
NO_POST = "no_post"
NOT_ON_LINE = "not_on_line"


def entry_applies(entry: RosterEntry, d: date, calendar: WorkingCalendar) -> bool:
    if entry.valid_from is not None and d < entry.valid_from:
        return False
    if entry.valid_to is not None and d > entry.valid_to:
        return False
    if d in entry.dates:
        return True
    if entry.working_days and calendar.is_working_day(d):
        return True
    return d.weekday() in entry.weekdays and not calendar.is_public_holiday(d)


def on_duty(org: OrgState, staff_id: str, at: datetime, line_id: str | None = None) -> bool:
    """On duty at `at` (on `line_id` then, when given: an entry for that line or for any)."""
    staff = org.staff[staff_id]
    entries = org.rosters.get(staff.unit_id)
    if not entries:
        return org.units[staff.unit_id].office_hours.is_open(at, calendar=org.calendar)
    local = at.astimezone(SHANGHAI)
    wall = local.time().replace(tzinfo=None)
    return any(
        e.staff_id == staff_id
        and e.serves(line_id)
        and entry_applies(e, local.date(), org.calendar)
        and e.starts <= wall < e.ends
        for e in entries
    )


def unavailable_reason(org: OrgState, staff_id: str, at: datetime) -> str | None:
    """None when available; else "absent:<kind>" or "off_duty"."""
    absence = org.absence_at(staff_id, at)
    if absence is not None:
        return f"absent:{absence.kind}"
    if not on_duty(org, staff_id, at):
        return OFF_DUTY
    return None


@dataclass(frozen=True)
class Assignment:
    assigned_to: str
    as_role: PostRole
    post_id: str | None
    a_holder: str | None
    b_holder: str | None
    a_unavailable_reason: str | None
    b_unavailable_reason: str | None
    checked_at: datetime


def choose_assignee(
    org: OrgState,
    unit_id: str,
    office_id: str,
    category: str,
    now: datetime,
    *,
    line_id: str | None = None,
) -> Assignment:
    at = org.units[unit_id].office_hours.next_open(now, calendar=org.calendar) or now
    post = org.post_for(office_id, category, line_id)
    if post is None:
        return Assignment(
            assigned_to=_head(org, unit_id),
            as_role="center_head",
            post_id=None,
            a_holder=None,
            b_holder=None,
            a_unavailable_reason=NO_POST,
            b_unavailable_reason=NO_POST,
            checked_at=at,
        )
    a_reason = unavailable_reason(org, post.a_holder, at)
    b_reason = unavailable_reason(org, post.b_holder, at)
    if line_id is not None and a_reason is None and b_reason is None:
        a_line = on_duty(org, post.a_holder, at, line_id)
        if not a_line and on_duty(org, post.b_holder, at, line_id):
            a_reason = NOT_ON_LINE  # B serves the line at this hour: B takes it
    assigned_to: str
    as_role: PostRole
    if a_reason is None:
        assigned_to, as_role, b_reason = post.a_holder, "A", None
    elif b_reason is None:
        assigned_to, as_role = post.b_holder, "B"
    else:
        assigned_to, as_role = _head(org, unit_id), "center_head"
    return Assignment(
        assigned_to=assigned_to,
        as_role=as_role,
        post_id=post.post_id,
        a_holder=post.a_holder,
        b_holder=post.b_holder,
        a_unavailable_reason=a_reason,
        b_unavailable_reason=b_reason,
        checked_at=at,
    )


def _head(org: OrgState, unit_id: str) -> str:
    found = org.nearest_head(unit_id)
    if found is None:
        raise Unroutable("handling_unit", f"no post is available and {unit_id} has no head")
    return found[1]
