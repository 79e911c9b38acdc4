"""A joint case (联办) on routing's side: its members routed each where its authority sits,
and what each member's decision does to the others and to the resident's result.

Stream id `joint-<hex>`, opened by intake's `intake.joint_application_accepted`.

- Routing: every member is an ordinary case (`member_routes` builds the same
  `RouteAcceptedCase` as a single acceptance), so THE ROUTING RULE of `route_case.py`
  sends it to the office holding its item's authority, at whatever tier that is.
- Decisions: when a member's own case is decided the edge issues `RecordMemberDecision`;
  `contracts.joint.joint_outcome` (the one joint rule) says which members are released
  (sequential bundles), which are stopped (a refusal with `stop_others`) and which results
  go back (once when all are done, or member by member).

Idempotent: a member decided twice, or stopped already, yields no events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import DomainEvent
from contracts.joint import (
    ApprovalOrder,
    JointApplicationAccepted,
    JointMemberDecided,
    JointMemberReleased,
    JointMemberStopped,
    JointResultReady,
    MemberOutcome,
    OnRefusal,
    ResultReturn,
    initial_statuses,
    joint_outcome,
)
from contracts.routing import Decision
from eventkit.envelope import Actor

from .errors import UnknownReference, WrongState
from .route_case import RouteAcceptedCase

JOINT_ID_PATTERN = r"^joint-[0-9a-f]{32}$"


class RecordMemberDecision(BaseModel):
    """A member's own case was decided (the edge sees `routing.case_decided` of a member)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    joint_case_id: str = Field(pattern=JOINT_ID_PATTERN)
    case_id: str
    decision: Decision
    actor: Actor


@dataclass(frozen=True)
class JointCaseState:
    joint_case_id: str | None = None
    members: tuple[MemberOutcome, ...] = ()
    approval_order: ApprovalOrder = "parallel"
    on_refusal: OnRefusal = "continue"
    result_return: ResultReturn = "once"
    final_result_sent: bool = False
    accepting_center_id: str | None = None

    def status_of(self, case_id: str) -> str | None:
        return next((m.status for m in self.members if m.case_id == case_id), None)


def initial_joint_state() -> JointCaseState:
    return JointCaseState()


def member_routes(accepted: JointApplicationAccepted, actor: Actor) -> list[RouteAcceptedCase]:
    """One ordinary routing command per member: each goes where its own item's authority
    sits (the catalog tier, delegation rules, the office naming the item)."""
    return [
        RouteAcceptedCase(
            case_id=m.case_id,
            actor=actor,
            item_code=m.item_code,
            item_version=m.item_version,
            category=m.category,
            handling_tier=m.handling_tier,
            registered_community_id=accepted.registered_community_id,
            accepting_center_id=accepted.accepting_center_id,
            accepting_staff_id=accepted.accepting_staff_id,
            promised_limit_days=m.promised_limit_days,
            case_type=m.case_type,
            accepted_at=accepted.accepted_at,
            material_codes=m.material_codes,
        )
        for m in accepted.members
    ]


def decide_member_decision(
    cmd: RecordMemberDecision, state: JointCaseState, now: datetime
) -> list[DomainEvent]:
    if state.joint_case_id is None:
        raise UnknownReference("joint_case_id", f"no joint case {cmd.joint_case_id}")
    status = state.status_of(cmd.case_id)
    if status is None:
        raise UnknownReference("case_id", f"{cmd.case_id} is not a member of {cmd.joint_case_id}")
    if status in ("approved", "refused", "stopped"):
        return []  # a redelivered decision, or a member already stopped: nothing new
    if status == "waiting":
        raise WrongState(
            "case_id", "a sequential member is decided only after the one before it is approved"
        )
    plan = joint_outcome(
        state.members,
        cmd.case_id,
        cmd.decision,
        state.approval_order,
        state.on_refusal,
        state.result_return,
    )
    item = {m.case_id: m.item_code for m in state.members}
    joint = cmd.joint_case_id
    events: list[DomainEvent] = [
        JointMemberDecided(
            joint_case_id=joint,
            case_id=cmd.case_id,
            item_code=item[cmd.case_id],
            decision=cmd.decision,
        )
    ]
    events += [
        JointMemberReleased(
            joint_case_id=joint, case_id=c, item_code=item[c], after_case_id=cmd.case_id
        )
        for c in plan.released
    ]
    events += [
        JointMemberStopped(
            joint_case_id=joint, case_id=c, item_code=item[c], refused_case_id=cmd.case_id
        )
        for c in plan.stopped
    ]
    events += [
        JointResultReady(
            joint_case_id=joint,
            outcomes=outcomes,
            final=plan.final,
            accepting_center_id=state.accepting_center_id,
        )
        for outcomes in plan.results
    ]
    return events


def evolve_joint_case(state: JointCaseState, evt: DomainEvent) -> JointCaseState:
    match evt:
        case JointApplicationAccepted():
            statuses = initial_statuses(len(evt.members), evt.approval_order)
            return JointCaseState(
                joint_case_id=evt.joint_case_id,
                members=tuple(
                    MemberOutcome(case_id=m.case_id, item_code=m.item_code, status=s)
                    for m, s in zip(evt.members, statuses, strict=True)
                ),
                approval_order=evt.approval_order,
                on_refusal=evt.on_refusal,
                result_return=evt.result_return,
                accepting_center_id=evt.accepting_center_id,
            )
        case JointMemberDecided(case_id=case_id, decision=decision):
            return _set(state, case_id, "approved" if decision == "approve" else "refused")
        case JointMemberReleased(case_id=case_id):
            return _set(state, case_id, "open")
        case JointMemberStopped(case_id=case_id):
            return _set(state, case_id, "stopped")
        case JointResultReady(final=True):
            return replace(state, final_result_sent=True)
    return state


def _set(state: JointCaseState, case_id: str, status: str) -> JointCaseState:
    return replace(
        state,
        members=tuple(
            m.model_copy(update={"status": status}) if m.case_id == case_id else m
            for m in state.members
        ),
    )
