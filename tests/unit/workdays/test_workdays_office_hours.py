"""Office hours, close of business, deadlines and the correction-pause rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from pydantic import ValidationError

from contracts.workdays import (
    SHANGHAI,
    OfficeHours,
    OpenInterval,
    Pause,
    paused_working_days,
    promised_deadline,
)

pytestmark = pytest.mark.unit


def at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


REGULAR = OfficeHours.standard()
EXTENDED = OfficeHours.standard(saturday_morning=("08:30", "11:30"))
STAGGERED = OfficeHours.standard(staggered_lunch=True)


def test_saturday_morning_hours_apply_on_ordinary_saturdays_only() -> None:
    ordinary = EXTENDED.intervals_on(date(2026, 10, 17))
    assert [(i.opens, i.closes) for i in ordinary] == [(time(8, 30), time(11, 30))]
    assert EXTENDED.intervals_on(date(2026, 10, 3)) == ()  # National Day Saturday: shut
    assert REGULAR.intervals_on(date(2026, 10, 17)) == ()


def test_an_adjusted_working_saturday_keeps_weekday_hours() -> None:
    worked = EXTENDED.intervals_on(date(2026, 10, 10))
    assert worked == REGULAR.weekly[0]
    assert EXTENDED.close_of_business(date(2026, 10, 10)) == at(2026, 10, 10, 17, 30)


def test_staggered_hours_keep_the_hall_open_at_noon() -> None:
    assert not REGULAR.is_open(at(2026, 9, 29, 12, 30))
    assert STAGGERED.is_open(at(2026, 9, 29, 12, 30))
    assert REGULAR.next_open(at(2026, 9, 29, 12, 30)) == at(2026, 9, 29, 14, 0)


def test_next_open_skips_the_holiday() -> None:
    assert REGULAR.next_open(at(2026, 9, 30, 18, 0)) == at(2026, 10, 8, 8, 30)
    assert EXTENDED.next_open(at(2026, 10, 16, 18, 0)) == at(2026, 10, 17, 8, 30)
    open_now = at(2026, 9, 29, 9, 0)
    assert REGULAR.next_open(open_now) == open_now


def test_intervals_must_open_before_closing_and_not_overlap() -> None:
    with pytest.raises(ValidationError):
        OpenInterval(opens=time(12, 0), closes=time(8, 0))
    iv = OpenInterval(opens=time(8, 0), closes=time(12, 0))
    iv2 = OpenInterval(opens=time(11, 0), closes=time(15, 0))
    with pytest.raises(ValidationError):
        OfficeHours(weekly={0: (iv, iv2)})
    with pytest.raises(ValidationError):
        OfficeHours(weekly={7: (iv,)})


def test_office_hours_survive_a_json_round_trip() -> None:
    assert OfficeHours.model_validate_json(EXTENDED.model_dump_json()) == EXTENDED


def test_deadline_is_close_of_business_on_the_due_working_day_across_national_day() -> None:
    accepted = at(2026, 9, 29, 9, 30)
    assert promised_deadline(accepted, 5, REGULAR).due_date == date(2026, 10, 12)
    assert promised_deadline(accepted, 5, REGULAR).due_at == at(2026, 10, 12, 17, 30)
    assert promised_deadline(at(2026, 9, 30, 16, 0), 1, REGULAR).due_at == at(2026, 10, 8, 17, 30)


def test_the_local_day_counts_not_the_utc_day() -> None:
    # 2026-09-29 17:00 UTC is 2026-09-30 01:00 in Rui'an: the count starts on the 30th.
    accepted = datetime(2026, 9, 29, 17, 0, tzinfo=UTC)
    assert promised_deadline(accepted, 1, REGULAR).due_date == date(2026, 10, 8)


def test_a_same_day_promise_on_a_holiday_falls_due_next_working_day() -> None:
    assert promised_deadline(at(2026, 10, 3), 0, REGULAR).due_at == at(2026, 10, 8, 17, 30)
    assert promised_deadline(at(2026, 9, 29), 0, REGULAR).due_at == at(2026, 9, 29, 17, 30)


def test_pause_takes_off_the_working_days_after_the_request_up_to_the_supply() -> None:
    # requested Tue 9/29, supplied Thu 10/8: (9/29, 10/8] holds 9/30 and 10/8 -> 2 days
    pause = Pause(paused_at=at(2026, 9, 29, 15), resumed_at=at(2026, 10, 8, 9))
    assert paused_working_days([pause]) == 2
    same_day = Pause(paused_at=at(2026, 9, 29, 9), resumed_at=at(2026, 9, 29, 16))
    assert paused_working_days([same_day]) == 0
    overlapping = Pause(paused_at=at(2026, 9, 30, 9), resumed_at=at(2026, 10, 9, 9))
    assert paused_working_days([pause, overlapping]) == 3  # 9/30, 10/8, 10/9 once each


def test_effective_deadline_is_extended_by_the_paused_days() -> None:
    accepted = at(2026, 9, 29, 9, 30)
    pause = Pause(paused_at=at(2026, 9, 29, 15), resumed_at=at(2026, 10, 8, 9))
    # 5 + 2 working days after 9/29: 9/30, 10/8, 10/9, 10/10, 10/12, 10/13, 10/14
    assert promised_deadline(accepted, 5, REGULAR, [pause]).due_at == at(2026, 10, 14, 17, 30)
    assert promised_deadline(accepted, 5, REGULAR, []) == promised_deadline(accepted, 5, REGULAR)


def test_a_pause_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValidationError):
        Pause(paused_at=at(2026, 9, 30), resumed_at=at(2026, 9, 29))


# -- the one promise rule (issue 13, defect 2) ------------------------------------------------
@pytest.mark.parametrize(
    ("accepted_at", "days", "due_day", "due_moment"),
    [
        # a 即办件 accepted after closing on a working day: the next working day
        (at(2026, 12, 8, 19, 3), 0, date(2026, 12, 9), at(2026, 12, 9, 17, 30)),
        # ... on a Saturday, even with extended Saturday hours: Monday
        (at(2026, 12, 12, 9, 0), 0, date(2026, 12, 14), at(2026, 12, 14, 17, 30)),
        # ... on the eve of National Day after closing: the first day after the holiday
        (at(2026, 9, 30, 19, 3), 0, date(2026, 10, 8), at(2026, 10, 8, 17, 30)),
        # ... within hours: that day
        (at(2026, 12, 8, 10, 0), 0, date(2026, 12, 8), at(2026, 12, 8, 17, 30)),
        # ... at the stroke of closing: too late for that day
        (at(2026, 12, 8, 17, 30), 0, date(2026, 12, 9), at(2026, 12, 9, 17, 30)),
        # a promised item counts its working days from the acceptance day, whatever the hour
        (at(2026, 12, 8, 19, 3), 5, date(2026, 12, 15), at(2026, 12, 15, 17, 30)),
        (at(2026, 12, 12, 9, 0), 5, date(2026, 12, 18), at(2026, 12, 18, 17, 30)),
    ],
)
def test_the_promise_is_decided_from_the_acceptance_time_and_the_office_hours(
    accepted_at: datetime, days: int, due_day: date, due_moment: datetime
) -> None:
    promise = promised_deadline(accepted_at, days, EXTENDED)
    assert (promise.due_date, promise.due_at) == (due_day, due_moment)
    assert promise.due_at > accepted_at


def test_a_pause_extends_the_promise_from_its_due_day() -> None:
    """A 即办件 accepted Saturday is due Monday; a correction asked Monday and supplied
    Tuesday takes Tuesday off the clock: due Tuesday (counting the paused day from the
    Saturday instead would leave it due Monday, before the correction came in)."""
    pause = Pause(paused_at=at(2026, 12, 14, 9), resumed_at=at(2026, 12, 15, 9))
    promise = promised_deadline(at(2026, 12, 12, 9), 0, EXTENDED, [pause])
    assert promise.due_at == at(2026, 12, 15, 17, 30)
