"""Inspector queries over the log: filters -> one SQL statement, keyset-paged on `idx`.

Every filter maps to an indexed column of `leaves` or of `leaf_facets` (the projected item /
staff / reasons, see migrations/0002; a leaf is searchable by those a moment after it is
appended, once the projector has passed it): case (stream_id, or
everything sharing a correlation id with the case), staff (any staff id named by the event:
its actor and the payload's staff fields), office (org_id) and tier, item code, event type
(exact, or a prefix ending in ``*``), time range on occurred_at, status, and a text search
over the reasons. Pages are ordered by log index; ``after`` is the last index of the previous
page, so a page costs the same wherever it is (no OFFSET).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from ..log.leaf import search_tokens
from ..log.store import b64

MAX_LIMIT = 1000

COLUMNS = """l.idx, l.event_id, l.leaf, l.leaf_hash, l.topic, l.partition, l."offset",
    l.event_type, l.stream_id, l.correlation_id, l.occurred_at, l.actor_id, l.org_id, l.tier,
    l.status, l.reject_reason, l.appended_at, f.item_code, f.staff_ids, f.reason_text"""
FROM = "leaves l LEFT JOIN leaf_facets f ON f.idx = l.idx"

# A case's rows: its own stream, plus everything sharing a correlation id with it. A UNION of
# two index lookups (an OR with a subquery would make PostgreSQL scan the whole log).
CASE_IDS = """SELECT idx FROM leaves WHERE stream_id = {p}
    UNION
    SELECT x.idx FROM leaves x WHERE x.correlation_id IN (
        SELECT correlation_id FROM leaves WHERE stream_id = {p} AND correlation_id IS NOT NULL)"""


@dataclass(frozen=True)
class Filters:
    case: str | None = None
    correlation_id: uuid.UUID | None = None
    staff: str | None = None
    org_id: str | None = None
    tier: str | None = None
    item_code: str | None = None
    event_types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    status: str | None = None

    def described(self) -> dict[str, Any]:
        """The non-empty filters, JSON-ready (what the audit record of the query says)."""
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            if v in (None, (), []):
                continue
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, uuid.UUID):
                v = str(v)
            elif isinstance(v, tuple):
                v = list(v)
            out[k] = v
        return out


@dataclass
class Page:
    items: list[dict[str, Any]] = field(default_factory=list)
    next_after: int | None = None


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def build_where(f: Filters, args: list[Any]) -> list[str]:
    where: list[str] = []

    def arg(v: Any) -> str:
        args.append(v)
        return f"${len(args)}"

    if f.case is not None:
        # the rows come from the `case_ids` CTE (see `search`): an OR with a subquery would
        # defeat the indexes and scan the whole log. It is always parameter $1.
        assert arg(f.case) == "$1"
    if f.correlation_id is not None:
        where.append(f"l.correlation_id = {arg(f.correlation_id)}")
    if f.staff is not None:
        where.append(f"f.staff_ids @> ARRAY[{arg(f.staff)}]::text[]")
    if f.org_id is not None:
        where.append(f"l.org_id = {arg(f.org_id)}")
    if f.tier is not None:
        where.append(f"l.tier = {arg(f.tier)}")
    if f.item_code is not None:
        where.append(f"f.item_code = {arg(f.item_code)}")
    if f.event_types:
        exact = [t for t in f.event_types if not t.endswith("*")]
        prefixes = [t[:-1] for t in f.event_types if t.endswith("*")]
        ors = []
        if exact:
            ors.append(f"l.event_type = ANY({arg(exact)}::text[])")
        for pre in prefixes:
            ors.append(f"l.event_type LIKE {arg(_like_escape(pre) + '%')}")
        where.append("(" + " OR ".join(ors) + ")")
    if f.since is not None:
        where.append(f"l.occurred_at >= {arg(f.since)}")
    if f.until is not None:
        where.append(f"l.occurred_at < {arg(f.until)}")
    if f.status is not None:
        where.append(f"l.status = {arg(f.status)}")
    if f.text:
        tokens = search_tokens(f.text)
        if tokens:
            query = " & ".join(f"'{t}'" for t in tokens)
            where.append(
                "to_tsvector('simple'::regconfig, coalesce(f.reason_tokens, '')) @@ "
                f"to_tsquery('simple'::regconfig, {arg(query)})"
            )
        where.append(f"f.reason_text ILIKE {arg('%' + _like_escape(f.text) + '%')}")
    return where


def row_json(r: asyncpg.Record, with_leaf: bool = False) -> dict[str, Any]:
    leaf = bytes(r["leaf"])
    out: dict[str, Any] = {
        "index": r["idx"],
        "event_id": str(r["event_id"]) if r["event_id"] else None,
        "event_type": r["event_type"],
        "stream_id": r["stream_id"],
        "correlation_id": str(r["correlation_id"]) if r["correlation_id"] else None,
        "occurred_at": r["occurred_at"].isoformat() if r["occurred_at"] else None,
        "actor_id": r["actor_id"],
        "org_id": r["org_id"],
        "tier": r["tier"],
        "item_code": r["item_code"],
        "staff_ids": r["staff_ids"],
        "status": r["status"],
        "reject_reason": r["reject_reason"],
        "reason_text": r["reason_text"],
        "topic": r["topic"],
        "partition": r["partition"],
        "offset": r["offset"],
        "leaf_hash": b64(r["leaf_hash"]),
        "appended_at": r["appended_at"].isoformat(),
    }
    try:
        doc = orjson.loads(leaf)
    except orjson.JSONDecodeError:
        doc = None
    out["payload"] = doc.get("payload") if isinstance(doc, dict) and "payload" in doc else None
    if isinstance(doc, dict):
        out["actor"] = doc.get("actor")
    if with_leaf:
        out["leaf"] = b64(leaf)
    return out


async def search(
    conn: asyncpg.Connection,
    f: Filters,
    *,
    after: int | None = None,
    limit: int = 100,
    with_leaf: bool = False,
) -> Page:
    args: list[Any] = []
    where = build_where(f, args)
    if after is not None:
        args.append(after)
        where.append(f"l.idx > ${len(args)}")
    args.append(min(max(1, limit), MAX_LIMIT))
    source = FROM
    prefix = ""
    if f.case is not None:
        prefix = f"WITH case_ids AS ({CASE_IDS.format(p='$1')}) "
        source = (
            "case_ids JOIN leaves l ON l.idx = case_ids.idx "
            "LEFT JOIN leaf_facets f ON f.idx = l.idx"
        )
    sql = (
        f"{prefix}SELECT {COLUMNS} FROM {source}"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY l.idx LIMIT ${len(args)}"
    )
    rows = await conn.fetch(sql, *args)
    page = Page([row_json(r, with_leaf) for r in rows])
    if len(rows) == args[-1]:
        page.next_after = rows[-1]["idx"]
    return page


async def case_timeline(
    conn: asyncpg.Connection, case_id: str, limit: int = 5000
) -> list[dict[str, Any]]:
    """The case's whole trail across services and tiers, in the order things happened."""
    rows = await conn.fetch(
        f"""WITH case_ids AS ({CASE_IDS.format(p="$1")})
            SELECT {COLUMNS} FROM case_ids JOIN leaves l ON l.idx = case_ids.idx
            LEFT JOIN leaf_facets f ON f.idx = l.idx
            ORDER BY l.occurred_at NULLS LAST, l.idx
            LIMIT $2""",
        case_id,
        limit,
    )
    return [row_json(r) for r in rows]


_MEMBER_STATUS = {
    "routing.joint_member_released": "open",
    "routing.joint_member_stopped": "stopped",
}


def joint_members(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A joint case's (联办) members as its timeline shows them: each member's case id, item
    and tier as intake accepted them, and where it stands by routing's joint events
    (waiting its turn, open, approved, refused, stopped). Empty for an ordinary case."""
    members: dict[str, dict[str, Any]] = {}
    order = "parallel"
    for e in items:
        p = e.get("payload") or {}
        et = e["event_type"]
        if et == "intake.joint_application_accepted" and e["status"] == "accepted":
            order = p.get("approval_order", "parallel")
            for i, m in enumerate(p.get("members") or ()):
                members[m["case_id"]] = {
                    "case_id": m["case_id"],
                    "item_code": m.get("item_code"),
                    "item_name_zh": m.get("item_name_zh"),
                    "handling_tier": m.get("handling_tier"),
                    "status": "open" if order == "parallel" or i == 0 else "waiting",
                }
        elif et == "routing.joint_member_decided" and p.get("case_id") in members:
            decision = p.get("decision")
            members[p["case_id"]]["status"] = "approved" if decision == "approve" else "refused"
        elif et in _MEMBER_STATUS and p.get("case_id") in members:
            members[p["case_id"]]["status"] = _MEMBER_STATUS[et]
    return list(members.values())


async def joint_timeline(
    conn: asyncpg.Connection, joint_case_id: str, limit: int = 5000
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A joint case's timeline with every member's own (their streams joined in, whatever
    correlation a member's later events carry), in the order things happened; and its
    members."""
    items = await case_timeline(conn, joint_case_id, limit)
    members = joint_members(items)
    seen = {e["index"] for e in items}
    for m in members:
        for e in await case_timeline(conn, m["case_id"], limit):
            if e["index"] not in seen:
                seen.add(e["index"])
                items.append(e)
    items.sort(key=lambda e: (e["occurred_at"] is None, e["occurred_at"] or "", e["index"]))
    return items[:limit], members


CSV_FIELDS = (
    "index",
    "occurred_at",
    "event_type",
    "stream_id",
    "actor_id",
    "org_id",
    "tier",
    "item_code",
    "status",
    "reject_reason",
    "reason_text",
    "event_id",
    "correlation_id",
    "leaf_hash",
    "payload",
)
