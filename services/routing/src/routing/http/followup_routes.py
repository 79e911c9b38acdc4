"""好差评 follow-ups: a bad review opens a task for the accepting center's head.

`GET /v1/followups` lists them (a head sees those assigned to them and those of the centers
in their scope; inspectors all). `POST /v1/followups/{id}/answer` is the head's answer:
only the head it was given to (the follow-up is their accountability; an admin keeps
reference data and answers for no center), recorded as an event on the case, on time or not
by the answer deadline.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from contracts.limits import Identifier, Note
from eventkit.auth import Principal, require_roles
from eventkit.idempotency import idempotency_key
from eventkit.openapi import errors

from ..cases.service import CaseService
from ..domain.case import AnswerFollowUp
from ..domain.case_state import CASE_ID_PATTERN
from ..runtime import RoutingRuntime
from .access import actor_of, case_scope
from .deps import case_service, ctx
from .errors import refuse
from .idempotent import run_idempotent
from .views import CaseCommandResult, CaseView, FollowUpItem, event_refs

router = APIRouter(prefix="/v1/followups", tags=["follow-ups"], responses=errors(403, 404, 409))

FOLLOWUP_PATTERN = CASE_ID_PATTERN[:-1] + r"\.followup\.[0-9]+$"


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Note


@router.get("", response_model=list[FollowUpItem])
async def list_followups(
    answered: bool | None = Query(default=None),
    assignee: Identifier | None = Query(default=None),
    limit: int = Query(default=100, ge=1, le=500),
    principal: Principal = Depends(require_roles("center_head", "inspector")),
    c: RoutingRuntime = Depends(ctx),
) -> list[FollowUpItem]:
    """Follow-ups of bad reviews, the oldest unanswered first."""
    async with c.pool.acquire() as conn:
        org, _ = await c.org.current(conn)
        scope = case_scope(principal, org)
        args: list[object] = []
        where = []
        if not scope.everything:
            args += [sorted(scope.units), principal.sub]
            where.append("(center_id = ANY($1::text[]) OR assigned_to = $2)")
        if answered is not None:
            args.append(answered)
            where.append(f"answered = ${len(args)}")
        if assignee is not None:
            args.append(assignee)
            where.append(f"assigned_to = ${len(args)}")
        args.append(limit)
        rows = await conn.fetch(
            "SELECT * FROM followups"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY answered, answer_due_at, followup_id LIMIT ${len(args)}",
            *args,
        )
    return [FollowUpItem(**dict(r)) for r in rows]


@router.post("/{followup_id}/answer", response_model=CaseCommandResult)
async def answer_followup(
    followup_id: Annotated[str, Path(pattern=FOLLOWUP_PATTERN)],
    body: AnswerBody,
    request: Request,
    key: Annotated[str | None, Depends(idempotency_key)],
    principal: Principal = Depends(require_roles("center_head")),
    c: RoutingRuntime = Depends(ctx),
    cases: CaseService = Depends(case_service),
) -> Response:
    """The head's answer to a bad review's follow-up (only the head it was given to)."""
    case_id = followup_id.split(".followup.")[0]
    async with c.pool.acquire() as conn:
        known = await conn.fetchval("SELECT 1 FROM followups WHERE followup_id = $1", followup_id)
    if known is None:
        raise refuse(404, "followup_id", f"no follow-up {followup_id!r}")
    command = AnswerFollowUp(
        case_id=case_id, actor=actor_of(principal), followup_id=followup_id, answer=body.answer
    )

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        outcome = await cases.handle_in(conn, command, now=c.clock())
        result = CaseCommandResult(
            case_id=case_id,
            version=outcome.version,
            events=event_refs(outcome.envelopes),
            state=CaseView.of(outcome.state),
        )
        return 200, result.model_dump(mode="json")

    return await run_idempotent(c, request, principal, key, body, work)
