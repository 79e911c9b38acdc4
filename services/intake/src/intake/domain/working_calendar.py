"""The working-day calendar the promised completion date is counted in (服务承诺制).

The domain depends on this small protocol, not on the calendar module: tests pass a fake
calendar, production passes `contracts.workdays` (the statutory calendar owned by routing),
which satisfies the protocol as a module.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol


class WorkingCalendar(Protocol):
    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (`start` itself is not counted)."""
        ...


def statutory_calendar() -> WorkingCalendar:
    """The production calendar, imported lazily so the domain loads without it."""
    from contracts import workdays

    return workdays
