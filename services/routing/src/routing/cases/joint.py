"""The joint case (联办) at routing's edge: what a member's decision does to the others.

When a member's own case is decided (`routing.case_decided`, inside the same transaction),
`after_member_decided` runs `domain.joint_case.decide_member_decision` on the joint stream:
the joint case's first state is intake's acceptance (kept in `joint_cases` when it was
routed), routing's `routing.joint_*` events follow it in the store. A sequential member
decided before its turn is refused by that decider, so the decision itself is not written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from contracts.base import payload_of, to_payload
from contracts.joint import JointApplicationAccepted
from eventkit.aggregate import CommandRunner, Outcome
from eventkit.envelope import Actor

from ..domain.joint_case import (
    JointCaseState,
    RecordMemberDecision,
    decide_member_decision,
    evolve_joint_case,
)
from ..runtime import RoutingRuntime


async def record_joint_case(
    conn: asyncpg.Connection, accepted: JointApplicationAccepted, payload: dict[str, Any]
) -> None:
    """Keep the acceptance and its members (a redelivery changes nothing)."""
    await conn.execute(
        "INSERT INTO joint_cases (joint_case_id, accepted) VALUES ($1, $2::jsonb)"
        " ON CONFLICT (joint_case_id) DO NOTHING",
        accepted.joint_case_id,
        orjson.dumps(payload).decode(),
    )
    await conn.executemany(
        "INSERT INTO joint_members (case_id, joint_case_id) VALUES ($1, $2)"
        " ON CONFLICT (case_id) DO NOTHING",
        [(m.case_id, accepted.joint_case_id) for m in accepted.members],
    )


async def after_member_decided(
    ctx: RoutingRuntime,
    conn: asyncpg.Connection,
    case_id: str,
    decision: str,
    actor: Actor,
    now: datetime,
    causation_id: uuid.UUID | None,
) -> Outcome[JointCaseState] | None:
    """The joint rule for a decided member; None when the case is no joint member."""
    row = await conn.fetchrow(
        "SELECT j.joint_case_id, j.accepted FROM joint_members m"
        " JOIN joint_cases j USING (joint_case_id) WHERE m.case_id = $1",
        case_id,
    )
    if row is None:
        return None
    accepted = JointApplicationAccepted.model_validate(orjson.loads(row["accepted"]))
    opened = evolve_joint_case(JointCaseState(), accepted)
    runner: CommandRunner[JointCaseState, Any] = CommandRunner(
        store=ctx.store,
        decide=decide_member_decision,
        evolve=evolve_joint_case,
        initial=lambda: opened,
        from_envelope=payload_of,
        to_payload=to_payload,
        producer=ctx.producer,
    )
    command = RecordMemberDecision.model_validate(
        {
            "joint_case_id": row["joint_case_id"],
            "case_id": case_id,
            "decision": decision,
            "actor": actor,
        }
    )
    return await runner.handle(
        command.joint_case_id,
        command,
        actor=actor,
        now=now,
        causation_id=causation_id,
        conn=conn,
    )
