"""Quiet hours (免打扰): no SMS to residents at night; it waits for the morning.

Only SMS to residents is held back: a text message wakes a phone, an e-mail or an app push
(webhook) does not, and staff notices (deadlines, overdue cases) are work the staff chose to
be reachable for. The window is local time (Asia/Shanghai by default) and may wrap past
midnight (21:00-08:00) or not (12:00-13:30).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from contracts.workdays import SHANGHAI


@dataclass(frozen=True)
class QuietHours:
    start: time = time(21, 0)
    end: time = time(8, 0)
    tz: ZoneInfo = SHANGHAI

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")

    def contains(self, t: datetime) -> bool:
        lt = t.astimezone(self.tz).time()
        if self.start < self.end:
            return self.start <= lt < self.end
        return lt >= self.start or lt < self.end

    def ends_after(self, t: datetime) -> datetime:
        """The end of the quiet period `t` is in (only meaningful when `contains(t)`)."""
        local = t.astimezone(self.tz)
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)  # 23:00 -> tomorrow 08:00
        return datetime.combine(day, self.end, tzinfo=self.tz)


DEFAULT_QUIET_HOURS = QuietHours()


def parse_quiet_hours(spec: str, tz: str | ZoneInfo = SHANGHAI) -> QuietHours | None:
    """`"21:00-08:00"` -> QuietHours; `""` or `"off"` -> None (no quiet hours)."""
    spec = spec.strip()
    if spec.lower() in ("", "off", "none"):
        return None
    try:
        a, b = spec.split("-")
        start, end = time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
    except ValueError:
        raise ValueError(f"quiet hours must look like 21:00-08:00, got {spec!r}") from None
    return QuietHours(start, end, tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))


def next_allowed_time(
    channel: str,
    recipient_kind: str,
    now: datetime,
    quiet: QuietHours | None = DEFAULT_QUIET_HOURS,
) -> datetime:
    """The earliest time at or after `now` at which this channel may reach this recipient:
    `now` itself, unless it is an SMS to a resident inside quiet hours."""
    if quiet is None or channel != "sms" or recipient_kind != "resident":
        return now
    if not quiet.contains(now):
        return now
    return quiet.ends_after(now)
