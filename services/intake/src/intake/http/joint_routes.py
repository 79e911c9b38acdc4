"""`/v1/joint-applications`: hand a joint bundle in (联办, e.g. 六证联办) at the window
(`POST`), answer its one notice (`POST /{id}/materials`), read it (`GET /{id}`), hand its
result over (`POST /{id}/delivery`).

One visit, one set of materials: the shared materials once, each member's own forms apart.
The answer is ONE one-time notice covering every member (status `awaiting_materials`) or ONE
receipt whose promise is the latest member's, with each member's case id (status
`accepted`); routing then sends each member to the office holding its authority.

Who: community agents and officers at their own center (the token's), first-inquiry
responsible (首问责任人) themselves. The joint case id is made here, so a retry with the
same `Idempotency-Key` answers the same joint case.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import Field

from contracts.intake import Applicant, ProvidedMaterial
from contracts.joint import (
    JointApplicationAccepted,
    JointMaterialsMissingNotified,
    JointMaterialsSupplemented,
    MemberMaterials,
)
from contracts.limits import MAX_MATERIALS
from eventkit.auth import Principal, require_roles
from eventkit.idempotency import idempotency_key
from eventkit.idempotent_post import run_idempotent
from eventkit.openapi import errors

from ..domain.errors import parse_command
from ..domain.joint_result import DeliverJointResult
from ..domain.joint_submission import JOINT_ID, SubmitJointApplication
from ..domain.joint_supplement import SupplementJointMaterials
from ..projections import joint_cases
from ..runtime import CenterTiers
from .access import (
    CASE_READERS,
    STAFF_ROLES,
    actor_of,
    require_registered_actor,
    resident_owns,
    staff_sees,
)
from .case_flow import core_of, require_center
from .errors import refuse
from .models import ApplicantIn, DeliveryRequest, MaterialIn, _In
from .personal_reads import open_applicants, reader_of, record_reads

router = APIRouter(prefix="/v1/joint-applications", tags=["joint"], responses=errors(403, 409))


class MemberMaterialsIn(_In):
    item_code: str = Field(pattern=r"^[A-Z]{2,4}-[0-9]{3}$", examples=["OT-004"])
    provided: list[MaterialIn] = Field(default_factory=list, max_length=MAX_MATERIALS)


class JointSubmitRequest(_In):
    bundle_code: str = Field(pattern=r"^[A-Z]{2,4}-[0-9]{3}$", examples=["LB-001"])
    applicant: ApplicantIn
    shared_provided: list[MaterialIn] = Field(default_factory=list, max_length=MAX_MATERIALS)
    member_provided: list[MemberMaterialsIn] = Field(default_factory=list, max_length=12)


def _materials(given: list[MaterialIn]) -> tuple[ProvidedMaterial, ...]:
    return tuple(ProvidedMaterial(code=m.code, form=m.form, copies=m.copies) for m in given)


@router.post(
    "",
    status_code=201,
    summary="Submit a joint bundle (联办)",
    responses={422: {"description": "a field is wrong: unknown bundle, material not listed..."}},
)
async def submit_joint(
    body: JointSubmitRequest,
    request: Request,
    principal: Principal = Depends(require_roles("community_agent", "officer")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    """201 with status `accepted` (one receipt, members) or `awaiting_materials` (the one
    notice: shared gaps once, each member's own)."""
    core = core_of(request)
    joint_case_id = f"joint-{uuid.uuid4().hex}"
    center = principal.org_id or ""
    if not center:
        raise refuse(422, "accepting_center_id", "required (the token names no center)")

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        tiers = CenterTiers()
        await require_center(core, conn, tiers, "accepting_center_id", center)
        await require_center(
            core,
            conn,
            tiers,
            "applicant.registered_community_id",
            body.applicant.registered_community_id,
            community=True,
        )
        if core.settings.require_known_center:
            await require_registered_actor(conn, principal)
        command = parse_command(
            SubmitJointApplication,
            {
                "joint_case_id": joint_case_id,
                "bundle_code": body.bundle_code,
                "applicant": Applicant(**body.applicant.model_dump()),
                "shared_provided": _materials(body.shared_provided),
                "member_provided": tuple(
                    MemberMaterials(item_code=m.item_code, provided=_materials(m.provided))
                    for m in body.member_provided
                ),
                "accepting_center_id": center,
                "accepting_staff_id": principal.sub,
                "channel": "window",
                "actor": actor_of(principal),
            },
        )
        outcome = await core.handle_joint(conn, command, tiers=tiers)
        return 201, _answer(joint_case_id, outcome.envelopes)

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


READ_JOINT = "GET /v1/joint-applications/{joint_case_id}"


@router.get(
    "/{joint_case_id}",
    summary="A joint case (联办): where it stands, its members, the result as it came back",
    responses={404: {"description": "no such joint case"}},
)
async def read_joint(
    joint_case_id: str,
    request: Request,
    principal: Principal = Depends(require_roles(*CASE_READERS)),
) -> dict[str, Any]:
    """The joint case as intake records it: `awaiting_materials` (with what the one notice
    still waits for), `accepted` (receipt, promise, each member), `result_ready` (every
    member done; each member's outcome as routing sent it back, at the accepting center).
    Its resident, the staff of its accepting center (and heads above it), inspectors."""
    core = core_of(request)
    if not JOINT_ID.match(joint_case_id):
        raise refuse(422, "joint_case_id", "must be 'joint-' followed by 32 lower-case hex")
    async with core.pool.acquire() as conn:
        row = await joint_cases.read(conn, joint_case_id)
        if row is None:
            raise refuse(404, "joint_case_id", f"no joint case {joint_case_id}")
        if principal.role == "resident":
            if not resident_owns(principal, row, core.applicant_keys):
                raise refuse(403, "joint_case_id", "this joint case belongs to another resident")
        elif principal.role in STAFF_ROLES:
            if core.settings.require_known_center:
                await require_registered_actor(conn, principal)
            if not await staff_sees(conn, principal, row, None):
                raise refuse(
                    403,
                    "joint_case_id",
                    f"staff of {principal.org_id or '(no org_id in the token)'} see the joint "
                    f"cases of their own center; this one was accepted at "
                    f"{row['accepting_center_id']}",
                )
        # the applicant opened with their subject's key (issue 15), and the read recorded
        row = dict(row)
        if row.get("applicant") is not None:
            shown = await open_applicants(conn, core.subjects, [(joint_case_id, row["applicant"])])
            row["applicant"] = shown[joint_case_id]
            await record_reads(conn, reader_of(principal), READ_JOINT, shown, core.clock())
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in row.items()
        if k not in ("applicant_key", "submitted_by_role")
    }


class JointSupplementRequest(_In):
    shared_supplied: list[MaterialIn] = Field(default_factory=list, max_length=MAX_MATERIALS)
    member_supplied: list[MemberMaterialsIn] = Field(default_factory=list, max_length=12)


@router.post(
    "/{joint_case_id}/materials",
    status_code=200,
    summary="Supplement the materials the one joint notice named (联办补齐)",
    responses={
        404: {"description": "no such joint case"},
        422: {"description": "a field is wrong: nothing supplied, material not listed..."},
    },
)
async def supplement_joint(
    joint_case_id: str,
    body: JointSupplementRequest,
    request: Request,
    principal: Principal = Depends(require_roles("community_agent", "officer")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    """200 with status `accepted` (nothing is missing now: one receipt, every member goes on)
    or `awaiting_materials` with what is still missing (never a second notice). Any center's
    window takes them in, as for a single case."""
    core = core_of(request)
    if not JOINT_ID.match(joint_case_id):
        raise refuse(422, "joint_case_id", "must be 'joint-' followed by 32 lower-case hex")
    center = principal.org_id or ""
    if not center:
        raise refuse(422, "received_center_id", "required (the token names no center)")

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        tiers = CenterTiers()
        await require_center(core, conn, tiers, "received_center_id", center)
        if core.settings.require_known_center:
            await require_registered_actor(conn, principal)
        if await joint_cases.read(conn, joint_case_id) is None:
            raise refuse(404, "joint_case_id", f"no joint case {joint_case_id}")
        command = parse_command(
            SupplementJointMaterials,
            {
                "joint_case_id": joint_case_id,
                "shared_supplied": _materials(body.shared_supplied),
                "member_supplied": tuple(
                    MemberMaterials(item_code=m.item_code, provided=_materials(m.provided))
                    for m in body.member_supplied
                ),
                "received_center_id": center,
                "actor": actor_of(principal),
            },
        )
        outcome = await core.handle_joint(conn, command, tiers=tiers)
        return 200, _answer(joint_case_id, outcome.envelopes)

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


@router.post(
    "/{joint_case_id}/delivery",
    status_code=200,
    summary="Record that the joint result reached the resident (领取, once for the bundle)",
    responses={404: {"description": "no such joint case"}},
)
async def deliver_joint(
    joint_case_id: str,
    body: DeliveryRequest,
    request: Request,
    principal: Principal = Depends(require_roles("community_agent", "officer")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    """Picked up at a center (defaults to the caller's), mailed (tracking number required) or
    electronic; by the accepting center's window, once every member is done (409 before)."""
    core = core_of(request)
    if not JOINT_ID.match(joint_case_id):
        raise refuse(422, "joint_case_id", "must be 'joint-' followed by 32 lower-case hex")

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        tiers = CenterTiers()
        if core.settings.require_known_center:
            await require_registered_actor(conn, principal)
        row = await joint_cases.read(conn, joint_case_id)
        if row is None:
            raise refuse(404, "joint_case_id", f"no joint case {joint_case_id}")
        if principal.org_id != row["accepting_center_id"]:
            raise refuse(
                403,
                "joint_case_id",
                f"the joint result is handed over by its accepting center "
                f"{row['accepting_center_id']}, not {principal.org_id}",
            )
        center = body.center_id
        if center is None and body.method == "picked_up":
            center = principal.org_id
        if center is not None:
            await require_center(core, conn, tiers, "center_id", center)
        command = parse_command(
            DeliverJointResult,
            {
                "joint_case_id": joint_case_id,
                "method": body.method,
                "center_id": center,
                "tracking_no": body.tracking_no,
                "actor": actor_of(principal),
            },
        )
        outcome = await core.handle_joint(conn, command, tiers=tiers)
        return 200, {
            "joint_case_id": joint_case_id,
            "status": "delivered",
            "events": [
                {"event_id": str(e.event_id), "event_type": e.event_type} for e in outcome.envelopes
            ],
        }

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


def _answer(joint_case_id: str, envelopes: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "joint_case_id": joint_case_id,
        "events": [{"event_id": str(e.event_id), "event_type": e.event_type} for e in envelopes],
    }
    for env in envelopes:
        payload = env.payload
        if env.event_type == JointMaterialsMissingNotified.event_type:
            out.update(status="awaiting_materials", missing=payload["missing"])
        elif env.event_type == JointMaterialsSupplemented.event_type:
            out.update(status="awaiting_materials", missing=payload["still_missing"])
        elif env.event_type == JointApplicationAccepted.event_type:
            out.update(
                status="accepted",
                receipt_no=payload["receipt_no"],
                accepted_on=payload["accepted_on"],
                promised_completion_date=payload["promised_completion_date"],
                members=payload["members"],
            )
    return out
