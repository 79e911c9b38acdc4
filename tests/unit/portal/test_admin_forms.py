"""The admin pages' own checks of typed values (before the service decides): dates and date
ranges, the absence's order of times, and the body each form sends."""

from __future__ import annotations

import pytest

from portal.forms import FormState
from portal.http.admin import COMMANDS, Reference, _dates

pytestmark = pytest.mark.unit

REF = Reference(
    tree={"units": [], "delegation_rules": []},
    units=[
        {
            "unit_id": "ruian.mayu",
            "name_zh": "马屿镇便民服务中心",
            "staff": [{"staff_id": "mayu.off1", "name_zh": "陈一"}],
            "offices": [],
            "roster": [
                {
                    "staff_id": "mayu.off1",
                    "starts": "08:30:00",
                    "ends": "12:00:00",
                    "working_days": True,
                    "weekdays": [],
                    "dates": [],
                    "valid_from": None,
                    "valid_to": None,
                }
            ],
            "depth": 0,
        }
    ],
    catalog=[],
    holidays={"years": []},
)


def test_dates_take_lists_and_ranges_and_name_the_bad_one() -> None:
    f = FormState(values={"d": "2035-01-01，2035-02-07~2035-02-09\n2035-02-30"})
    assert _dates(f, "d", "放假日期") == [
        "2035-01-01",
        "2035-02-07",
        "2035-02-08",
        "2035-02-09",
    ]
    assert f.errors["d"] == "放假日期第3项“2035-02-30”不是日期，应为 年-月-日（区间写作 起~止）"

    f = FormState(values={"d": "2035-02-09~2035-02-07"})
    assert _dates(f, "d", "放假日期") == []
    assert "结束日期早于开始日期" in f.errors["d"]


def test_an_absence_ending_before_it_starts_is_refused_beside_the_end() -> None:
    f = FormState(
        values={
            "absence_id": "abs-1",
            "staff_id": "mayu.off1",
            "kind": "leave",
            "starts_at": "2035-03-05T08:30",
            "ends_at": "2035-03-01T17:30",
        }
    )
    body = COMMANDS["absences"].body(f, REF)
    assert f.errors == {"ends_at": "结束时间应晚于开始时间"}
    assert body["starts_at"] == "2035-03-05T08:30:00+08:00"  # Rui'an's local time


def test_a_roster_duty_is_added_to_the_units_roster() -> None:
    f = FormState(
        values={
            "unit_id": "ruian.mayu",
            "staff_id": "mayu.off1",
            "starts": "08:30",
            "ends": "11:30",
            "weekdays": "5",
        }
    )
    body = COMMANDS["roster"].body(f, REF)
    assert f.ok, f.errors
    assert body["unit_id"] == "ruian.mayu"
    assert [e["starts"][:5] for e in body["entries"]] == ["08:30", "08:30"]
    assert body["entries"][1]["weekdays"] == [5] and body["entries"][1]["working_days"] is False


def test_a_roster_duty_needs_a_day() -> None:
    f = FormState(
        values={
            "unit_id": "ruian.mayu",
            "staff_id": "mayu.off1",
            "starts": "08:30",
            "ends": "11:30",
        }
    )
    COMMANDS["roster"].body(f, REF)
    assert f.errors == {"weekdays": "请勾选“每个法定工作日”或至少一个星期几"}
