"""Issue 13, defect 4: who may decide a case is ONE rule for routing and audit.

Routing refuses a decision by anyone it does not allow; audit's `decision_by_non_assignee`
flags exactly the decisions routing would have refused. Each situation here is driven
through routing's decider (allowed or `NotPermitted`) and audit's anomaly engine (flagged or
not), with the staff of the seeded Rui'an tree; the two verdicts must agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from audit.anomaly.engine import CaseEvent, EmptyContext, evaluate
from audit.anomaly.rules import load_rules
from contracts.base import DomainEvent
from contracts.routing import CaseDecided
from routing.domain.case import DecideCase
from routing.domain.errors import NotPermitted

from ..routing.support import (
    at,
    decider,
    fold,
    route,
    second_child,
    seeded_org,
    staff_actor,
)

pytestmark = pytest.mark.unit

RULE = next(r for r in load_rules().enabled() if r.id == "decision_by_non_assignee")


@dataclass(frozen=True)
class Post:
    unit_id: str
    roles: frozenset[str]


class SeededStaff(EmptyContext):
    """Audit's view of the staff (from routing.staff_registered in the log)."""

    def staff_post(self, staff_id: str) -> Post | None:
        s = seeded_org().staff.get(staff_id)
        return None if s is None else Post(s.unit_id, frozenset(s.roles))


def water_bill() -> list[DomainEvent]:
    """自来水缴费, a 即办件 handled at 马北社区 (assigned to agent2, the 缴费 line's A)."""
    return route(
        second_child(
            item_code="OT-002",
            category="other",
            handling_tier="community",
            case_type="same_day",
            promised_limit_days=0,
        )
    )


def pension_check_at_yucai() -> list[DomainEvent]:
    """老年优待证 (CA-001), a promised item handed in at 育才社区."""
    return route(
        second_child(
            item_code="CA-001",
            category="civil_affairs",
            promised_limit_days=5,
            registered_community_id="ruian.anyang.yucai",
            accepting_center_id="ruian.anyang.yucai",
            accepting_staff_id="ruian.anyang.yucai.staff1",
        )
    )


SITUATIONS: list[tuple[str, Any, str]] = [
    ("即办件 decided by its assignee", water_bill, "ruian.mayu.mabei.agent2"),
    ("即办件 decided at the community window (黄美燕)", water_bill, "ruian.mayu.mabei.agent1"),
    ("即办件 decided at the window by the center head", water_bill, "ruian.mayu.mabei.head"),
    ("即办件 decided by a town officer", water_bill, "ruian.mayu.jsb.a"),
    ("承诺件 decided by its assignee", pension_check_at_yucai, None),
    ("承诺件 decided by a colleague", pension_check_at_yucai, "ruian.anyang.yucai.staff3"),
]


def _as_logged(events: list[DomainEvent]) -> list[CaseEvent]:
    t0 = at(2026, 9, 29, 9, 30)
    return [
        CaseEvent(i, e.event_type, t0 + timedelta(seconds=i), e.model_dump(mode="json"))
        for i, e in enumerate(events)
    ]


@pytest.mark.parametrize(("name", "case", "staff_id"), SITUATIONS, ids=[s[0] for s in SITUATIONS])
def test_routing_allows_exactly_the_decisions_audit_does_not_flag(
    name: str, case: Any, staff_id: str | None
) -> None:
    routed = case()
    assignee = next(e.assigned_to for e in routed if e.event_type == "routing.case_assigned")
    who = staff_id or assignee
    cmd = DecideCase(case_id=routed[0].case_id, actor=staff_actor(who), decision="approve")
    when = at(2026, 9, 29, 9, 35)
    try:
        decided = list(decider().decide(cmd, fold(routed), when))
        routing_allows = True
    except NotPermitted:
        routing_allows = False
        # what the log would hold had the decision been recorded anyway
        decided = [
            CaseDecided(
                **{k: getattr(routed[0], k) for k in ("case_id", "org_id", "tier")},
                decision_id="d",
                decision="approve",
                reason=None,
                decided_by=who,
                at_window=False,
                on_time=True,
            )
        ]
    findings = evaluate([RULE], _as_logged([*routed, *decided]), SeededStaff(), when).findings
    audit_flags = bool(findings)
    assert routing_allows is not audit_flags, (
        f"{name}: routing {'allows' if routing_allows else 'refuses'}, "
        f"audit {'flags' if audit_flags else 'does not flag'}"
    )
