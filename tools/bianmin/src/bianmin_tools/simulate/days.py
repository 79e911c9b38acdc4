"""The simulation's own sense of time: which days are working days, when a center is open.

People act by the calendar — a resident comes back two working days later, an officer
decides on the fifth working day, a window is staffed 08:30-12:00 — so the generator asks
the calendar and the centers' office hours (routing's org tree) when people can act. It
never computes a deadline: the deciders do (`contracts.workdays.promised_deadline`, called
by intake's and routing's deciders). Every calendar call of the generator is in this module,
so a change of the calendar's API (e.g. a published holiday schedule as an argument) is
adapted here once.

The clock is UTC with whole seconds, as the services' clocks give (sub-second parts would
only make the envelopes longer).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from contracts.workdays import (
    SHANGHAI,
    OfficeHours,
    add_working_days,
    is_working_day,
    local_date,
    next_working_day_on_or_after,
)

__all__ = [
    "SHANGHAI",
    "after",
    "is_working",
    "later",
    "local",
    "local_day",
    "office_time",
    "on_or_after",
    "open_spans",
    "soon",
    "utc",
]


def is_working(d: date) -> bool:
    return is_working_day(d)


def after(d: date, n: int) -> date:
    """The n-th working day after `d` (`d` itself for n = 0)."""
    return add_working_days(d, n)


def on_or_after(d: date) -> date:
    return next_working_day_on_or_after(d)


def local_day(t: datetime) -> date:
    return local_date(t)


def utc(t: datetime) -> datetime:
    """An aware instant as the services' UTC clock shows it, to the second."""
    return t.astimezone(UTC).replace(microsecond=0)


def local(d: date, minutes: int, seconds: int = 0) -> datetime:
    """Local wall-clock minutes after midnight on `d`, as a UTC instant."""
    return utc(datetime.combine(d, time(minutes // 60, minutes % 60, seconds), tzinfo=SHANGHAI))


def later(rng: random.Random, t: datetime, lo: int, hi: int) -> datetime:
    """`t` plus a whole number of seconds in [lo, hi]."""
    return t + timedelta(seconds=rng.randint(lo, hi))


def open_spans(hours: OfficeHours, d: date) -> list[tuple[datetime, datetime]]:
    """The (opens, closes) instants of a center on `d` (none on a holiday)."""
    return [
        (
            utc(datetime.combine(d, iv.opens, tzinfo=SHANGHAI)),
            utc(datetime.combine(d, iv.closes, tzinfo=SHANGHAI)),
        )
        for iv in sorted(hours.intervals_on(d), key=lambda i: i.opens)
    ]


def office_time(
    rng: random.Random,
    hours: OfficeHours,
    d: date,
    not_before: datetime | None = None,
    horizon_days: int = 60,
) -> datetime:
    """A moment when the center is open, on `d` or the first open day after it, not before
    `not_before` (a minute later at least): when staff or a resident at the window act."""
    for offset in range(horizon_days + 1):
        day = d + timedelta(days=offset)
        spans = []
        for opens, closes in open_spans(hours, day):
            if not_before is not None:
                opens = max(opens, not_before + timedelta(minutes=1))
            if closes - opens >= timedelta(minutes=1):
                spans.append((opens, closes))
        total = sum(int((b - a).total_seconds()) for a, b in spans)
        if total <= 0:
            continue
        k = rng.randrange(total)
        for a, b in spans:
            length = int((b - a).total_seconds())
            if k < length:
                return a + timedelta(seconds=k)
            k -= length
    raise ValueError(f"no office hours within {horizon_days} days of {d}")


def soon(rng: random.Random, hours: OfficeHours, t: datetime, lo: int, hi: int) -> datetime:
    """`lo`-`hi` seconds after `t` while the center is open: work in hand at `t` is finished
    before the counter closes (a minute before at the latest); work arriving while it is
    closed is done that long after it opens again."""
    for opens, closes in open_spans(hours, local_day(t)):
        if opens <= t < closes:
            return min(later(rng, t, lo, hi), max(t, closes - timedelta(minutes=1)))
    opening = hours.next_open(t)
    if opening is None:
        raise ValueError(f"the center does not open within a month of {t}")
    return later(rng, utc(opening), lo, hi)
