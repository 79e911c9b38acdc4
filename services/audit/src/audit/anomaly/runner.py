"""Runs the anomaly rules against PostgreSQL and raises `audit.anomaly_flagged`.

A case is evaluated once it has been quiet for the grace period (events of one case arrive
on several topics; the grace lets the ones still in flight land first), and again when a
time-based rule asked for it (`next_check_at`, plus the same grace). A finding is recorded
at most once per rule and case (UNIQUE (rule_id, stream_id)), and in the same transaction the
`audit.anomaly_flagged` event is appended to the audit service's own event store (the
outbox), so flag and event exist together or not at all. The relay publishes it to
`audit.events`, and the appender logs it like any other event: findings are themselves in
the verifiable log, on the case's stream (they show in the case timeline).

Payload of audit.anomaly_flagged (schema_version 1)::

    {"rule_id", "rule_kind", "severity", "description", "case_id",
     "evidence": [{"index", "event_id", "event_type"}], "details": {...}}
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from contracts.decisions import StaffPost
from eventkit.clock import Clock, system_clock
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.store import PostgresEventStore

from ..decoding import read_leaf
from ..runtime import append_in_transaction
from .engine import CaseEvent, Evaluation, evaluate, in_force
from .rules import ConflictOfInterest, DecisionRight, RuleSet, StandardMismatch

log = logging.getLogger("audit.anomaly")

EVENT_TYPE = "audit.anomaly_flagged"
AUDIT_ACTOR = Actor(id="audit", role="system")


class DbContext:
    """Catalog versions, staff identities and staff posts prefetched for one case."""

    def __init__(
        self,
        catalog: Mapping[str, list[Mapping[str, Any]]],
        staff: Mapping[str, Mapping[str, str]],
        rules: RuleSet,
        posts: Mapping[str, StaffPost] | None = None,
    ) -> None:
        self._catalog = catalog
        self._staff = staff
        self._posts = posts or {}
        self._src = rules.catalog

    def catalog_in_force(self, code: str, at: datetime) -> Mapping[str, Any] | None:
        return in_force(
            self._catalog.get(code, []), at, self._src.effective_from_field, self._src.version_field
        )

    def staff_identity(self, staff_id: str) -> Mapping[str, str]:
        return self._staff.get(staff_id, {})

    def staff_post(self, staff_id: str) -> StaffPost | None:
        return self._posts.get(staff_id)


async def load_case(
    conn: asyncpg.Connection, stream_id: str, audit_types: Sequence[str] = ()
) -> list[tuple[CaseEvent, Any]]:
    """The stream's events from the log; of the audit's own events only `audit_types` (the
    ones a rule reads, e.g. a situation report's: never the anomaly flags themselves)."""
    rows = await conn.fetch(
        """SELECT l.idx, l.event_id, l.event_type, l.occurred_at, l.actor_id, l.leaf,
                  l.correlation_id, l.topic, p.keyed
           FROM leaves l LEFT JOIN personal_data p ON p.idx = l.idx
           WHERE l.stream_id = $1 AND l.status = 'accepted'
             AND (l.event_type NOT LIKE 'audit.%' OR l.event_type = ANY($2::text[]))
           ORDER BY l.idx""",
        stream_id,
        [t for t in audit_types if t != EVENT_TYPE],
    )
    out = []
    for r in rows:
        doc = read_leaf(r["leaf"])
        keyed = orjson.loads(r["keyed"]) if r["keyed"] else {}
        out.append(
            (
                CaseEvent(
                    idx=r["idx"],
                    event_type=r["event_type"],
                    occurred_at=r["occurred_at"],
                    payload=doc.get("payload") or {},
                    event_id=str(r["event_id"]),
                    actor_id=r["actor_id"],
                    keyed=keyed or {},
                    topic=r["topic"],
                    producer=(doc.get("producer") or {}).get("service"),
                ),
                r["correlation_id"],
            )
        )
    return out


async def _context(
    conn: asyncpg.Connection, rules: RuleSet, events: Sequence[CaseEvent]
) -> DbContext:
    codes: set[str] = set()
    staff: set[str] = set()
    deciders: set[str] = set()
    for rule in rules.enabled():
        for e in events:
            if isinstance(rule, DecisionRight) and e.event_type in rule.event_types:
                v = e.payload.get(rule.actor_field)
                if isinstance(v, str):
                    deciders.add(v)
            if isinstance(rule, StandardMismatch) and e.event_type in rule.event_types:
                v = e.payload.get(rule.item_field)
                if isinstance(v, str):
                    codes.add(v)
            if isinstance(rule, ConflictOfInterest):
                for sf in rule.staff_fields:
                    v = e.payload.get(sf.field) if e.event_type == sf.event_type else None
                    if isinstance(v, str):
                        staff.add(v)
    catalog: dict[str, list[Mapping[str, Any]]] = {}
    if codes:
        for r in await conn.fetch(
            "SELECT code, item, retired_from FROM catalog_items WHERE code = ANY($1)", list(codes)
        ):
            catalog.setdefault(r["code"], []).append(orjson.loads(r["item"]))
    idents: dict[str, Mapping[str, str]] = {}
    if staff:
        for r in await conn.fetch(
            "SELECT staff_id, keyed FROM staff_identity WHERE staff_id = ANY($1)", list(staff)
        ):
            idents[r["staff_id"]] = orjson.loads(r["keyed"])
    return DbContext(catalog, idents, rules, await staff_posts(conn, deciders))


async def staff_posts(conn: asyncpg.Connection, staff_ids: set[str]) -> dict[str, StaffPost]:
    """Unit and roles of these staff members, from their routing.staff_registered leaves
    (found through the staff facets; a later registration of the same id wins)."""
    if not staff_ids:
        return {}
    rows = await conn.fetch(
        """SELECT l.leaf FROM leaves l JOIN leaf_facets f ON f.idx = l.idx
           WHERE l.event_type = 'routing.staff_registered' AND l.status = 'accepted'
             AND f.staff_ids && $1::text[]
           ORDER BY l.idx""",
        sorted(staff_ids),
    )
    posts: dict[str, StaffPost] = {}
    for r in rows:
        p = read_leaf(r["leaf"]).get("payload") or {}
        sid, unit, roles = p.get("staff_id"), p.get("unit_id"), p.get("roles")
        if sid in staff_ids and isinstance(unit, str) and isinstance(roles, list):
            posts[sid] = StaffPost(unit_id=unit, roles=frozenset(map(str, roles)))
    return posts


class AnomalyRunner:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: PostgresEventStore,
        rules: RuleSet,
        *,
        grace_seconds: float,
        instance: str,
        clock: Clock | None = None,
    ) -> None:
        self.pool = pool
        # the projector passes the service's clock; a runner built alone reads the wall clock
        self.clock = clock or system_clock(service="audit")
        self.store = store
        self.rules = rules
        self.grace = timedelta(seconds=grace_seconds)
        self.instance = instance
        self.flagged = 0

    async def evaluate_case(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        dirty_since: datetime | None,
        now: datetime,
    ) -> list[str]:
        audit_types = sorted(t for t in self.rules.event_types() if t.startswith("audit."))
        loaded = await load_case(conn, stream_id, audit_types)
        events = [e for e, _ in loaded]
        correlation = {e.idx: c for e, c in loaded}
        ctx = await _context(conn, self.rules, events)
        # the rules judge the case as of `now - grace`, the moment up to which its events are
        # taken to have landed: a due time counts as passed only a grace after it, so an event
        # stamped just before it, or the service's own marker at it (routing.case_overdue,
        # audit.situation_report_late), is seen first
        ev: Evaluation = evaluate(self.rules.enabled(), events, ctx, now - self.grace)
        by_idx = {e.idx: e for e in events}
        raised: list[str] = []
        async with conn.transaction():
            for f in ev.findings:
                trigger = by_idx[f.evidence[-1]] if f.evidence else None
                if trigger is None:
                    continue
                extra: dict[str, Any] = {"causation_id": trigger.event_id}
                if correlation.get(trigger.idx) is not None:
                    extra["correlation_id"] = uuid.UUID(str(correlation[trigger.idx]))
                env = Envelope(
                    event_type=EVENT_TYPE,
                    stream_id=stream_id,
                    occurred_at=now,
                    producer=Producer(service="audit", instance=self.instance),
                    actor=AUDIT_ACTOR,
                    **extra,
                    payload={
                        "rule_id": f.rule_id,
                        "rule_kind": f.kind,
                        "severity": f.severity,
                        "description": f.description,
                        "case_id": stream_id,
                        "evidence": [
                            {
                                "index": i,
                                "event_id": by_idx[i].event_id,
                                "event_type": by_idx[i].event_type,
                            }
                            for i in f.evidence
                        ],
                        "details": _jsonable(f.details),
                    },
                )
                seq = await conn.fetchval(
                    """INSERT INTO anomaly_flags (rule_id, stream_id, event_id, details)
                       VALUES ($1, $2, $3, $4) ON CONFLICT (rule_id, stream_id) DO NOTHING
                       RETURNING seq""",
                    f.rule_id,
                    stream_id,
                    env.event_id,
                    orjson.dumps(env.payload).decode(),
                )
                if seq is None:
                    continue  # flagged before: at most once per rule and case
                await append_in_transaction(self.store, conn, stream_id, [env])
                raised.append(f.rule_id)
            await conn.execute(
                """UPDATE anomaly_cases
                   SET dirty_since = CASE WHEN dirty_since IS NOT DISTINCT FROM $2
                                          THEN NULL ELSE dirty_since END,
                       next_check_at = $3
                   WHERE stream_id = $1""",
                stream_id,
                dirty_since,
                None if ev.next_check_at is None else ev.next_check_at + self.grace,
            )
        if raised:
            self.store.notify_appended()
            self.flagged += len(raised)
            log.warning("anomalies flagged", extra={"case": stream_id, "rules": raised})
        return raised

    async def sweep(self, now: datetime | None = None, limit: int = 200) -> int:
        """Evaluate the cases that are due; returns how many cases were evaluated."""
        now = now or self.clock()
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT stream_id, dirty_since FROM anomaly_cases
                   WHERE dirty_since <= $1 OR next_check_at <= $2
                   ORDER BY coalesce(dirty_since, next_check_at) LIMIT $3""",
                now - self.grace,
                now,
                limit,
            )
            for r in rows:
                try:
                    await self.evaluate_case(conn, r["stream_id"], r["dirty_since"], now)
                except Exception:  # one odd case must not stop the others: retry it later
                    log.exception("anomaly evaluation failed", extra={"case": r["stream_id"]})
                    await conn.execute(
                        """UPDATE anomaly_cases SET dirty_since = NULL,
                                  next_check_at = $2::timestamptz + interval '10 minutes'
                           WHERE stream_id = $1""",
                        r["stream_id"],
                        now,
                    )
        return len(rows)

    async def run(self, interval: float) -> None:
        while True:
            try:
                while await self.sweep() >= 200:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("anomaly sweep failed; will retry")
            await asyncio.sleep(interval)


def _jsonable(v: Any) -> Any:
    """JSON without floats (canonical leaves reject them): floats become strings."""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, str | int | bool) or v is None:
        return v
    return str(v)
