"""Inspector queries (role inspector, read-only), each one recorded in the log.

    GET /v1/inspect/events              filters + keyset paging (JSON); format=csv for CSV
    GET /v1/inspect/events/export       every match, streamed (format=jsonl|csv)
    GET /v1/inspect/cases/{case_id}     the case's whole timeline across services and tiers
                                        (a joint case `joint-…`: with its members')
    GET /v1/inspect/anomalies           flagged anomalies (rule, case, time)
    GET /v1/inspect/rules               the anomaly rules in force (id, kind, description)

Filters (query parameters): case, correlation_id, staff, org_id, tier, item_code,
event_type (repeatable; ``routing.*`` for a prefix), since, until (ISO 8601, on occurred_at),
q (text search over reasons), status (accepted|rejected); paging: after, limit (<= 1000).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import StringConstraints

from contracts.limits import MAX_SHORT_LIST, ActorId, Code, Identifier, Instant, Position
from contracts.limits import SearchText as SearchTextType
from contracts.routing import Tier
from eventkit.auth import Principal, require_roles
from eventkit.edge import INT64_MAX

from ..anomaly.rules import RuleSet, load_rules
from ..inspector.queries import (
    CSV_FIELDS,
    MAX_LIMIT,
    Filters,
    case_timeline,
    joint_timeline,
    search,
)
from ..inspector.recorder import record_query
from ..inspector.spreadsheet import neutralise
from ..projector import Projector
from ..runtime import AuditRuntime
from .deps import ctx
from .deps import projector as projector_of

router = APIRouter(prefix="/v1/inspect", tags=["inspector"])

Inspector = Annotated[Principal, Depends(require_roles("inspector"))]
Ctx = Annotated[AuditRuntime, Depends(ctx)]
EXPORT_CAP = 1_000_000


EventTypePattern = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z_]+(\.[a-z_*]+)*$")
]


async def filters(  # async: no thread-pool hop per request
    case: Annotated[Identifier | None, Query()] = None,
    correlation_id: uuid.UUID | None = None,
    staff: Annotated[ActorId | None, Query()] = None,
    org_id: Annotated[Identifier | None, Query()] = None,
    tier: Annotated[Tier | None, Query()] = None,
    item_code: Annotated[Code | None, Query()] = None,
    event_type: Annotated[
        list[EventTypePattern] | None,
        Query(max_length=MAX_SHORT_LIST, description="repeatable; `routing.*` for a prefix"),
    ] = None,
    since: Annotated[Instant | None, Query()] = None,
    until: Annotated[Instant | None, Query()] = None,
    q: Annotated[SearchTextType | None, Query()] = None,
    status: Annotated[str | None, Query(pattern="^(accepted|rejected)$")] = None,
) -> Filters:
    return Filters(
        case=case,
        correlation_id=correlation_id,
        staff=staff,
        org_id=org_id,
        tier=tier,
        item_code=item_code,
        event_types=tuple(event_type or ()),
        since=since,
        until=until,
        text=q or None,
        status=status,
    )


FiltersDep = Annotated[Filters, Depends(filters)]


def _csv(items: list[dict[str, Any]], header: bool = True) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    if header:
        w.writerow(CSV_FIELDS)
    for it in items:
        row = []
        for k in CSV_FIELDS:
            v = it.get(k)
            if k == "payload" and v is not None:
                v = orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()
            row.append("" if v is None else neutralise(v))
        w.writerow(row)
    return buf.getvalue()


@router.get("/events", responses={200: {"content": {"text/csv": {}}}})
async def events(
    c: Ctx,
    who: Inspector,
    f: FiltersDep,
    after: Annotated[Position | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    with_leaf: bool = False,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    async with c.pool.acquire() as conn:
        page = await search(conn, f, after=after, limit=limit, with_leaf=with_leaf)
    await record_query(
        c, who, "events", f.described(), len(page.items), page_after=after, fmt=format
    )
    if format == "csv":
        return Response(
            _csv(page.items),
            media_type="text/csv; charset=utf-8",
            headers={"X-Next-After": "" if page.next_after is None else str(page.next_after)},
        )
    return {"items": page.items, "next_after": page.next_after, "count": len(page.items)}


@router.get(
    "/events/export",
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
async def export_events(
    c: Ctx,
    who: Inspector,
    f: FiltersDep,
    format: Annotated[str, Query(pattern="^(jsonl|csv)$")] = "jsonl",
) -> StreamingResponse:
    """Every matching event, streamed in log order (keyset pages of 1000)."""
    await record_query(c, who, "events_export", f.described(), None, fmt=format)

    async def rows() -> AsyncIterator[bytes]:
        after: int | None = None
        sent = 0
        first = True
        while sent < EXPORT_CAP:
            async with c.pool.acquire() as conn:
                page = await search(conn, f, after=after, limit=MAX_LIMIT)
            if format == "csv":
                yield _csv(page.items, header=first).encode()
            else:
                yield b"".join(
                    orjson.dumps(it, option=orjson.OPT_SORT_KEYS) + b"\n" for it in page.items
                )
            first = False
            sent += len(page.items)
            if page.next_after is None:
                break
            after = page.next_after

    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(rows(), media_type=media)


@router.get("/cases/{case_id}", responses={200: {"content": {"text/csv": {}}}})
async def case(
    c: Ctx,
    who: Inspector,
    case_id: Annotated[Identifier, Path()],
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """The whole timeline of a case: every event on its stream in every service, plus every
    event sharing a correlation id with it (notifications, the audit's own findings). A
    joint case (联办, `joint-…`) shows its members too: their own timelines joined in, and
    `members` (each member's case, item, tier and where it stands)."""
    members: list[dict[str, Any]] = []
    async with c.pool.acquire() as conn:
        if case_id.startswith("joint-"):
            items, members = await joint_timeline(conn, case_id)
        else:
            items = await case_timeline(conn, case_id)
        flags = await conn.fetch(
            "SELECT rule_id, flagged_at, event_id FROM anomaly_flags WHERE stream_id = $1"
            " ORDER BY flagged_at",
            case_id,
        )
    await record_query(c, who, "case", {"case": case_id}, len(items), fmt=format)
    if format == "csv":
        return Response(_csv(items), media_type="text/csv; charset=utf-8")
    return {
        "case_id": case_id,
        "events": items,
        "count": len(items),
        **({"members": members} if members else {}),
        "anomalies": [
            {
                "rule": r["rule_id"],
                "flagged_at": r["flagged_at"].isoformat(),
                "event_id": str(r["event_id"]),
            }
            for r in flags
        ],
    }


@router.get("/anomalies")
async def anomalies(
    c: Ctx,
    who: Inspector,
    rule: Annotated[Code | None, Query()] = None,
    case: Annotated[Identifier | None, Query()] = None,
    after: Annotated[int | None, Query(ge=0, le=INT64_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> dict[str, Any]:
    args: list[Any] = []
    where = []
    if rule:
        args.append(rule)
        where.append(f"rule_id = ${len(args)}")
    if case:
        args.append(case)
        where.append(f"stream_id = ${len(args)}")
    if after is not None:
        args.append(after)
        where.append(f"seq > ${len(args)}")
    args.append(limit)
    sql = (
        "SELECT seq, rule_id, stream_id, event_id, details, flagged_at FROM anomaly_flags"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY seq LIMIT ${len(args)}"
    )
    async with c.pool.acquire() as conn:
        rows = await conn.fetch(sql, *args)
    described = {k: v for k, v in {"rule": rule, "case": case}.items() if v}
    await record_query(c, who, "anomalies", described, len(rows), page_after=after)
    items = [
        {
            "seq": r["seq"],
            "rule": r["rule_id"],
            "case": r["stream_id"],
            "event_id": str(r["event_id"]),
            "details": orjson.loads(r["details"]),
            "flagged_at": r["flagged_at"].isoformat(),
        }
        for r in rows
    ]
    return {
        "items": items,
        "next_after": items[-1]["seq"] if len(items) == limit else None,
    }


@router.get("/rules")
async def rules(
    c: Ctx, _: Inspector, projector: Annotated[Projector | None, Depends(projector_of)]
) -> dict[str, Any]:
    """The anomaly rules the projector applies (the ones that raise `/anomalies`), so a flag
    can be shown with the rule's own description and severity."""
    ruleset: RuleSet = (
        projector.rules if projector is not None else load_rules(c.settings.anomaly_rules_file)
    )
    return {
        "rules": [
            {
                "id": r.id,
                "kind": r.kind,
                "description": r.description,
                "severity": r.severity,
                "enabled": r.enabled,
            }
            for r in ruleset.rules
        ]
    }
