"""Service lines (服务条线) in routing: the line a case is queued on, and the roster saying who
serves which line when (育才社区: 12 lines, 6 staff, staggered lunch, Saturday mornings)."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from contracts.routing import CaseAssigned, CaseRouted, RosterEntry, line_for
from routing.domain.errors import UnknownReference
from routing.domain.org_admin import SetDutyRoster, decide_org
from routing.seed_org import YUCAI_LINES

from .support import ADMIN, at, fold, of_type, route, second_child, seeded_org, with_admin

pytestmark = pytest.mark.unit

YUCAI = "ruian.anyang.yucai"
HEAD, S1, S2, S3 = (f"{YUCAI}.head", f"{YUCAI}.staff1", f"{YUCAI}.staff2", f"{YUCAI}.staff3")
SATURDAY = at(2026, 10, 17, 9)  # an ordinary Saturday: 育才 keeps Saturday-morning hours
TUESDAY = (2026, 9, 29)
LINES = [line.model_dump() for line in YUCAI_LINES]


def at_yucai(item_code: str, category: str, tier: str, **more: Any):  # type: ignore[no-untyped-def]
    """An acceptance at 育才 of an 育才 resident's case."""
    fields: dict[str, Any] = {
        "item_code": item_code,
        "category": category,
        "handling_tier": tier,
        "promised_limit_days": 5,
        "registered_community_id": YUCAI,
        "accepting_center_id": YUCAI,
        "accepting_staff_id": S1,
    }
    return second_child(**(fields | more))


def routed_and_assigned(cmd, org=None) -> tuple[CaseRouted, CaseAssigned]:  # type: ignore[no-untyped-def]
    events = route(cmd, org=org)
    return of_type(events, CaseRouted)[0], of_type(events, CaseAssigned)[0]


# -- the one rule: which line a case belongs to ------------------------------------------------
def test_a_line_naming_the_item_takes_it_before_the_lines_of_its_category() -> None:
    assert line_for(LINES, "CA-001", "civil_affairs") == "l04"  # 老年人服务: 老年优待证
    assert line_for(LINES, "LS-002", "labour_social_security") == "l07"  # 退休人员服务


def test_the_other_items_of_a_shared_category_go_to_the_line_naming_none() -> None:
    assert line_for(LINES, "CA-002", "civil_affairs") == "l03"  # 民政服务: 低保
    assert line_for(LINES, "OT-002", "other") == "l11"  # 自来水缴费
    assert line_for(LINES, "OT-003", "other") == "l12"  # 咨询与全程代理, not the water bill


def test_a_general_window_takes_every_category_and_no_lines_means_no_line() -> None:
    window = [{"line_id": "w08", "categories": ["other", "*"]}]
    assert line_for(window, "AG-001", "agriculture") == "w08"
    assert line_for([], "CA-001", "civil_affairs") is None
    assert line_for(LINES, None, None) is None


# -- the line travels with the case --------------------------------------------------------
def test_handled_where_accepted_the_case_keeps_the_line_intake_recorded() -> None:
    routed, _ = routed_and_assigned(at_yucai("CA-001", "civil_affairs", "town", line_id="l04"))
    assert routed.handling_unit_id == YUCAI  # 下授 to the community at 安阳
    assert (routed.line_id, routed.accepting_line_id) == ("l04", "l04")
    assert fold(route(at_yucai("CA-001", "civil_affairs", "town", line_id="l04"))).line_id == "l04"


def test_handled_at_the_town_the_case_is_queued_on_the_towns_line() -> None:
    routed, _ = routed_and_assigned(
        at_yucai("FP-002", "family_planning", "town", promised_limit_days=15, line_id="l01")
    )
    assert routed.handling_unit_id == "ruian.anyang"
    assert (routed.line_id, routed.accepting_line_id) == ("w01", "l01")  # 计划生育办公室


def test_an_acceptance_without_a_line_old_or_lineless_is_put_on_a_line_by_the_same_rule() -> None:
    routed, _ = routed_and_assigned(at_yucai("LS-002", "labour_social_security", "town"))
    assert (routed.line_id, routed.accepting_line_id) == ("l07", None)


# -- the roster by line: Saturday morning ---------------------------------------------------
def test_saturday_morning_the_b_holder_rostered_on_the_line_takes_it_over_an_a_on_another() -> None:
    """Given 育才's Saturday roster (staff1 keeps l01-l02, staff2 l03-l06), when a 老年优待证
    (l04, post2: A staff1, B staff2) comes in on Saturday at 9:00, then staff2 takes it as B
    and A's reason says staff1 was at work on other lines."""
    _, got = routed_and_assigned(at_yucai("CA-001", "civil_affairs", "town", accepted_at=SATURDAY))
    assert (got.assigned_to, got.as_role, got.post_id) == (S2, "B", f"{YUCAI}.window.post2")
    assert (got.a_holder, got.b_holder) == (S1, S2)
    assert (got.a_unavailable_reason, got.b_unavailable_reason) == ("not_on_line", None)
    assert got.availability_checked_at == SATURDAY


def test_saturday_morning_a_line_whose_a_is_off_goes_to_the_b_on_that_line() -> None:
    """生育登记 (l01, post1: A the head, off on Saturdays; B staff1, on l01-l02)."""
    _, got = routed_and_assigned(
        at_yucai("FP-003", "family_planning", "community", accepted_at=SATURDAY)
    )
    assert (got.assigned_to, got.as_role, got.a_unavailable_reason) == (S1, "B", "off_duty")


def test_saturday_morning_a_line_nobody_keeps_goes_to_the_head_to_reassign() -> None:
    """退休职工养老保险年检 (l07, post4: staff3 and staff4, both off on Saturdays)."""
    _, got = routed_and_assigned(
        at_yucai("LS-002", "labour_social_security", "town", accepted_at=SATURDAY)
    )
    assert (got.assigned_to, got.as_role) == (HEAD, "center_head")
    assert (got.a_unavailable_reason, got.b_unavailable_reason) == ("off_duty", "off_duty")


# -- the roster by line: staggered shifts ----------------------------------------------------
def test_staggered_lunch_the_b_on_the_afternoon_shift_covers_the_line_at_noon() -> None:
    """At 12:15 the head (early lunch group) is out; staff1 (late group) is back since 12:00
    and keeps the head's lines in the afternoon as their B."""
    _, got = routed_and_assigned(
        at_yucai("FP-003", "family_planning", "community", accepted_at=at(*TUESDAY, 12, 15))
    )
    assert (got.assigned_to, got.as_role, got.a_unavailable_reason) == (S1, "B", "off_duty")
    _, morning = routed_and_assigned(
        at_yucai("FP-003", "family_planning", "community", accepted_at=at(*TUESDAY, 10))
    )
    assert (morning.assigned_to, morning.as_role) == (HEAD, "A")


def shifted_roster() -> SetDutyRoster:
    """育才's roster with staff1 on l03-l04 in the morning and on the head's l01-l02 in the
    afternoon (错时), and staff2 keeping l03-l04 in the afternoon."""
    keep = tuple(e for e in seeded_org().rosters[YUCAI] if e.staff_id not in (S1, S2))
    shifts = (
        RosterEntry(
            staff_id=S1,
            starts=time(8, 30),
            ends=time(12),
            working_days=True,
            line_ids=("l03", "l04"),
        ),
        RosterEntry(
            staff_id=S1,
            starts=time(13),
            ends=time(17, 30),
            working_days=True,
            line_ids=("l01", "l02"),
        ),
        RosterEntry(staff_id=S2, starts=time(8, 30), ends=time(12), working_days=True),
        RosterEntry(
            staff_id=S2,
            starts=time(13),
            ends=time(17, 30),
            working_days=True,
            line_ids=("l03", "l04"),
        ),
    )
    return SetDutyRoster(actor=ADMIN, unit_id=YUCAI, entries=(*keep, *shifts))


def test_a_staggered_shift_the_line_follows_the_roster_hour_by_hour() -> None:
    org = with_admin(seeded_org(), shifted_roster())
    _, morning = routed_and_assigned(
        at_yucai("CA-001", "civil_affairs", "town", accepted_at=at(*TUESDAY, 9)), org=org
    )
    assert (morning.assigned_to, morning.as_role, morning.a_unavailable_reason) == (S1, "A", None)
    _, afternoon = routed_and_assigned(
        at_yucai("CA-001", "civil_affairs", "town", accepted_at=at(*TUESDAY, 15)), org=org
    )
    assert (afternoon.assigned_to, afternoon.as_role) == (S2, "B")
    assert afternoon.a_unavailable_reason == "not_on_line"


def test_when_neither_holder_is_on_the_line_the_a_holder_at_work_serves_it() -> None:
    """A roster naming other lines for both: the post still answers for its line."""
    keep = tuple(e for e in seeded_org().rosters[YUCAI] if e.staff_id not in (S1, S2))
    elsewhere = tuple(
        RosterEntry(
            staff_id=s, starts=time(8, 30), ends=time(17, 30), working_days=True, line_ids=("l12",)
        )
        for s in (S1, S2)
    )
    org = with_admin(
        seeded_org(), SetDutyRoster(actor=ADMIN, unit_id=YUCAI, entries=(*keep, *elsewhere))
    )
    _, got = routed_and_assigned(
        at_yucai("CA-001", "civil_affairs", "town", accepted_at=at(*TUESDAY, 10)), org=org
    )
    assert (got.assigned_to, got.as_role, got.a_unavailable_reason) == (S1, "A", None)


def test_a_roster_entry_without_lines_serves_every_line() -> None:
    entry = RosterEntry(staff_id=S3, starts=time(8, 30), ends=time(12), working_days=True)
    assert entry.serves("l09") and entry.serves(None)
    lined = entry.model_copy(update={"line_ids": ("l05",)})
    assert lined.serves("l05") and not lined.serves("l09")


def test_a_roster_naming_a_line_the_center_does_not_have_is_refused_naming_the_field() -> None:
    bad = RosterEntry(
        staff_id=S3, starts=time(8, 30), ends=time(12), working_days=True, line_ids=("l99",)
    )
    cmd = SetDutyRoster(actor=ADMIN, unit_id=YUCAI, entries=(bad,))
    with pytest.raises(UnknownReference) as refused:
        decide_org(cmd, seeded_org(), SATURDAY)
    assert refused.value.field == "entries[0].line_ids"
    assert "l99" in refused.value.reason
