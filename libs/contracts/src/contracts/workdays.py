"""Working days by the Chinese statutory calendar, office hours and promised deadlines.

Every promise a center makes (服务承诺制) is counted in working days (工作日): weekends
and statutory holidays do not count, and adjusted weekend days (调休上班, e.g. Saturday
2026-10-10 after National Day) do. The `chinesecalendar` package carries the State
Council's notices; it raises for a year whose notice it does not have yet. For such a year
we fall back to weekends plus the packaged file `contracts/holidays/fallback.json` and log a
loud WARNING once per year, because a wrong calendar silently moves every deadline.

Public API (other services code against it):

- `is_working_day(d)`; `add_working_days(start, n)`: the n-th working day AFTER `start`
  (n=0 gives `start` itself); `subtract_working_days(start, n)`: the n-th working day
  BEFORE `start`; `working_days_between(start, end)`: working days in (start, end].
- `OfficeHours`: open intervals per weekday (extended hours such as Saturday mornings,
  staggered hours such as a staffed lunch break), the hours kept on an adjusted working
  weekend day, and `close_of_business(d)` / `is_open(t)` / `next_open(t)`.
- `promised_deadline(accepted_at, working_days, hours, pauses)`: THE PROMISE RULE, the due
  working day and close of business on it; intake's receipt and routing's clock both call
  it (see its docstring).
- `Pause` and `paused_working_days(pauses)`: the correction (补正) rule, see
  `paused_working_days`.

Deadlines count statutory working days only: a Saturday-morning extended opening serves
residents but does not consume a promised day. Office hours decide the hour of day.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

SHANGHAI = ZoneInfo("Asia/Shanghai")
log = logging.getLogger("contracts.workdays")

_FALLBACK_FILE = "holidays/fallback.json"
_warned_years: set[int] = set()
_warn_lock = threading.Lock()


# -- the calendar ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _YearOverrides:
    off: frozenset[date]
    working: frozenset[date]
    source: str


@cache
def _fallback_table() -> Mapping[int, _YearOverrides]:
    """The packaged fallback file, parsed once. Keys are years; see the file's comment."""
    raw: dict[str, Any] = json.loads(
        resources.files("contracts").joinpath(_FALLBACK_FILE).read_text(encoding="utf-8")
    )
    table: dict[int, _YearOverrides] = {}
    for key, entry in raw.items():
        if not key.isdigit():
            continue
        year = int(key)
        off = frozenset(date.fromisoformat(s) for s in entry.get("off", []))
        working = frozenset(date.fromisoformat(s) for s in entry.get("working", []))
        if any(d.year != year for d in off | working):
            raise ValueError(f"{_FALLBACK_FILE}: a date under {year} lies in another year")
        table[year] = _YearOverrides(off, working, str(entry.get("source", "")))
    return table


def _warn_fallback(year: int) -> None:
    with _warn_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    entry = _fallback_table().get(year)
    if entry is None:
        log.warning(
            "WORKING-DAY CALENDAR: chinesecalendar has no data for %d and %s has no entry "
            "for it either: counting WEEKENDS ONLY, statutory holidays are IGNORED. Upgrade "
            "chinesecalendar or add the State Council notice to the fallback file.",
            year,
            _FALLBACK_FILE,
        )
    else:
        log.warning(
            "WORKING-DAY CALENDAR: chinesecalendar has no data for %d; using weekends plus "
            "%s (%d days off, %d adjusted working days; source: %s). Deadlines in %d may "
            "be wrong until the official notice is loaded.",
            year,
            _FALLBACK_FILE,
            len(entry.off),
            len(entry.working),
            entry.source or "unspecified",
            year,
        )


def _fallback_is_working_day(d: date) -> bool:
    _warn_fallback(d.year)
    entry = _fallback_table().get(d.year)
    if entry is not None:
        if d in entry.working:
            return True
        if d in entry.off:
            return False
    return d.weekday() < 5


@lru_cache(maxsize=8192)
def _calendar_says(d: date) -> bool | None:
    """chinesecalendar's answer, None for a year it does not cover. Cached: its tables are
    fixed for the process, and deadlines walk the same days over and over (day by day, for
    every case; 4 % of routing's CPU in the pipeline benchmark before the cache)."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return None


def is_working_day(d: date) -> bool:
    """True on a statutory working day (including an adjusted working weekend day)."""
    if isinstance(d, datetime):  # a datetime is a date subclass: use its own calendar day
        d = d.date()
    known = _calendar_says(d)
    if known is None:  # not cached: the fallback path logs its loud warning per year
        return _fallback_is_working_day(d)
    return known


def is_public_holiday(d: date) -> bool:
    """True on a statutory holiday (节假日) — not merely an ordinary weekend day.

    Office hours need the difference: a center with Saturday-morning extended hours opens on
    an ordinary Saturday but stays shut on a Saturday inside the National Day holiday.
    """
    if is_working_day(d):
        return False
    if d.weekday() < 5:
        return True
    try:
        _on_holiday, name = chinese_calendar.get_holiday_detail(d)
        return name is not None
    except NotImplementedError:
        entry = _fallback_table().get(d.year)
        return entry is not None and d in entry.off


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (`start` itself not counted); n=0 gives `start`."""
    if n < 0:
        raise ValueError("n must be >= 0; use subtract_working_days to count backwards")
    d = start
    left = n
    while left > 0:
        d += timedelta(days=1)
        if is_working_day(d):
            left -= 1
    return d


def subtract_working_days(start: date, n: int) -> date:
    """The n-th working day before `start` (`start` itself not counted); n=0 gives `start`."""
    if n < 0:
        raise ValueError("n must be >= 0")
    d = start
    left = n
    while left > 0:
        d -= timedelta(days=1)
        if is_working_day(d):
            left -= 1
    return d


def working_days_between(start: date, end: date) -> int:
    """Working days in the half-open span (start, end]; 0 when `end` is not after `start`."""
    count = 0
    d = start
    while d < end:
        d += timedelta(days=1)
        if is_working_day(d):
            count += 1
    return count


def next_working_day_on_or_after(d: date) -> date:
    """`d` itself if it is a working day, else the first working day after it."""
    return d if is_working_day(d) else add_working_days(d, 1)


def local_date(t: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware instant (what the counter's clock shows)."""
    if t.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    return t.astimezone(SHANGHAI).date()


# -- office hours ------------------------------------------------------------------------------
class OpenInterval(BaseModel):
    """One span during which the counter is staffed, in local (Asia/Shanghai) time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    opens: time
    closes: time

    @model_validator(mode="after")
    def _ordered(self) -> OpenInterval:
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("office hours are local wall-clock times without a timezone")
        if not self.opens < self.closes:
            raise ValueError("an interval must open before it closes")
        return self


def _iv(opens: str, closes: str) -> OpenInterval:
    return OpenInterval(opens=time.fromisoformat(opens), closes=time.fromisoformat(closes))


class OfficeHours(BaseModel):
    """A center's opening hours.

    `weekly` maps a weekday (0 = Monday … 6 = Sunday) to its open intervals. Weekday
    entries apply on working days; a weekend entry (e.g. Saturday 08:30-11:30, the extended
    hours of the report) applies on ordinary weekend days. On a statutory holiday the center
    is shut. On an adjusted working weekend day (调休上班) the center keeps
    `adjusted_workday` hours, or Monday's when that is not given.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    weekly: dict[int, tuple[OpenInterval, ...]]
    adjusted_workday: tuple[OpenInterval, ...] | None = None
    default_close: time = Field(
        default=time(17, 30),
        description="close of business on a working day with no intervals (a data gap)",
    )

    @model_validator(mode="after")
    def _valid(self) -> OfficeHours:
        for wd, intervals in self.weekly.items():
            if not 0 <= wd <= 6:
                raise ValueError(f"weekday {wd} is not in 0..6 (0 = Monday)")
            _check_disjoint(intervals)
        if self.adjusted_workday is not None:
            _check_disjoint(self.adjusted_workday)
        return self

    # construction helpers used by the seed
    @classmethod
    def standard(
        cls,
        *,
        morning: tuple[str, str] = ("08:30", "12:00"),
        afternoon: tuple[str, str] = ("14:00", "17:30"),
        saturday_morning: tuple[str, str] | None = None,
        staggered_lunch: bool = False,
    ) -> OfficeHours:
        """Monday-Friday hours; `staggered_lunch` keeps the hall open at noon (错时办公)."""
        if staggered_lunch:
            day: tuple[OpenInterval, ...] = (_iv(morning[0], afternoon[1]),)
        else:
            day = (_iv(*morning), _iv(*afternoon))
        weekly: dict[int, tuple[OpenInterval, ...]] = {wd: day for wd in range(5)}
        if saturday_morning is not None:
            weekly[5] = (_iv(*saturday_morning),)
        return cls(weekly=weekly)

    def intervals_on(self, d: date) -> tuple[OpenInterval, ...]:
        """The intervals the center is open on calendar day `d`."""
        if is_working_day(d):
            if d.weekday() < 5:
                return self.weekly.get(d.weekday(), ())
            return (
                self.adjusted_workday
                if self.adjusted_workday is not None
                else self.weekly.get(0, ())
            )
        if is_public_holiday(d):
            return ()
        return self.weekly.get(d.weekday(), ())

    def is_open(self, t: datetime) -> bool:
        local = t.astimezone(SHANGHAI)
        wall = local.time().replace(tzinfo=None)
        return any(iv.opens <= wall < iv.closes for iv in self.intervals_on(local.date()))

    def close_of_business(self, d: date) -> datetime:
        """End of the last interval on `d`, or `default_close` when none is configured."""
        intervals = self.intervals_on(d)
        closes = max((iv.closes for iv in intervals), default=self.default_close)
        return datetime.combine(d, closes, tzinfo=SHANGHAI)

    def next_open(self, t: datetime, horizon_days: int = 31) -> datetime | None:
        """`t` if open then, else the next opening within `horizon_days`, else None."""
        if self.is_open(t):
            return t
        local = t.astimezone(SHANGHAI)
        for offset in range(horizon_days + 1):
            d = local.date() + timedelta(days=offset)
            for iv in sorted(self.intervals_on(d), key=lambda i: i.opens):
                opening = datetime.combine(d, iv.opens, tzinfo=SHANGHAI)
                if opening > local:
                    return opening
        return None


def _check_disjoint(intervals: Iterable[OpenInterval]) -> None:
    ordered = sorted(intervals, key=lambda i: i.opens)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.opens < a.closes:
            raise ValueError(f"intervals overlap: {a.opens}-{a.closes} and {b.opens}-{b.closes}")


# -- deadlines ---------------------------------------------------------------------------------
class Pause(BaseModel):
    """A stretch during which the deadline clock stood still (补正: awaiting a correction)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paused_at: AwareDatetime
    resumed_at: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Pause:
        if self.resumed_at < self.paused_at:
            raise ValueError("a pause cannot end before it starts")
        return self


def paused_days(pauses: Sequence[Pause]) -> frozenset[date]:
    """The working days a set of pauses took off the clock (see `paused_working_days`)."""
    days: set[date] = set()
    for p in pauses:
        d = local_date(p.paused_at)
        end = local_date(p.resumed_at)
        while d < end:
            d += timedelta(days=1)
            if is_working_day(d):
                days.add(d)
    return frozenset(days)


def paused_working_days(pauses: Sequence[Pause]) -> int:
    """How many working days the pauses add to the promise — THE PAUSE RULE.

    A pause from local day P (the correction is requested) to local day R (the correction is
    supplied) takes the working days in (P, R] off the clock: the day the correction is
    requested still counts (work was done on it), the day it is supplied does not (the
    officer gets the whole next working day). Counted in whole working days; overlapping
    pauses count a day once. Requested and supplied on the same day adds nothing.
    """
    return len(paused_days(pauses))


@dataclass(frozen=True)
class Promise:
    """What the center promised (服务承诺): the due working day and the moment it ends."""

    due_date: date
    due_at: datetime


def promised_deadline(
    accepted_at: datetime,
    working_days: int,
    hours: OfficeHours,
    pauses: Sequence[Pause] = (),
) -> Promise:
    """THE PROMISE RULE: when a case accepted at `accepted_at` is due (服务承诺制).

    - A promised item (承诺件, n >= 1 working days) is due on the n-th working day after the
      local day of acceptance, whatever the hour: the acceptance day is day 0.
    - A same-day item (即办件, 0 days) is due on the day of acceptance when that is a working
      day and it was accepted before close of business; otherwise (after closing, on a
      weekend even with extended Saturday hours, on a holiday) on the next working day.
      It is never overdue on acceptance.
    - Each working day a correction pause took off the clock (`paused_working_days`) moves
      the due day one working day further.
    - The moment is close of business of `hours` on the due day.

    Both services call this: intake for the promised date on the receipt (with the hours of
    the center where the case was accepted), routing for the deadline clock (with the hours
    of the handling office). It is one rule with one answer whenever those close at the same
    time on the due day (every center of the seeded tree closes at 17:30 on working days).
    """
    if working_days < 0:
        raise ValueError("a promise is at least 0 working days")
    day = local_date(accepted_at)
    if working_days == 0:
        due = next_working_day_on_or_after(day)
        if accepted_at >= hours.close_of_business(due):
            due = add_working_days(due, 1)
    else:
        due = add_working_days(day, working_days)
    due = add_working_days(due, paused_working_days(pauses))
    return Promise(due_date=due, due_at=hours.close_of_business(due))


def _reset_fallback_warnings() -> None:
    """Tests only: forget which years have already been warned about."""
    with _warn_lock:
        _warned_years.clear()
