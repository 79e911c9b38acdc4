"""Commands on an existing case: supplement, withdraw, correction, delivery, archive, evaluation.

All take an optional `Idempotency-Key`; all answer with the case's status and the events
the command caused (none when it changed nothing). Residents act on their own cases only;
staff record supplements and corrections at any center (location independence), a
withdrawal at the accepting center or with the resident's verification code (it is the
resident's act, `access.withdrawal_confirmation`), and deliveries and archiving at a center
that holds the case.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import Response

from contracts.intake import ProvidedMaterial
from eventkit.auth import Principal, require_roles
from eventkit.idempotency import idempotency_key
from eventkit.openapi import errors

from ..domain.application_commands import (
    ArchiveCase,
    DeliverResult,
    EvaluateService,
    SupplementMaterials,
    SupplyCorrection,
    WithdrawApplication,
)
from ..domain.errors import parse_command
from ..domain.receipts import verify
from ..runtime import CenterTiers, IntakeRuntime
from .access import (
    actor_of,
    require_owner_if_resident,
    staff_sees,
    withdrawal_confirmation,
)
from .case_flow import core_of, require_center, run_case_post
from .code_guard import check_code
from .errors import refuse
from .models import (
    ArchiveRequest,
    CaseResult,
    CorrectionRequest,
    DeliveryRequest,
    EvaluationRequest,
    MaterialIn,
    SupplementRequest,
    WithdrawRequest,
)

router = APIRouter(
    prefix="/v1/applications", tags=["applications"], responses=errors(403, 404, 409)
)

CaseId = Path(pattern=r"^case-[0-9a-f]{32}$", description="The case id (`case-<32 hex>`)")
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "role or ownership refused"},
    404: {"description": "no such case"},
    409: {"description": "the case's status does not allow this"},
    422: {"description": "a field is wrong"},
}


def _materials(items: list[MaterialIn]) -> tuple[ProvidedMaterial, ...]:
    return tuple(ProvidedMaterial(code=m.code, form=m.form, copies=m.copies) for m in items)


def _receiving_center(principal: Principal, given: str | None, row: asyncpg.Record) -> str:
    """Where materials were handed in: as given; else the staff member's center; else (an
    online resident) the accepting center."""
    if given:
        return given
    if principal.role != "resident" and principal.org_id:
        return principal.org_id
    return str(row["accepting_center_id"])


@router.post(
    "/{case_id}/materials",
    response_model=CaseResult,
    summary="Supplement materials named by the one-time notice",
    responses=_ERRORS,
)
async def supplement_materials(
    body: SupplementRequest,
    request: Request,
    case_id: str = CaseId,
    principal: Principal = Depends(require_roles("resident", "community_agent", "officer")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    """Any number of times while materials are awaited; complete -> accepted (受理) with the
    receipt number and promised date. Gaps left -> still listed, never a second notice."""
    core = core_of(request)

    async def build(
        conn: asyncpg.Connection, row: asyncpg.Record | None, tiers: CenterTiers
    ) -> SupplementMaterials:
        assert row is not None
        require_owner_if_resident(principal, row, core.applicant_keys)
        center = _receiving_center(principal, body.received_center_id, row)
        await require_center(core, conn, tiers, "received_center_id", center)
        return parse_command(
            SupplementMaterials,
            {
                "case_id": case_id,
                "actor": actor_of(principal),
                "materials": _materials(body.materials),
                "received_center_id": center,
            },
        )

    return await run_case_post(core, principal, key, request, body, build, case_id=case_id)


async def _resident_code(
    core: IntakeRuntime, principal: Principal, case_id: str, code: str
) -> bool:
    """The resident's verification code, checked under the guessing throttle with the caller
    as the guesser (its own transaction: a wrong code stays counted although the request is
    refused). True, or a 403 (wrong) / 429 (too many)."""
    async with core.pool.acquire() as conn:
        checked = await check_code(
            conn,
            core.settings.guess_policy(),
            guesser=f"{principal.role}:{principal.sub}",
            case_key=case_id,
            right=lambda: verify(case_id, code, core.secret),
        )
    if checked.refused is not None:
        raise HTTPException(
            429,
            detail={"field": "verification_code", "reason": checked.refused.reason},
            headers={"Retry-After": str(checked.refused.retry_after)},
        )
    if not checked.right:
        raise refuse(
            403, "verification_code", "this is not the verification code of the case's receipt"
        )
    return True


@router.post(
    "/{case_id}/withdraw",
    response_model=CaseResult,
    summary="Withdraw the application (any time before the decision)",
    responses=_ERRORS,
)
async def withdraw_application(
    body: WithdrawRequest,
    request: Request,
    case_id: str = CaseId,
    principal: Principal = Depends(require_roles("resident", "community_agent", "officer")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    """The resident's act: a resident withdraws their own case; staff record it for a case
    their center accepted, or elsewhere with the resident present giving the verification
    code of the receipt (a wrong code is a 403; too many, a 429). The event records which."""
    core = core_of(request)
    code_given = False
    if body.verification_code is not None:
        code_given = await _resident_code(core, principal, case_id, body.verification_code)

    async def build(
        conn: asyncpg.Connection, row: asyncpg.Record | None, tiers: CenterTiers
    ) -> WithdrawApplication:
        assert row is not None
        confirmation = withdrawal_confirmation(
            principal, row, core.applicant_keys, code_given=code_given
        )
        return parse_command(
            WithdrawApplication,
            {
                "case_id": case_id,
                "actor": actor_of(principal),
                "reason": body.reason,
                "confirmation": confirmation,
            },
        )

    return await run_case_post(core, principal, key, request, body, build, case_id=case_id)


@router.post(
    "/{case_id}/correction",
    response_model=CaseResult,
    summary="Supply the correction (补正) the deciding office asked for",
    responses=_ERRORS,
)
async def supply_correction(
    body: CorrectionRequest,
    request: Request,
    case_id: str = CaseId,
    principal: Principal = Depends(require_roles("resident", "community_agent", "officer")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    core = core_of(request)

    async def build(
        conn: asyncpg.Connection, row: asyncpg.Record | None, tiers: CenterTiers
    ) -> SupplyCorrection:
        assert row is not None
        require_owner_if_resident(principal, row, core.applicant_keys)
        pending = row["pending_correction"]
        correction_id = body.correction_id
        if correction_id is None:
            if pending is None:
                raise refuse(
                    409, "status", f"the case is {row['status']}; no correction is pending"
                )
            correction_id = orjson.loads(pending)["correction_id"]
        center = _receiving_center(principal, body.received_center_id, row)
        await require_center(core, conn, tiers, "received_center_id", center)
        return parse_command(
            SupplyCorrection,
            {
                "case_id": case_id,
                "actor": actor_of(principal),
                "correction_id": correction_id,
                "materials": _materials(body.materials),
                "note": body.note,
                "received_center_id": center,
            },
        )

    return await run_case_post(core, principal, key, request, body, build, case_id=case_id)


async def _require_case_staff(
    conn: asyncpg.Connection, principal: Principal, row: asyncpg.Record
) -> None:
    progress = await conn.fetchrow("SELECT * FROM case_progress WHERE case_id = $1", row["case_id"])
    if await staff_sees(conn, principal, row, progress):
        return
    if progress is not None and progress["result_at_center_id"] == principal.org_id:
        return
    raise refuse(
        403,
        "case_id",
        f"the case is held by {row['accepting_center_id']}; staff of "
        f"{principal.org_id or '(no org_id in the token)'} cannot deliver or archive it",
    )


@router.post(
    "/{case_id}/delivery",
    response_model=CaseResult,
    summary="Record that the result reached the resident",
    responses=_ERRORS,
)
async def deliver_result(
    body: DeliveryRequest,
    request: Request,
    case_id: str = CaseId,
    principal: Principal = Depends(require_roles("community_agent", "officer")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    """Picked up at a center (defaults to the caller's), mailed (tracking number required)
    or electronic. Needs the decision to have reached intake."""
    core = core_of(request)

    async def build(
        conn: asyncpg.Connection, row: asyncpg.Record | None, tiers: CenterTiers
    ) -> DeliverResult:
        assert row is not None
        await _require_case_staff(conn, principal, row)
        center = body.center_id
        if center is None and body.method == "picked_up":
            center = principal.org_id
        if center is not None:
            await require_center(core, conn, tiers, "center_id", center)
        return parse_command(
            DeliverResult,
            {
                "case_id": case_id,
                "actor": actor_of(principal),
                "method": body.method,
                "center_id": center,
                "tracking_no": body.tracking_no,
            },
        )

    return await run_case_post(core, principal, key, request, body, build, case_id=case_id)


@router.post(
    "/{case_id}/archive",
    response_model=CaseResult,
    summary="Close and archive a delivered case (登记归档); it stays queryable",
    responses=_ERRORS,
)
async def archive_case(
    body: ArchiveRequest,
    request: Request,
    case_id: str = CaseId,
    principal: Principal = Depends(require_roles("community_agent", "officer")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    core = core_of(request)

    async def build(
        conn: asyncpg.Connection, row: asyncpg.Record | None, tiers: CenterTiers
    ) -> ArchiveCase:
        assert row is not None
        await _require_case_staff(conn, principal, row)
        return parse_command(
            ArchiveCase,
            {"case_id": case_id, "actor": actor_of(principal), "archive_no": body.archive_no},
        )

    return await run_case_post(core, principal, key, request, body, build, case_id=case_id)


@router.post(
    "/{case_id}/evaluation",
    response_model=CaseResult,
    summary="Rate the service (好差评), once per case, after delivery",
    responses=_ERRORS,
)
async def evaluate_service(
    body: EvaluationRequest,
    request: Request,
    case_id: str = CaseId,
    principal: Principal = Depends(require_roles("resident")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    """Score 1-5 (1-2 is a bad review: routing opens a follow-up for the center head)."""
    core = core_of(request)

    async def build(
        conn: asyncpg.Connection, row: asyncpg.Record | None, tiers: CenterTiers
    ) -> EvaluateService:
        assert row is not None
        require_owner_if_resident(principal, row, core.applicant_keys)
        return parse_command(
            EvaluateService,
            {
                "case_id": case_id,
                "actor": actor_of(principal),
                "score": body.score,
                "dimensions": body.dimensions,
                "comment": body.comment,
            },
        )

    return await run_case_post(core, principal, key, request, body, build, case_id=case_id)
