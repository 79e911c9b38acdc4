"""The shape every POST on a case shares: idempotency, access, command, answer.

    return await run_case_post(core, principal, key, request, body, build, status_code=...)

`build(conn, row, tiers)` turns the validated body into a domain command (row = the case's
read model row, None for a new case) after checking what only the edge can check
(ownership, known centers: `require_center` with the attempt's `tiers`, which the command
reuses). A staff caller must then be in the staff directory at their token's center
(`access.require_registered_actor`). Then, in one transaction: the command is decided and
appended, the read model updated, and the response remembered under the `Idempotency-Key`
if one was sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from eventkit.auth import Principal
from eventkit.idempotent_post import run_idempotent

from ..domain.application_commands import ApplicationCommand
from ..domain.receipts import verification_code
from ..runtime import CaseOutcome, CenterTiers, IntakeRuntime
from .access import actor_of, require_registered_actor
from .errors import refuse
from .models import CaseResult, EventRef

Build = Callable[
    [asyncpg.Connection, asyncpg.Record | None, CenterTiers], Awaitable[ApplicationCommand]
]


def core_of(request: Request) -> IntakeRuntime:
    core: IntakeRuntime = request.app.state.intake
    return core


async def case_row(conn: asyncpg.Connection, case_id: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM applications WHERE case_id = $1", case_id)
    if row is None:
        raise refuse(404, "case_id", f"no application {case_id}")
    return row


async def require_center(
    core: IntakeRuntime,
    conn: asyncpg.Connection,
    tiers: CenterTiers,
    field: str,
    unit_id: str,
    *,
    community: bool = False,
) -> None:
    """Refuse a center id that routing's org tree does not list (unless switched off)."""
    if not core.settings.require_known_center:
        return
    tier = await tiers.tier(conn, unit_id)
    if tier is None:
        raise refuse(422, field, f"{unit_id} is not a center of the org tree")
    if community and tier != "community":
        raise refuse(422, field, f"{unit_id} is a {tier} center, not a village or community")


def case_result(core: IntakeRuntime, outcome: CaseOutcome) -> dict[str, Any]:
    state = outcome.state
    assert state.submitted is not None
    case_id = state.submitted.case_id
    accepted = state.accepted
    return CaseResult(
        case_id=case_id,
        status=state.status,
        events=[
            EventRef(
                event_id=str(e.event_id), event_type=e.event_type, stream_version=e.stream_version
            )
            for e in outcome.envelopes
        ],
        receipt_no=accepted.receipt_no if accepted else None,
        verification_code=verification_code(case_id, core.secret),
        accepted_on=accepted.accepted_on if accepted else None,
        promised_completion_date=accepted.promised_completion_date if accepted else None,
        missing_materials=[m.model_dump(mode="json") for m in state.outstanding],
        status_url=f"/v1/applications/{case_id}",
    ).model_dump(mode="json")


async def run_case_post(
    core: IntakeRuntime,
    principal: Principal,
    key: str | None,
    request: Request,
    body: BaseModel,
    build: Build,
    *,
    case_id: str | None = None,
    status_code: int = 200,
) -> Response:
    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        row = await case_row(conn, case_id) if case_id is not None else None
        tiers = CenterTiers()
        command = await build(conn, row, tiers)
        if core.settings.require_known_center:
            await require_registered_actor(conn, principal)
        outcome = await core.handle_case(
            conn,
            command,
            actor=actor_of(principal),
            tiers=tiers,
            accepting_center_id=row["accepting_center_id"] if row is not None else None,
        )
        return status_code, case_result(core, outcome)

    return await run_idempotent(
        core.idempotency,
        service="intake",
        principal=principal,
        key=key,
        request=request,
        body=body,
        work=work,
        on_commit=core.runtime.wake_relay,
    )
