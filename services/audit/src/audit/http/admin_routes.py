"""Admin routes (role admin): staff identities for the conflict-of-interest rule, and the
PIPL erasure of one event's personal data, and the operator's decision on a halted partition
of the log (`audit.log.gaps`). Each is recorded as an audit event.

    PUT    /v1/admin/staff/{staff_id}/identity   {"id_number"?, "household_no"?}
           -> only HMAC-SHA256(AUDIT_PERSONAL_HMAC_KEY, normalized value) is stored
    DELETE /v1/admin/personal-data/{event_id}    erase salt, values and keyed hashes; the
           leaf (and so the tree) is unchanged, its hashes can no longer be linked to anyone
    GET    /v1/admin/log/halts                   partitions whose appending is stopped
    POST   /v1/admin/log/halts/{id}/decision     {"reason", "resume_offset"?}: resume one
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from contracts.limits import DocumentNo, Identifier
from eventkit.auth import Principal, require_roles
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.openapi import errors

from ..log.appender import Appender
from ..log.gaps import HaltNotFound, list_halts, resolve
from ..log.leaf import keyed_hash
from ..runtime import AuditRuntime, append_in_transaction
from .deps import appender, ctx

router = APIRouter(prefix="/v1/admin", tags=["admin"])
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Ctx = Annotated[AuditRuntime, Depends(ctx)]
TheAppender = Annotated[Appender | None, Depends(appender)]


class StaffIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: DocumentNo | None = None
    household_no: DocumentNo | None = None


async def _record(
    c: AuditRuntime,
    who: Principal,
    event_type: str,
    stream_id: str,
    payload: dict[str, Any],
    conn: Any,
) -> None:
    env = Envelope(
        event_type=event_type,
        stream_id=stream_id,
        occurred_at=c.clock(),
        producer=Producer(service="audit", instance=c.settings.instance_id),
        actor=Actor(id=who.sub, role=who.role, org_id=who.org_id),
        payload=payload,
    )
    await append_in_transaction(c.events, conn, stream_id, [env])


@router.put("/staff/{staff_id}/identity", responses=errors(503))
async def put_staff_identity(
    c: Ctx, who: Admin, staff_id: Annotated[Identifier, Path()], body: StaffIdentity
) -> dict[str, Any]:
    key = c.settings.hmac_key()
    if key is None:
        raise HTTPException(
            503,
            detail={"field": "(settings)", "reason": "AUDIT_PERSONAL_HMAC_KEY is not configured"},
        )
    keyed = {k: keyed_hash(key, v) for k, v in body.model_dump().items() if v}
    if not keyed:
        raise HTTPException(
            422, detail={"field": "id_number", "reason": "give id_number and/or household_no"}
        )
    async with c.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO staff_identity (staff_id, keyed, source) VALUES ($1, $2, $3)
               ON CONFLICT (staff_id) DO UPDATE SET keyed = EXCLUDED.keyed,
                 source = EXCLUDED.source, updated_at = now()""",
            staff_id,
            orjson.dumps(keyed).decode(),
            f"admin:{who.sub}",
        )
        await _record(
            c,
            who,
            "audit.staff_identity_set",
            f"staff-{staff_id}",
            {"staff_id": staff_id, "kinds": sorted(keyed)},
            conn,
        )
    c.events.notify_appended()
    return {"staff_id": staff_id, "kinds": sorted(keyed)}


@router.delete("/personal-data/{event_id}")
async def erase_personal_data(c: Ctx, who: Admin, event_id: uuid.UUID) -> dict[str, Any]:
    async with c.pool.acquire() as conn, conn.transaction():
        idx = await conn.fetchval(
            """UPDATE personal_data SET salt = NULL, fields = NULL, keyed = NULL,
                      erased_at = now()
               WHERE event_id = $1 AND erased_at IS NULL RETURNING idx""",
            event_id,
        )
        if idx is None:
            raise HTTPException(
                404, detail={"field": "event_id", "reason": "no personal data held for this event"}
            )
        await _record(
            c,
            who,
            "audit.personal_data_erased",
            f"erasure-{event_id}",
            {"event_id": str(event_id), "index": idx},
            conn,
        )
    c.events.notify_appended()
    return {"event_id": str(event_id), "index": idx, "erased": True}


# -- halts of the appender (issue 18, finding 3: audit.log.gaps) -----------------------------


class HaltDecision(BaseModel):
    """An operator's decision on a halted partition: resume it at `resume_offset` (default:
    where Kafka now is: the offset found, 0 for a recreated topic). `reason` says why the
    records in between may be given up, or why the new topic is the one to follow."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=2000)
    resume_offset: int | None = Field(default=None, ge=0, le=2**63 - 1)


@router.get("/log/halts")
async def list_append_halts(c: Ctx, who: Admin, all: bool = False) -> dict[str, Any]:
    """The partitions whose appending stopped (open ones; `all=true`: decided ones too)."""
    async with c.pool.acquire() as conn:
        return {"halts": await list_halts(conn, open_only=not all)}


@router.post("/log/halts/{halt_id}/decision", responses=errors(404))
async def decide_append_halt(
    c: Ctx,
    who: Admin,
    writer: TheAppender,
    halt_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: HaltDecision,
) -> dict[str, Any]:
    """Resume a halted partition: recorded (who, what, why) in `append_halts` and as the
    audit event `audit.log_halt_resolved`, which the log then holds like every other."""
    async with c.pool.acquire() as conn, conn.transaction():
        topic = await conn.fetchval("SELECT topic FROM append_halts WHERE id = $1", halt_id)
        current = None
        if writer is not None and topic is not None:
            current = writer.topic_ids.get(topic)
        try:
            decision = await resolve(
                conn,
                halt_id,
                decided_by=f"{who.role}:{who.sub}",
                reason=body.reason,
                resume_offset=body.resume_offset,
                current_topic_id=current,
            )
        except HaltNotFound as exc:
            raise HTTPException(404, detail={"field": "halt_id", "reason": str(exc)}) from None
        await _record(c, who, "audit.log_halt_resolved", f"log-halt-{halt_id}", decision, conn)
    c.events.notify_appended()
    if writer is not None:
        writer.recheck()
    return decision
