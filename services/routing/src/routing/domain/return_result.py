"""Carry the result back down the tiers to the accepting center (全程代理, the way back).

The result retraces the route in reverse, one `routing.result_returned` per hop, carried by
the case's agent; the last hop has `final=True` and ends at the accepting center, where
intake delivers it to the resident. When the handling unit IS the accepting center there is
no hop: one event with hop 0 (office to the center's own window) marks the arrival.
Who may send it: staff of the handling center, or the officer who decided.
"""

from __future__ import annotations

from datetime import datetime

from contracts.base import DomainEvent
from contracts.routing import ResultReturned

from .case_state import CaseCommand, CaseState, require_known
from .context import CaseContext
from .errors import NotPermitted, WrongState


class ReturnResult(CaseCommand):
    pass


def decide_return_result(
    cmd: ReturnResult, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    if state.status != "decided":
        raise WrongState("case_id", f"a {state.status} case has no result to return")
    staff = ctx.org.staff.get(cmd.actor.id)
    if cmd.actor.id != state.decided_by and (
        staff is None or staff.unit_id != state.handling_unit_id
    ):
        raise NotPermitted("actor", "only the handling center's staff may return its result")
    assert state.decision is not None
    back = list(reversed(state.route))
    hops = list(zip(back, back[1:], strict=False)) or [(back[0], back[0])]
    first = 1 if len(back) > 1 else 0
    return [
        ResultReturned(
            **state.case_fields(),
            hop=first + i,
            from_unit_id=src,
            to_unit_id=dst,
            decision=state.decision,
            carried_by=state.agent_id,
            returned_by=cmd.actor.id,
            final=i == len(hops) - 1,
        )
        for i, (src, dst) in enumerate(hops)
    ]
