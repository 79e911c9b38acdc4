"""The case aggregate of routing: one decider over every case command.

    decider = CaseDecider(org_state, DeadlinePolicy())
    events = decider.decide(command, case_state, now)      # pure, may raise DomainError
    case_state = evolve_case(case_state, event)            # for each event

The decider needs the org tree (routing rules read it) and the policy, so it is a small
object holding both; `decide` has the usual (command, state, now) shape and plugs into
`eventkit.testing.Decider`. Each command's rule lives in its own module:

- `RouteAcceptedCase` (route_case): route, hand-offs, A/B assignment, deadline;
- `ReassignCase` (reassign_case); `DecideCase` (case_decision);
- `RequestCorrection`, `RecordCorrectionSupplied` (correction);
- `RecordWithdrawal` (withdrawal); `ReturnResult` (return_result);
- `CheckDeadlines` (deadline_check); `RecomputeDeadline` (recompute_deadline);
- `RecordServiceEvaluation`, `AnswerFollowUp` (bad_review);
- `HoldJointMember`, `ResumeJointMember` (joint_member: a 联办 member's clock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.base import DomainEvent

from .bad_review import AnswerFollowUp, RecordServiceEvaluation, decide_answer, decide_evaluation
from .case_decision import DecideCase, decide_decision
from .case_state import CaseState, evolve_case, initial_case_state
from .context import CaseContext
from .correction import (
    RecordCorrectionSupplied,
    RequestCorrection,
    decide_correction_supplied,
    decide_request_correction,
)
from .deadline_check import CheckDeadlines, decide_check_deadlines
from .errors import InvalidValue
from .joint_member import HoldJointMember, ResumeJointMember, decide_hold, decide_resume
from .org_model import OrgState
from .policy import DeadlinePolicy
from .reassign_case import ReassignCase, decide_reassign
from .recompute_deadline import RecomputeDeadline, decide_recompute
from .return_result import ReturnResult, decide_return_result
from .route_case import RouteAcceptedCase, decide_route
from .withdrawal import RecordWithdrawal, decide_withdrawal

CaseCommandType = (
    RouteAcceptedCase
    | ReassignCase
    | DecideCase
    | RequestCorrection
    | RecordCorrectionSupplied
    | RecordWithdrawal
    | ReturnResult
    | CheckDeadlines
    | RecomputeDeadline
    | RecordServiceEvaluation
    | AnswerFollowUp
    | HoldJointMember
    | ResumeJointMember
)

_HANDLERS: dict[type, Callable[[Any, CaseState, datetime, CaseContext], list[DomainEvent]]] = {
    RouteAcceptedCase: decide_route,
    ReassignCase: decide_reassign,
    DecideCase: decide_decision,
    RequestCorrection: decide_request_correction,
    RecordCorrectionSupplied: decide_correction_supplied,
    RecordWithdrawal: decide_withdrawal,
    ReturnResult: decide_return_result,
    CheckDeadlines: decide_check_deadlines,
    RecomputeDeadline: decide_recompute,
    RecordServiceEvaluation: decide_evaluation,
    AnswerFollowUp: decide_answer,
    HoldJointMember: decide_hold,
    ResumeJointMember: decide_resume,
}


@dataclass(frozen=True)
class CaseDecider:
    org: OrgState
    policy: DeadlinePolicy = field(default_factory=DeadlinePolicy)

    def decide(
        self, command: CaseCommandType, state: CaseState, now: datetime
    ) -> list[DomainEvent]:
        if now.tzinfo is None:
            raise InvalidValue("now", "the clock must be timezone-aware")
        handler = _HANDLERS.get(type(command))
        if handler is None:
            raise InvalidValue("command", f"unknown case command {type(command).__name__}")
        return handler(command, state, now, CaseContext(self.org, self.policy))


__all__ = [
    "AnswerFollowUp",
    "CaseCommandType",
    "CaseDecider",
    "CaseState",
    "CheckDeadlines",
    "DecideCase",
    "ReassignCase",
    "RecomputeDeadline",
    "RecordCorrectionSupplied",
    "RecordServiceEvaluation",
    "RecordWithdrawal",
    "RequestCorrection",
    "ReturnResult",
    "RouteAcceptedCase",
    "evolve_case",
    "initial_case_state",
]
