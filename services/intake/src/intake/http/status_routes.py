"""`GET /v1/status`: the resident's status view (public: no token).

The resident types the receipt number (受理回执号) and the 6-digit verification code from
the receipt; before acceptance (materials awaited) there is no receipt number yet, so the
case id from the submission slip works instead. A wrong code and an unknown receipt number
get the SAME 404, so the view never tells whether a receipt number exists.

Guessing (see `intake.domain.code_guessing`, checked by `code_guard`): wrong codes are
counted on the one guessing — their address, for one case and over all cases — who then gets
429 with `Retry-After`; the case itself is never locked, only paced when many addresses
guess at it (over its hourly budget, one check every two minutes), so the resident's right
code still opens it. The counters of an unknown receipt number are kept under what was
asked, so the answers never tell whether it exists. The address is the connection's peer:
behind a reverse proxy, run the service with the proxy's forwarded headers trusted
(uvicorn `--forwarded-allow-ips`), or every resident shares the proxy's address.

The view shows what the resident needs and nothing personal: the item, where the case
stands (in Chinese and as a code), the missing materials or the correction asked for, the
promised date (and whether it is provisional: counted over a year whose official holiday
schedule is not published yet, so it may still move), the decision, whether the result is
ready and where.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request

from eventkit.openapi import errors

from ..domain.receipts import verify
from .case_flow import core_of
from .code_guard import check_code
from .personal_reads import open_applicants

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


def provisional_note(years: list[int] | None) -> str | None:
    """What the resident is told about a promised date counted by the provisional estimate."""
    if not years:
        return None
    named = "、".join(f"{y}年" for y in years)
    return (
        f"承诺办结日期按预估的{named}节假日安排计算，国务院办公厅公布{named}节假日安排后"
        "可能调整，届时将短信告知。"
    )


def _mask(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


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
    lookup = (receipt_no or case_id or "").strip().upper()
    guesser = f"addr:{request.client.host if request.client else 'unknown'}"
    async with core.pool.acquire() as conn:
        if receipt_no is not None:
            row = await conn.fetchrow(
                "SELECT * FROM applications WHERE receipt_no = $1", receipt_no.strip().upper()
            )
        else:
            row = await conn.fetchrow("SELECT * FROM applications WHERE case_id = $1", case_id)
        checked = await check_code(
            conn,
            core.settings.guess_policy(),
            guesser=guesser,
            case_key=row["case_id"] if row is not None else f"asked:{lookup}",
            right=lambda: row is not None and verify(row["case_id"], code, core.secret),
        )
        if checked.refused is not None:
            raise HTTPException(
                429,
                detail={"field": "code", "reason": checked.refused.reason},
                headers={"Retry-After": str(checked.refused.retry_after)},
            )
        if not checked.right:
            raise _not_found()
        assert row is not None
        progress = await conn.fetchrow(
            "SELECT * FROM case_progress WHERE case_id = $1", row["case_id"]
        )
        # only the masked name is shown (never the name in the clear: not a recorded read)
        opened = await open_applicants(conn, core.subjects, [(row["case_id"], row["applicant"])])
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
        "applicant": _mask(opened[row["case_id"]].get("name") or ""),
        "status": row["status"],
        "status_zh": STATUS_ZH.get(row["status"], row["status"]),
        "accepting_center_id": row["accepting_center_id"],
        "accepting_center_name_zh": names.get(row["accepting_center_id"]),
        "submitted_at": row["submitted_at"],
        "accepted_on": row["accepted_on"],
        "promised_completion_date": row["promised_completion_date"],
        "promised_date_provisional": bool(row["promised_provisional_years"]),
        "promised_date_provisional_years": row["promised_provisional_years"],
        "promised_date_note_zh": provisional_note(row["promised_provisional_years"]),
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
