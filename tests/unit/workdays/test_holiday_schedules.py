"""Issue 13 defect 7: the statutory holiday schedule is DATA, and a promise says when it rests on
a year without an official schedule.

chinesecalendar carries the State Council's notices up to 2026 and raises for 2027. The
calendar is a value passed in (`WorkingCalendar`): the package's years are official, a year it
lacks is counted by the provisional estimate (weekends plus `holidays/fallback.json`) and every
promise counted over such a year is marked provisional, until an admin publishes the year's
schedule (`contracts.holiday_schedules`).

2027_NOTICE below is MADE UP for the tests (neither the package nor this repository has the
real 2027 notice): Spring Festival 5-12 February off, Saturday 20 February worked.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from contracts.holiday_schedules import (
    ScheduleRefused,
    calendar_with,
    check_publication,
    published_schedule,
)
from contracts.routing import HolidaySchedulePublished
from contracts.workdays import (
    SHANGHAI,
    OfficeHours,
    Pause,
    WorkingCalendar,
    default_calendar,
    promised_deadline,
)

pytestmark = pytest.mark.unit

HOURS = OfficeHours.standard()
NOTICE_2027 = "国办发明电〔2026〕99号（测试用）"
SPRING_2027 = tuple(date(2027, 2, d) for d in range(5, 13))  # Fri 5 .. Fri 12 February
NEW_YEAR_2027 = (date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3))
HOLIDAYS_2027 = (*NEW_YEAR_2027, *SPRING_2027)
MAKEUP_2027 = (date(2027, 2, 20),)  # a Saturday


def at(y: int, m: int, d: int, h: int = 9, mi: int = 30) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def published_2027(
    holidays: tuple[date, ...] = HOLIDAYS_2027,
    makeup: tuple[date, ...] = MAKEUP_2027,
    notice: str = NOTICE_2027,
    supersedes: str | None = None,
    reason: str | None = None,
) -> HolidaySchedulePublished:
    return HolidaySchedulePublished(
        year=2027,
        notice_no=notice,
        holidays=holidays,
        makeup_workdays=makeup,
        supersedes=supersedes,
        reason=reason,
        published_by="admin.ops",
    )


def with_2027(calendar: WorkingCalendar | None = None, **kw: object) -> WorkingCalendar:
    """Given the 2027 schedule published on top of `calendar` (the package's by default)."""
    return calendar_with(calendar or default_calendar(), published_2027(**kw))  # type: ignore[arg-type]


# -- the calendar ------------------------------------------------------------------------------
def test_the_package_years_are_official_and_2027_is_provisional() -> None:
    cal = default_calendar()
    assert cal.is_official(2026)
    assert cal.year(2026).source.startswith("chinesecalendar")
    assert not cal.is_official(2027)
    assert "provisional" in cal.year(2027).source
    assert not cal.is_official(2099)  # no estimate either: weekends only, still provisional
    assert cal.is_working_day(date(2099, 10, 1)) and not cal.is_working_day(date(2099, 10, 3))


def test_the_2026_national_day_is_counted_as_the_package_says() -> None:
    cal = default_calendar()
    assert not any(cal.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert cal.is_working_day(date(2026, 10, 10))  # the adjusted working Saturday
    assert cal.is_public_holiday(date(2026, 10, 3)) and not cal.is_public_holiday(
        date(2026, 10, 17)
    )
    assert cal.add_working_days(date(2026, 9, 29), 5) == date(2026, 10, 12)


def test_the_provisional_estimate_keeps_the_statutory_spring_festival_days_off() -> None:
    """除夕 5 Feb to 初三 8 Feb 2027 are statutory days; 6 and 7 fall on the weekend and are
    made up on the 9th and 10th (全国年节及纪念日放假办法, art. 6). The old estimate counted
    the 10th as a working day."""
    cal = default_calendar()
    for day in (5, 8, 9, 10):
        assert not cal.is_working_day(date(2027, 2, day)), day
    assert cal.is_working_day(date(2027, 2, 11))


def test_a_promise_over_a_year_without_an_official_schedule_is_provisional() -> None:
    """Given no 2027 schedule, when 二胎 (15 working days) is accepted Wed 27 January 2027,
    then it is due Tue 23 February by the estimate, and the promise says 2027 is provisional."""
    promise = promised_deadline(at(2027, 1, 27), 15, HOURS, calendar=default_calendar())
    assert promise.due_date == date(2027, 2, 23)
    assert promise.provisional_years == (2027,)
    assert promise.provisional


def test_publishing_the_year_makes_the_promise_official_and_moves_it() -> None:
    """Given 2027's schedule published (5-12 Feb off, Sat 20 Feb worked), when the same case is
    counted again, then it is due Wed 24 February and nothing about it is provisional."""
    promise = promised_deadline(at(2027, 1, 27), 15, HOURS, calendar=with_2027())
    assert (promise.due_date, promise.provisional_years) == (date(2027, 2, 24), ())
    assert promise.due_at == at(2027, 2, 24, 17, 30)


def test_a_promise_that_ends_before_the_year_does_not_depend_on_it() -> None:
    promise = promised_deadline(at(2026, 12, 14), 5, HOURS, calendar=default_calendar())
    assert (promise.due_date, promise.provisional_years) == (date(2026, 12, 21), ())


def test_a_promise_across_new_year_depends_on_the_next_year() -> None:
    promise = promised_deadline(at(2026, 12, 28), 5, HOURS, calendar=default_calendar())
    assert promise.provisional_years == (2027,)
    assert promise.due_date == date(2027, 1, 5)  # 29, 30, 31 Dec; 1 Jan off (estimate); 4, 5


def test_a_pause_is_counted_by_the_same_calendar() -> None:
    """A correction asked Thu 4 Feb and supplied Mon 15 Feb 2027: the paused working days are
    those of the calendar passed in (official: 15 Feb only; the estimate also 11 and 12)."""
    pause = Pause(paused_at=at(2027, 2, 4), resumed_at=at(2027, 2, 15))
    official = with_2027()
    assert official.paused_working_days([pause]) == 1
    assert default_calendar().paused_working_days([pause]) == 3
    promise = promised_deadline(at(2027, 1, 27), 15, HOURS, [pause], calendar=official)
    assert promise.due_date == date(2027, 2, 25)


def test_a_published_weekend_day_inside_a_holiday_keeps_a_saturday_center_shut() -> None:
    extended = OfficeHours.standard(saturday_morning=("08:30", "11:30"))
    cal = with_2027()
    assert cal.is_public_holiday(date(2027, 2, 6))
    assert extended.intervals_on(date(2027, 2, 6), calendar=cal) == ()
    assert extended.intervals_on(date(2027, 2, 27), calendar=cal) != ()  # an ordinary Saturday
    assert extended.close_of_business(date(2027, 2, 20), calendar=cal) == at(2027, 2, 20, 17, 30)


def test_every_publication_is_a_new_revision_of_the_calendar() -> None:
    base = default_calendar()
    once = with_2027(base)
    assert (base.revision, once.revision) == (0, 1)
    assert once.year(2027).notice_no == NOTICE_2027 and once.is_official(2027)
    assert base.is_official(2027) is False  # a value: publishing made a new calendar


# -- the publication rule ----------------------------------------------------------------------
def refusal(**kw: object) -> ScheduleRefused:
    with pytest.raises(ScheduleRefused) as caught:
        kw.setdefault("holidays", HOLIDAYS_2027)
        kw.setdefault("makeup_workdays", MAKEUP_2027)
        published_schedule(2027, NOTICE_2027, kw["holidays"], kw["makeup_workdays"])  # type: ignore[arg-type]
    return caught.value


def test_a_holiday_outside_the_year_is_refused() -> None:
    err = refusal(holidays=(date(2027, 1, 1), date(2028, 1, 1)))
    assert (err.field, err.conflict) == ("holidays[1]", False)
    assert "2028-01-01" in err.reason


def test_a_makeup_day_outside_the_year_is_refused() -> None:
    assert refusal(makeup_workdays=(date(2026, 12, 26),)).field == "makeup_workdays[0]"


def test_a_makeup_day_must_be_a_weekend_day() -> None:
    err = refusal(makeup_workdays=(date(2027, 2, 22),))  # a Monday
    assert err.field == "makeup_workdays[0]" and "weekend" in err.reason


def test_a_day_cannot_be_both_off_and_worked() -> None:
    err = refusal(makeup_workdays=(date(2027, 2, 6),))  # a Saturday inside the holiday
    assert err.field == "makeup_workdays[0]" and "holiday" in err.reason


def test_holidays_cannot_be_empty() -> None:
    assert refusal(holidays=()).field == "holidays"


def test_a_day_listed_twice_is_refused() -> None:
    assert refusal(holidays=(date(2027, 1, 1), date(2027, 1, 1))).field == "holidays[1]"


def test_the_first_publication_of_a_year_is_accepted() -> None:
    schedule = published_schedule(2027, NOTICE_2027, HOLIDAYS_2027, MAKEUP_2027)
    assert check_publication(default_calendar(), schedule, supersedes=None, reason=None)


def test_the_same_schedule_again_is_nothing_new() -> None:
    schedule = published_schedule(2027, NOTICE_2027, HOLIDAYS_2027, MAKEUP_2027)
    assert not check_publication(with_2027(), schedule, supersedes=None, reason=None)


def test_a_changed_year_is_refused_unless_it_says_what_it_supersedes() -> None:
    changed = published_schedule(2027, "国办发明电〔2027〕1号", HOLIDAYS_2027, ())
    with pytest.raises(ScheduleRefused) as caught:
        check_publication(with_2027(), changed, supersedes=None, reason=None)
    assert (caught.value.field, caught.value.conflict) == ("supersedes", True)
    assert NOTICE_2027 in caught.value.reason


def test_superseding_names_the_notice_in_force_and_gives_a_reason() -> None:
    changed = published_schedule(2027, "国办发明电〔2027〕1号", HOLIDAYS_2027, ())
    cal = with_2027()
    with pytest.raises(ScheduleRefused) as wrong:
        check_publication(cal, changed, supersedes="国办发明电〔2025〕1号", reason="更正")
    assert (wrong.value.field, wrong.value.conflict) == ("supersedes", True)
    with pytest.raises(ScheduleRefused) as silent:
        check_publication(cal, changed, supersedes=NOTICE_2027, reason="  ")
    assert silent.value.field == "reason"
    assert check_publication(cal, changed, supersedes=NOTICE_2027, reason="国务院更正通知")


def test_a_package_year_is_changed_only_by_superseding_the_package() -> None:
    cal = default_calendar()
    source = cal.year(2026).source_ref
    assert source == "chinesecalendar"
    odd = published_schedule(2026, "测试", (date(2026, 10, 1),), ())
    with pytest.raises(ScheduleRefused) as caught:
        check_publication(cal, odd, supersedes=None, reason=None)
    assert caught.value.conflict and "chinesecalendar" in caught.value.reason
    assert check_publication(cal, odd, supersedes="chinesecalendar", reason="测试")


def test_nothing_to_supersede_in_a_year_without_an_official_schedule() -> None:
    schedule = published_schedule(2027, NOTICE_2027, HOLIDAYS_2027, MAKEUP_2027)
    with pytest.raises(ScheduleRefused) as caught:
        check_publication(default_calendar(), schedule, supersedes="x", reason="y")
    assert (caught.value.field, caught.value.conflict) == ("supersedes", False)


def test_a_superseding_schedule_replaces_the_year() -> None:
    cal = with_2027()
    later = calendar_with(
        cal,
        published_2027(
            makeup=(), notice="国办发明电〔2027〕1号", supersedes=NOTICE_2027, reason="更正"
        ),
    )
    assert later.revision == 2
    assert later.year(2027).notice_no == "国办发明电〔2027〕1号"
    assert not later.is_working_day(date(2027, 2, 20))
