"""Who is at work: duty rosters, absences, and the A/B post rule (AB岗工作制).

A staff member is AVAILABLE at an instant when the roster of their unit has them on duty
then and no (uncancelled) absence covers it. A unit with no roster at all is taken to have
everyone on duty whenever the center is open — a new center should not send every case to
its head before an admin has typed in a roster.

Assignment (`choose_assignee`) looks at the moment the handling center is next open
(`now` itself during office hours): a case that arrives at night is assigned as the
morning shift would find it, not to the center head because everyone went home.
1. the post of the handling office that covers the case's category: its A holder if
   available; else its B holder if available (A's reason is recorded);
2. neither available, or no post covers the category: the head of the handling center
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


def on_duty(org: OrgState, staff_id: str, at: datetime) -> bool:
    staff = org.staff[staff_id]
    entries = org.rosters.get(staff.unit_id)
    if not entries:
        return org.units[staff.unit_id].office_hours.is_open(at, calendar=org.calendar)
    local = at.astimezone(SHANGHAI)
    wall = local.time().replace(tzinfo=None)
    return any(
        e.staff_id == staff_id
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
    org: OrgState, unit_id: str, office_id: str, category: str, now: datetime
) -> Assignment:
    at = org.units[unit_id].office_hours.next_open(now, calendar=org.calendar) or now
    post = org.post_for(office_id, category)
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
    b_reason = None if a_reason is None else unavailable_reason(org, post.b_holder, at)
    assigned_to: str
    as_role: PostRole
    if a_reason is None:
        assigned_to, as_role = post.a_holder, "A"
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
