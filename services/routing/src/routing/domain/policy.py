"""How the deadline clock reacts: the configurable numbers of the service commitment.

Kept apart from the rules so each center's settings can be loaded from configuration while
the rules stay code. All counts are working days (see `contracts.workdays`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeadlinePolicy:
    """Thresholds of `CheckDeadlines` and of the bad-review follow-up.

    - warning: issued from 00:00 (Asia/Shanghai) of the `warning_working_days`-th working
      day before the due day (1 = the working day before; 0 = the morning of the due day);
    - overdue: any moment after close of business on the due day;
    - escalation level 1 (head of the handling center): after close of business on the
      `first_escalation_delay_working_days`-th working day after the due day (0 = as soon
      as the case is overdue);
    - escalation level 2 (head of the center one tier up): a further
      `second_escalation_delay_working_days` working days later;
    - a bad review's follow-up must be answered by close of business (of the accepting
      center) on the `followup_answer_working_days`-th working day after it was opened.
    """

    warning_working_days: int = 1
    first_escalation_delay_working_days: int = 0
    second_escalation_delay_working_days: int = 2
    followup_answer_working_days: int = 3

    def __post_init__(self) -> None:
        for name in (
            "warning_working_days",
            "first_escalation_delay_working_days",
            "second_escalation_delay_working_days",
            "followup_answer_working_days",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
