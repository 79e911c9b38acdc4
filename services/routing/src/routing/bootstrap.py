"""Builds the routing service from settings: pool, broker, HTTP app. Connects nothing at import.

What runs in one routing process:

* the outbox relay (`runtime.enable_outbox`): every event of routing's store — the org tree
  and every case — is published to `ROUTING_TOPIC_ROUTING`;
* at start (`on_start`): the org tree is seeded when the org stream is empty
  (`ROUTING_SEED_ORG`), then loaded into memory (`org.cache.OrgCache`, caught up before
  every use);
* the intake consumer (`cases.intake_consumer`): catalog projection, routing of accepted
  cases, withdrawals, corrections supplied and bad reviews, each in its inbox transaction;
* the deadline loop (`cases.deadlines`), every `ROUTING_DEADLINE_CHECK_INTERVAL_SECONDS`, and
  the hourly Idempotency-Key purge, both supervised by the runtime (errors logged and
  retried with capped backoff, their state in `/readyz`);
* the HTTP API: the work queue and case trail, officers' commands, follow-ups, org
  administration, and the admin drill endpoint (off unless `ROUTING_DRILL_ENDPOINTS`).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from fastapi import FastAPI

from contracts.topics import INTAKE_EVENTS, owner_of
from contracts.upcasters import UPCASTERS
from eventkit.auth import TokenVerifier, install
from eventkit.clock import Clock, system_clock
from eventkit.consumer import DEFAULT_TRANSIENT_ERRORS, EventConsumer
from eventkit.envelope import Producer
from eventkit.production import refuse_unsafe_production
from eventkit.service import ServiceRuntime, create_app
from eventkit.store import ConcurrencyError

from .cases.deadlines import DeadlineChecker
from .cases.intake_consumer import IntakeHandler
from .cases.recompute import DeadlineRecomputer
from .cases.service import CaseService
from .http.admin_routes import router as admin_router
from .http.case_routes import router as case_router
from .http.errors import install_error_handlers
from .http.followup_routes import router as followup_router
from .http.idempotent import purge_loop
from .http.org_routes import router as org_router
from .http.queue_routes import router as queue_router
from .org.admin import OrgAdmin
from .org.cache import OrgCache
from .org.seeding import seed_org_if_empty
from .runtime import RoutingRuntime
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

log = logging.getLogger("routing")


def build(
    settings: Settings | None = None,
    *,
    auth: TokenVerifier | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    settings = settings or Settings()
    verifier = auth or TokenVerifier(settings.auth())
    refuse_unsafe_production(
        "routing",
        auth=verifier.settings,
        drills={
            "ROUTING_DRILL_ENDPOINTS": settings.drill_endpoints,
            "ROUTING_CLOCK_OFFSET_DAYS": bool(settings.clock_offset_days),
        },
    )
    runtime = ServiceRuntime(settings, MIGRATIONS, upcasters=UPCASTERS)
    runtime.enable_outbox(settings.topic_routing)
    app = create_app(
        runtime,
        title="Bianmin routing",
        description=(
            "Routing across the three tiers, A/B assignment, deadlines in working days, "
            "decisions, escalation, and the org tree. Bearer JWT on every call."
        ),
    )
    install(app, verifier)
    install_error_handlers(app)

    c = RoutingRuntime(
        settings=settings,
        runtime=runtime,
        clock=clock or system_clock(settings.clock_offset_days, service="routing"),
        policy=settings.policy(),
        producer=Producer(service=settings.service_name, instance=settings.instance_id),
        org=OrgCache(reader=runtime.reader),
    )
    cases = CaseService(c)
    recompute = DeadlineRecomputer(c, cases)
    deadlines = DeadlineChecker(c, cases, recompute)
    # what the routes are handed (`http.deps`), each whole before the app serves anything
    app.state.routing = c
    app.state.cases = cases
    app.state.org_admin = OrgAdmin(c)
    app.state.recompute = recompute
    app.state.deadlines = deadlines

    # Subscribers must exist before the broker starts (ServiceRuntime.start starts it).
    consumer = EventConsumer(
        runtime.broker,
        lambda: runtime.pool,
        settings.topic_intake,
        group_id=settings.consumer_group,
        name="routing.intake",
        # only intake writes intake's topic: anything else on it is dead-lettered
        producers={settings.topic_intake: owner_of(INTAKE_EVENTS)},
        handler=IntakeHandler(c, cases),
        upcasters=UPCASTERS,
        # a lost race with an officer's command on the same case is retried, not counted
        transient_errors=(*DEFAULT_TRANSIENT_ERRORS, ConcurrencyError),
        # publish what the handler appended now, not at the relay's next idle poll
        on_commit=runtime.wake_relay,
        batch=settings.consumer_batch,
        max_records=settings.consumer_max_records,
    )
    app.state.intake_consumer = consumer

    app.include_router(queue_router)
    app.include_router(case_router)
    app.include_router(followup_router)
    app.include_router(org_router)
    app.include_router(admin_router)

    async def start(rt: ServiceRuntime) -> None:
        if settings.seed_org:
            await seed_org_if_empty(c)
        async with c.pool.acquire() as conn:
            _, version = await c.org.current(conn)
        log.info("org tree loaded", extra={"org_version": version})
        c.org_ready.set()
        stop = deadlines.stop_event
        rt.supervise(consumer.health.name, consumer.watch)
        rt.supervise("deadline_loop", deadlines.run, stop)
        rt.supervise("idempotency_purge", functools.partial(purge_loop, c, stop), stop)

    async def stop(rt: ServiceRuntime) -> None:
        deadlines.stop_event.set()
        await consumer.close()

    runtime.on_start.append(start)
    runtime.on_stop.append(stop)
    return app


__all__ = ["MIGRATIONS", "build"]
