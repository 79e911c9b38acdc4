"""The case's end at the front door: the result delivered (picked up or mailed), then 登记归档
archived."""

from __future__ import annotations

from contracts.base import DomainEvent
from contracts.intake import (
    CaseArchived,
    ResultDelivered,
)

from .application_commands import (
    ArchiveCase,
    DeliverResult,
)
from .checks import check_org
from .errors import (
    InvalidField,
    WrongStatus,
)
from .state import ApplicationState, submission_of


def decide_deliver(cmd: DeliverResult, state: ApplicationState) -> list[DomainEvent]:
    sub = submission_of(state)
    if state.status in ("delivered", "archived"):
        raise WrongStatus("status", "the result was already delivered")
    if state.status != "decided" or state.decision is None:
        raise WrongStatus("status", f"the case is {state.status}: no decision to deliver yet")
    center = (cmd.center_id or "").strip() or None
    tracking = (cmd.tracking_no or "").strip() or None
    if cmd.method == "picked_up" and center is None:
        raise InvalidField("center_id", "where was it picked up? the center is required")
    if center is not None:
        check_org("center_id", center)
    if cmd.method == "mailed" and tracking is None:
        raise InvalidField("tracking_no", "a mailed result needs its tracking number")
    return [
        ResultDelivered(
            case_id=sub.case_id,
            decision=state.decision.decision,
            method=cmd.method,
            center_id=center,
            tracking_no=tracking,
            accepting_center_id=sub.accepting_center_id,
            delivered_by=cmd.actor.id,
        )
    ]


def decide_archive(cmd: ArchiveCase, state: ApplicationState) -> list[DomainEvent]:
    sub = submission_of(state)
    if state.status == "archived":
        raise WrongStatus("status", "the case is already archived")
    if state.status != "delivered" or state.decision is None:
        raise WrongStatus("status", f"the case is {state.status}; archive after delivery")
    return [
        CaseArchived(
            case_id=sub.case_id,
            decision=state.decision.decision,
            archive_no=(cmd.archive_no or "").strip() or None,
            archived_by=cmd.actor.id,
        )
    ]
