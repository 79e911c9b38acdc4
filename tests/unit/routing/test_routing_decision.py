"""Decisions by the assigned officer only; same-day items at the community window; results."""

from __future__ import annotations

import pytest

from contracts.routing import CaseDecided, CaseWithdrawn, ResultReturned
from eventkit.envelope import Actor
from routing.domain.case import DecideCase, RecordWithdrawal, ReturnResult
from routing.domain.errors import InvalidValue, NotPermitted, WrongState

from .support import (
    CASE_ID,
    SYSTEM,
    at,
    decider,
    fold,
    of_type,
    route,
    second_child,
    staff_actor,
)

pytestmark = pytest.mark.unit

A, B = "ruian.mayu.jsb.a", "ruian.mayu.jsb.b"


def decide(actor: Actor, decision: str = "approve", reason: str | None = None) -> DecideCase:
    return DecideCase(case_id=CASE_ID, actor=actor, decision=decision, reason=reason)


def water_bill_at_mabei() -> list:  # type: ignore[type-arg]
    """A same-day community item (自来水缴费, 即办件) handed in at 马北社区."""
    return route(
        second_child(
            item_code="OT-002",
            category="other",
            handling_tier="community",
            case_type="same_day",
            promised_limit_days=0,
        )
    )


def test_a_decision_by_someone_other_than_the_assignee_is_refused_naming_the_actor() -> None:
    routed = route(second_child())
    err = (
        decider()
        .given(*routed)
        .when(decide(staff_actor(B)), at(2026, 9, 30))
        .then_raises(NotPermitted)
    )
    assert err.field == "actor"  # type: ignore[attr-defined]
    assert A in err.reason  # type: ignore[attr-defined]
    head = staff_actor("ruian.mayu.head")
    decider().given(*routed).when(decide(head), at(2026, 9, 30)).then_raises(NotPermitted)


def test_a_refusal_must_give_its_reason() -> None:
    routed = route(second_child())
    err = (
        decider()
        .given(*routed)
        .when(decide(staff_actor(A), "refuse", "  "), at(2026, 9, 30))
        .then_raises(InvalidValue)
    )
    assert err.field == "reason"  # type: ignore[attr-defined]
    events = (
        decider()
        .given(*routed)
        .when(decide(staff_actor(A), "refuse", "不符合再生育条件"), at(2026, 9, 30))
        .then_events()
    )
    assert of_type(events, CaseDecided)[0].reason == "不符合再生育条件"


def test_a_case_is_decided_once() -> None:
    routed = route(second_child())
    decided = decider().given(*routed).when(decide(staff_actor(A)), at(2026, 9, 30)).then_events()
    decider().given(*routed, *decided).when(decide(staff_actor(A)), at(2026, 9, 30)).then_raises(
        WrongState
    )


def test_a_late_decision_is_recorded_as_not_on_time() -> None:
    routed = route(second_child())
    (evt,) = decider().given(*routed).when(decide(staff_actor(A)), at(2026, 10, 27)).then_events()
    assert isinstance(evt, CaseDecided) and not evt.on_time


def test_a_same_day_item_is_decided_at_the_community_window_at_once() -> None:
    routed = water_bill_at_mabei()
    assert fold(routed).assigned_to == "ruian.mayu.mabei.agent2"  # A of the 缴费 line
    window = staff_actor("ruian.mayu.mabei.agent1")  # 黄美燕 at the window, not assigned
    (evt,) = decider().given(*routed).when(decide(window), at(2026, 9, 29, 9, 35)).then_events()
    assert isinstance(evt, CaseDecided)
    assert (evt.decided_by, evt.at_window, evt.on_time, evt.tier) == (
        "ruian.mayu.mabei.agent1",
        True,
        True,
        "community",
    )
    # the window rule is the community's own: a town officer cannot use it
    outsider = staff_actor("ruian.mayu.jsb.a")
    decider().given(*routed).when(decide(outsider), at(2026, 9, 29)).then_raises(NotPermitted)


def test_promised_items_are_never_decided_at_the_window() -> None:
    routed = route(
        second_child(
            item_code="CA-001",
            category="civil_affairs",
            promised_limit_days=5,
            registered_community_id="ruian.anyang.yucai",
            accepting_center_id="ruian.anyang.yucai",
            accepting_staff_id="ruian.anyang.yucai.staff1",
        )
    )
    not_assignee = staff_actor("ruian.anyang.yucai.staff3")
    decider().given(*routed).when(decide(not_assignee), at(2026, 9, 30)).then_raises(NotPermitted)


def test_a_same_day_result_returns_in_place_with_hop_zero() -> None:
    routed = water_bill_at_mabei()
    agent = staff_actor("ruian.mayu.mabei.agent1")
    decided = decider().given(*routed).when(decide(agent), at(2026, 9, 29, 9, 35)).then_events()
    events = (
        decider()
        .given(*routed, *decided)
        .when(ReturnResult(case_id=CASE_ID, actor=agent), at(2026, 9, 29, 9, 36))
        .then_events()
    )
    assert [(e.hop, e.from_unit_id, e.to_unit_id, e.final) for e in events] == [
        (0, "ruian.mayu.mabei", "ruian.mayu.mabei", True)
    ]


def test_the_result_of_a_city_case_comes_down_every_tier_to_the_accepting_center() -> None:
    routed = route(second_child(item_code="CA-002", category="civil_affairs", handling_tier="city"))
    officer = staff_actor("ruian.swsp.a")
    decided = (
        decider()
        .given(*routed)
        .when(decide(officer, "refuse", "家庭收入超过低保标准"), at(2026, 10, 9))
        .then_events()
    )
    events = (
        decider()
        .given(*routed, *decided)
        .when(ReturnResult(case_id=CASE_ID, actor=officer), at(2026, 10, 9, 11))
        .then_events()
    )
    assert all(isinstance(e, ResultReturned) for e in events)
    assert [(e.hop, e.from_unit_id, e.to_unit_id, e.final) for e in events] == [
        (1, "ruian", "ruian.mayu", False),
        (2, "ruian.mayu", "ruian.mayu.mabei", True),
    ]
    assert {(e.decision, e.carried_by, e.returned_by) for e in events} == {
        ("refuse", "ruian.mayu.mabei.agent1", "ruian.swsp.a")
    }


def test_a_result_is_returned_only_after_the_decision_and_by_the_handling_center() -> None:
    routed = route(second_child())
    back = ReturnResult(case_id=CASE_ID, actor=staff_actor(A))
    decider().given(*routed).when(back, at(2026, 9, 30)).then_raises(WrongState)
    decided = decider().given(*routed).when(decide(staff_actor(A)), at(2026, 9, 30)).then_events()
    stranger = ReturnResult(case_id=CASE_ID, actor=staff_actor("ruian.tangxia.jsb.a"))
    decider().given(*routed, *decided).when(stranger, at(2026, 9, 30)).then_raises(NotPermitted)
    colleague = ReturnResult(case_id=CASE_ID, actor=staff_actor(B))
    assert decider().given(*routed, *decided).when(colleague, at(2026, 9, 30)).then_events()


def test_a_withdrawal_stops_the_case_once_and_not_after_the_decision() -> None:
    routed = route(second_child())
    withdraw = RecordWithdrawal(case_id=CASE_ID, actor=SYSTEM)
    withdrawn = (
        decider()
        .given(*routed)
        .when(withdraw, at(2026, 9, 30))
        .then(
            CaseWithdrawn(case_id=CASE_ID, org_id="ruian.mayu", tier="town", recorded_by="system")
        )
    )
    decider().given(*routed, *withdrawn.produced).when(withdraw, at(2026, 9, 30)).then()
    decider().given(*routed, *withdrawn.produced).when(
        decide(staff_actor(A)), at(2026, 9, 30)
    ).then_raises(WrongState)
    decided = decider().given(*routed).when(decide(staff_actor(A)), at(2026, 9, 30)).then_events()
    decider().given(*routed, *decided).when(withdraw, at(2026, 9, 30)).then_raises(WrongState)
