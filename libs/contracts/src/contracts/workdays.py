"""Working days by the Chinese statutory calendar, office hours and promised deadlines.

Every promise a center makes (服务承诺制) is counted in working days (工作日): weekends
and statutory holidays do not count, and adjusted weekend days (调休上班, e.g. Saturday
2026-10-10 after National Day) do.

THE CALENDAR IS A VALUE PASSED IN (`WorkingCalendar`), never read from a package at call
time: the promise a service makes depends on which holiday schedules it holds, and intake and
routing must count with the same ones. A year's schedule (`YearSchedule`) comes from

- a published notice: an admin publishes the State Council's notice for the year
  (`routing.holiday_schedule_published`, validated by `contracts.holiday_schedules`), folded
  into the calendar by `contracts.holiday_schedules.calendar_with`; it is official;
- else the `chinesecalendar` package, the default source for the years it carries
  (2004-2026 in 1.11); official;
- else a PROVISIONAL estimate: weekends plus the packaged `holidays/fallback.json` (the
  statutory festival days of the year, without make-up weekends), or weekends only for a
  year the file does not list either.

A promise counted over a provisional year says so (`Promise.provisional_years`), and the
services carry that mark into their events and views until the year is published.

Public API (other services code against it):

- `default_calendar()`: the package's years plus the provisional estimates (revision 0).
- `WorkingCalendar`: `is_working_day(d)`, `is_public_holiday(d)`, `add_working_days(start,
  n)` (the n-th working day AFTER `start`; n=0 gives `start`), `subtract_working_days`,
  `working_days_between(start, end)` (working days in (start, end]),
  `next_working_day_on_or_after`, `year(y)`, `is_official(y)`, `provisional_years(a, b)`,
  `paused_working_days(pauses)`.
- `OfficeHours`: open intervals per weekday (extended hours such as Saturday mornings,
  staggered hours such as a staffed lunch break), the hours kept on an adjusted working
  weekend day, and `close_of_business(d)` / `is_open(t)` / `next_open(t)`, each by the
  `calendar=` given.
- `promised_deadline(accepted_at, working_days, hours, pauses, *, calendar)`: THE PROMISE
  RULE, the due working day and close of business on it, and the provisional years it was
  counted over; intake's receipt and routing's clock both call it (see its docstring).
- `Pause` and `WorkingCalendar.paused_working_days(pauses)`: the correction (补正) rule.

The module-level helpers (`is_working_day`, `add_working_days`, ... and the `calendar=`
defaults of `OfficeHours`) count by `default_calendar()` when no calendar is given: for
tools that hold no published schedule (reports, the history generator). A service passes
the calendar it holds; the promise rule has no default.

Deadlines count statutory working days only: a Saturday-morning extended opening serves
residents but does not consume a promised day. Office hours decide the hour of day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import metadata, resources
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

SHANGHAI = ZoneInfo("Asia/Shanghai")

_FALLBACK_FILE = "holidays/fallback.json"
PACKAGE_SOURCE = "chinesecalendar"
"""What a superseding publication names to replace a year the package carries."""


# -- one year ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class YearSchedule:
    """One year's statutory arrangement (放假调休安排).

    `holidays` are the days off of the year's holidays (节假日), weekend days inside a holiday
    included (they keep a Saturday-opening center shut); `makeup_workdays` are the adjusted
    working weekend days (调休上班). `official` is False for a provisional estimate.
    `source_ref` is what a superseding publication names: the notice number, or
    "chinesecalendar" for a year the package carries.
    """

    year: int
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    official: bool
    source: str
    notice_no: str | None = None

    @property
    def source_ref(self) -> str:
        return self.notice_no or (PACKAGE_SOURCE if self.official else self.source)

    def is_working_day(self, d: date) -> bool:
        if d in self.makeup_workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays

    def same_days(self, other: YearSchedule) -> bool:
        return (self.holidays, self.makeup_workdays) == (other.holidays, other.makeup_workdays)


@cache
def _weekends_only(year: int) -> YearSchedule:
    return YearSchedule(
        year,
        frozenset(),
        frozenset(),
        official=False,
        source="provisional: weekends only (no holiday data for this year)",
    )


# -- the calendar ------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkingCalendar:
    """The statutory calendar the centers count working days by: a value, never mutated.

    `years` holds the official schedules (the package's and published ones), `estimates` the
    provisional ones for years without; `revision` counts the publications folded in, so two
    calendars of the same history have the same revision in every service.
    """

    years: Mapping[int, YearSchedule] = field(default_factory=dict)
    estimates: Mapping[int, YearSchedule] = field(default_factory=dict)
    revision: int = 0

    # -- years ---------------------------------------------------------------------------------
    def year(self, y: int) -> YearSchedule:
        """The schedule the year is counted by: official, else the estimate, else weekends."""
        found = self.years.get(y)
        if found is not None:
            return found
        return self.estimates.get(y) or _weekends_only(y)

    def is_official(self, y: int) -> bool:
        return y in self.years

    def provisional_years(self, first: date, last: date) -> tuple[int, ...]:
        """The years from `first` to `last` (either order) counted without an official schedule."""
        lo, hi = sorted((first.year, last.year))
        return tuple(y for y in range(lo, hi + 1) if not self.is_official(y))

    def published(self, schedule: YearSchedule) -> WorkingCalendar:
        """This calendar with `schedule` as its year's official schedule (one more revision)."""
        if not schedule.official:
            raise ValueError("only an official schedule is published")
        return replace(
            self, years={**self.years, schedule.year: schedule}, revision=self.revision + 1
        )

    # -- days ----------------------------------------------------------------------------------
    def is_working_day(self, d: date) -> bool:
        """True on a statutory working day (including an adjusted working weekend day)."""
        if isinstance(d, datetime):  # a datetime is a date subclass: use its own calendar day
            d = d.date()
        return self.year(d.year).is_working_day(d)

    def is_public_holiday(self, d: date) -> bool:
        """True on a day off of a statutory holiday (节假日) — not merely an ordinary weekend.

        Office hours need the difference: a center with Saturday-morning extended hours opens
        on an ordinary Saturday but stays shut on a Saturday inside the National Day holiday.
        """
        if isinstance(d, datetime):
            d = d.date()
        return d in self.year(d.year).holidays

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (`start` itself not counted); n=0 gives `start`."""
        if n < 0:
            raise ValueError("n must be >= 0; use subtract_working_days to count backwards")
        d = start
        left = n
        while left > 0:
            d += timedelta(days=1)
            if self.is_working_day(d):
                left -= 1
        return d

    def subtract_working_days(self, start: date, n: int) -> date:
        """The n-th working day before `start` (`start` itself not counted); n=0 gives `start`."""
        if n < 0:
            raise ValueError("n must be >= 0")
        d = start
        left = n
        while left > 0:
            d -= timedelta(days=1)
            if self.is_working_day(d):
                left -= 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in the half-open span (start, end]; 0 when `end` is not after `start`."""
        count = 0
        d = start
        while d < end:
            d += timedelta(days=1)
            if self.is_working_day(d):
                count += 1
        return count

    def next_working_day_on_or_after(self, d: date) -> date:
        """`d` itself if it is a working day, else the first working day after it."""
        return d if self.is_working_day(d) else self.add_working_days(d, 1)

    # -- the pause rule ------------------------------------------------------------------------
    def paused_days(self, pauses: Sequence[Pause]) -> frozenset[date]:
        """The working days a set of pauses took off the clock (see `paused_working_days`)."""
        days: set[date] = set()
        for p in pauses:
            d = local_date(p.paused_at)
            end = local_date(p.resumed_at)
            while d < end:
                d += timedelta(days=1)
                if self.is_working_day(d):
                    days.add(d)
        return frozenset(days)

    def paused_working_days(self, pauses: Sequence[Pause]) -> int:
        """How many working days the pauses add to the promise — THE PAUSE RULE.

        A pause from local day P (the correction is requested) to local day R (the correction
        is supplied) takes the working days in (P, R] off the clock: the day the correction
        is requested still counts (work was done on it), the day it is supplied does not (the
        officer gets the whole next working day). Counted in whole working days; overlapping
        pauses count a day once. Requested and supplied on the same day adds nothing.
        """
        return len(self.paused_days(pauses))


def _package_years() -> dict[int, YearSchedule]:
    """The years chinesecalendar carries, as official schedules."""
    from chinese_calendar import constants  # the package's own tables (date -> name)

    try:
        version = metadata.version("chinesecalendar")
    except metadata.PackageNotFoundError:  # pragma: no cover - an unusual install
        version = "?"
    holidays: dict[int, set[date]] = {}
    makeup: dict[int, set[date]] = {}
    for d in constants.holidays:
        holidays.setdefault(d.year, set()).add(d)
    for d in constants.workdays:
        makeup.setdefault(d.year, set()).add(d)
    first, last = min(holidays), max(holidays)
    return {
        y: YearSchedule(
            y,
            frozenset(holidays.get(y, ())),
            frozenset(makeup.get(y, ())),
            official=True,
            source=f"{PACKAGE_SOURCE} {version}",
        )
        for y in range(first, last + 1)
    }


def _estimates() -> dict[int, YearSchedule]:
    """The packaged fallback file: a provisional estimate per year the package lacks."""
    raw: dict[str, Any] = json.loads(
        resources.files("contracts").joinpath(_FALLBACK_FILE).read_text(encoding="utf-8")
    )
    table: dict[int, YearSchedule] = {}
    for key, entry in raw.items():
        if not key.isdigit():
            continue
        year = int(key)
        off = frozenset(date.fromisoformat(s) for s in entry.get("off", []))
        working = frozenset(date.fromisoformat(s) for s in entry.get("working", []))
        if any(d.year != year for d in off | working):
            raise ValueError(f"{_FALLBACK_FILE}: a date under {year} lies in another year")
        source = str(entry.get("source") or "estimate")
        table[year] = YearSchedule(
            year, off, working, official=False, source=f"provisional: {source}"
        )
    return table


@cache
def default_calendar() -> WorkingCalendar:
    """The package's years (official) and the fallback file's estimates (provisional), with
    nothing published yet: what a service starts from before it folds any publication."""
    years = _package_years()
    estimates = {y: e for y, e in _estimates().items() if y not in years}
    return WorkingCalendar(years=years, estimates=estimates)


def local_date(t: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware instant (what the counter's clock shows)."""
    if t.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    return t.astimezone(SHANGHAI).date()


def _cal(calendar: WorkingCalendar | None) -> WorkingCalendar:
    return calendar if calendar is not None else default_calendar()


# -- module-level helpers (the default calendar unless one is given) ----------------------------
def is_working_day(d: date, calendar: WorkingCalendar | None = None) -> bool:
    """True on a statutory working day of `calendar` (the default calendar when None)."""
    return _cal(calendar).is_working_day(d)


def is_public_holiday(d: date, calendar: WorkingCalendar | None = None) -> bool:
    return _cal(calendar).is_public_holiday(d)


def add_working_days(start: date, n: int, calendar: WorkingCalendar | None = None) -> date:
    return _cal(calendar).add_working_days(start, n)


def subtract_working_days(start: date, n: int, calendar: WorkingCalendar | None = None) -> date:
    return _cal(calendar).subtract_working_days(start, n)


def working_days_between(start: date, end: date, calendar: WorkingCalendar | None = None) -> int:
    return _cal(calendar).working_days_between(start, end)


def next_working_day_on_or_after(d: date, calendar: WorkingCalendar | None = None) -> date:
    return _cal(calendar).next_working_day_on_or_after(d)


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
    `adjusted_workday` hours, or Monday's when that is not given. Which days are which is
    the `calendar` passed to each query (the default calendar when None).
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

    def intervals_on(
        self, d: date, *, calendar: WorkingCalendar | None = None
    ) -> tuple[OpenInterval, ...]:
        """The intervals the center is open on calendar day `d`."""
        cal = _cal(calendar)
        if cal.is_working_day(d):
            if d.weekday() < 5:
                return self.weekly.get(d.weekday(), ())
            return (
                self.adjusted_workday
                if self.adjusted_workday is not None
                else self.weekly.get(0, ())
            )
        if cal.is_public_holiday(d):
            return ()
        return self.weekly.get(d.weekday(), ())

    def is_open(self, t: datetime, *, calendar: WorkingCalendar | None = None) -> bool:
        local = t.astimezone(SHANGHAI)
        wall = local.time().replace(tzinfo=None)
        intervals = self.intervals_on(local.date(), calendar=calendar)
        return any(iv.opens <= wall < iv.closes for iv in intervals)

    def close_of_business(self, d: date, *, calendar: WorkingCalendar | None = None) -> datetime:
        """End of the last interval on `d`, or `default_close` when none is configured."""
        intervals = self.intervals_on(d, calendar=calendar)
        closes = max((iv.closes for iv in intervals), default=self.default_close)
        return datetime.combine(d, closes, tzinfo=SHANGHAI)

    def next_open(
        self, t: datetime, horizon_days: int = 31, *, calendar: WorkingCalendar | None = None
    ) -> datetime | None:
        """`t` if open then, else the next opening within `horizon_days`, else None."""
        if self.is_open(t, calendar=calendar):
            return t
        local = t.astimezone(SHANGHAI)
        for offset in range(horizon_days + 1):
            d = local.date() + timedelta(days=offset)
            for iv in sorted(self.intervals_on(d, calendar=calendar), key=lambda i: i.opens):
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


def paused_days(
    pauses: Sequence[Pause], calendar: WorkingCalendar | None = None
) -> frozenset[date]:
    """`WorkingCalendar.paused_days` of `calendar` (the default calendar when None)."""
    return _cal(calendar).paused_days(pauses)


def paused_working_days(pauses: Sequence[Pause], calendar: WorkingCalendar | None = None) -> int:
    """`WorkingCalendar.paused_working_days` (THE PAUSE RULE) of `calendar` (the default
    calendar when None)."""
    return _cal(calendar).paused_working_days(pauses)


@dataclass(frozen=True)
class Promise:
    """What the center promised (服务承诺): the due working day and the moment it ends, and
    the years it was counted over without an official holiday schedule (empty: firm)."""

    due_date: date
    due_at: datetime
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        """True when a year the promise was counted over has no official schedule yet."""
        return bool(self.provisional_years)


def promised_deadline(
    accepted_at: datetime,
    working_days: int,
    hours: OfficeHours,
    pauses: Sequence[Pause] = (),
    *,
    calendar: WorkingCalendar,
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
    - Working days are those of `calendar`; the promise names the years from acceptance to
      the due day that it holds no official schedule for (`provisional_years`).

    Both services call this: intake for the promised date on the receipt (with the hours of
    the center where the case was accepted), routing for the deadline clock (with the hours
    of the handling office), each with the calendar it holds (the same publications reach
    both). It is one rule with one answer whenever those close at the same time on the due
    day (every center of the seeded tree closes at 17:30 on working days).
    """
    if working_days < 0:
        raise ValueError("a promise is at least 0 working days")
    day = local_date(accepted_at)
    if working_days == 0:
        due = calendar.next_working_day_on_or_after(day)
        if accepted_at >= hours.close_of_business(due, calendar=calendar):
            due = calendar.add_working_days(due, 1)
    else:
        due = calendar.add_working_days(day, working_days)
    due = calendar.add_working_days(due, calendar.paused_working_days(pauses))
    return Promise(
        due_date=due,
        due_at=hours.close_of_business(due, calendar=calendar),
        provisional_years=calendar.provisional_years(day, due),
    )
