"""The working-day calendar intake prints promises by: the package's years and the holiday
schedules routing published (issue 13 #7).

Routing owns the schedule (an admin publishes it there, with the rest of the reference data);
its `routing.holiday_schedule_published` reaches intake over routing's topic and is kept in
`holiday_schedules` (one row per year, `revision` growing with every publication received).
`CalendarView` folds those rows into a `WorkingCalendar` in memory and catches up with one
indexed query (usually returning nothing) whenever a promise is about to be made.

Every open receipt must be revised when a year is published, including one accepted while
the schedule was arriving. So the two meet under one advisory lock:

- a command that may accept a case takes it SHARED before it reads the calendar
  (`acceptance_inputs`): acceptances never wait for each other;
- the consumer takes it EXCLUSIVE before it records the schedule and revises the open
  receipts (`lock_for_publication`): it waits for the acceptances in flight (they commit
  first and are revised with the rest), and acceptances starting meanwhile wait for it and
  then read the new schedule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg

from contracts.routing import HolidaySchedulePublished
from contracts.workdays import OfficeHours, WorkingCalendar, YearSchedule, default_calendar

from .projections import routing_view

CALENDAR_LOCK = 0x62_6D_2E_63_61_6C  # "bm.cal": pg_advisory_xact_lock key of the calendar

_SINCE = (
    "SELECT year, notice_no, holidays, makeup_workdays, revision FROM holiday_schedules"
    " WHERE revision > $1 ORDER BY revision"
)
_HOURS_HELD = (
    "SELECT (SELECT office_hours FROM centers WHERE unit_id = $1) AS office_hours,"
    " pg_advisory_xact_lock_shared($2) AS held"
)
_RECORD = """
INSERT INTO holiday_schedules (year, notice_no, holidays, makeup_workdays, revision, published_at)
VALUES ($1, $2, $3, $4, (SELECT coalesce(max(revision), 0) + 1 FROM holiday_schedules), $5)
ON CONFLICT (year) DO UPDATE SET notice_no = EXCLUDED.notice_no,
    holidays = EXCLUDED.holidays, makeup_workdays = EXCLUDED.makeup_workdays,
    revision = EXCLUDED.revision, published_at = EXCLUDED.published_at
"""
_OPEN_OVER_YEAR = """
SELECT case_id FROM applications
WHERE status IN ('accepted', 'correction_requested')
  AND extract(year FROM accepted_on) <= $1 AND extract(year FROM promised_completion_date) >= $1
ORDER BY case_id
"""


def _schedule(row: Any) -> YearSchedule:
    return YearSchedule(
        row["year"],
        frozenset(row["holidays"]),
        frozenset(row["makeup_workdays"]),
        official=True,
        source=row["notice_no"],
        notice_no=row["notice_no"],
    )


def _folded(calendar: WorkingCalendar, rows: Iterable[Any]) -> WorkingCalendar:
    for row in rows:
        calendar = replace(calendar.published(_schedule(row)), revision=row["revision"])
    return calendar


class CalendarView:
    """The calendar as last caught up; only rows newer than the folded revision are read."""

    def __init__(self) -> None:
        self._calendar = default_calendar()

    @property
    def folded(self) -> WorkingCalendar:
        return self._calendar

    async def current(self, conn: asyncpg.Connection) -> WorkingCalendar:
        """The calendar with every committed publication (never call it in a transaction that
        records one: the view would fold what may still roll back)."""
        rows = await conn.fetch(_SINCE, self._calendar.revision)
        # concurrent callers may fetch the same rows: fold only what is still newer (no await)
        fresh = [r for r in rows if r["revision"] > self._calendar.revision]
        self._calendar = _folded(self._calendar, fresh)
        return self._calendar

    async def acceptance_inputs(
        self, conn: asyncpg.Connection, center_id: str
    ) -> tuple[OfficeHours | None, WorkingCalendar]:
        """For a command that may accept a case: the center's hours and the calendar, read
        after taking the calendar lock SHARED (see the module doc)."""
        row = await conn.fetchrow(_HOURS_HELD, center_id, CALENDAR_LOCK)
        hours = routing_view.parse_hours(row["office_hours"])
        return hours, await self.current(conn)


async def lock_for_publication(conn: asyncpg.Connection) -> None:
    """Take the calendar lock EXCLUSIVE for this transaction (see the module doc)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", CALENDAR_LOCK)


async def record(conn: asyncpg.Connection, evt: HolidaySchedulePublished, at: datetime) -> None:
    """Keep the year's schedule (a superseding one replaces it) as the next revision."""
    await conn.execute(
        _RECORD, evt.year, evt.notice_no, list(evt.holidays), list(evt.makeup_workdays), at
    )


async def calendar_in(conn: asyncpg.Connection) -> WorkingCalendar:
    """The calendar as this transaction sees it, built afresh (the consumer's, which has
    just recorded a publication that is not committed yet)."""
    return _folded(default_calendar(), await conn.fetch(_SINCE, 0))


async def open_cases_counted_over(conn: asyncpg.Connection, year: int) -> list[str]:
    """The accepted, undecided cases whose receipt promise was counted over `year`."""
    return [r["case_id"] for r in await conn.fetch(_OPEN_OVER_YEAR, year)]
