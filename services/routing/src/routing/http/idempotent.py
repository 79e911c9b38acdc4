"""Running a POST's command under its `Idempotency-Key` (eventkit.idempotent_post, over
eventkit.idempotency).

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

from eventkit import idempotent_post
from eventkit.auth import Principal
from eventkit.idempotency import IdempotencyStore
from eventkit.loops import LoopHealth, sleep_or_stop

from ..runtime import RoutingRuntime

log = logging.getLogger("routing.idempotency")


async def run_idempotent(
    c: RoutingRuntime,
    request: Request,
    principal: Principal,
    key: str | None,
    body: BaseModel | dict[str, Any] | None,
    work: Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]],
) -> Response:
    """Routing's store and relay wake-up bound to the one helper every service's POSTs use."""
    return await idempotent_post.run_idempotent(
        IdempotencyStore(lambda: c.runtime.pool),
        service="routing",
        principal=principal,
        key=key,
        request=request,
        body=body,
        work=work,
        on_commit=c.runtime.wake_relay,
    )


async def purge_loop(
    c: RoutingRuntime, stop: asyncio.Event, health: LoopHealth, every_seconds: float = 3600
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
