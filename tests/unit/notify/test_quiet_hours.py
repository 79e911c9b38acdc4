"""next_allowed_time: residents get no SMS at night; everything else goes at once."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from contracts.workdays import SHANGHAI
from notify.domain import QuietHours, next_allowed_time, parse_quiet_hours

pytestmark = pytest.mark.unit


def local(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(2, 23), local(3, 8)),  # late evening -> tomorrow 08:00
        (local(2, 21), local(3, 8)),  # the start is inside
        (local(3, 0, 30), local(3, 8)),  # after midnight -> this morning 08:00
        (local(3, 7, 59), local(3, 8)),
        (local(3, 8), local(3, 8)),  # the end is outside: send now
        (local(3, 12), local(3, 12)),
        (local(3, 20, 59), local(3, 20, 59)),
    ],
)
def test_a_residents_sms_waits_for_the_end_of_quiet_hours(
    now: datetime, expected: datetime
) -> None:
    assert next_allowed_time("sms", "resident", now) == expected


def test_the_rule_works_on_utc_instants() -> None:
    # 23:00 in Shanghai is 15:00 UTC; the answer is 08:00 Shanghai = 00:00 UTC next day.
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert next_allowed_time("sms", "resident", now) == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("channel", "kind"), [("email", "resident"), ("webhook", "resident"), ("sms", "staff")]
)
def test_other_channels_and_staff_are_never_held(channel: str, kind: str) -> None:
    assert next_allowed_time(channel, kind, local(2, 23)) == local(2, 23)


def test_no_quiet_hours_configured_means_now() -> None:
    assert next_allowed_time("sms", "resident", local(2, 23), None) == local(2, 23)


def test_a_window_that_does_not_wrap_midnight() -> None:
    lunch = QuietHours(time(12, 0), time(13, 30))
    assert next_allowed_time("sms", "resident", local(2, 12, 10), lunch) == local(2, 13, 30)
    assert next_allowed_time("sms", "resident", local(2, 23), lunch) == local(2, 23)


def test_parsing_the_setting() -> None:
    assert parse_quiet_hours("21:00-08:00") == QuietHours()
    assert parse_quiet_hours(" 22:30 - 07:00 ") == QuietHours(time(22, 30), time(7, 0))
    assert parse_quiet_hours("") is None
    assert parse_quiet_hours("off") is None
    with pytest.raises(ValueError, match="21:00-08:00"):
        parse_quiet_hours("nine to eight")
    with pytest.raises(ValueError):
        parse_quiet_hours("08:00-08:00")
