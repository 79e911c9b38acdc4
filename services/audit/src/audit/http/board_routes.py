"""The public transparency board (阳光运作): no login.

    GET /v1/board/catalog    the catalog in force: materials, fee and deposit standards,
                             promised times (from intake.catalog_item_published in the log)
    GET /v1/board/centers    per accepting center: cases received, decided, on-time %,
                             average working days, satisfaction (optional since/until);
                             how many on-time verdicts and open promised dates rest on a
                             provisional holiday estimate (a year not yet published)
    GET /v1/board/tiers      the same per handling tier (community, town, city)
    GET /v1/board/lines      the same per service line (服务条线) of each accepting center:
                             cases, on-time %, ratings; a case counts in the line intake
                             recorded for it (`contracts.routing.line_for`), a case
                             recorded without one in each line taking its item's category
                             (`contracts.routing.lines_taking`)

Per staff member and line of one center (for its head and inspectors, not the public):
`board_staff_routes.py`.

Figures come from `board_cases`, projected from the log; `as_of` says up to which log index
and which signed checkpoint they are computed. Each answer is computed once per signed
checkpoint and then served from memory (`audit.board_cache`): anyone may ask, nobody can
make the database aggregate per request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query

from contracts.limits import Instant
from contracts.routing import lines_taking

from ..runtime import AuditRuntime
from .deps import ctx

router = APIRouter(prefix="/v1/board", tags=["board"])
Ctx = Annotated[AuditRuntime, Depends(ctx)]


async def _as_of(conn: Any) -> dict[str, Any]:
    last = await conn.fetchval("SELECT last_idx FROM projection_state WHERE name = 'main'")
    cp = await conn.fetchval("SELECT max(size) FROM checkpoints")
    return {"log_index": last, "checkpoint_size": cp}


async def _cached(c: AuditRuntime, key: tuple[Any, ...], compute: Any) -> Any:
    """`compute()`'s answer for `key`, computed once per signed checkpoint."""
    cache = c.board_cache
    async with c.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT max(size) FROM checkpoints) AS size,"
            " (SELECT last_idx FROM projection_state WHERE name = 'main') AS last_idx"
        )
    size, last = row["size"], row["last_idx"]
    if size is None:  # nothing signed yet: nothing to publish figures as of
        return await compute()
    # the projection may still be catching up with the checkpoint: until it has, each answer
    # is computed again as it moves; from then on, once until the next checkpoint
    projected = min(size, (last + 1) if last is not None else 0)
    return await cache.answer((size, projected), key, compute)


@router.get("/catalog")
async def catalog(c: Ctx) -> dict[str, Any]:
    today = c.clock().date()
    return await _cached(c, ("catalog", today), lambda: _catalog(c, today))  # type: ignore[no-any-return]


async def _catalog(c: AuditRuntime, today: Any) -> dict[str, Any]:
    async with c.pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT DISTINCT ON (code) code, version, effective_from, item
               FROM catalog_items
               WHERE (effective_from IS NULL OR effective_from <= $1)
                 AND (retired_from IS NULL OR retired_from > $1)
               ORDER BY code, effective_from DESC NULLS LAST, version DESC""",
            today,
        )
        as_of = await _as_of(conn)
    return {"items": [orjson.loads(r["item"]) for r in rows], "as_of": as_of}


def _figures(r: Any) -> dict[str, Any]:
    decided = r["decided"]
    return {
        "received": r["received"],
        "decided": decided,
        "on_time": r["on_time"],
        "on_time_pct": round(100.0 * r["on_time"] / decided, 1) if decided else None,
        "avg_working_days": round(float(r["avg_days"]), 2) if r["avg_days"] is not None else None,
        "satisfaction": round(float(r["avg_score"]), 2) if r["avg_score"] is not None else None,
        "reviews": r["reviews"],
        "withdrawn": r["withdrawn"],
        "on_time_provisional": r["on_time_provisional"],
        "open_promises_provisional": r["open_promises_provisional"],
        "joint": r["joint"],
    }


_AGG = """count(*) FILTER (WHERE accepted_at IS NOT NULL) AS received,
          count(decided_at) AS decided,
          count(*) FILTER (WHERE on_time) AS on_time,
          avg(working_days) AS avg_days,
          avg(score) AS avg_score,
          count(score) AS reviews,
          count(*) FILTER (WHERE withdrawn) AS withdrawn,
          count(*) FILTER (WHERE decided_at IS NOT NULL AND on_time_provisional)
              AS on_time_provisional,
          count(*) FILTER (WHERE decided_at IS NULL AND withdrawn IS NOT TRUE
                             AND promise_provisional) AS open_promises_provisional,
          count(*) FILTER (WHERE joint) AS joint"""


async def _grouped(
    c: AuditRuntime, column: str, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    async with c.pool.acquire() as conn:
        rows = await conn.fetch(
            f"""SELECT {column} AS key, {_AGG} FROM board_cases
                WHERE {column} IS NOT NULL
                  AND ($1::timestamptz IS NULL OR accepted_at >= $1)
                  AND ($2::timestamptz IS NULL OR accepted_at < $2)
                GROUP BY {column} ORDER BY {column}""",
            since,
            until,
        )
        as_of = await _as_of(conn)
    return {"rows": [{"id": r["key"], **_figures(r)} for r in rows], "as_of": as_of}


Since = Annotated[Instant | None, Query(description="accepted at or after (ISO 8601, offset)")]
Until = Annotated[Instant | None, Query(description="accepted before (ISO 8601, offset)")]


@router.get("/centers")
async def centers(c: Ctx, since: Since = None, until: Until = None) -> dict[str, Any]:
    return await _cached(  # type: ignore[no-any-return]
        c,
        ("centers", since, until),
        lambda: _grouped(c, "accepting_center_id", since, until),
    )


@router.get("/tiers")
async def tiers(c: Ctx, since: Since = None, until: Until = None) -> dict[str, Any]:
    return await _cached(  # type: ignore[no-any-return]
        c, ("tiers", since, until), lambda: _grouped(c, "handling_tier", since, until)
    )


LINE_TYPES = ("routing.org_unit_registered", "routing.service_lines_set")


async def _lines(c: AuditRuntime, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    """Per (accepting center, service line): the centers' figures, bucketed by line: the
    line recorded at intake, else (older facts) each line taking the item's category."""
    from ..decoding import read_leaf

    async with c.pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT b.accepting_center_id AS center, b.item_code, b.line_id,
                      count(*) FILTER (WHERE accepted_at IS NOT NULL) AS received,
                      count(decided_at) AS decided,
                      count(*) FILTER (WHERE on_time) AS on_time,
                      sum(working_days) AS sum_days, count(working_days) AS n_days,
                      sum(score) AS sum_score, count(score) AS reviews,
                      count(*) FILTER (WHERE withdrawn) AS withdrawn
               FROM board_cases b
               WHERE b.accepting_center_id IS NOT NULL
                 AND ($1::timestamptz IS NULL OR accepted_at >= $1)
                 AND ($2::timestamptz IS NULL OR accepted_at < $2)
               GROUP BY 1, 2, 3""",
            since,
            until,
        )
        categories = {
            r["code"]: r["category"]
            for r in await conn.fetch(
                """SELECT DISTINCT ON (code) code, item->>'category' AS category
                   FROM catalog_items ORDER BY code, version DESC"""
            )
        }
        lines: dict[str, list[dict[str, Any]]] = {}
        for r in await conn.fetch(
            "SELECT leaf FROM leaves WHERE event_type = ANY($1::text[]) "
            "AND status = 'accepted' ORDER BY idx",
            list(LINE_TYPES),
        ):
            p = read_leaf(r["leaf"])["payload"]
            if "service_lines" in p:
                lines[p["unit_id"]] = list(p["service_lines"])
        as_of = await _as_of(conn)
    sums: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        center_lines = lines.get(r["center"], [])
        recorded = [r["line_id"]] if r["line_id"] is not None else None
        for line_id in recorded or lines_taking(center_lines, categories.get(r["item_code"])):
            acc = sums.setdefault((r["center"], line_id), dict.fromkeys(_SUMS, 0))
            for k in _SUMS:
                acc[k] += int(r[k] or 0)
    names = {(u, ln["line_id"]): ln.get("name_zh") for u, ls in lines.items() for ln in ls}
    out = []
    for (center, line_id), a in sorted(sums.items()):
        decided = a["decided"]
        out.append(
            {
                "center_id": center,
                "line_id": line_id,
                "name_zh": names.get((center, line_id)),
                "received": a["received"],
                "decided": decided,
                "on_time": a["on_time"],
                "on_time_pct": round(100.0 * a["on_time"] / decided, 1) if decided else None,
                "avg_working_days": round(a["sum_days"] / a["n_days"], 2) if a["n_days"] else None,
                "satisfaction": round(a["sum_score"] / a["reviews"], 2) if a["reviews"] else None,
                "reviews": a["reviews"],
                "withdrawn": a["withdrawn"],
            }
        )
    return {"rows": out, "as_of": as_of}


_SUMS = (
    "received",
    "decided",
    "on_time",
    "sum_days",
    "n_days",
    "sum_score",
    "reviews",
    "withdrawn",
)


@router.get("/lines")
async def service_lines(c: Ctx, since: Since = None, until: Until = None) -> dict[str, Any]:
    return await _cached(  # type: ignore[no-any-return]
        c, ("lines", since, until), lambda: _lines(c, since, until)
    )
