"""decision_by_non_assignee on the running service (issue 13, defect 4): the rule is
`contracts.decisions.decision_right`, the one routing enforces, with the decider's unit and
roles read from the routing.staff_registered leaves of the log. A same-day item (即办件)
decided at its community center's window is not flagged; a decision by someone else is."""

from __future__ import annotations

import pytest

from .support import envelope, make_keys, producer, publish, running_audit, settings_for, wait_for

pytestmark = pytest.mark.integration

COMM = {"org_id": "c-yucai", "tier": "community"}


def same_day_case(case: str, decided_by: str) -> list:  # type: ignore[type-arg]
    """A water bill (即办件) handled at 育才社区, assigned to agent-a, decided by `decided_by`."""
    sys = {"actor": "routing", "role": "system", **COMM}
    return [
        envelope(
            "routing.case_routed",
            case,
            {
                "case_id": case,
                "item_code": "OT-002",
                "case_type": "same_day",
                "handling_tier": "community",
                "handling_unit_id": "c-yucai",
            },
            minutes=1,
            **sys,
        ),
        envelope(
            "routing.case_assigned",
            case,
            {"case_id": case, "assigned_to": "agent-a"},
            minutes=2,
            **sys,
        ),
        envelope(
            "routing.case_decided",
            case,
            {"case_id": case, "decision": "approve", "decided_by": decided_by, "at_window": True},
            actor=decided_by,
            minutes=5,
            **COMM,
        ),
    ]


def staff(staff_id: str, unit: str, roles: list[str]):  # type: ignore[no-untyped-def]
    return envelope(
        "routing.staff_registered",
        "org",
        {"staff_id": staff_id, "name_zh": "窗口", "roles": roles, "unit_id": unit},
        actor="admin-1",
        role="admin",
        org_id=None,
        tier=None,
    )


async def test_a_same_day_item_decided_at_the_window_is_not_flagged(
    infra, pg_schema, topics
) -> None:  # type: ignore[no-untyped-def]
    (routing,) = await topics("routing")
    settings = settings_for(infra, pg_schema.schema, [routing], make_keys())
    events = [
        staff("agent-window", "c-yucai", ["community_agent", "officer"]),  # 育才's window
        staff("officer-town", "t-anyang", ["officer"]),  # the town above: not the window
        *same_day_case("case-window", "agent-window"),
        *same_day_case("case-town", "officer-town"),
    ]
    async with running_audit(settings, None), producer(infra.bootstrap) as p:
        conn = await pg_schema.connect()
        try:
            await publish(p, routing, events)

            async def evaluated() -> set[tuple[str, str]] | None:
                rows = await conn.fetch("SELECT stream_id, rule_id FROM anomaly_flags")
                got = {(r["stream_id"], r["rule_id"]) for r in rows}
                # neither case has an acceptance: that rule proves both were evaluated
                done = {("case-window", "decision_without_acceptance")} | {
                    ("case-town", "decision_without_acceptance")
                }
                return got if done <= got else None

            got = await wait_for(evaluated, 30)
            assert ("case-town", "decision_by_non_assignee") in got
            assert ("case-window", "decision_by_non_assignee") not in got
        finally:
            await conn.close()
