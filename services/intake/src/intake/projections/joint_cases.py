"""`joint_cases`: intake's view of each joint case (联办), for the window and the resident.

Written in the transaction of the joint case's own events (the hand-in, the one notice, a
supplement, the receipt, and `intake.joint_result_recorded`: routing's joint result, the
members' outcomes as they come back; with `final` every member is done and the result is
ready at the accepting center, as `routing.result_returned` with `final` makes a single
case's).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from contracts.base import payload_of
from contracts.intake import SealedApplicant
from contracts.joint import (
    JointApplicationAccepted,
    JointApplicationSubmitted,
    JointMaterialsMissingNotified,
    JointMaterialsSupplemented,
    JointResultDelivered,
    JointResultRecorded,
)
from eventkit.envelope import Envelope

from ..personal_data import legacy_applicant_key as applicant_key


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def apply(conn: asyncpg.Connection, envelopes: Iterable[Envelope], secret: bytes) -> None:
    for env in envelopes:
        evt = payload_of(env)
        at = env.occurred_at
        match evt:
            case JointApplicationSubmitted():
                # kept as the event has it: sealed (opened on read with the subject's key,
                # `applicant_key` the subject's lookup hash), or plain from before sealing
                if isinstance(evt.applicant, SealedApplicant):
                    key, subject = None, evt.applicant.subject_id
                else:
                    key, subject = applicant_key(evt.applicant.id_number, secret), None
                await conn.execute(
                    "INSERT INTO joint_cases (joint_case_id, bundle_code, bundle_name_zh,"
                    " status, accepting_center_id, registered_community_id, applicant_key,"
                    " accepting_staff_id, submitted_by, submitted_by_role, updated_at,"
                    " applicant, subject_id)"
                    " VALUES ($1, $2, $3, 'submitted', $4, $5, coalesce($6, (SELECT"
                    " lookup_hash FROM personal_data_subjects WHERE subject_id = $12)),"
                    " $7, $8, $9, $10, $11::jsonb, $12)"
                    " ON CONFLICT (joint_case_id) DO NOTHING",
                    evt.joint_case_id,
                    evt.bundle_code,
                    evt.bundle_name_zh,
                    evt.accepting_center_id,
                    evt.registered_community_id,
                    key,
                    evt.accepting_staff_id,
                    evt.submitted_by,
                    env.actor.role,
                    at,
                    _json(evt.applicant.model_dump(mode="json")),
                    subject,
                )
            case JointMaterialsMissingNotified():
                await _set(
                    conn,
                    evt.joint_case_id,
                    at,
                    status="awaiting_materials",
                    missing=_json(evt.missing.model_dump(mode="json")),
                )
            case JointMaterialsSupplemented():
                await _set(
                    conn,
                    evt.joint_case_id,
                    at,
                    missing=_json(evt.still_missing.model_dump(mode="json")),
                )
            case JointApplicationAccepted():
                members = [
                    {
                        "case_id": m.case_id,
                        "item_code": m.item_code,
                        "item_name_zh": m.item_name_zh,
                        "handling_tier": m.handling_tier,
                        "status": "open",
                    }
                    for m in evt.members
                ]
                await _set(
                    conn,
                    evt.joint_case_id,
                    at,
                    status="accepted",
                    missing=None,
                    receipt_no=evt.receipt_no,
                    promised_completion_date=evt.promised_completion_date,
                    result_return=evt.result_return,
                    members=_json(members),
                )
            case JointResultRecorded():
                await _result(conn, evt, at)
            case JointResultDelivered():
                await _set(conn, evt.joint_case_id, at, status="delivered", delivered_at=at)


async def _result(conn: asyncpg.Connection, evt: JointResultRecorded, at: datetime) -> None:
    """The members' outcomes routing sent back; with `final` the result is ready."""
    raw = await conn.fetchval(
        "SELECT members FROM joint_cases WHERE joint_case_id = $1 FOR UPDATE", evt.joint_case_id
    )
    if raw is None:
        return
    members = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    done = {o.case_id: o.status for o in evt.outcomes}
    for m in members:
        if m["case_id"] in done:
            m["status"] = done[m["case_id"]]
    cols: dict[str, Any] = {"members": _json(members)}
    if evt.final:
        cols.update(status="result_ready", result_ready_at=at)
    await _set(conn, evt.joint_case_id, at, **cols)


async def _set(conn: asyncpg.Connection, joint_case_id: str, at: datetime, **cols: Any) -> None:
    names = list(cols)
    sets = ", ".join(
        f"{n} = ${i}::jsonb" if n in ("missing", "members") else f"{n} = ${i}"
        for i, n in enumerate(names, 3)
    )
    await conn.execute(
        f"UPDATE joint_cases SET updated_at = $2, {sets} WHERE joint_case_id = $1",
        joint_case_id,
        at,
        *cols.values(),
    )


async def read(conn: asyncpg.Connection, joint_case_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM joint_cases WHERE joint_case_id = $1", joint_case_id)
    if row is None:
        return None
    out = dict(row)
    for k in ("missing", "members", "applicant"):
        if isinstance(out[k], str):
            out[k] = orjson.loads(out[k])
    return out
