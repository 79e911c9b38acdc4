"""What the routes, the intake consumer and the deadline loop of one routing process share.

Built once by `bootstrap.build`; the pool and the store exist only after the runtime has
started, so they are read through properties that answer 503 before that.

Named `<Service>Runtime` in `<service>/runtime.py` alike in all four services: it is
eventkit's `ServiceRuntime` (pool, broker, event store: what every service has, held as
`.runtime`) plus what this service adds. Not "context": that is a decider's input
(`IntakeContext`, `CaseContext`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncpg
from fastapi import HTTPException, Request

from eventkit.envelope import Actor, Producer
from eventkit.store import PostgresEventStore

from .clock import Clock
from .domain.policy import DeadlinePolicy
from .org.cache import OrgCache
from .settings import Settings

if TYPE_CHECKING:
    from eventkit.consumer import EventConsumer
    from eventkit.service import ServiceRuntime

    from .cases.deadlines import DeadlineChecker
    from .cases.service import CaseService
    from .org.admin import OrgAdmin

SYSTEM_ACTOR = Actor(id="routing", role="system")
"""Who routing's own commands name: routing an acceptance, recording intake's facts, the
deadline loop. A person is named whenever a person acted (decisions, reassignments, drills)."""


@dataclass
class RoutingRuntime:
    settings: Settings
    runtime: ServiceRuntime
    clock: Clock
    policy: DeadlinePolicy
    producer: Producer
    org: OrgCache = field(default_factory=OrgCache)
    org_ready: asyncio.Event = field(default_factory=asyncio.Event)
    cases: CaseService | None = None
    org_admin: OrgAdmin | None = None
    deadlines: DeadlineChecker | None = None
    consumer: EventConsumer | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self.runtime.pool is None:
            raise HTTPException(503, detail={"reason": "routing is starting"})
        return self.runtime.pool

    @property
    def store(self) -> PostgresEventStore:
        if self.runtime.store is None:
            raise HTTPException(503, detail={"reason": "routing is starting"})
        return self.runtime.store

    def notify_appended(self) -> None:
        """Wake the outbox relay after a commit made on our own connection."""
        if self.runtime.store is not None:
            self.runtime.store.notify_appended()


async def ctx(request: Request) -> RoutingRuntime:
    """Async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread
    hop on every request (~10 % of routing's CPU under load, bench/PIPELINE.md)."""
    return request.app.state.routing  # type: ignore[no-any-return]
