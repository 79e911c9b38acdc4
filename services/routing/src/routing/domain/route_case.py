"""Route an accepted case: which office decides it, how it gets there, who takes it, by when.

Triggered by intake's `intake.application_accepted` (the edge builds `RouteAcceptedCase`).

THE ROUTING RULE
1. Base unit: the applicant's registered community (intake is location-independent: an
   island resident may hand in on the mainland, the case belongs to his community); when
   the applicant has none in the tree (non-local residents registered elsewhere), the
   accepting center.
2. Handling tier: the catalog's tier, unless a delegation rule in force on the acceptance
   day covers the item and the base unit (`delegation.py`); the event names the rule.
3. Handling unit: the base unit's ancestor (or itself) at that tier; when the base sits
   above that tier (a city-center applicant with no community), the base unit itself.
4. Handling office: the unit's office naming the item (a 警务室 for e-bike plates), else the
   one taking the category, else its general window (`*`).
5. Hand-offs: the case travels the tree from the accepting center to the handling unit
   (up to the common ancestor, then down), one `routing.case_handed_off` per hop, carried
   by the agent (全程代理): the accepting staff member, first-inquiry responsible
   (首问责任制); for an online submission, the accepting center's community agent, else
   its head.
6. Service line (服务条线): the acceptance's line when the accepting center handles the
   case itself, else the handling unit's line for the item — the one rule
   `contracts.routing.line_for`; the queue is filtered and the duty roster read by it.
7. Assignment by the A/B rule (`duty.py`, preferring whoever is rostered on the line at
   that hour), then the deadline: the one promise rule,
   `contracts.workdays.promised_deadline`, with the handling office's hours and the tree's
   working-day calendar; a deadline over a year without an official holiday schedule says
   so (`provisional_years`) and is recomputed when the year is published.

Idempotent: a second acceptance of an already routed case yields no events.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent
from contracts.routing import (
    TIER_RANK,
    CaseAssigned,
    CaseHandedOff,
    CaseRouted,
    DeadlineSet,
    Tier,
    line_for,
)
from contracts.workdays import local_date, promised_deadline

from .case_state import CaseCommand, CaseState
from .context import CaseContext
from .delegation import handling_tier_for
from .duty import choose_assignee
from .errors import InvalidValue, UnknownReference, Unroutable
from .org_model import OrgState

SAME_DAY = "same_day"  # 即办件
PROMISED = "promised"  # 承诺件


class RouteAcceptedCase(CaseCommand):
    item_code: str = Field(min_length=1)
    item_version: int = Field(ge=1)
    category: str = Field(min_length=1)
    handling_tier: Tier  # the catalog's tier, before delegation rules
    registered_community_id: str | None = None
    accepting_center_id: str
    accepting_staff_id: str | None = None
    promised_limit_days: int = Field(ge=0)
    case_type: str = Field(min_length=1)
    accepted_at: AwareDatetime
    material_codes: tuple[str, ...] = ()  # of the catalog version the case was accepted by
    line_id: str | None = None  # the accepting center's line, as intake recorded it


def _agent(org: OrgState, cmd: RouteAcceptedCase) -> str:
    if cmd.accepting_staff_id:
        return cmd.accepting_staff_id
    staff = org.staff_of(cmd.accepting_center_id)
    agents = [s.staff_id for s in staff if "community_agent" in s.roles]
    if agents:
        return agents[0]
    head = org.nearest_head(cmd.accepting_center_id)
    return head[1] if head else cmd.actor.id


def _handling_line(cmd: RouteAcceptedCase, *, unit_id: str, org: OrgState) -> str | None:
    """The line the handling unit queues the case on: intake's when the accepting center
    handles it (recorded once, at submission), else the handling unit's own by `line_for`."""
    if unit_id == cmd.accepting_center_id and cmd.line_id is not None:
        return cmd.line_id
    lines = [line.model_dump() for line in org.units[unit_id].service_lines]
    return line_for(lines, cmd.item_code, cmd.category)


def decide_route(
    cmd: RouteAcceptedCase, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    if state.case_id is not None:
        return []  # already routed: a redelivered acceptance changes nothing
    if cmd.case_type == SAME_DAY and cmd.promised_limit_days != 0:
        raise InvalidValue("promised_limit_days", "a same-day item (即办件) promises 0 days")
    org = ctx.org
    if cmd.accepting_center_id not in org.units:
        raise UnknownReference("accepting_center_id", f"no center {cmd.accepting_center_id!r}")
    if cmd.registered_community_id and cmd.registered_community_id in org.units:
        base_unit, base = cmd.registered_community_id, "registered_community"
    else:
        base_unit, base = cmd.accepting_center_id, "accepting_center"

    choice = handling_tier_for(
        org, cmd.item_code, cmd.handling_tier, base_unit, local_date(cmd.accepted_at)
    )
    handling_unit = org.ancestor_at_tier(base_unit, choice.tier)
    if handling_unit is None:
        if TIER_RANK[org.units[base_unit].tier] < TIER_RANK[choice.tier]:
            raise Unroutable("handling_tier", f"no {choice.tier} unit above {base_unit}")
        handling_unit = base_unit
    unit = org.units[handling_unit]
    office = org.office_for(handling_unit, cmd.category, cmd.item_code)
    if office is None:
        raise Unroutable("category", f"no office of {handling_unit} takes {cmd.category!r}")

    line_id = _handling_line(cmd, unit_id=handling_unit, org=org)
    route = tuple(org.path(cmd.accepting_center_id, handling_unit))
    agent = _agent(org, cmd)
    fields = {"case_id": cmd.case_id, "org_id": handling_unit, "tier": unit.tier}
    events: list[DomainEvent] = [
        CaseRouted(
            **fields,
            item_code=cmd.item_code,
            item_version=cmd.item_version,
            category=cmd.category,
            case_type=cmd.case_type,
            catalog_tier=cmd.handling_tier,
            handling_tier=unit.tier,
            handling_unit_id=handling_unit,
            handling_office_id=office.office_id,
            rule=choice.rule,
            base_unit_id=base_unit,
            base=base,
            accepting_center_id=cmd.accepting_center_id,
            accepting_staff_id=cmd.accepting_staff_id,
            agent_id=agent,
            route=route,
            routed_by=cmd.actor.id,
            material_codes=cmd.material_codes,
            line_id=line_id,
            accepting_line_id=cmd.line_id,
        )
    ]
    for hop, (src, dst) in enumerate(zip(route, route[1:], strict=False), start=1):
        src_tier, dst_tier = org.units[src].tier, org.units[dst].tier
        events.append(
            CaseHandedOff(
                **fields,
                hop=hop,
                from_unit_id=src,
                from_tier=src_tier,
                to_unit_id=dst,
                to_tier=dst_tier,
                to_office_id=office.office_id if dst == handling_unit else None,
                direction="up" if TIER_RANK[dst_tier] > TIER_RANK[src_tier] else "down",
                carried_by=agent,
            )
        )
    chosen = choose_assignee(
        org, handling_unit, office.office_id, cmd.category, now, line_id=line_id
    )
    events.append(
        CaseAssigned(
            **fields,
            office_id=office.office_id,
            post_id=chosen.post_id,
            assigned_to=chosen.assigned_to,
            as_role=chosen.as_role,
            a_holder=chosen.a_holder,
            b_holder=chosen.b_holder,
            a_unavailable_reason=chosen.a_unavailable_reason,
            b_unavailable_reason=chosen.b_unavailable_reason,
            availability_checked_at=chosen.checked_at,
            assigned_by=cmd.actor.id,
        )
    )
    promise = promised_deadline(
        cmd.accepted_at, cmd.promised_limit_days, unit.office_hours, calendar=ctx.calendar
    )
    events.append(
        DeadlineSet(
            **fields,
            accepted_at=cmd.accepted_at,
            promised_limit_days=cmd.promised_limit_days,
            paused_working_days=0,
            due_date=promise.due_date,
            due_at=promise.due_at,
            reason="accepted",
            set_by=cmd.actor.id,
            provisional_years=promise.provisional_years,
        )
    )
    return events
