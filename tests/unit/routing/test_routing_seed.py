"""The seeded Rui'an tree: every command passes the decider and the tree is well-formed."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from contracts.base import REGISTRY
from contracts.routing import DelegationRuleSet, StaffRegistered
from routing.domain.org_admin import (
    RegisterOrgUnit,
    RegisterStaff,
    decide_org,
    evolve_org,
    initial_org_state,
)
from routing.seed_org import CITY_ID, SEED_ACTOR, seed_org_commands, seed_org_state

from .support import SEED_NOW, seeded_org

pytestmark = pytest.mark.unit


def test_every_seed_command_passes_decide_in_order() -> None:
    state = initial_org_state()
    for cmd in seed_org_commands():
        events = decide_org(cmd, state, SEED_NOW)
        assert len(events) == 1, cmd
        state = evolve_org(state, events[0])
    assert state == seeded_org()


def test_the_seed_is_deterministic_and_its_events_are_registered() -> None:
    assert seed_org_commands() == seed_org_commands()
    _, events = seed_org_state(SEED_NOW)
    for evt in events:
        assert REGISTRY[evt.event_type] is type(evt)


def test_the_city_has_five_towns_and_ten_streets() -> None:
    org = seeded_org()
    assert org.units[CITY_ID].name_zh == "瑞安市行政审批服务中心"
    assert org.units[CITY_ID].tier == "city" and org.units[CITY_ID].parent_id is None
    towns = [org.units[u] for u in org.children(CITY_ID)]
    assert len(towns) == 15
    assert all(t.tier == "town" for t in towns)
    assert Counter(t.kind for t in towns) == {"镇": 5, "街道": 10}
    names = {t.name_zh for t in towns}
    assert {"东山街道", "马屿镇", "安阳街道", "汀田街道"} <= names


def test_every_town_has_communities_and_every_community_a_town_parent() -> None:
    org = seeded_org()
    for town_id in org.children(CITY_ID):
        kids = org.children(town_id)
        assert len(kids) >= 2, town_id
        assert all(org.units[k].tier == "community" for k in kids)
    communities = [u for u in org.units.values() if u.tier == "community"]
    assert len(communities) >= 30
    for c in communities:
        assert c.parent_id is not None and org.units[c.parent_id].tier == "town"
        assert org.ancestors(c.unit_id)[-1] == CITY_ID


def test_the_places_of_the_report_are_where_the_report_puts_them() -> None:
    org = seeded_org()
    expected = {
        "ruian.dongshan.shangbu": ("上埠村", "ruian.dongshan"),
        "ruian.dongshan.beiji": ("北麂社区", "ruian.dongshan"),
        "ruian.mayu.mabei": ("马北社区", "ruian.mayu"),
        "ruian.anyang.yucai": ("育才社区", "ruian.anyang"),
        "ruian.tingtian.dadianxia": ("大典下社区", "ruian.tingtian"),
    }
    for unit_id, (name, parent) in expected.items():
        assert (org.units[unit_id].name_zh, org.units[unit_id].parent_id) == (name, parent)
    beiji = org.units["ruian.dongshan.beiji"]
    assert beiji.is_island and beiji.travel_minutes_to_parent == 180
    assert org.units["ruian.dongshan.shangbu"].kind == "村"
    assert org.staff["ruian.mayu.mabei.agent1"].name_zh == "黄美燕"


def test_every_center_has_a_head_hours_a_roster_and_a_window() -> None:
    org = seeded_org()
    for unit_id, unit in org.units.items():
        assert org.center_head(unit_id) is not None, unit_id
        assert unit.office_hours.weekly, unit_id
        assert org.rosters.get(unit_id), unit_id
        assert unit.service_lines, unit_id
        assert org.office_for(unit_id, "other") is not None, unit_id
    saturday = [u for u in org.units.values() if 5 in u.office_hours.weekly]
    assert {"ruian.anyang.yucai", "ruian.dongshan"} <= {u.unit_id for u in saturday}


def test_towns_and_city_have_an_office_per_category() -> None:
    org = seeded_org()
    categories = (
        "family_planning",
        "civil_affairs",
        "labour_social_security",
        "agriculture",
        "floating_population",
        "land_construction",
        "disabled_persons",
        "industry_commerce",
    )
    for unit in org.units.values():
        if unit.tier == "community":
            continue
        for cat in categories:
            office = org.office_for(unit.unit_id, cat)
            assert office is not None and cat in office.categories, (unit.unit_id, cat)
            post = org.post_for(office.office_id, cat)
            assert post is not None, (office.office_id, cat)
    assert org.offices["ruian.mayu.jsb"].name_zh == "计划生育办公室"


def test_yucai_runs_twelve_lines_with_six_staff_on_a_b_posts() -> None:
    org = seeded_org()
    yucai = org.units["ruian.anyang.yucai"]
    assert len(yucai.service_lines) == 12
    posts = [p for p in org.posts.values() if p.office_id == "ruian.anyang.yucai.window"]
    assert len(posts) == 6
    holders = {p.a_holder for p in posts} | {p.b_holder for p in posts}
    assert len(holders) == 6
    covered = [line for p in posts for line in p.service_line_ids]
    assert sorted(covered) == sorted(line.line_id for line in yucai.service_lines)
    assert org.staff["ruian.anyang.yucai.head"].name_zh == "王品启"


def test_every_post_is_held_by_two_people_of_its_own_unit() -> None:
    org = seeded_org()
    for post in org.posts.values():
        assert post.a_holder != post.b_holder
        for holder in (post.a_holder, post.b_holder):
            assert org.staff[holder].unit_id == post.unit_id
        assert org.offices[post.office_id].unit_id == post.unit_id


def test_police_rooms_take_e_bike_registration() -> None:
    org = seeded_org()
    office = org.office_for("ruian.tingtian.dadianxia", "other", "OT-001")
    assert office is not None and office.name_zh == "警务室"
    water = org.office_for("ruian.tingtian.dadianxia", "other", "OT-002")
    assert water is not None and water.name_zh == "便民服务窗口"


def test_delegation_rules_move_authority_up_and_down() -> None:
    org = seeded_org()
    directions = {r.direction for r in org.delegation_rules.values()}
    assert directions == {"up", "down"}
    for rule in org.delegation_rules.values():
        assert rule.area_unit_id in org.units
    seeded = [c for c in seed_org_commands() if isinstance(c, RegisterOrgUnit)]
    assert len(seeded) == len(org.units)
    _, events = seed_org_state(SEED_NOW)
    assert sum(isinstance(e, DelegationRuleSet) for e in events) == len(org.delegation_rules)


def test_every_seeded_staff_member_has_a_work_contact_notify_can_reach() -> None:
    """Issue 13 #8: under `make run` nobody was told anything because no seeded staff member
    had a phone or e-mail. Every one of them now has both, each phone their own."""
    _, events = seed_org_state(SEED_NOW)
    staff = [e for e in events if isinstance(e, StaffRegistered)]
    assert len(staff) == len(seeded_org().staff)
    for s in staff:
        assert s.phone is not None and re.fullmatch(r"10[0-9]{9}", s.phone), s
        assert s.email == f"{s.staff_id}@ruian.bianmin.example", s
    assert len({s.phone for s in staff}) == len(staff)


def test_a_staff_members_contact_reaches_the_event_through_the_decider() -> None:
    state = seeded_org()
    cmd = RegisterStaff(
        actor=SEED_ACTOR,
        staff_id="ruian.mayu.jsb.c",
        name_zh="郑新",
        roles=("officer",),
        unit_id="ruian.mayu",
        office_id="ruian.mayu.jsb",
        phone="13957700001",
        email="zhengxin@mayu.example",
    )
    (evt,) = decide_org(cmd, state, SEED_NOW)
    assert isinstance(evt, StaffRegistered)
    assert (evt.phone, evt.email) == ("13957700001", "zhengxin@mayu.example")


def test_every_seeded_center_has_its_address_and_the_tree_keeps_it() -> None:
    units = [c for c in seed_org_commands() if isinstance(c, RegisterOrgUnit)]
    addresses = [u.address_zh for u in units]
    assert all(a and a.startswith("瑞安市") for a in addresses), addresses
    assert len(set(addresses)) == len(addresses)  # one door per center
    state, _ = seed_org_state(SEED_NOW)
    assert state.units["ruian.mayu.mabei"].address_zh == "瑞安市马屿镇马北社区马北大道26号"
    assert all(state.units[u.unit_id].address_zh == u.address_zh for u in units)
