"""The joint result coming back (联办): intake records routing's `routing.joint_result_ready`
on the joint case's own stream (`intake.joint_result_recorded`), as a single case records its
decision, so the joint case's history at intake says which members came back and when the
whole result was ready at the accepting center. A redelivery of the same routing event
records nothing; a result for a joint case intake never accepted is refused."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from contracts.base import DomainEvent
from contracts.joint import JointResultRecorded, MemberOutcome
from eventkit.envelope import Actor

from .errors import UnknownItem, WrongStatus
from .joint_submission import JointState


class RecordJointResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    joint_case_id: str
    outcomes: tuple[MemberOutcome, ...]
    final: bool
    source_event_id: str
    actor: Actor


def decide_record_joint_result(
    cmd: RecordJointResult, state: JointState, now: datetime
) -> list[DomainEvent]:
    if state.submitted is None:
        raise UnknownItem("joint_case_id", f"no joint case {cmd.joint_case_id}")
    if state.status != "accepted":
        raise WrongStatus("status", f"the joint case is {state.status}, not accepted")
    if cmd.source_event_id in state.results_recorded:
        return []
    return [
        JointResultRecorded(
            joint_case_id=cmd.joint_case_id,
            outcomes=cmd.outcomes,
            final=cmd.final,
            source_event_id=cmd.source_event_id,
        )
    ]
