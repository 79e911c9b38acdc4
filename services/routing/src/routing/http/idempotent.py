"""Running a POST's command under its `Idempotency-Key` (eventkit.idempotency).

The command, its read models and the stored response commit in one transaction: a retried
POST returns the first response byte for byte and appends nothing; the same key with a
different body is a 422. Keys are scoped to the caller (`routing:<sub>`), since they are
the client's, and forgotten after `ROUTING_IDEMPOTENCY_TTL_HOURS` (`purge_loop`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from eventkit.auth import Principal
from eventkit.idempotency import IdempotencyStore, request_fingerprint
from eventkit.loops import LoopHealth, sleep_or_stop

from ..context import RoutingContext

log = logging.getLogger("routing.idempotency")


async def run_idempotent(
    c: RoutingContext,
    request: Request,
    principal: Principal,
    key: str | None,
    body: BaseModel | dict[str, Any] | None,
    work: Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]],
) -> Response:
    dumped = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    store = IdempotencyStore(lambda: c.runtime.pool)
    result = await store.run(
        scope=f"routing:{principal.sub}",
        key=key,
        request_hash=request_fingerprint(request.method, request.url.path, dumped),
        work=work,
        on_commit=c.notify_appended,
    )
    return result.response()


async def purge_loop(
    c: RoutingContext, stop: asyncio.Event, health: LoopHealth, every_seconds: float = 3600
) -> None:
    """Forget Idempotency-Keys older than `ROUTING_IDEMPOTENCY_TTL_HOURS`, hourly (a loop
    body: the runtime supervises it, an error is logged and retried with capped backoff)."""
    store = IdempotencyStore(lambda: c.runtime.pool)
    ttl = timedelta(hours=c.settings.idempotency_ttl_hours)
    while not stop.is_set():
        purged = await store.purge(ttl)
        health.running()
        if purged:
            log.info("idempotency keys purged", extra={"purged": purged})
        await sleep_or_stop(stop, every_seconds)
