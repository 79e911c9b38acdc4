"""Officers' commands on a case: decide, request a correction, reassign, return the result.

Each POST names its actor from the bearer token and goes through the case decider, which
enforces who may (only the assigned officer decides or asks for corrections; only the head
of the handling center or above reassigns; the handling center's staff return the result)
and answers a refusal with the field at fault — `actor` for the wrong person (403), `case_id`
for the wrong state (409). Inspectors' role opens none of these routes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.corrections import NOTE_MAX
from contracts.limits import (
    MAX_CODE,
    MAX_MATERIALS,
    Identifier,
    MultiLine,
    Note,
    Reason,
    SingleLine,
)
from eventkit.auth import Principal, require_roles
from eventkit.idempotency import idempotency_key
from eventkit.openapi import errors

from ..cases.service import CaseService
from ..domain.case import DecideCase, ReassignCase, RequestCorrection, ReturnResult
from ..domain.case_state import CASE_ID_PATTERN
from ..runtime import RoutingRuntime
from .access import DECIDERS, actor_of
from .deps import case_service, ctx
from .idempotent import run_idempotent
from .views import CaseCommandResult, CaseView, event_refs

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=errors(403, 404, 409))

CaseId = Annotated[str, Path(pattern=CASE_ID_PATTERN, description="`case-<32 hex>`, intake's id")]
Key = Annotated[str | None, Depends(idempotency_key)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionBody(_Body):
    decision: Literal["approve", "refuse"]
    reason: Note | None = Field(default=None, description="Required to refuse.")


# A requested material as the officer typed it: the correction contract
# (`contracts.corrections`) says whether it is a code of the case's list, in its own words.
RequestedMaterial = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CODE), SingleLine]


class CorrectionBody(_Body):
    requested_materials: list[RequestedMaterial] = Field(
        min_length=1,
        max_length=MAX_MATERIALS,
        description=(
            "Every material to correct, by its catalog code, in one request (一次性告知); "
            f"at most {MAX_MATERIALS}."
        ),
    )
    note: Annotated[str, StringConstraints(max_length=NOTE_MAX), MultiLine] | None = Field(
        default=None, description=f"What is wrong, in words (at most {NOTE_MAX} characters)."
    )


class ReassignBody(_Body):
    to_officer: Identifier = Field(description="A staff id of the handling center.")
    reason: Reason


class ReturnBody(_Body):
    pass


async def _run(
    c: RoutingRuntime,
    cases: CaseService,
    request: Request,
    principal: Principal,
    key: str | None,
    body: BaseModel,
    command: DecideCase | RequestCorrection | ReassignCase | ReturnResult,
) -> Response:
    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        outcome = await cases.handle_in(conn, command, now=c.clock())
        result = CaseCommandResult(
            case_id=command.case_id,
            version=outcome.version,
            events=event_refs(outcome.envelopes),
            state=CaseView.of(outcome.state),
        )
        return 200, result.model_dump(mode="json")

    return await run_idempotent(c, request, principal, key, body, work)


@router.post("/{case_id}/decision", response_model=CaseCommandResult)
async def decide(
    case_id: CaseId,
    body: DecisionBody,
    request: Request,
    key: Key,
    principal: Principal = Depends(require_roles(*DECIDERS)),
    c: RoutingRuntime = Depends(ctx),
    cases: CaseService = Depends(case_service),
) -> Response:
    """Approve, or refuse with a reason. Only the assigned officer (403 `actor` otherwise);
    a same-day item handled at a community center may be decided at its window."""
    command = DecideCase(
        case_id=case_id, actor=actor_of(principal), decision=body.decision, reason=body.reason
    )
    return await _run(c, cases, request, principal, key, body, command)


@router.post("/{case_id}/correction-request", response_model=CaseCommandResult)
async def request_correction(
    case_id: CaseId,
    body: CorrectionBody,
    request: Request,
    key: Key,
    principal: Principal = Depends(require_roles(*DECIDERS)),
    c: RoutingRuntime = Depends(ctx),
    cases: CaseService = Depends(case_service),
) -> Response:
    """补正: list everything to correct; the deadline clock stops until intake records the
    supply. Only the assigned officer."""
    command = RequestCorrection(
        case_id=case_id,
        actor=actor_of(principal),
        requested_materials=tuple(body.requested_materials),
        note=body.note,
    )
    return await _run(c, cases, request, principal, key, body, command)


@router.post("/{case_id}/reassign", response_model=CaseCommandResult)
async def reassign(
    case_id: CaseId,
    body: ReassignBody,
    request: Request,
    key: Key,
    principal: Principal = Depends(require_roles("center_head", "admin")),
    c: RoutingRuntime = Depends(ctx),
    cases: CaseService = Depends(case_service),
) -> Response:
    """Give the case to another officer of the handling center, with a reason. The head of
    the handling center or of a center above it."""
    command = ReassignCase(
        case_id=case_id, actor=actor_of(principal), to_officer=body.to_officer, reason=body.reason
    )
    return await _run(c, cases, request, principal, key, body, command)


@router.post("/{case_id}/result-return", response_model=CaseCommandResult)
async def return_result(
    case_id: CaseId,
    request: Request,
    key: Key,
    body: ReturnBody | None = None,
    principal: Principal = Depends(require_roles(*DECIDERS)),
    c: RoutingRuntime = Depends(ctx),
    cases: CaseService = Depends(case_service),
) -> Response:
    """Carry the decided result back down the route to the accepting center (one event per
    hop, the last one `final`). Staff of the handling center, or the deciding officer."""
    command = ReturnResult(case_id=case_id, actor=actor_of(principal))
    return await _run(c, cases, request, principal, key, body or ReturnBody(), command)
