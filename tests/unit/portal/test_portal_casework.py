"""The staff pages' helpers: the checklist read into the contract's materials, the notice it
gives (the function intake applies), the working-day countdown, the A/B post, the trail's
words, and the head's figures per service line and staff member."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.intake import ProvidedMaterial, RequiredMaterial
from portal import casework as cw
from portal.http.head import _figures, by_line, by_staff

pytestmark = pytest.mark.unit

FP002 = [
    RequiredMaterial(code="APPLICATION_FORM", name_zh="申请表", form="original"),
    RequiredMaterial(code="ID_CARD", name_zh="身份证复印件", form="copy", copies=2),
    RequiredMaterial(code="MARRIAGE_CERT", name_zh="结婚证复印件", form="copy"),
    RequiredMaterial(code="BIRTH", name_zh="出生证明", form="copy", may_supply_later=True),
]


def test_the_checklist_gives_the_notice_intake_would_send() -> None:
    ticked = {
        "m.APPLICATION_FORM": "1",
        "form.APPLICATION_FORM": "copy",  # a copy where the original is required
        "copies.APPLICATION_FORM": "1",
        "m.ID_CARD": "1",
        "form.ID_CARD": "copy",
        "copies.ID_CARD": "1",  # one of two
    }
    provided, errors = cw.checked_materials(ticked, FP002)
    assert errors == {}
    assert provided == [
        ProvidedMaterial(code="APPLICATION_FORM", form="copy", copies=1),
        ProvidedMaterial(code="ID_CARD", form="copy", copies=1),
    ]
    gaps = cw.notice(FP002, provided)
    assert [(g["code"], g["reason"]) for g in gaps] == [
        ("APPLICATION_FORM", "original_required"),
        ("ID_CARD", "too_few_copies"),
        ("MARRIAGE_CERT", "not_provided"),
    ]  # everything at once; the 容缺 material is never a gap
    assert gaps[1]["copies_provided"] == 1


def test_a_bad_number_of_copies_is_named_and_not_counted() -> None:
    provided, errors = cw.checked_materials({"m.ID_CARD": "1", "copies.ID_CARD": "two"}, FP002)
    assert provided == [] and errors == {"copies.ID_CARD": "份数应为1至20的整数"}
    provided, errors = cw.checked_materials({"m.ID_CARD": "1", "copies.ID_CARD": "21"}, FP002)
    assert provided == [] and "copies.ID_CARD" in errors


def test_working_days_left_count_down_over_weekends_and_go_negative_when_late() -> None:
    monday_morning = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Rui'an
    assert cw.working_days_left("2026-12-07", monday_morning) == 0
    assert cw.working_days_left("2026-12-14", monday_morning) == 5  # over one weekend
    assert cw.working_days_left("2026-12-04", monday_morning) == -1  # Friday: a day late
    assert cw.working_days_left(None, monday_morning) is None


def test_the_post_held_is_a_or_b() -> None:
    post = ("x.jsb.a", "x.jsb.b")
    assert cw.ab_role(post, "x.jsb.a") == "A岗"
    assert cw.ab_role(post, "x.jsb.b") == "B岗"
    assert cw.ab_role(post, "x.head") is None
    assert cw.ab_role(None, "x.jsb.a") is None


def test_a_hand_off_and_an_assignment_are_told_with_names() -> None:
    names = {"u.c": "北麂社区", "u.t": "东山街道", "ag": "余锦程", "off": "杨丽娟"}
    up = {
        "event_type": "routing.case_handed_off",
        "payload": {
            "from_unit_id": "u.c",
            "to_unit_id": "u.t",
            "from_tier": "community",
            "to_tier": "town",
            "direction": "up",
            "carried_by": "ag",
        },
    }
    assert (
        cw.trail_detail(up, names)
        == "北麂社区（村（社区））上报至东山街道（乡镇（街道）），代办员 余锦程"
    )
    assigned = {
        "event_type": "routing.case_assigned",
        "payload": {"assigned_to": "off", "as_role": "B"},
    }
    assert cw.trail_detail(assigned, names) == "分派给 杨丽娟（B岗）"
    again = {
        "event_type": "routing.case_reassigned",
        "payload": {"from_officer": "off", "to_officer": "ag", "reason": "外出培训"},
    }
    assert cw.trail_detail(again, names) == "杨丽娟 改派给 余锦程；原因：外出培训"
    assert cw.event_zh("routing.case_escalated") == "督办升级"


def row(case_id: str, category: str, status: str, overdue: bool, who: str) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "category": category,
        "status": status,
        "overdue": overdue,
        "assigned_to": who,
        "assignee_name": who.upper(),
    }


def test_the_heads_figures_per_service_line_are_the_boards_and_per_staff_member() -> None:
    rows = [
        row("c1", "family_planning", "decided", False, "a"),
        row("c2", "family_planning", "result_returned", True, "a"),
        row("c3", "civil_affairs", "open", True, "b"),
    ]
    unit = {
        "unit_id": "ruian.dongshan",
        "service_lines": [
            {"line_id": "w01", "name_zh": "计生", "categories": ["family_planning"]},
            {"line_id": "w02", "name_zh": "民政", "categories": ["civil_affairs"]},
        ],
    }
    board = [  # audit's rows: this center's first line, and another center's second
        {
            "center_id": "ruian.dongshan",
            "line_id": "w01",
            "name_zh": "计生",
            "received": 7,
            "decided": 4,
            "on_time_pct": 75.0,
            "satisfaction": 3.5,
            "reviews": 2,
        },
        {
            "center_id": "ruian.mayu",
            "line_id": "w02",
            "name_zh": "民政",
            "received": 9,
            "decided": 9,
            "on_time_pct": 100.0,
            "satisfaction": 5.0,
            "reviews": 9,
        },
    ]
    fp, ca = by_line(unit, board)
    assert (fp["name_zh"], fp["cases"], fp["decided"], fp["on_time_pct"]) == ("计生", 7, 4, 75.0)
    assert (fp["reviews"], fp["avg_score"]) == (2, 3.5)
    # a line the board has no case for (here: only another center's) shows nothing yet
    assert (ca["name_zh"], ca["cases"], ca["on_time_pct"], ca["avg_score"]) == (
        "民政",
        0,
        None,
        None,
    )
    # per staff member: the board's figures over every case of the center (audit's
    # GET /v1/board/centers/{id}/staff), a name from the tree when the log has none
    board_staff = {
        "staff": [
            {
                "staff_id": "a",
                "name_zh": "A",
                "accepted": 0,
                "handled": 2,
                "open": 1,
                "decided": 1,
                "on_time_pct": 100.0,
                "satisfaction": 5.0,
                "reviews": 1,
                "accepted_satisfaction": None,
                "accepted_reviews": 0,
            },
            {
                "staff_id": "b",
                "name_zh": None,
                "accepted": 3,
                "handled": 0,
                "open": 0,
                "decided": 0,
                "on_time_pct": None,
                "satisfaction": None,
                "reviews": 0,
                "accepted_satisfaction": 2.0,
                "accepted_reviews": 2,
            },
        ]
    }
    # the center's totals: its queue, rated from intake's list
    total = _figures(rows, {"c1": 5, "c2": 2})
    assert (total["cases"], total["decided"], total["on_time_pct"], total["late_open"]) == (
        3,
        2,
        50.0,
        1,
    )
    assert (total["reviews"], total["avg_score"]) == (2, 3.5)
    a, b = by_staff(board_staff, {"b": "B"})
    assert (a["name_zh"], a["cases"], a["open"], a["decided"], a["on_time_pct"]) == (
        "A",
        2,
        1,
        1,
        100.0,
    )
    assert (a["avg_score"], a["reviews"]) == (5.0, 1)
    assert (b["name_zh"], b["accepted"], b["cases"], b["avg_score"], b["reviews"]) == (
        "B",
        3,
        0,
        2.0,
        2,
    )


def test_the_label_tables_are_template_globals_registered_once() -> None:
    from portal.web import LABELS_ZH, make_templates

    env = make_templates().env
    for name, table in LABELS_ZH.items():
        assert env.globals[name] is table, name
    page = env.from_string(
        "{{ queue_status_zh['open'] }}/{{ application_status_zh['accepted'] }}/"
        "{{ case_type_zh['promised'] }}/{{ event_zh('routing.case_escalated') }}"
    )
    assert page.render() == "办理中/已受理，办理中/承诺件/督办升级"
    # a page's own table under the same name wins (the public pages' longer tier names)
    assert env.from_string("{{ tier_zh['town'] }}").render(tier_zh={"town": "乡镇"}) == "乡镇"
