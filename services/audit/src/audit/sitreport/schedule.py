"""Which situation reports are due at a moment: pure (the clock is passed in).

A period is a local (Asia/Shanghai) week, Monday to Sunday, or a calendar month. It is due
once it has closed (`now` is on or after the day after its last day, local) and it began on
or after the schedule's start; each unit's report of a period is generated once. The order
is bottom-up — communities, then towns, then the city — so a town's report names the reports
of its communities of the same period (`rolls_up`), and the city's its towns'.

The deadline to send a report up is `submit_days` after its period closed (local midnight),
whatever the hour it was generated at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contracts.sitreports import Period, ReportTier, report_id

LOCAL = ZoneInfo("Asia/Shanghai")
TIER_ORDER: dict[str, int] = {"community": 0, "town": 1, "city": 2}


@dataclass(frozen=True)
class ScheduleConfig:
    periods: tuple[Period, ...] = ("weekly", "monthly")
    start: date | None = None
    """No report for a period that began before this day. None: no back-filling — only the
    latest closed period of each kind and those after it (a new deployment, or one whose
    scheduler was off, does not generate a year of reports at once)."""
    submit_days: int = 2


@dataclass(frozen=True)
class Unit:
    unit_id: str
    tier: ReportTier
    parent_id: str | None


@dataclass(frozen=True)
class DueReport:
    report_id: str
    unit: Unit
    period: Period
    first: date
    last: date
    deadline: datetime
    rolls_up: tuple[str, ...]


def period_of(kind: Period, day: date) -> tuple[date, date]:
    """(first, last) of the period of `kind` holding `day`."""
    if kind == "weekly":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def closed_periods(kind: Period, start: date, today: date) -> list[tuple[date, date]]:
    """Every period of `kind` beginning on or after `start` whose last day is before `today`."""
    out = []
    first, last = period_of(kind, start)
    if first < start:
        first, last = period_of(kind, last + timedelta(days=1))
    while last < today:
        out.append((first, last))
        first, last = period_of(kind, last + timedelta(days=1))
    return out


def deadline_of(last: date, submit_days: int) -> datetime:
    return datetime.combine(last + timedelta(days=1 + submit_days), time(0), LOCAL)


def due(
    now: datetime, config: ScheduleConfig, units: Sequence[Unit], done: Iterable[str]
) -> list[DueReport]:
    """The reports to generate at `now`, bottom-up, leaving out the ids in `done`."""
    today = now.astimezone(LOCAL).date()
    made = set(done)
    ordered = sorted(units, key=lambda u: (TIER_ORDER[u.tier], u.unit_id))
    children: dict[str, list[Unit]] = {}
    for u in ordered:
        if u.parent_id is not None:
            children.setdefault(u.parent_id, []).append(u)
    out = []
    for kind in config.periods:
        start = config.start
        if start is None:
            start = period_of(kind, period_of(kind, today)[0] - timedelta(days=1))[0]
        for first, last in closed_periods(kind, start, today):
            for u in ordered:
                rid = report_id(u.unit_id, kind, first)
                if rid in made:
                    continue
                below = tuple(
                    report_id(c.unit_id, kind, first) for c in children.get(u.unit_id, [])
                )
                out.append(
                    DueReport(
                        rid, u, kind, first, last, deadline_of(last, config.submit_days), below
                    )
                )
    out.sort(key=lambda d: (d.first, d.period, TIER_ORDER[d.unit.tier], d.unit.unit_id))
    return out
