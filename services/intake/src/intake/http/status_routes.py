"""`GET /v1/status`: the resident's status view (public: no token).

The resident types the receipt number (受理回执号) and the 6-digit verification code from
the receipt; before acceptance (materials awaited) there is no receipt number yet, so the
case id from the submission slip works instead. A wrong code and an unknown receipt number
get the SAME 404, so the view never tells whether a receipt number exists.

Guessing: after `INTAKE_STATUS_MAX_FAILURES` wrong codes for one receipt number (or case id)
within `INTAKE_STATUS_FAILURE_WINDOW_SECONDS`, that lookup answers 429 until the window
passes, whether or not it exists (the counter is keyed by what was asked, not by a case).

The view shows what the resident needs and nothing personal: the item, where the case
stands (in Chinese and as a code), the missing materials or the correction asked for, the
promised date, the decision, whether the result is ready and where.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, HTTPException, Query, Request

from eventkit.openapi import errors

from ..domain.receipts import verify
from .case_flow import core_of

router = APIRouter(prefix="/v1", tags=["resident status"], responses=errors(404, 429))

STATUS_ZH = {
    "submitted": "已提交",
    "awaiting_materials": "待补齐材料",
    "accepted": "已受理，办理中",
    "correction_requested": "待补正",
    "decided": "已办结，待领取结果",
    "delivered": "结果已送达",
    "archived": "已归档",
    "withdrawn": "已撤回",
}


def _not_found() -> HTTPException:
    return HTTPException(
        404,
        detail={
            "field": "code",
            "reason": "no application matches this receipt number and verification code",
        },
    )


def _mask(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


async def _locked_out(
    conn: asyncpg.Connection, lookup: str, max_failures: int, window: timedelta
) -> bool:
    failures = await conn.fetchval(
        "SELECT failures FROM status_lookup_failures"
        " WHERE lookup = $1 AND window_start > now() - $2::interval",
        lookup,
        window,
    )
    return failures is not None and failures >= max_failures


async def _record_failure(conn: asyncpg.Connection, lookup: str, window: timedelta) -> None:
    await conn.execute(
        """INSERT INTO status_lookup_failures (lookup, window_start, failures)
           VALUES ($1, now(), 1)
           ON CONFLICT (lookup) DO UPDATE SET
             failures = CASE WHEN status_lookup_failures.window_start > now() - $2::interval
                             THEN status_lookup_failures.failures + 1 ELSE 1 END,
             window_start = CASE WHEN status_lookup_failures.window_start > now() - $2::interval
                                 THEN status_lookup_failures.window_start ELSE now() END""",
        lookup,
        window,
    )


@router.get("/status", summary="Resident status view (receipt number + verification code)")
async def resident_status(
    request: Request,
    code: str = Query(min_length=1, max_length=12, description="6-digit verification code"),
    receipt_no: str | None = Query(default=None, max_length=40, examples=["RA20260921K3W9ZD"]),
    case_id: str | None = Query(
        default=None,
        pattern=r"^case-[0-9a-f]{32}$",
        description="Instead of the receipt number, before the case is accepted",
    ),
) -> dict[str, Any]:
    if (receipt_no is None) == (case_id is None):
        raise HTTPException(
            422, detail={"field": "receipt_no", "reason": "give a receipt_no (or a case_id)"}
        )
    core = core_of(request)
    s = core.settings
    window = timedelta(seconds=s.status_failure_window_seconds)
    lookup = (receipt_no or case_id or "").strip().upper()
    async with core.pool.acquire() as conn:
        if await _locked_out(conn, lookup, s.status_max_failures, window):
            raise HTTPException(
                429,
                detail={
                    "field": "code",
                    "reason": "too many wrong verification codes for this number; "
                    "try again later or ask at any center",
                },
                headers={"Retry-After": str(s.status_failure_window_seconds)},
            )
        if receipt_no is not None:
            row = await conn.fetchrow(
                "SELECT * FROM applications WHERE receipt_no = $1", receipt_no.strip().upper()
            )
        else:
            row = await conn.fetchrow("SELECT * FROM applications WHERE case_id = $1", case_id)
        if row is None or not verify(row["case_id"], code, core.secret):
            await _record_failure(conn, lookup, window)
            raise _not_found()
        progress = await conn.fetchrow(
            "SELECT * FROM case_progress WHERE case_id = $1", row["case_id"]
        )
        names = {
            r["unit_id"]: r["name_zh"]
            for r in await conn.fetch(
                "SELECT unit_id, name_zh FROM centers WHERE unit_id = ANY($1::text[])",
                [row["accepting_center_id"], progress["result_at_center_id"] if progress else None],
            )
        }
    pending = orjson.loads(row["pending_correction"]) if row["pending_correction"] else None
    required = {m["code"]: m["name_zh"] for m in orjson.loads(row["required_materials"])}
    result_ready = bool(progress and progress["result_ready_at"])
    result_center = progress["result_at_center_id"] if progress else None
    return {
        "case_id": row["case_id"],
        "receipt_no": row["receipt_no"],
        "item_code": row["item_code"],
        "item_name_zh": row["item_name_zh"],
        "applicant": _mask(orjson.loads(row["applicant"])["name"]),
        "status": row["status"],
        "status_zh": STATUS_ZH.get(row["status"], row["status"]),
        "accepting_center_id": row["accepting_center_id"],
        "accepting_center_name_zh": names.get(row["accepting_center_id"]),
        "submitted_at": row["submitted_at"],
        "accepted_on": row["accepted_on"],
        "promised_completion_date": row["promised_completion_date"],
        "missing_materials": orjson.loads(row["missing"]),
        "correction": (
            {
                "requested_materials": [
                    {"code": c, "name_zh": required.get(c, c)}
                    for c in pending["requested_materials"]
                ],
                "note": pending["note"],
            }
            if pending
            else None
        ),
        "decision": row["decision"],
        "decision_reason": row["decision_reason"],
        "result_ready": result_ready,
        "result_at_center_id": result_center,
        "result_at_center_name_zh": names.get(result_center) if result_center else None,
        "delivered_at": row["delivered_at"],
    }
