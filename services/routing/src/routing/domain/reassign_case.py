"""Reassign a case to another officer of the handling center, always with a reason.

Who may: the head of the handling center or of a center above it (they answer for its
queue), or an admin. The new officer must work at the handling center and hold the
officer or center_head role. A decided, returned or withdrawn case is not reassigned.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from contracts.base import DomainEvent
from contracts.routing import CaseReassigned

from .case_state import CaseCommand, CaseState, require_known
from .context import CaseContext
from .errors import InvalidValue, NotPermitted, UnknownReference, WrongState

REASSIGNABLE = frozenset({"open", "correction_pending"})


class ReassignCase(CaseCommand):
    to_officer: str = Field(min_length=1)
    reason: str


def may_manage(ctx: CaseContext, actor_id: str, actor_role: str, unit_id: str) -> bool:
    """An admin, or the head of `unit_id` or of any center above it."""
    if actor_role == "admin":
        return True
    staff = ctx.org.staff.get(actor_id)
    return (
        staff is not None
        and "center_head" in staff.roles
        and staff.unit_id in ctx.org.ancestors(unit_id)
    )


def decide_reassign(
    cmd: ReassignCase, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    if not cmd.reason.strip():
        raise InvalidValue("reason", "a reassignment needs a reason")
    if state.status not in REASSIGNABLE:
        raise WrongState("case_id", f"a {state.status} case is not reassigned")
    if not may_manage(ctx, cmd.actor.id, cmd.actor.role, state.handling_unit_id):
        raise NotPermitted(
            "actor", f"only the head of {state.handling_unit_id} (or above) may reassign"
        )
    target = ctx.org.staff.get(cmd.to_officer)
    if target is None:
        raise UnknownReference("to_officer", f"no staff {cmd.to_officer!r}")
    if target.unit_id != state.handling_unit_id:
        raise InvalidValue("to_officer", f"{cmd.to_officer!r} is not staff of the handling center")
    if not {"officer", "center_head"}.intersection(target.roles):
        raise InvalidValue("to_officer", f"{cmd.to_officer!r} is not an officer")
    if cmd.to_officer == state.assigned_to:
        raise InvalidValue("to_officer", "the case is already assigned to this officer")
    assert state.assigned_to is not None
    return [
        CaseReassigned(
            **state.case_fields(),
            from_officer=state.assigned_to,
            to_officer=cmd.to_officer,
            reason=cmd.reason.strip(),
            reassigned_by=cmd.actor.id,
        )
    ]
