"""联办: a joint member's own deadline. A member waiting its turn (串联) or stopped because
another was refused has no running deadline (not warned, not overdue, not escalated) and
may not be decided; a released member's clock starts at the release, so the joint promise
(the latest member's) holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from contracts.joint import JointMemberHeld, JointMemberResumed, joint_promise
from contracts.routing import CaseOverdue, DeadlineSet, DeadlineWarningIssued
from contracts.workdays import OfficeHours, default_calendar, promised_deadline
from routing.domain.case import CheckDeadlines, DecideCase
from routing.domain.errors import WrongState
from routing.domain.joint_case import member_routes
from routing.domain.joint_member import HoldJointMember, ResumeJointMember
from routing.domain.route_case import RouteAcceptedCase

from .support import SYSTEM, at, decider, fold, of_type, route, staff_actor
from .test_joint_case import ACCEPTED_AT, JOINT, accepted, member

pytestmark = pytest.mark.unit

FAR_LATER = at(2026, 12, 31, 18)  # long after every deadline of the bundle


def ebike_routes() -> dict[str, RouteAcceptedCase]:
    """LB-002 (串联, a refusal stops the rest): FL-001 at the town, then OT-001."""
    return {c.item_code: c for c in member_routes(accepted("LB-002"), SYSTEM)}


def hold(code: str, reason: str, cause: str) -> HoldJointMember:
    return HoldJointMember.model_validate(
        {
            "case_id": member(code),
            "actor": SYSTEM,
            "joint_case_id": JOINT,
            "reason": reason,
            "cause_case_id": member(cause),
        }
    )


def waiting_plate() -> list[Any]:
    """OT-001 routed, then held: it waits for FL-001's approval."""
    routed = route(ebike_routes()["OT-001"])
    held = (
        decider()
        .given(*routed)
        .when(hold("OT-001", "waiting_for_predecessor", "FL-001"), ACCEPTED_AT)
        .then_events()
    )
    assert [type(e) for e in held] == [JointMemberHeld]
    return [*routed, *held]


def check(history: list[Any], now: datetime) -> list[Any]:
    return (
        decider()
        .given(*history)
        .when(CheckDeadlines(case_id=history[0].case_id, actor=SYSTEM), now)
        .then_events()
    )


def test_given_a_member_waiting_its_turn_when_its_deadline_passes_then_no_warning_no_overdue() -> (
    None
):
    history = waiting_plate()
    assert check(history, FAR_LATER) == []
    assert not fold(history).clock_running


def test_given_a_waiting_member_then_it_may_not_be_decided() -> None:
    history = waiting_plate()
    officer = staff_actor(fold(history).assigned_to or "")
    cmd = DecideCase(case_id=member("OT-001"), actor=officer, decision="approve")
    err = decider().given(*history).when(cmd, at(2026, 9, 30)).then_raises(WrongState)
    assert "after the one before it is approved" in err.reason  # type: ignore[attr-defined]


def test_given_a_waiting_member_when_released_then_its_clock_starts_there() -> None:
    history = waiting_plate()
    released_at = at(2026, 10, 12, 11)  # FL-001 approved after the National Day holiday
    resume = ResumeJointMember(
        case_id=member("OT-001"),
        actor=SYSTEM,
        joint_case_id=JOINT,
        after_case_id=member("FL-001"),
    )
    events = decider().given(*history).when(resume, released_at).then_events()
    assert [type(e) for e in events] == [JointMemberResumed, DeadlineSet]
    new = of_type(events, DeadlineSet)[0]
    assert new.reason == "joint_released"
    first = of_type(history, DeadlineSet)[0]
    assert new.due_at >= released_at and new.due_date >= first.due_date
    state = fold([*history, *events])
    assert state.clock_running
    # the joint promise (the members one after another) is not broken by the wait
    routes = ebike_routes()
    promise = joint_promise(
        ACCEPTED_AT,
        [routes[c].promised_limit_days for c in ("FL-001", "OT-001")],
        "sequential",
        OfficeHours.standard(),
        calendar=default_calendar(),
    )
    fl = promised_deadline(
        ACCEPTED_AT,
        routes["FL-001"].promised_limit_days,
        OfficeHours.standard(),
        calendar=default_calendar(),
    )
    assert released_at <= fl.due_at  # the town kept its own promise, so the joint one holds
    assert new.due_date <= promise.due_date
    # once running, the released member is warned and flagged overdue like any case
    later = check([*history, *events], FAR_LATER)
    assert of_type(later, DeadlineWarningIssued) and of_type(later, CaseOverdue)
    # a redelivered release changes nothing
    assert decider().given(*history, *events).when(resume, released_at).then_events() == []


def test_given_a_member_stopped_by_a_refusal_then_its_deadline_never_runs_again() -> None:
    routed = route(ebike_routes()["FL-001"])  # any member: stop it as if another was refused
    stopped = (
        decider()
        .given(*routed)
        .when(hold("FL-001", "stopped_by_refusal", "OT-001"), at(2026, 9, 30))
        .then_events()
    )
    assert [(type(e), e.reason) for e in stopped] == [(JointMemberHeld, "stopped_by_refusal")]
    history = [*routed, *stopped]
    assert check(history, FAR_LATER) == []
    officer = staff_actor(fold(history).assigned_to or "")
    cmd = DecideCase(case_id=member("FL-001"), actor=officer, decision="approve")
    err = decider().given(*history).when(cmd, at(2026, 10, 1)).then_raises(WrongState)
    assert "stopped" in err.reason  # type: ignore[attr-defined]
    # a release after the stop does not restart it; a second stop is a redelivery
    resume = ResumeJointMember(
        case_id=member("FL-001"), actor=SYSTEM, joint_case_id=JOINT, after_case_id=member("OT-001")
    )
    assert decider().given(*history).when(resume, at(2026, 10, 2)).then_events() == []
    again = hold("FL-001", "stopped_by_refusal", "OT-001")
    assert decider().given(*history).when(again, at(2026, 10, 2)).then_events() == []


def test_a_decided_member_is_not_held() -> None:
    routed = route(ebike_routes()["FL-001"])
    officer = staff_actor(fold(routed).assigned_to or "")
    decided = (
        decider()
        .given(*routed)
        .when(
            DecideCase(case_id=member("FL-001"), actor=officer, decision="approve"),
            at(2026, 9, 30),
        )
        .then_events()
    )
    cmd = hold("FL-001", "stopped_by_refusal", "OT-001")
    assert decider().given(*routed, *decided).when(cmd, at(2026, 10, 1)).then_events() == []
