"""A center's figures per staff member and per service line (服务条线), for its head and the
heads above it, and inspectors (not the public: the public board stops at the center and
its lines). Rules: `contracts.access` (audit.board_staff).

    GET /v1/board/centers/{center_id}/staff    per staff member, per line, per (staff, line):
                                               handled, open (still queued), decided, on-time
                                               %, working days, satisfaction

Cases handled at the center count for the officer holding them (routing.case_assigned /
case_reassigned), then for whoever decided them (routing.case_decided), on the handling
line routing queued them on; `accepted` counts the cases a staff member took in at the
center's window as first-inquiry responsible (首问责任人), with those cases' ratings. Staff
the log lists at the center appear even with nothing yet. Facts projected before lines and
staff were recorded have neither and are not counted here (they still are per center).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path

from eventkit.auth import Principal, require_roles

from ..decoding import read_leaf
from ..runtime import AuditRuntime
from .board_routes import LINE_TYPES, Since, Until, _as_of, _cached
from .deps import ctx
from .sitreport_routes import scope_of

router = APIRouter(prefix="/v1/board", tags=["board"])
Reader = Annotated[Principal, Depends(require_roles("center_head", "inspector"))]
Ctx = Annotated[AuditRuntime, Depends(ctx)]
CenterId = Annotated[
    str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$", description="unit id")
]

_SUMS = ("handled", "decided", "on_time", "sum_days", "n_days", "sum_score", "reviews", "withdrawn")


@router.get("/centers/{center_id}/staff")
async def center_staff(
    center_id: CenterId, who: Reader, c: Ctx, since: Since = None, until: Until = None
) -> dict[str, Any]:
    """On-time rate, counts and ratings per staff member and per service line of a center."""
    if who.role != "inspector" and await scope_of(c, who, center_id) == "report_other":
        raise HTTPException(
            403,
            detail={
                "field": "center_id",
                "reason": f"{center_id} is neither {who.org_id} nor below it: a head reads the "
                "staff figures of their own center and the centers below",
            },
        )
    return await _cached(  # type: ignore[no-any-return]
        c,
        ("staff", center_id, since, until),
        lambda: _staff(c, center_id, since, until),
    )


def _figures(a: dict[str, int]) -> dict[str, Any]:
    decided = a["decided"]
    return {
        "handled": a["handled"],
        "open": a["handled"] - decided - a["withdrawn"],  # still in the queue
        "decided": decided,
        "on_time": a["on_time"],
        "on_time_pct": round(100.0 * a["on_time"] / decided, 1) if decided else None,
        "avg_working_days": round(a["sum_days"] / a["n_days"], 2) if a["n_days"] else None,
        "satisfaction": round(a["sum_score"] / a["reviews"], 2) if a["reviews"] else None,
        "reviews": a["reviews"],
        "withdrawn": a["withdrawn"],
    }


def _add(acc: dict[Any, dict[str, int]], key: Any, r: Any) -> None:
    into = acc.setdefault(key, dict.fromkeys(_SUMS, 0))
    for k in _SUMS:
        into[k] += int(r[k] or 0)


async def _staff(
    c: AuditRuntime, center: str, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    window = """($2::timestamptz IS NULL OR accepted_at >= $2)
                AND ($3::timestamptz IS NULL OR accepted_at < $3)"""
    async with c.pool.acquire() as conn:
        handled = await conn.fetch(
            f"""SELECT handled_by AS staff, handling_line_id AS line,
                       count(*) AS handled,
                       count(decided_at) AS decided,
                       count(*) FILTER (WHERE on_time) AS on_time,
                       sum(working_days) AS sum_days, count(working_days) AS n_days,
                       sum(score) AS sum_score, count(score) AS reviews,
                       count(*) FILTER (WHERE withdrawn) AS withdrawn
                FROM board_cases
                WHERE handling_org_id = $1 AND handled_by IS NOT NULL AND {window}
                GROUP BY 1, 2""",
            center,
            since,
            until,
        )
        accepted = await conn.fetch(
            f"""SELECT accepting_staff_id AS staff,
                       count(*) FILTER (WHERE accepted_at IS NOT NULL) AS accepted,
                       sum(score) AS sum_score, count(score) AS reviews
                FROM board_cases
                WHERE accepting_center_id = $1 AND accepting_staff_id IS NOT NULL AND {window}
                GROUP BY 1""",
            center,
            since,
            until,
        )
        names, line_names = await _directory(conn, center)
        as_of = await _as_of(conn)
    per_staff: dict[str, dict[str, int]] = {}
    per_line: dict[str | None, dict[str, int]] = {}
    per_pair: dict[tuple[str, str | None], dict[str, int]] = {}
    line_staff: dict[str | None, set[str]] = {}
    for r in handled:
        _add(per_staff, r["staff"], r)
        _add(per_line, r["line"], r)
        _add(per_pair, (r["staff"], r["line"]), r)
        line_staff.setdefault(r["line"], set()).add(r["staff"])
    took = {r["staff"]: r for r in accepted}
    zero = dict.fromkeys(_SUMS, 0)
    staff_rows = []
    for sid in sorted(set(names) | set(per_staff) | set(took)):
        t = took.get(sid)
        staff_rows.append(
            {
                "staff_id": sid,
                "name_zh": names.get(sid),
                **_figures(per_staff.get(sid, zero)),
                "accepted": int(t["accepted"]) if t else 0,
                "accepted_reviews": int(t["reviews"]) if t else 0,
                "accepted_satisfaction": (
                    round(int(t["sum_score"]) / int(t["reviews"]), 2)
                    if t and t["reviews"]
                    else None
                ),
            }
        )
    line_ids = [ln for ln in line_names if ln in per_line] + sorted(
        (ln for ln in per_line if ln not in line_names), key=lambda x: (x is None, x or "")
    )
    return {
        "center_id": center,
        "staff": staff_rows,
        "lines": [
            {
                "line_id": ln,
                "name_zh": line_names.get(ln) if ln else None,
                **_figures(per_line[ln]),
                "staff": sorted(line_staff.get(ln, ())),
            }
            for ln in line_ids
        ],
        "staff_lines": [
            {"staff_id": sid, "line_id": ln, **_figures(a)}
            for (sid, ln), a in sorted(per_pair.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        ],
        "as_of": as_of,
    }


async def _directory(conn: Any, center: str) -> tuple[dict[str, str | None], dict[str, str]]:
    """The staff the log lists at the center (latest registration wins) and its lines' names,
    in the center's order."""
    names: dict[str, str | None] = {}
    lines: dict[str, str] = {}
    for r in await conn.fetch(
        "SELECT leaf FROM leaves WHERE event_type = ANY($1::text[]) AND status = 'accepted' "
        "ORDER BY idx",
        ["routing.staff_registered", *LINE_TYPES],
    ):
        doc = read_leaf(r["leaf"])
        p = doc["payload"]
        if doc["event_type"] == "routing.staff_registered":
            if p.get("unit_id") == center:
                names[p["staff_id"]] = p.get("name_zh")
            else:
                names.pop(p.get("staff_id"), None)  # moved to another center
        elif p.get("unit_id") == center and "service_lines" in p:
            lines = {ln["line_id"]: ln.get("name_zh") for ln in p["service_lines"]}
    return names, lines
