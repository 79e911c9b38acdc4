"""What a case decider reads besides the case: the org tree (with the working-day calendar
it holds) and the deadline policy.

The case deciders are pure functions of (command, case state, now, context). The context
is the folded org stream and the configured policy, handed in by the edge — so a case is
routed against the tree as it stands when the command is decided, and tests build their
own small trees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.workdays import OfficeHours, WorkingCalendar

from .org_model import OrgState
from .policy import DeadlinePolicy


@dataclass(frozen=True)
class CaseContext:
    org: OrgState
    policy: DeadlinePolicy = field(default_factory=DeadlinePolicy)

    def hours_of(self, unit_id: str) -> OfficeHours:
        return self.org.units[unit_id].office_hours

    @property
    def calendar(self) -> WorkingCalendar:
        """The working days every deadline is counted by (the tree's published schedules)."""
        return self.org.calendar
