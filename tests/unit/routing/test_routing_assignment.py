"""AB岗: the on-duty A holder takes the case; B when A is off duty or absent; both recorded."""

from __future__ import annotations

from datetime import time

import pytest

from contracts.routing import CaseAssigned, CaseReassigned, RosterEntry
from routing.domain.case import DecideCase, ReassignCase
from routing.domain.errors import InvalidValue, NotPermitted
from routing.domain.org_admin import RecordStaffAbsence, SetDutyRoster

from .support import (
    ADMIN,
    CASE_ID,
    at,
    decider,
    of_type,
    route,
    second_child,
    seeded_org,
    staff_actor,
    with_admin,
)

pytestmark = pytest.mark.unit

A, B, HEAD = "ruian.mayu.jsb.a", "ruian.mayu.jsb.b", "ruian.mayu.head"


def assignment(cmd=None, now=None, org=None) -> CaseAssigned:  # type: ignore[no-untyped-def]
    cmd = cmd or second_child()
    return of_type(route(cmd, now=now, org=org), CaseAssigned)[0]


def absent(staff_id: str, absence_id: str = "abs-1") -> RecordStaffAbsence:
    return RecordStaffAbsence(
        actor=ADMIN,
        absence_id=absence_id,
        staff_id=staff_id,
        starts_at=at(2026, 9, 28, 0),
        ends_at=at(2026, 10, 9, 0),
        kind="leave",
        reason="年休假",
    )


def mornings_only_for_a() -> SetDutyRoster:
    """马屿镇's roster with the family-planning A holder on duty in the mornings only."""
    entries = tuple(e for e in seeded_org().rosters["ruian.mayu"] if e.staff_id != A)
    a_morning = RosterEntry(staff_id=A, starts=time(8, 30), ends=time(12), working_days=True)
    return SetDutyRoster(actor=ADMIN, unit_id="ruian.mayu", entries=(*entries, a_morning))


def test_a_holder_on_duty_takes_the_case() -> None:
    got = assignment()
    assert (got.assigned_to, got.as_role, got.a_unavailable_reason) == (A, "A", None)


def test_a_on_leave_so_b_is_assigned_and_both_are_recorded() -> None:
    org = with_admin(seeded_org(), absent(A))
    got = assignment(org=org)
    assert (got.assigned_to, got.as_role) == (B, "B")
    assert (got.a_holder, got.b_holder) == (A, B)
    assert got.a_unavailable_reason == "absent:leave"
    assert got.b_unavailable_reason is None


def test_a_off_duty_in_the_afternoon_so_b_is_assigned() -> None:
    org = with_admin(seeded_org(), mornings_only_for_a())
    afternoon = second_child(accepted_at=at(2026, 9, 29, 15))
    got = assignment(afternoon, org=org)
    assert (got.assigned_to, got.as_role, got.a_unavailable_reason) == (B, "B", "off_duty")
    morning = assignment(second_child(accepted_at=at(2026, 9, 29, 9)), org=org)
    assert morning.assigned_to == A


def test_neither_a_nor_b_available_goes_to_the_center_head_with_both_reasons() -> None:
    org = with_admin(seeded_org(), absent(A), absent(B, "abs-2"))
    got = assignment(org=org)
    assert (got.assigned_to, got.as_role) == (HEAD, "center_head")
    assert (got.a_unavailable_reason, got.b_unavailable_reason) == ("absent:leave", "absent:leave")


def test_a_case_arriving_at_night_is_assigned_as_the_morning_finds_it() -> None:
    night = second_child(accepted_at=at(2026, 9, 30, 20))
    got = assignment(night)
    assert got.assigned_to == A
    assert got.availability_checked_at == at(2026, 10, 8, 8, 30)  # after National Day


def test_staggered_lunch_at_anyang_hands_the_noon_case_to_b() -> None:
    # 安阳街道 keeps its hall open at noon: A holders lunch 12:00-13:00, B holders 11:30-12:00.
    yucai = {
        "registered_community_id": "ruian.anyang.yucai",
        "accepting_center_id": "ruian.anyang.yucai",
        "accepting_staff_id": "ruian.anyang.yucai.staff1",
    }
    noon = assignment(second_child(**yucai), now=at(2026, 9, 29, 12, 15))
    assert (noon.assigned_to, noon.as_role) == ("ruian.anyang.jsb.b", "B")
    assert noon.a_unavailable_reason == "off_duty"
    before = assignment(second_child(**yucai), now=at(2026, 9, 29, 11, 45))
    assert (before.assigned_to, before.as_role) == ("ruian.anyang.jsb.a", "A")


def test_saturday_morning_duty_at_yucai() -> None:
    cmd = second_child(
        item_code="CA-001",
        category="civil_affairs",
        handling_tier="town",
        promised_limit_days=5,
        registered_community_id="ruian.anyang.yucai",
        accepting_center_id="ruian.anyang.yucai",
        accepting_staff_id="ruian.anyang.yucai.staff1",
        accepted_at=at(2026, 10, 17, 9),  # an ordinary Saturday, extended hours
    )
    got = assignment(cmd)
    assert got.office_id == "ruian.anyang.yucai.window"  # 下授: decided in the community
    # 老年优待证 is on line l04 (老年人服务); on Saturday mornings staff2 keeps l03-l06 while
    # staff1 (the post's A) keeps l01-l02: B takes it (see test_routing_lines.py)
    assert (got.assigned_to, got.availability_checked_at) == (
        "ruian.anyang.yucai.staff2",
        at(2026, 10, 17, 9),
    )


def test_a_unit_without_a_roster_counts_everyone_on_duty_during_hours() -> None:
    org = with_admin(seeded_org(), SetDutyRoster(actor=ADMIN, unit_id="ruian.mayu", entries=()))
    assert assignment(org=org).assigned_to == A


def test_the_center_head_reassigns_with_a_reason_and_the_new_officer_decides() -> None:
    routed = route(second_child())
    cmd = ReassignCase(
        case_id=CASE_ID, actor=staff_actor(HEAD), to_officer=B, reason="A岗出差,转B岗办理"
    )
    reassigned = (
        decider()
        .given(*routed)
        .when(cmd, at(2026, 9, 30))
        .then(
            CaseReassigned(
                case_id=CASE_ID,
                org_id="ruian.mayu",
                tier="town",
                from_officer=A,
                to_officer=B,
                reason="A岗出差,转B岗办理",
                reassigned_by=HEAD,
            )
        )
    )
    history = [*routed, *reassigned.produced]
    old = DecideCase(case_id=CASE_ID, actor=staff_actor(A), decision="approve")
    decider().given(*history).when(old, at(2026, 9, 30)).then_raises(NotPermitted)
    new = DecideCase(case_id=CASE_ID, actor=staff_actor(B), decision="approve")
    assert decider().given(*history).when(new, at(2026, 9, 30)).then_events()


def test_reassignment_needs_a_reason_a_head_and_an_officer_of_the_handling_center() -> None:
    routed = route(second_child())
    base = {"case_id": CASE_ID, "actor": staff_actor(HEAD), "to_officer": B, "reason": "x"}

    def refused(exc: type, **kw: object) -> str:
        cmd = ReassignCase(**{**base, **kw})
        return decider().given(*routed).when(cmd, at(2026, 9, 30)).then_raises(exc).field

    assert refused(InvalidValue, reason="  ") == "reason"
    assert refused(NotPermitted, actor=staff_actor(B)) == "actor"
    assert refused(NotPermitted, actor=staff_actor("ruian.tangxia.head")) == "actor"
    assert refused(InvalidValue, to_officer="ruian.tangxia.jsb.a") == "to_officer"
    assert refused(InvalidValue, to_officer=A) == "to_officer"
    city_head = ReassignCase(**{**base, "actor": staff_actor("ruian.head")})
    assert decider().given(*routed).when(city_head, at(2026, 9, 30)).then_events()
