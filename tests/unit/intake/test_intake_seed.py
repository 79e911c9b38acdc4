"""The seeded catalog: every item validates through the publish decider, the report's items
are there and every category is covered."""

from __future__ import annotations

import pytest

from contracts.intake import CATEGORY_NAMES_ZH, CatalogItemPublished
from intake.domain import catalog
from intake.seed_catalog import seed_commands, seed_items

from .builders import SEEDED, SEEDED_AT, at

pytestmark = pytest.mark.unit


def test_every_seeded_item_validates_through_publish() -> None:
    state = catalog.initial_state()
    for cmd in seed_commands():
        events = catalog.decide(cmd, state, SEEDED_AT)
        assert [type(e) for e in events] == [CatalogItemPublished]
        for e in events:
            state = catalog.evolve(state, e)
    assert len(state.in_force(at(2026, 9, 21))) == len(seed_items())


def test_at_least_fourteen_items_across_all_nine_categories() -> None:
    items = seed_items()
    assert len(items) >= 14
    assert len({i.code for i in items}) == len(items)
    assert {i.category for i in items} == set(CATEGORY_NAMES_ZH)


@pytest.mark.parametrize(
    "fragment",
    [
        "老年优待证",
        "低保",
        "独生子女",
        "二胎",
        "社保",
        "养老保险年检",
        "电动自行车防盗登记",
        "自来水缴费",
        "农村住房改造",
        "暂口管理",
    ],
)
def test_the_items_the_report_names_are_seeded(fragment: str) -> None:
    assert any(fragment in i.name_zh for i in seed_items()), fragment


def test_second_child_application_is_a_town_family_planning_item_with_a_deposit() -> None:
    fp = SEEDED.version_in_force("FP-002", at(2026, 9, 21))
    assert fp is not None
    assert (fp.category, fp.handling_tier, fp.case_type) == ("family_planning", "town", "promised")
    assert "计划生育" in fp.implementing_body
    assert fp.deposit is not None and fp.deposit.amount_fen == 300_000
    assert {m.code for m in fp.materials} >= {
        "ID_CARD",
        "MARRIAGE_CERT",
        "HOUSEHOLD_REG",
        "PHOTO_1IN",
    }


def test_police_room_and_water_items_are_same_day_at_the_community() -> None:
    ebike = SEEDED.version_in_force("OT-001", at(2026, 9, 21))
    water = SEEDED.version_in_force("OT-002", at(2026, 9, 21))
    assert ebike is not None and water is not None
    assert (ebike.handling_tier, ebike.case_type, ebike.promised_limit_days) == (
        "community",
        "same_day",
        0,
    )
    assert "警务室" in ebike.implementing_body and ebike.fee.amount_fen > 0
    assert (water.handling_tier, water.case_type) == ("community", "same_day")


def test_most_items_are_free_and_fees_are_integer_fen_with_a_basis() -> None:
    items = seed_items()
    charged = [i for i in items if not i.fee.free]
    assert 1 <= len(charged) <= 3
    for i in charged:
        assert isinstance(i.fee.amount_fen, int) and i.fee.basis
