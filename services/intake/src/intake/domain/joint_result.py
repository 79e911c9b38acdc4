"""The joint result coming back (联办): intake records routing's `routing.joint_result_ready`
on the joint case's own stream (`intake.joint_result_recorded`), as a single case records its
decision, so the joint case's history at intake says which members came back and when the
whole result was ready at the accepting center. A redelivery of the same routing event
records nothing; a result for a joint case intake never accepted is refused. Once the final
result is in, the window records its hand-over to the resident once
(`intake.joint_result_delivered`, 领取), as for a single case."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from contracts.base import DomainEvent
from contracts.intake import DeliveryMethod
from contracts.joint import JointResultDelivered, JointResultRecorded, MemberOutcome
from eventkit.envelope import Actor

from .checks import check_org
from .errors import InvalidField, UnknownItem, WrongStatus
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


class DeliverJointResult(BaseModel):
    """The joint result reaches the resident. `center_id` is where it was picked up (required
    then); `tracking_no` is the postal tracking number (required when mailed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    joint_case_id: str
    method: DeliveryMethod
    center_id: str | None = None
    tracking_no: str | None = None
    actor: Actor


def decide_deliver_joint(
    cmd: DeliverJointResult, state: JointState, now: datetime
) -> list[DomainEvent]:
    sub = state.submitted
    if sub is None:
        raise UnknownItem("joint_case_id", f"no joint case {cmd.joint_case_id}")
    if state.delivered:
        raise WrongStatus("status", "the joint result was already delivered")
    if not state.result_final:
        raise WrongStatus(
            "status", "not every member is done yet: there is no whole result to hand over"
        )
    center = (cmd.center_id or "").strip() or None
    tracking = (cmd.tracking_no or "").strip() or None
    if cmd.method == "picked_up" and center is None:
        raise InvalidField("center_id", "where was it picked up? the center is required")
    if center is not None:
        check_org("center_id", center)
    if cmd.method == "mailed" and tracking is None:
        raise InvalidField("tracking_no", "a mailed result needs its tracking number")
    return [
        JointResultDelivered(
            joint_case_id=cmd.joint_case_id,
            method=cmd.method,
            center_id=center,
            tracking_no=tracking,
            accepting_center_id=sub.accepting_center_id,
            delivered_by=cmd.actor.id,
        )
    ]
