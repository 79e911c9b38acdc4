"""`POST /v1/applications`: hand an application in (受理 or the one-time notice).

Who: residents (online), community agents and officers (at their center's window, or as
agents 代办). What the edge decides, from the token and never from the body:

- the actor, and for staff the first-inquiry responsible staff member (首问责任人,
  defaults to the caller; whoever it is, a staff member of the accepting center by the
  staff directory of routing's org tree) and the accepting center (their own: staff accept
  at the center in their token);
- residents submit online; their application is accepted at the chosen center, by default
  their registered community's;
- only an officer may accept a fee or deposit other than the published standard, with a
  reason (`fee_override`); the override is itself an event naming the officer.

The case id is made here (`case-<uuid4 hex>`), so a retry with the same `Idempotency-Key`
returns the same case instead of registering a second one.
"""

from __future__ import annotations

import uuid

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.intake import Applicant, FeeOverride, ProvidedMaterial
from eventkit.auth import Principal, require_roles
from eventkit.idempotency import idempotency_key
from eventkit.openapi import errors

from ..domain.application_commands import SubmitApplication
from ..domain.errors import parse_command
from ..runtime import CenterTiers
from .access import actor_of, require_staff_member
from .case_flow import core_of, require_center, run_case_post
from .errors import refuse
from .models import CaseResult, SubmitRequest

router = APIRouter(
    prefix="/v1/applications", tags=["applications"], responses=errors(403, 404, 409)
)


def _new_case_id() -> str:
    return f"case-{uuid.uuid4().hex}"


@router.post(
    "",
    status_code=201,
    response_model=CaseResult,
    summary="Submit an application",
    responses={
        403: {"description": "role refused (e.g. a fee override by a non-officer)"},
        422: {"description": "a field is wrong: unknown item, missing field, fee mismatch..."},
    },
)
async def submit_application(
    body: SubmitRequest,
    request: Request,
    principal: Principal = Depends(require_roles("resident", "community_agent", "officer")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    """Complete: 201 with status `accepted`, the receipt number, the verification code and
    the promised completion date. Materials missing: 201 with status `awaiting_materials`
    and every missing material listed at once (一次性告知)."""
    core = core_of(request)
    case_id = _new_case_id()
    resident = principal.role == "resident"

    if resident:
        if body.channel not in (None, "online"):
            raise refuse(
                422,
                "channel",
                "residents submit online; window and agent submissions are made by staff",
            )
        if body.accepting_staff_id is not None:
            raise refuse(422, "accepting_staff_id", "an online application has no window staff")
        channel = "online"
        center = body.accepting_center_id or body.applicant.registered_community_id
        staff = None
    else:
        if body.channel == "online":
            raise refuse(422, "channel", "staff submit at the window or as agents (代办)")
        channel = body.channel or "window"
        if (
            body.accepting_center_id
            and principal.org_id
            and (body.accepting_center_id != principal.org_id)
        ):
            raise refuse(
                403,
                "accepting_center_id",
                f"staff accept at their own center ({principal.org_id}), "
                f"not {body.accepting_center_id}",
            )
        center = body.accepting_center_id or principal.org_id or ""
        if not center:
            raise refuse(422, "accepting_center_id", "required (the token names no center)")
        staff = body.accepting_staff_id or principal.sub

    override = None
    if body.fee_override is not None:
        if principal.role != "officer":
            raise refuse(
                403,
                "fee_override",
                f"only an officer may accept a fee other than the published standard; "
                f"the caller is a {principal.role}",
            )
        officer = body.fee_override.officer_id or principal.sub
        if officer != principal.sub:
            raise refuse(403, "fee_override.officer_id", "an officer overrides in their own name")
        override = FeeOverride(officer_id=officer, reason=body.fee_override.reason)

    async def build(
        conn: asyncpg.Connection, _row: asyncpg.Record | None, tiers: CenterTiers
    ) -> SubmitApplication:
        if core.settings.require_known_center:
            await tiers.prefetch(conn, (center, body.applicant.registered_community_id))
        await require_center(core, conn, tiers, "accepting_center_id", center)
        await require_center(
            core,
            conn,
            tiers,
            "applicant.registered_community_id",
            body.applicant.registered_community_id,
            community=True,
        )
        if staff is not None and staff != principal.sub and core.settings.require_known_center:
            await require_staff_member(conn, staff, center, role=None, field="accepting_staff_id")
        return parse_command(
            SubmitApplication,
            {
                "case_id": case_id,
                "actor": actor_of(principal),
                "item_code": body.item_code,
                "applicant": Applicant(**body.applicant.model_dump()),
                "materials_provided": tuple(
                    ProvidedMaterial(code=m.code, form=m.form, copies=m.copies)
                    for m in body.materials_provided
                ),
                "accepting_center_id": center,
                "accepting_staff_id": staff,
                "channel": channel,
                "fee_paid_fen": body.fee_paid_fen,
                "deposit_paid_fen": body.deposit_paid_fen,
                "payment_receipt_no": body.payment_receipt_no,
                "fee_override": override,
            },
        )

    return await run_case_post(core, principal, key, request, body, build, status_code=201)
