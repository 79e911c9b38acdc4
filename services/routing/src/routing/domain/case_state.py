"""The routing side of one case: its state, the base of its commands, and `evolve_case`.

The state holds only what routing's rules need to decide the next command: where the case
is handled and by whom, the clock (accepted time, promise, pauses, due time), which
deadline notices were already issued (each goes out at most once), the decision, and the
follow-ups of bad reviews. Everything else about the case lives with intake.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import DomainEvent
from contracts.joint import JointMemberHeld, JointMemberResumed
from contracts.routing import (
    BadReviewFollowUpAnswered,
    BadReviewFollowUpOpened,
    CaseAssigned,
    CaseDecided,
    CaseEscalated,
    CaseHandedOff,
    CaseOverdue,
    CaseReassigned,
    CaseRouted,
    CaseWithdrawn,
    CorrectionClosed,
    CorrectionReceived,
    CorrectionRequested,
    DeadlineRecomputed,
    DeadlineSet,
    DeadlineWarningIssued,
    Decision,
    FollowUpOverdue,
    ResultReturned,
    Tier,
)
from contracts.workdays import Pause
from eventkit.envelope import Actor

from .errors import InvalidValue, UnknownReference

CaseStatus = Literal[
    "new",  # routing has not seen the acceptance yet
    "open",  # routed and assigned, the clock runs
    "correction_pending",  # 补正 requested, the clock stands still
    "decided",  # approved or refused; the result is on its way down
    "result_returned",  # the result reached the accepting center
    "withdrawn",  # the applicant withdrew before the decision
]
CASE_ID_PATTERN = r"^case-[0-9a-f]{32}$"


class CaseCommand(BaseModel):
    """Base of every command on a case: which case, and who asks (责任追究制)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str = Field(pattern=CASE_ID_PATTERN)
    actor: Actor


@dataclass(frozen=True)
class FollowUp:
    followup_id: str
    evaluation_ref: str
    assigned_to: str
    answer_due_at: datetime
    answered: bool = False
    overdue_reported: bool = False


@dataclass(frozen=True)
class CaseState:
    case_id: str | None = None
    status: CaseStatus = "new"
    # route
    item_code: str = ""
    item_version: int = 0
    material_codes: tuple[str, ...] = ()  # what a correction request may name
    category: str = ""
    case_type: str = ""
    handling_tier: Tier = "town"
    handling_unit_id: str = ""
    handling_office_id: str = ""
    accepting_center_id: str = ""
    accepting_staff_id: str | None = None
    agent_id: str = ""
    route: tuple[str, ...] = ()
    line_id: str | None = None  # the handling unit's service line (服务条线)
    accepting_line_id: str | None = None
    # assignment
    post_id: str | None = None
    assigned_to: str | None = None
    # clock
    accepted_at: datetime | None = None
    promised_limit_days: int = 0
    pauses: tuple[Pause, ...] = ()
    paused_at: datetime | None = None
    correction_id: str | None = None  # the pending correction (补正)
    corrections: int = 0
    due_date: date | None = None
    due_at: datetime | None = None
    provisional_years: tuple[int, ...] | None = ()  # None: a v1 deadline did not say
    warning_issued: bool = False
    overdue: bool = False
    escalation_level: int = 0
    # decision and result
    decision: Decision | None = None
    decided_by: str | None = None
    result_at_center: bool = False
    followups: tuple[FollowUp, ...] = ()
    # 联办: a joint member waiting its turn or stopped by a refusal (domain.joint_member)
    joint_hold: str | None = None
    joint_held_at: datetime | None = None

    @property
    def clock_running(self) -> bool:
        return self.status == "open" and self.joint_hold is None

    def followup(self, followup_id: str) -> FollowUp | None:
        return next((f for f in self.followups if f.followup_id == followup_id), None)

    def case_fields(self) -> dict[str, Any]:
        """The fields every case event carries: the case and its handling unit and tier."""
        assert self.case_id is not None
        return {
            "case_id": self.case_id,
            "org_id": self.handling_unit_id,
            "tier": self.handling_tier,
        }


def initial_case_state() -> CaseState:
    return CaseState()


def require_known(command: CaseCommand, state: CaseState) -> None:
    """Refuse a command on a case routing has not routed (or on another case's state)."""
    if state.case_id is None:
        raise UnknownReference("case_id", f"routing has no case {command.case_id!r}")
    if state.case_id != command.case_id:
        raise InvalidValue("case_id", f"state is of {state.case_id}, not {command.case_id}")


def _replace_followup(state: CaseState, followup_id: str, **changes: Any) -> CaseState:
    return replace(
        state,
        followups=tuple(
            replace(f, **changes) if f.followup_id == followup_id else f for f in state.followups
        ),
    )


def evolve_case(state: CaseState, evt: DomainEvent) -> CaseState:
    """Fold one case event; events of other types leave the state unchanged."""
    match evt:
        case CaseRouted():
            return replace(
                state,
                case_id=evt.case_id,
                status="open",
                item_code=evt.item_code,
                item_version=evt.item_version,
                material_codes=evt.material_codes,
                category=evt.category,
                case_type=evt.case_type,
                handling_tier=evt.handling_tier,
                handling_unit_id=evt.handling_unit_id,
                handling_office_id=evt.handling_office_id,
                accepting_center_id=evt.accepting_center_id,
                accepting_staff_id=evt.accepting_staff_id,
                agent_id=evt.agent_id,
                route=evt.route,
                line_id=evt.line_id,
                accepting_line_id=evt.accepting_line_id,
            )
        case CaseHandedOff():
            return state
        case CaseAssigned():
            return replace(state, post_id=evt.post_id, assigned_to=evt.assigned_to)
        case CaseReassigned():
            return replace(state, assigned_to=evt.to_officer)
        case DeadlineSet():
            return replace(
                state,
                accepted_at=evt.accepted_at,
                promised_limit_days=evt.promised_limit_days,
                due_date=evt.due_date,
                due_at=evt.due_at,
                provisional_years=evt.provisional_years,
            )
        case DeadlineRecomputed():
            return replace(
                state,
                due_date=evt.due_date,
                due_at=evt.due_at,
                provisional_years=evt.provisional_years,
            )
        case JointMemberHeld():
            return replace(state, joint_hold=evt.reason, joint_held_at=evt.held_at)
        case JointMemberResumed():
            pause = Pause(paused_at=evt.held_at, resumed_at=evt.resumed_at)
            return replace(
                state, joint_hold=None, joint_held_at=None, pauses=(*state.pauses, pause)
            )
        case CorrectionRequested():
            return replace(
                state,
                status="correction_pending",
                paused_at=evt.paused_at,
                correction_id=evt.correction_id,
                corrections=state.corrections + 1,
            )
        case CorrectionReceived() | CorrectionClosed():
            pause = Pause(paused_at=evt.paused_at, resumed_at=evt.resumed_at)
            return replace(
                state,
                status="open",
                paused_at=None,
                correction_id=None,
                pauses=(*state.pauses, pause),
            )
        case CaseDecided():
            return replace(
                state,
                status="decided",
                decision=evt.decision,
                decided_by=evt.decided_by,
                paused_at=None,
                correction_id=None,
            )
        case CaseWithdrawn():
            return replace(state, status="withdrawn", paused_at=None)
        case ResultReturned():
            if evt.final:
                return replace(state, status="result_returned", result_at_center=True)
            return state
        case DeadlineWarningIssued():
            return replace(state, warning_issued=True)
        case CaseOverdue():
            return replace(state, overdue=True)
        case CaseEscalated():
            return replace(state, escalation_level=max(state.escalation_level, evt.level))
        case BadReviewFollowUpOpened():
            followup = FollowUp(
                followup_id=evt.followup_id,
                evaluation_ref=evt.evaluation_ref,
                assigned_to=evt.assigned_to,
                answer_due_at=evt.answer_due_at,
            )
            return replace(state, followups=(*state.followups, followup))
        case BadReviewFollowUpAnswered():
            return _replace_followup(state, evt.followup_id, answered=True)
        case FollowUpOverdue():
            return _replace_followup(state, evt.followup_id, overdue_reported=True)
        case _:
            return state
