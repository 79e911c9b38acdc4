"""The applicant withdrew before the decision (intake's `intake.application_withdrawn`).

Routing stops the clock for good so a withdrawn case never goes overdue or escalates.
A redelivered withdrawal changes nothing; a withdrawal after the decision is refused
(intake refuses those too, so it can only be a race the edge must log).
"""

from __future__ import annotations

from datetime import datetime

from contracts.base import DomainEvent
from contracts.routing import CaseWithdrawn

from .case_state import CaseCommand, CaseState, require_known
from .context import CaseContext
from .errors import WrongState


class RecordWithdrawal(CaseCommand):
    reason: str | None = None


def decide_withdrawal(
    cmd: RecordWithdrawal, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    if state.status == "withdrawn":
        return []
    if state.status not in ("open", "correction_pending"):
        raise WrongState("case_id", f"a {state.status} case can no longer be withdrawn")
    return [CaseWithdrawn(**state.case_fields(), recorded_by=cmd.actor.id)]
