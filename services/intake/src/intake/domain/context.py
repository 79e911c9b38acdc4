"""What intake's application decider reads besides the case (`IntakeContext`): kept apart
from the state so each use case can take it without importing the others."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.workdays import OfficeHours, WorkingCalendar, default_calendar

from .catalog import Catalog


@dataclass(frozen=True)
class IntakeContext:
    """What the decider reads besides the case: the catalog as it stands, the secret the
    resident verification code is derived from, the office hours of the accepting center
    (as routing's org tree publishes them; the standard hours when it lists none) and the
    working-day calendar (the package's years plus the published holiday schedules; the
    edge passes the one it holds, the default is the package's alone), and the accepting
    center's service lines (服务条线, as JSON; none: the case belongs to no line)."""

    catalog: Catalog
    verification_secret: bytes
    office_hours: OfficeHours = field(default_factory=OfficeHours.standard)
    calendar: WorkingCalendar = field(default_factory=default_calendar)
    service_lines: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if len(self.verification_secret) < 16:
            raise ValueError("verification_secret must be at least 16 bytes")
