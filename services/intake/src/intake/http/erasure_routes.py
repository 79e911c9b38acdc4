"""Erasing a resident's personal data (PIPL, issue 15), and the legal holds that stop it.

`POST /v1/admin/personal-data/erasures` (administrators): one command erases one subject,
named by ID number (found through the keyed hash) or by subject id, on a stated legal
basis. In one transaction: `intake.personal_data_erased` is recorded (who, when, the basis,
the cases: the audit logs it like every intake event), the subject's data key is destroyed
(every sealed field of theirs on every topic, in every store and backup is unreadable at
once), intake's projection forgets the applicant and the lookup hash, documents' file names
are scrubbed. After commit the documents' bytes are deleted (`DocumentStore.erase`); notify
scrubs its directory and deliveries when the event reaches it.

A case under a legal hold (an inspection still needs it) refuses the erasure with 409,
naming the cases. Inspectors place and lift holds, each an event on the audit trail
(`intake.legal_hold_placed` / `_lifted`: who, when, why):
`PUT` / `DELETE /v1/applications/{case_id}/legal-hold?reason=...`, and list every recorded read of
personal data: `GET /v1/personal-data/reads`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, model_validator

from contracts.limits import DocumentNo, IdNumber, Offset, Reason
from contracts.personal_data import SubjectId
from eventkit.auth import Principal, require_roles
from eventkit.idempotency import idempotency_key, request_fingerprint
from eventkit.openapi import errors

from ..domain.erasure import ErasePersonalData
from ..domain.legal_hold import LiftLegalHold, PlaceLegalHold
from ..projections import routing_view
from .access import actor_of
from .case_flow import case_row, core_of
from .errors import refuse
from .models import EventRef

router = APIRouter(tags=["personal data"], responses=errors(403, 404, 409))


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: IdNumber | None = None
    subject_id: SubjectId | None = None
    legal_basis: Reason

    @model_validator(mode="after")
    def _one_subject(self) -> ErasureRequest:
        if (self.id_number is None) == (self.subject_id is None):
            raise ValueError("name the resident by exactly one of id_number or subject_id")
        return self


class ErasureResult(BaseModel):
    erasure_id: str
    subject_id: str
    case_ids: list[str]
    documents_erased: int
    events: list[EventRef]


class LegalHoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


@router.post(
    "/v1/admin/personal-data/erasures",
    status_code=201,
    response_model=ErasureResult,
    summary="Erase a resident's personal data (administrators; PIPL)",
    responses={409: {"description": "a case of the resident is under a legal hold"}},
)
async def erase_personal_data(
    body: ErasureRequest,
    request: Request,
    principal: Principal = Depends(require_roles("admin")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    core = core_of(request)
    erasure_id = f"erasure-{uuid.uuid4().hex}"
    blobs: list[str] = []

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        if body.subject_id is not None:
            subject: str | None = body.subject_id
            known = await conn.fetchval(
                "SELECT true FROM personal_data_subjects WHERE subject_id = $1 AND"
                " erased_at IS NULL",
                subject,
            )
            legacy: list[str] = []
        else:
            assert body.id_number is not None
            subject = await core.subjects.subject_of(conn, body.id_number)
            known = subject is not None
            legacy = core.applicant_keys.hashes(body.id_number)
        if not known or subject is None:
            raise refuse(404, "subject_id", "intake holds no personal data of this resident")
        rows = await conn.fetch(
            "SELECT a.case_id, h.case_id IS NOT NULL AS held FROM applications a"
            " LEFT JOIN legal_holds h USING (case_id)"
            " WHERE a.subject_id = $1 OR a.applicant_key = ANY($2::text[])"
            " ORDER BY a.case_id FOR UPDATE OF a",
            subject,
            legacy,
        )
        # and their joint cases (联办), named by their joint id among the erased cases
        joint = await conn.fetch(
            "SELECT joint_case_id AS case_id, false AS held FROM joint_cases"
            " WHERE subject_id = $1 OR applicant_key = ANY($2::text[])"
            " ORDER BY joint_case_id FOR UPDATE",
            subject,
            legacy,
        )
        rows = [*rows, *joint]
        done = await core.erase_subject(
            conn,
            ErasePersonalData(
                erasure_id=erasure_id,
                subject_id=subject,
                case_ids=tuple(r["case_id"] for r in rows),
                held_case_ids=tuple(r["case_id"] for r in rows if r["held"]),
                legal_basis=body.legal_basis,
                actor=actor_of(principal),
            ),
        )
        blobs[:] = done.blobs
        return 201, ErasureResult(
            erasure_id=erasure_id,
            subject_id=subject,
            case_ids=[r["case_id"] for r in rows],
            documents_erased=len(done.blobs),
            events=[
                EventRef(event_id=str(e.event_id), event_type=e.event_type, stream_version=1)
                for e in done.envelopes
            ],
        ).model_dump(mode="json")

    result = await core.idempotency.run(
        scope=f"intake:{principal.sub}",
        key=key,
        request_hash=request_fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        work=work,
        on_commit=core.runtime.wake_relay,
    )
    for sha in blobs:  # after commit: bytes outside the transaction (S3 perhaps)
        await core.documents.erase(sha)
    return result.response()


@router.get(
    "/v1/personal-data/reads",
    summary="Who read which resident's personal data, through which endpoint (inspectors)",
)
async def list_personal_data_reads(
    request: Request,
    subject_id: SubjectId | None = Query(default=None),
    case_id: str | None = Query(default=None, pattern=r"^case-[0-9a-f]{32}$"),
    reader_id: str | None = Query(default=None, max_length=128),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: Annotated[Offset, Query()] = 0,
    principal: Principal = Depends(require_roles("inspector")),
) -> dict[str, Any]:
    """Every read that showed a resident's personal data in the clear (issue 15), newest
    first: who (reader id, role, center), whose (the subject, never the ID number), which
    case, which endpoint, when. Notify's contact reads appear as reader `notify`."""
    core = core_of(request)
    where, args = [], []
    for column, value in (
        ("subject_id", subject_id),
        ("case_id", case_id),
        ("reader_id", reader_id),
    ):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    async with core.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT read_id, read_at, reader_id, reader_role, reader_org, subject_id, case_id,"
            f" endpoint FROM personal_data_reads {clause}"
            f" ORDER BY read_id DESC LIMIT {limit} OFFSET {offset}",
            *args,
        )
    return {"items": [dict(r) for r in rows], "limit": limit, "offset": offset}


@router.put(
    "/v1/applications/{case_id}/legal-hold",
    summary="Place a legal hold on a case (inspectors): its applicant is not erased",
)
async def place_legal_hold(
    body: LegalHoldRequest,
    request: Request,
    case_id: str = Path(pattern=r"^case-[0-9a-f]{32}$"),
    principal: Principal = Depends(require_roles("inspector")),
) -> dict[str, Any]:
    """Recorded as `intake.legal_hold_placed` (who, when, why: on the audit trail)."""
    core = core_of(request)
    async with core.pool.acquire() as conn, conn.transaction():
        await case_row(conn, case_id)
        envelopes = await core.handle_legal_hold(
            conn, PlaceLegalHold(case_id, body.reason, actor_of(principal))
        )
    core.runtime.wake_relay()
    return {
        "case_id": case_id,
        "held": True,
        "held_by": principal.sub,
        "reason": body.reason.strip(),
        "event_id": str(envelopes[-1].event_id),
    }


@router.delete(
    "/v1/applications/{case_id}/legal-hold",
    summary="Lift a case's legal hold (inspectors), saying why",
)
async def release_legal_hold(
    request: Request,
    case_id: str = Path(pattern=r"^case-[0-9a-f]{32}$"),
    reason: Reason = Query(description="why the hold is lifted (on the audit trail)"),
    principal: Principal = Depends(require_roles("inspector")),
) -> dict[str, Any]:
    """Recorded as `intake.legal_hold_lifted` (who, when, why: on the audit trail)."""
    core = core_of(request)
    async with core.pool.acquire() as conn, conn.transaction():
        envelopes = await core.handle_legal_hold(
            conn, LiftLegalHold(case_id, reason, actor_of(principal))
        )
    core.runtime.wake_relay()
    return {
        "case_id": case_id,
        "held": False,
        "released_by": principal.sub,
        "reason": reason.strip(),
        "event_id": str(envelopes[-1].event_id),
    }


class StaffIdentityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: IdNumber | None = None
    household_no: DocumentNo | None = None

    @model_validator(mode="after")
    def _some(self) -> StaffIdentityRequest:
        if self.id_number is None and self.household_no is None:
            raise ValueError("give id_number and/or household_no")
        return self


@router.put(
    "/v1/admin/staff/{staff_id}/identity",
    summary="A staff member's ID number / household number, for 回避 (administrators)",
)
async def put_staff_identity(
    body: StaffIdentityRequest,
    request: Request,
    staff_id: str = Path(max_length=128),
    principal: Principal = Depends(require_roles("admin")),
) -> dict[str, Any]:
    """Kept as keyed hashes under the lookup key (never in the clear): intake compares them
    with a case's applicant when this staff member accepts, is assigned or decides it, and
    records `intake.conflict_of_interest_found` (the audit's conflict-of-interest rule flags
    the case from it). A kind not given keeps what was registered."""
    core = core_of(request)
    id_hash = core.subjects.identity_hash("id_number", body.id_number) if body.id_number else None
    household_hash = (
        core.subjects.identity_hash("household_no", body.household_no)
        if body.household_no
        else None
    )
    async with core.pool.acquire() as conn, conn.transaction():
        if await routing_view.staff_member(conn, staff_id) is None:
            raise refuse(404, "staff_id", f"{staff_id} is not in the staff directory")
        await conn.execute(
            "INSERT INTO staff_identities (staff_id, id_hash, household_hash, set_by, updated_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (staff_id) DO UPDATE SET"
            " id_hash = coalesce(EXCLUDED.id_hash, staff_identities.id_hash),"
            " household_hash = coalesce(EXCLUDED.household_hash, staff_identities.household_hash),"
            " set_by = EXCLUDED.set_by, updated_at = EXCLUDED.updated_at",
            staff_id,
            id_hash,
            household_hash,
            principal.sub,
            core.clock(),
        )
    kinds = [k for k, v in (("id_number", id_hash), ("household_no", household_hash)) if v]
    return {"staff_id": staff_id, "kinds": kinds}
