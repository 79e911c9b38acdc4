"""Every inspector query is itself audited: `audit.inspector_query_recorded`.

Written through the audit service's own event store (eventkit `PostgresEventStore`, the
outbox), on the stream ``inspector-<sub>``; the outbox relay publishes it to `audit.events`
and the appender brings it back into the log, where it is as tamper-evident as any case
event. The record is written BEFORE the results are returned: if it cannot be written, the
query fails (503) — no unaudited look at the trail.

Payload (schema_version 1)::

    {"inspector": sub, "role": ..., "org_id": ..., "tier": ...,
     "query": "<route name>", "filters": {...non-empty filters...},
     "result_count": n, "page_after": idx|null, "format": "json"|"csv"|"jsonl"}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import HTTPException

from eventkit.auth import Principal
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.limits import EventTooLarge

from ..runtime import AuditRuntime

log = logging.getLogger("audit.inspector")

EVENT_TYPE = "audit.inspector_query_recorded"


async def record_query(
    c: AuditRuntime,
    who: Principal,
    query: str,
    filters: dict[str, Any],
    result_count: int | None,
    *,
    page_after: int | None = None,
    fmt: str = "json",
) -> Envelope:
    env = Envelope(
        event_type=EVENT_TYPE,
        stream_id=f"inspector-{who.sub}",
        occurred_at=c.clock(),
        producer=Producer(service="audit", instance=c.settings.instance_id),
        actor=Actor(id=who.sub, role=who.role, org_id=who.org_id),
        org_id=who.org_id,
        tier=who.tier,
        payload={
            "inspector": who.sub,
            "role": who.role,
            "org_id": who.org_id,
            "tier": who.tier,
            "query": query,
            "filters": filters,
            "result_count": result_count,
            "page_after": page_after,
            "format": fmt,
        },
    )
    events = c.events
    try:
        await events.append(env.stream_id, None, [env])
    except EventTooLarge:
        raise  # the query itself is too large to record: the caller's 413, not our 503
    except Exception as exc:
        log.exception("could not record an inspector query")
        raise HTTPException(
            503, detail={"reason": "the query could not be recorded; no results are returned"}
        ) from exc
    return env
