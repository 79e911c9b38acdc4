"""Shared givens for routing's unit tests: the seeded Rui'an tree, clocks and commands."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from contracts.base import DomainEvent
from contracts.workdays import SHANGHAI
from eventkit.envelope import Actor
from eventkit.testing import Decider
from routing.domain.case import CaseDecider, RouteAcceptedCase, evolve_case, initial_case_state
from routing.domain.case_state import CaseState
from routing.domain.org_admin import OrgCommand, decide_org, evolve_org
from routing.domain.org_model import OrgState
from routing.domain.policy import DeadlinePolicy
from routing.seed_org import SEED_ACTOR, seed_org_state

CASE_ID = "case-" + "0" * 31 + "1"
SYSTEM = Actor(id="system", role="system")
ADMIN = SEED_ACTOR


def at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    """A local (Asia/Shanghai) instant."""
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


SEED_NOW = at(2026, 9, 1, 8, 0)


@cache
def seeded_org() -> OrgState:
    state, _ = seed_org_state(SEED_NOW)
    return state


def with_admin(org: OrgState, *commands: OrgCommand, now: datetime = SEED_NOW) -> OrgState:
    """The tree after further admin commands (each must pass `decide_org`)."""
    for cmd in commands:
        for evt in decide_org(cmd, org, now):
            org = evolve_org(org, evt)
    return org


def staff_actor(staff_id: str, org: OrgState | None = None) -> Actor:
    org = org or seeded_org()
    staff = org.staff[staff_id]
    role = next(
        (r for r in ("center_head", "officer", "community_agent") if r in staff.roles),
        staff.roles[0],
    )
    return Actor(id=staff_id, role=role, org_id=staff.unit_id)


def second_child(**overrides: Any) -> RouteAcceptedCase:
    """The report's 二胎申请: a 马北社区 resident hands in at 马北社区 with 黄美燕."""
    fields: dict[str, Any] = {
        "case_id": CASE_ID,
        "actor": SYSTEM,
        "item_code": "FP-002",
        "item_version": 1,
        "category": "family_planning",
        "handling_tier": "town",
        "registered_community_id": "ruian.mayu.mabei",
        "accepting_center_id": "ruian.mayu.mabei",
        "accepting_staff_id": "ruian.mayu.mabei.agent1",
        "promised_limit_days": 15,
        "case_type": "promised",
        "accepted_at": at(2026, 9, 29, 9, 30),
    }
    fields.update(overrides)
    fields.setdefault("material_codes", catalog_codes(str(fields["item_code"])))
    return RouteAcceptedCase(**fields)


@cache
def catalog_codes(item_code: str) -> tuple[str, ...]:
    """The material codes of the seeded catalog's item (what the acceptance carries)."""
    from intake.seed_catalog import seed_items

    item = next((i for i in seed_items() if i.code == item_code), None)
    return tuple(m.code for m in item.materials) if item else ()


def decider(org: OrgState | None = None, policy: DeadlinePolicy | None = None) -> Decider:
    d = CaseDecider(org or seeded_org(), policy or DeadlinePolicy())
    return Decider(d.decide, evolve_case, initial_case_state)


def route(
    cmd: RouteAcceptedCase, now: datetime | None = None, org: OrgState | None = None
) -> list[DomainEvent]:
    """The events of routing `cmd` on a fresh case (a given for later commands)."""
    return decider(org).given().when(cmd, now or cmd.accepted_at).then_events()


def fold(events: list[DomainEvent]) -> CaseState:
    state = initial_case_state()
    for e in events:
        state = evolve_case(state, e)
    return state


def of_type(events: list[DomainEvent], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]
