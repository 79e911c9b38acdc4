"""审批权限上提、下授: a rule changes the handling tier only inside its area and dates."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.routing import CaseHandedOff, CaseRouted
from routing.domain.org_admin import SetDelegationRule

from .support import ADMIN, at, of_type, route, second_child, seeded_org, with_admin

pytestmark = pytest.mark.unit


def routed(org=None, **kw: object) -> CaseRouted:  # type: ignore[no-untyped-def]
    return of_type(route(second_child(**kw), org=org), CaseRouted)[0]


SENIOR_CARD = {"item_code": "CA-001", "category": "civil_affairs", "promised_limit_days": 5}
AT_YUCAI = {
    "registered_community_id": "ruian.anyang.yucai",
    "accepting_center_id": "ruian.anyang.yucai",
    "accepting_staff_id": "ruian.anyang.yucai.staff1",
}


def test_delegated_down_inside_anyang_the_community_decides() -> None:
    got = routed(**SENIOR_CARD, **AT_YUCAI)
    assert (got.catalog_tier, got.handling_tier, got.handling_unit_id) == (
        "town",
        "community",
        "ruian.anyang.yucai",
    )
    assert got.rule == "delegation_rule:dr-anyang-ca001-down"
    assert got.route == ("ruian.anyang.yucai",)


def test_outside_the_area_the_catalog_tier_holds() -> None:
    got = routed(**SENIOR_CARD)  # 马北社区 is not in 安阳街道
    assert (got.handling_tier, got.handling_unit_id, got.rule) == (
        "town",
        "ruian.mayu",
        "catalog_tier",
    )


def test_raised_to_the_city_for_the_island_only() -> None:
    housing = {
        "item_code": "LC-001",
        "category": "land_construction",
        "promised_limit_days": 15,
        "accepting_center_id": "ruian.dongshan",
        "accepting_staff_id": "ruian.dongshan.agent1",
    }
    island = routed(**housing, registered_community_id="ruian.dongshan.beiji")
    assert (island.handling_tier, island.handling_office_id, island.rule) == (
        "city",
        "ruian.gtsp",
        "delegation_rule:dr-beiji-lc001-up",
    )
    mainland = routed(**housing, registered_community_id="ruian.dongshan.shangbu")
    assert (mainland.handling_tier, mainland.rule) == ("town", "catalog_tier")


def test_a_rule_applies_only_from_its_effective_date() -> None:
    pension = {
        "item_code": "LS-002",
        "category": "labour_social_security",
        "promised_limit_days": 3,
    }
    before = routed(**pension, accepted_at=at(2026, 6, 30, 16))
    assert (before.handling_tier, before.rule) == ("town", "catalog_tier")
    after = routed(**pension, accepted_at=at(2026, 7, 1, 9))
    assert (after.handling_tier, after.rule) == ("community", "delegation_rule:dr-ruian-ls002-down")
    assert (
        of_type(route(second_child(**pension, accepted_at=at(2026, 7, 1, 9))), CaseHandedOff) == []
    )


def test_an_ended_rule_no_longer_applies() -> None:
    ended = SetDelegationRule(
        actor=ADMIN,
        rule_id="dr-anyang-ca001-down",
        item_code="CA-001",
        area_unit_id="ruian.anyang",
        handling_tier="community",
        direction="down",
        effective_from=date(2026, 1, 1),
        effective_to=date(2026, 9, 30),
        basis_zh="试点结束",
    )
    org = with_admin(seeded_org(), ended)
    inside = routed(org, **SENIOR_CARD, **AT_YUCAI, accepted_at=at(2026, 9, 30, 10))
    assert inside.handling_tier == "community"
    outside = routed(org, **SENIOR_CARD, **AT_YUCAI, accepted_at=at(2026, 10, 8, 10))
    assert (outside.handling_tier, outside.rule) == ("town", "catalog_tier")


def test_the_smallest_area_wins_over_a_city_wide_rule() -> None:
    city_wide = SetDelegationRule(
        actor=ADMIN,
        rule_id="dr-city-fp002-up",
        item_code="FP-002",
        area_unit_id="ruian",
        handling_tier="city",
        direction="up",
        effective_from=date(2026, 1, 1),
        basis_zh="上提",
    )
    mayu = SetDelegationRule(
        actor=ADMIN,
        rule_id="dr-mayu-fp002-town",
        item_code="FP-002",
        area_unit_id="ruian.mayu",
        handling_tier="town",
        direction="down",
        effective_from=date(2026, 1, 1),
        basis_zh="保留",
    )
    org = with_admin(seeded_org(), city_wide, mayu)
    in_mayu = routed(org)
    assert (in_mayu.handling_tier, in_mayu.rule) == ("town", "delegation_rule:dr-mayu-fp002-town")
    elsewhere = routed(org, registered_community_id="ruian.tangxia.hantian")
    assert (elsewhere.handling_tier, elsewhere.rule) == ("city", "delegation_rule:dr-city-fp002-up")
    # a rule for another item changes nothing
    other = routed(org, item_code="FP-001")
    assert other.rule == "catalog_tier"
