"""The statutory working-day calendar: 2026 from chinesecalendar, later years estimated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts import workdays
from contracts.workdays import (
    add_working_days,
    default_calendar,
    is_public_holiday,
    is_working_day,
    subtract_working_days,
    working_days_between,
)

pytestmark = pytest.mark.unit


def test_national_day_2026_is_off_and_the_adjusted_weekend_days_are_worked() -> None:
    # State Council notice for 2026: Oct 1-7 off; Sunday Sep 20 and Saturday Oct 10 worked.
    for day in range(1, 8):
        assert not is_working_day(date(2026, 10, day)), day
    assert is_working_day(date(2026, 9, 20))  # Sunday, adjusted working day
    assert is_working_day(date(2026, 10, 10))  # Saturday, adjusted working day
    assert not is_working_day(date(2026, 10, 11))  # ordinary Sunday
    assert not is_working_day(date(2026, 9, 25))  # Mid-Autumn Festival (Friday)
    assert is_working_day(date(2026, 9, 29))


def test_public_holiday_differs_from_an_ordinary_weekend() -> None:
    assert is_public_holiday(date(2026, 10, 3))  # a Saturday inside National Day
    assert not is_public_holiday(date(2026, 10, 17))  # an ordinary Saturday
    assert not is_public_holiday(date(2026, 10, 10))  # worked Saturday
    assert is_public_holiday(date(2026, 10, 5))  # a Monday off


def test_five_working_days_from_29_september_2026_land_on_12_october() -> None:
    # Sep 30 (1), Oct 8 (2), Oct 9 (3), Sat Oct 10 worked (4), Mon Oct 12 (5)
    assert add_working_days(date(2026, 9, 29), 5) == date(2026, 10, 12)
    assert add_working_days(date(2026, 9, 29), 1) == date(2026, 9, 30)
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_zero_working_days_is_the_start_itself_even_on_a_holiday() -> None:
    assert add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2026, 9, 29), -1)
    with pytest.raises(ValueError):
        subtract_working_days(date(2026, 9, 29), -1)


def test_working_days_between_counts_the_half_open_span() -> None:
    assert working_days_between(date(2026, 9, 29), date(2026, 10, 12)) == 5
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert working_days_between(date(2026, 10, 12), date(2026, 9, 29)) == 0
    assert working_days_between(date(2026, 9, 29), date(2026, 9, 29)) == 0


def test_add_and_between_agree_across_the_year() -> None:
    start = date(2026, 1, 1)
    for n in range(0, 260, 7):
        assert working_days_between(start, add_working_days(start, n)) == n


def test_subtract_is_the_inverse_of_add_on_working_days() -> None:
    assert subtract_working_days(date(2026, 10, 12), 1) == date(2026, 10, 10)
    assert subtract_working_days(date(2026, 10, 8), 1) == date(2026, 9, 30)
    day = date(2026, 9, 29)
    for n in range(0, 30):
        assert subtract_working_days(add_working_days(day, n), n) == day


def test_a_year_beyond_the_package_is_counted_by_the_provisional_estimate() -> None:
    # 2027-10-01 (Fri) and 10-04..07 are in the fallback file; weekends are off.
    assert not is_working_day(date(2027, 10, 1))
    assert not is_working_day(date(2027, 10, 4))
    assert is_working_day(date(2027, 10, 8))
    assert add_working_days(date(2027, 9, 30), 1) == date(2027, 10, 8)
    assert not default_calendar().is_official(2027)


def test_a_year_missing_from_the_file_counts_weekends_only_and_says_so() -> None:
    assert is_working_day(date(2099, 10, 1))  # a Thursday: no holiday data at all
    assert not is_working_day(date(2099, 10, 3))  # Saturday
    assert add_working_days(date(2099, 10, 2), 1) == date(2099, 10, 5)
    assert "weekends only" in default_calendar().year(2099).source


def test_every_package_year_is_official() -> None:
    cal = default_calendar()
    assert all(cal.is_official(y) for y in range(2004, 2027))
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert is_working_day(day) == cal.is_working_day(day)
        day += timedelta(days=1)


def test_fallback_file_dates_belong_to_their_year() -> None:
    table = workdays._estimates()
    assert 2027 in table
    for year, entry in table.items():
        assert all(d.year == year for d in entry.holidays | entry.makeup_workdays)
        assert not entry.official
