"""The published holiday schedule: what an admin may publish, and how it enters the calendar.

Each year the State Council publishes the next year's arrangement (国务院办公厅关于X年部分节假日
安排的通知): which days are off and which weekend days are worked instead. An admin publishes it
through routing (`routing.holiday_schedule_published`, on the org stream); routing's deciders
and intake fold it into the `WorkingCalendar` they count promises by (`calendar_with`).

THE SCHEDULE RULE (`published_schedule`): a notice number; at least one holiday; every day
within the year; no day listed twice; no day both off and worked; a make-up working day is a
Saturday or a Sunday (a weekday is worked anyway).

THE REPUBLISH RULE (`check_publication`): a year is never changed silently. The first
publication of a year without an official schedule is accepted; the same schedule again
(same notice, same days) is nothing new; anything else for a year that has an official
schedule (a published notice, or the package's data) must name the schedule it supersedes
(`supersedes`: its notice number, or "chinesecalendar") and give a reason.

A refusal names the field at fault (`ScheduleRefused.field`); `conflict` is True when the
schedule is valid but clashes with the one in force (HTTP 409 rather than 422).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from contracts.routing import HolidaySchedulePublished
from contracts.workdays import WorkingCalendar, YearSchedule

WEEKDAY_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


class ScheduleRefused(ValueError):
    """A publication refused: `field` at fault, `reason`, and whether it is a `conflict`;
    `code` names the rule broken and `ctx` its values (the date, the year), for a client to
    word the refusal in its own language."""

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        conflict: bool = False,
        code: str | None = None,
        ctx: dict[str, str | int] | None = None,
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.conflict = conflict
        self.code = code
        self.ctx = ctx or {}


def _days(field: str, year: int, days: Sequence[date]) -> frozenset[date]:
    seen: set[date] = set()
    for i, d in enumerate(days):
        day: dict[str, str | int] = {"date": d.isoformat(), "year": year}
        if d.year != year:
            raise ScheduleRefused(
                f"{field}[{i}]", f"{d.isoformat()} is not in {year}", code="not_in_year", ctx=day
            )
        if d in seen:
            raise ScheduleRefused(
                f"{field}[{i}]", f"{d.isoformat()} is listed twice", code="listed_twice", ctx=day
            )
        seen.add(d)
    return frozenset(seen)


def published_schedule(
    year: int, notice_no: str, holidays: Sequence[date], makeup_workdays: Sequence[date]
) -> YearSchedule:
    """THE SCHEDULE RULE: the year's official schedule from a notice, or `ScheduleRefused`."""
    notice = notice_no.strip()
    if not notice:
        raise ScheduleRefused("notice_no", "the State Council notice's number is required")
    if not holidays:
        raise ScheduleRefused("holidays", "a schedule lists at least one holiday")
    off = _days("holidays", year, holidays)
    worked = _days("makeup_workdays", year, makeup_workdays)
    for i, d in enumerate(makeup_workdays):
        if d in off:
            raise ScheduleRefused(
                f"makeup_workdays[{i}]",
                f"{d.isoformat()} is also listed as a holiday",
                code="also_a_holiday",
                ctx={"date": d.isoformat()},
            )
        if d.weekday() < 5:
            raise ScheduleRefused(
                f"makeup_workdays[{i}]",
                f"{d.isoformat()} is a {WEEKDAY_ZH[d.weekday()]}: a make-up working day "
                "(调休上班) is a weekend day",
                code="not_a_weekend",
                ctx={"date": d.isoformat(), "weekday": WEEKDAY_ZH[d.weekday()]},
            )
    return YearSchedule(year, off, worked, official=True, source=notice, notice_no=notice)


def check_publication(
    calendar: WorkingCalendar,
    schedule: YearSchedule,
    *,
    supersedes: str | None,
    reason: str | None,
) -> bool:
    """THE REPUBLISH RULE against the schedule `calendar` holds for the year: True when the
    schedule is to be published, False when it is already in force; `ScheduleRefused` when
    it would change the year silently (or names the wrong schedule to supersede)."""
    supersedes = (supersedes or "").strip() or None
    year = schedule.year
    if not calendar.is_official(year):
        if supersedes is not None:
            raise ScheduleRefused(
                "supersedes", f"{year} has no official schedule yet: there is nothing to supersede"
            )
        return True
    current = calendar.year(year)
    if current.notice_no == schedule.notice_no and current.same_days(schedule):
        return False
    if supersedes is None:
        raise ScheduleRefused(
            "supersedes",
            f"{year} already has a schedule ({current.source_ref}); a different one must say "
            f'that it supersedes it ("supersedes": "{current.source_ref}") and why ("reason")',
            conflict=True,
        )
    if supersedes != current.source_ref:
        raise ScheduleRefused(
            "supersedes",
            f"the schedule in force for {year} is {current.source_ref}, not {supersedes}",
            conflict=True,
        )
    if not (reason or "").strip():
        raise ScheduleRefused("reason", "superseding a year's schedule needs a reason")
    return True


def calendar_with(calendar: WorkingCalendar, evt: HolidaySchedulePublished) -> WorkingCalendar:
    """Fold one publication into the calendar (the event was validated when it was decided)."""
    return calendar.published(
        YearSchedule(
            evt.year,
            frozenset(evt.holidays),
            frozenset(evt.makeup_workdays),
            official=True,
            source=evt.notice_no,
            notice_no=evt.notice_no,
        )
    )
