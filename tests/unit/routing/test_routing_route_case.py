"""Routing an accepted case: the office with the authority, the hops, the A holder, the clock."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.routing import (
    CaseAssigned,
    CaseDecided,
    CaseHandedOff,
    CaseRouted,
    DeadlineSet,
    ResultReturned,
)
from routing.domain.case import DecideCase, ReturnResult
from routing.domain.errors import InvalidValue, UnknownReference

from .support import CASE_ID, SYSTEM, at, decider, of_type, route, second_child, staff_actor

pytestmark = pytest.mark.unit

MAYU = {"case_id": CASE_ID, "org_id": "ruian.mayu", "tier": "town"}


def test_second_child_application_from_mabei_goes_to_the_mayu_family_planning_office() -> None:
    cmd = second_child()
    decider().given().when(cmd, cmd.accepted_at).then(
        CaseRouted(
            **MAYU,
            item_code="FP-002",
            item_version=1,
            category="family_planning",
            case_type="promised",
            catalog_tier="town",
            handling_tier="town",
            handling_unit_id="ruian.mayu",
            handling_office_id="ruian.mayu.jsb",
            rule="catalog_tier",
            base_unit_id="ruian.mayu.mabei",
            base="registered_community",
            accepting_center_id="ruian.mayu.mabei",
            accepting_staff_id="ruian.mayu.mabei.agent1",
            agent_id="ruian.mayu.mabei.agent1",
            route=("ruian.mayu.mabei", "ruian.mayu"),
            routed_by="system",
            material_codes=(
                "APPLICATION_FORM",
                "ID_CARD",
                "MARRIAGE_CERT",
                "HOUSEHOLD_REG",
                "PHOTO_1IN",
                "CHILD_BIRTH_CERT",
            ),
            line_id="w01",  # 马屿镇's 计划生育办公室 line (the acceptance named none)
        ),
        CaseHandedOff(
            **MAYU,
            hop=1,
            from_unit_id="ruian.mayu.mabei",
            from_tier="community",
            to_unit_id="ruian.mayu",
            to_tier="town",
            to_office_id="ruian.mayu.jsb",
            direction="up",
            carried_by="ruian.mayu.mabei.agent1",
        ),
        CaseAssigned(
            **MAYU,
            office_id="ruian.mayu.jsb",
            post_id="ruian.mayu.jsb.post",
            assigned_to="ruian.mayu.jsb.a",
            as_role="A",
            a_holder="ruian.mayu.jsb.a",
            b_holder="ruian.mayu.jsb.b",
            availability_checked_at=at(2026, 9, 29, 9, 30),
            assigned_by="system",
        ),
        DeadlineSet(
            **MAYU,
            accepted_at=at(2026, 9, 29, 9, 30),
            promised_limit_days=15,
            paused_working_days=0,
            due_date=date(2026, 10, 26),
            due_at=at(2026, 10, 26, 17, 30),
            reason="accepted",
            set_by="system",
            provisional_years=(),  # 2026 is official (chinesecalendar)
        ),
    )


def test_second_child_is_decided_by_the_town_and_the_result_comes_back_to_mabei() -> None:
    routed = route(second_child())
    officer = staff_actor("ruian.mayu.jsb.a")
    decision = DecideCase(case_id=CASE_ID, actor=officer, decision="approve")
    decided = (
        decider()
        .given(*routed)
        .when(decision, at(2026, 10, 9, 10))
        .then(
            CaseDecided(
                **MAYU,
                decision_id=f"{CASE_ID}.decision",
                decision="approve",
                reason=None,
                decided_by="ruian.mayu.jsb.a",
                at_window=False,
                on_time=True,
                provisional_years=(),
            )
        )
    )
    back = ReturnResult(case_id=CASE_ID, actor=officer)
    decider().given(*routed, *decided.produced).when(back, at(2026, 10, 9, 11)).then(
        ResultReturned(
            **MAYU,
            hop=1,
            from_unit_id="ruian.mayu",
            to_unit_id="ruian.mayu.mabei",
            decision="approve",
            carried_by="ruian.mayu.mabei.agent1",
            returned_by="ruian.mayu.jsb.a",
            final=True,
        )
    )


def test_island_resident_handing_in_at_dongshan_reaches_the_street_office_that_owns_it() -> None:
    # 张老伯 of 北麂社区 lives on the mainland and hands in his 社保 at the 东山街道 center.
    cmd = second_child(
        item_code="LS-001",
        category="labour_social_security",
        registered_community_id="ruian.dongshan.beiji",
        accepting_center_id="ruian.dongshan",
        accepting_staff_id="ruian.dongshan.agent1",
        promised_limit_days=5,
    )
    events = route(cmd)
    routed = of_type(events, CaseRouted)[0]
    assert routed.handling_unit_id == "ruian.dongshan"
    assert routed.handling_office_id == "ruian.dongshan.sbs"
    assert routed.base_unit_id == "ruian.dongshan.beiji"
    assert routed.route == ("ruian.dongshan",)
    assert of_type(events, CaseHandedOff) == []  # no boat trip: the owning office is here
    assert of_type(events, CaseAssigned)[0].assigned_to == "ruian.dongshan.sbs.a"


def test_island_resident_community_item_travels_down_to_beiji() -> None:
    cmd = second_child(
        item_code="OT-002",
        category="other",
        handling_tier="community",
        case_type="same_day",
        promised_limit_days=0,
        registered_community_id="ruian.dongshan.beiji",
        accepting_center_id="ruian.dongshan",
        accepting_staff_id="ruian.dongshan.agent1",
    )
    events = route(cmd)
    routed = of_type(events, CaseRouted)[0]
    assert (routed.handling_unit_id, routed.handling_office_id) == (
        "ruian.dongshan.beiji",
        "ruian.dongshan.beiji.window",
    )
    (hop,) = of_type(events, CaseHandedOff)
    assert (hop.from_unit_id, hop.to_unit_id, hop.direction) == (
        "ruian.dongshan",
        "ruian.dongshan.beiji",
        "down",
    )
    assert hop.carried_by == "ruian.dongshan.agent1"


def test_a_case_handed_in_at_another_street_travels_up_and_down_the_tree() -> None:
    cmd = second_child(
        accepting_center_id="ruian.anyang.yucai", accepting_staff_id="ruian.anyang.yucai.staff1"
    )
    hops = of_type(route(cmd), CaseHandedOff)
    assert [(h.from_unit_id, h.to_unit_id, h.direction) for h in hops] == [
        ("ruian.anyang.yucai", "ruian.anyang", "up"),
        ("ruian.anyang", "ruian", "up"),
        ("ruian", "ruian.mayu", "down"),
    ]
    assert [h.to_office_id for h in hops] == [None, None, "ruian.mayu.jsb"]
    assert {h.carried_by for h in hops} == {"ruian.anyang.yucai.staff1"}


def test_a_city_tier_item_climbs_two_tiers() -> None:
    cmd = second_child(item_code="CA-002", category="civil_affairs", handling_tier="city")
    events = route(cmd)
    assert of_type(events, CaseRouted)[0].handling_office_id == "ruian.swsp"
    assert [(h.from_tier, h.to_tier) for h in of_type(events, CaseHandedOff)] == [
        ("community", "town"),
        ("town", "city"),
    ]


def test_a_resident_registered_outside_the_tree_is_handled_from_the_accepting_center() -> None:
    cmd = second_child(
        registered_community_id="wenzhou.lucheng.x",
        accepting_center_id="ruian.anyang.yucai",
        accepting_staff_id="ruian.anyang.yucai.staff1",
    )
    routed = of_type(route(cmd), CaseRouted)[0]
    assert (routed.base, routed.base_unit_id) == ("accepting_center", "ruian.anyang.yucai")
    assert routed.handling_unit_id == "ruian.anyang"


def test_an_online_submission_is_carried_by_the_accepting_centers_agent() -> None:
    cmd = second_child(accepting_staff_id=None)
    routed = of_type(route(cmd), CaseRouted)[0]
    assert routed.agent_id == "ruian.mayu.mabei.agent1"
    assert routed.accepting_staff_id is None


def test_a_redelivered_acceptance_changes_nothing() -> None:
    cmd = second_child()
    decider().given(*route(cmd)).when(cmd, at(2026, 9, 29, 11)).then()


def test_unknown_accepting_center_and_inconsistent_promises_are_refused() -> None:
    err = (
        decider()
        .given()
        .when(second_child(accepting_center_id="ruian.nowhere"), at(2026, 9, 29))
        .then_raises(UnknownReference)
    )
    assert err.field == "accepting_center_id"  # type: ignore[attr-defined]
    err = (
        decider()
        .given()
        .when(second_child(case_type="same_day", promised_limit_days=3), at(2026, 9, 29))
        .then_raises(InvalidValue)
    )
    assert err.field == "promised_limit_days"  # type: ignore[attr-defined]


def test_commands_on_a_case_routing_never_saw_are_refused() -> None:
    cmd = DecideCase(case_id=CASE_ID, actor=SYSTEM, decision="approve")
    err = decider().given().when(cmd, at(2026, 9, 29)).then_raises(UnknownReference)
    assert err.field == "case_id"  # type: ignore[attr-defined]
