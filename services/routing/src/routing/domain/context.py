"""What a case decider reads besides the case: the org tree (with the working-day calendar
it holds) and the deadline policy.

The case deciders are pure functions of (command, case state, now, context). The context
is the folded org stream and the configured policy, handed in by the edge — so a case is
routed against the tree as it stands when the command is decided, and tests build their
own small trees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contracts.workdays import OfficeHours, Pause, Promise, WorkingCalendar, promised_deadline

from .org_model import OrgState
from .policy import DeadlinePolicy

if TYPE_CHECKING:
    from .case_state import CaseState


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

    def promise_for(self, state: CaseState, pauses: Sequence[Pause]) -> Promise:
        """The accepted case's promised deadline, counted in its handling office's hours
        with `pauses` (the clock stopped for corrections) left out."""
        assert state.accepted_at is not None
        return promised_deadline(
            state.accepted_at,
            state.promised_limit_days,
            self.hours_of(state.handling_unit_id),
            pauses,
            calendar=self.calendar,
        )
