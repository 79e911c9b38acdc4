"""`GET /internal/v1/contacts/{case_id}`: the applicant's contact for notify, at send time.

Why notify asks intake instead of holding keys (issue 15): intake is the one service that
holds residents' data keys, so an erasure (destroying one key) reaches every copy at once.
A notify that kept its own copy of keys or contacts would be one more place an erasure must
reach, and its copies on Kafka could not be deleted. So notify's directory keeps only the
sealed fields and asks here when it plans a resident's message; every answer is a recorded
read (reader `notify`, role `service`). An erased applicant is 410: nothing to send to.

Not a public operation (not in the OpenAPI document, not in the access table): the caller
proves it is notify with the shared secret `INTAKE_CONTACT_SECRET` (notify's
`NOTIFY_INTAKE_CONTACT_SECRET`) in `X-Bianmin-Service-Secret`.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Header, Path, Request

from .case_flow import core_of
from .errors import refuse
from .personal_reads import open_applicants, record_reads

router = APIRouter(prefix="/internal/v1", include_in_schema=False)

ENDPOINT = "GET /internal/v1/contacts/{case_id}"


@router.get("/contacts/{case_id}")
async def applicant_contact(
    request: Request,
    case_id: str = Path(pattern=r"^(case|joint)-[0-9a-f]{32}$"),
    x_bianmin_service_secret: str = Header(default=""),
) -> dict[str, Any]:
    core = core_of(request)
    expected = core.settings.contact_secret_bytes()
    if not hmac.compare_digest(x_bianmin_service_secret.encode(), expected):
        raise refuse(403, "X-Bianmin-Service-Secret", "only notify reads applicants' contacts")
    async with core.pool.acquire() as conn:
        # a joint case (联办) is keyed by its joint id in notify's directory, like a case
        stored = await conn.fetchval(
            "SELECT applicant FROM applications WHERE case_id = $1"
            if case_id.startswith("case-")
            else "SELECT applicant FROM joint_cases WHERE joint_case_id = $1",
            case_id,
        )
        if stored is None:
            raise refuse(404, "case_id", f"no application {case_id}")
        shown = await open_applicants(conn, core.subjects, [(case_id, stored)])
        a = shown[case_id]
        if a.get("erased"):
            raise refuse(410, "case_id", "the applicant's personal data was erased")
        await record_reads(conn, ("notify", "service", None), ENDPOINT, shown, core.clock())
    return {
        "case_id": case_id,
        "subject_id": a.get("subject_id"),
        "name": a.get("name"),
        "phone": a.get("phone"),
        "email": a.get("email"),
    }
