"""What the routes, the intake consumer, the deadline loop and org administration of one
routing process share: settings, the clock, the deadline policy, the producer, the org tree.

Built whole by `bootstrap.build` and never filled in later; the objects built on it
(`CaseService`, `OrgAdmin`, `DeadlineChecker`, the intake consumer) take it as a constructor
argument and the routes get them as FastAPI dependencies (`http.deps`), so this module
imports none of them. The pool and the store exist only after the runtime has started, so
they are read through properties that answer 503 before that.

Named `<Service>Runtime` in `<service>/runtime.py` alike in all four services: it is
eventkit's `ServiceRuntime` (pool, broker, event store: what every service has, held as
`.runtime`) plus what this service adds. Not "context": that is a decider's input
(`IntakeContext`, `CaseContext`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg
from fastapi import HTTPException

from eventkit.clock import Clock
from eventkit.envelope import Actor, Producer
from eventkit.service import ServiceRuntime
from eventkit.store import PostgresEventStore

from .domain.policy import DeadlinePolicy
from .org.cache import OrgCache
from .settings import Settings

SYSTEM_ACTOR = Actor(id="routing", role="system")
"""Who routing's own commands name: routing an acceptance, recording intake's facts, the
deadline loop. A person is named whenever a person acted (decisions, reassignments, drills)."""


@dataclass(frozen=True)
class RoutingRuntime:
    settings: Settings
    runtime: ServiceRuntime
    clock: Clock
    policy: DeadlinePolicy
    producer: Producer
    org: OrgCache
    org_ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set by the start hook once the org tree is loaded; the consumer and the loop wait."""

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
