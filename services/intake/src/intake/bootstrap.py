"""Builds the intake service from settings: pool, broker, HTTP app. Connects nothing at import.

What runs in an intake process:

- the HTTP API (`intake.http.*`, OpenAPI at /docs), bearer JWT via `eventkit.auth`;
- the document store (`intake.documents.store`: intake's PostgreSQL; `documents.s3` when
  `INTAKE_DOCUMENT_STORE=s3`) behind the upload and
  download routes (`http.documents_routes`), whose upload body is streamed past `EdgeGuard`;
- the outbox relay publishing intake's event store to `INTAKE_TOPIC_INTAKE`;
- the routing consumer (`EventConsumer` on `INTAKE_TOPIC_ROUTING`): centers, case progress,
  decisions, correction requests, returned results and published holiday schedules (the
  open receipts revised), each in its inbox transaction;
- at start, the catalog seed if the catalog stream is empty (`INTAKE_SEED_CATALOG`);
- a periodic purge of expired Idempotency-Keys, supervised by the runtime (errors logged and
  retried with capped backoff, its state in `/readyz`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from contracts.topics import ROUTING_EVENTS, owner_of
from contracts.upcasters import UPCASTERS
from eventkit.auth import TokenVerifier, install
from eventkit.clock import Clock, system_clock
from eventkit.consumer import DEFAULT_TRANSIENT_ERRORS, EventConsumer
from eventkit.envelope import Producer
from eventkit.idempotency import IdempotencyStore
from eventkit.loops import LoopHealth
from eventkit.production import refuse_unsafe_production
from eventkit.service import ServiceRuntime, create_app
from eventkit.store import ConcurrencyError

from .catalog_view import CatalogView
from .consumers.routing_events import CONSUMER_NAME, RoutingEventsHandler
from .documents.s3 import S3DocumentStore
from .documents.store import DocumentStore, PostgresDocumentStore
from .holiday_calendar import CalendarView
from .http import (
    case_routes,
    catalog_routes,
    centers_routes,
    contact_routes,
    documents_routes,
    erasure_routes,
    joint_routes,
    read_routes,
    status_routes,
    submit_routes,
)
from .http.access import resident_subject
from .http.errors import install_error_handlers
from .personal_data import SubjectKeys
from .runtime import IntakeRuntime
from .seeding import seed_catalog_if_empty
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

log = logging.getLogger("intake")


def build(
    settings: Settings | None = None,
    *,
    auth: TokenVerifier | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    settings = settings or Settings()
    verifier = auth or TokenVerifier(settings.auth())
    refuse_unsafe_production(
        "intake",
        secrets={
            "INTAKE_VERIFICATION_SECRET": settings.configured_secret(),
            **settings.configured_personal_data_keys(),
        },
        auth=verifier.settings,
        drills={"INTAKE_CLOCK_OFFSET_DAYS": bool(settings.clock_offset_days)},
    )
    runtime = ServiceRuntime(settings, MIGRATIONS, upcasters=UPCASTERS)
    runtime.enable_outbox(settings.topic_intake)
    app = create_app(
        runtime,
        title="Bianmin intake",
        description=(
            "Applications, the service catalog, receipts and the resident status view.\n\n"
            "Authentication: `Authorization: Bearer <JWT>` (roles resident, community_agent, "
            "officer, center_head, inspector, admin). The catalog, the centers and the "
            "resident status view are public. Every POST takes an optional `Idempotency-Key`."
        ),
        streamed_paths=(documents_routes.UPLOAD_PATH,),
    )
    install(app, verifier)
    install_error_handlers(app)

    core = IntakeRuntime(
        settings=settings,
        runtime=runtime,
        clock=clock or system_clock(settings.clock_offset_days, service="intake"),
        secret=settings.secret(),
        catalog=CatalogView(runtime.reader),
        idempotency=IdempotencyStore(lambda: runtime.pool),
        producer=Producer(service=settings.service_name, instance=settings.instance_id),
        calendar=CalendarView(),
        documents=_document_store(settings, runtime),
        subjects=SubjectKeys(settings.key_manager(), settings.lookup_key()),
    )
    app.state.intake = core
    app.state.principal_hook = functools.partial(resident_subject, core)

    for module in (
        catalog_routes,
        centers_routes,
        contact_routes,
        submit_routes,
        joint_routes,
        case_routes,
        documents_routes,
        erasure_routes,
        read_routes,
        status_routes,
    ):
        app.include_router(module.router)

    # Subscribers must exist before the broker starts (ServiceRuntime.start).
    consumer = EventConsumer(
        runtime.broker,
        lambda: runtime.pool,
        settings.topic_routing,
        group_id=settings.consumer_group,
        name=CONSUMER_NAME,
        # only routing writes routing's topic: anything else on it is dead-lettered
        producers={settings.topic_routing: owner_of(ROUTING_EVENTS)},
        handler=RoutingEventsHandler(core),
        upcasters=UPCASTERS,
        # A command racing an HTTP command on the same case: retry, never dead-letter.
        transient_errors=(*DEFAULT_TRANSIENT_ERRORS, ConcurrencyError),
        # publish what the handler appended now, not at the relay's next idle poll
        on_commit=runtime.wake_relay,
        batch=settings.consumer_batch,
        max_records=settings.consumer_max_records,
    )
    app.state.routing_consumer = consumer
    purge: list[asyncio.Task[None]] = []

    async def start(rt: ServiceRuntime) -> None:
        if settings.seed_catalog:
            await seed_catalog_if_empty(core)
        rt.supervise(consumer.health.name, consumer.watch)
        rt.supervise("idempotency_purge", functools.partial(_purge_keys, core))
        purge.append(rt.background[-1])

    async def stop(rt: ServiceRuntime) -> None:
        for task in purge:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # The DLQ producer must outlive the subscriber: stop the broker first, then close it.
        if rt.broker_started:
            await rt.broker.stop()
            rt.broker_started = False
        await consumer.close()

    runtime.on_start.append(start)
    runtime.on_stop.append(stop)
    return app


def _document_store(settings: Settings, runtime: ServiceRuntime) -> DocumentStore:
    """PostgreSQL by default; S3-compatible storage when configured (its client opened and
    closed with the runtime)."""
    if settings.document_store == "postgres":
        return PostgresDocumentStore(lambda: runtime.pool)
    secret = settings.s3_secret_access_key
    store = S3DocumentStore(
        lambda: runtime.pool,
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
    )

    async def start(_: ServiceRuntime) -> None:
        await store.start()

    async def stop(_: ServiceRuntime) -> None:
        await store.close()

    runtime.on_start.append(start)
    runtime.on_stop.append(stop)
    return store


async def _purge_keys(core: IntakeRuntime, health: LoopHealth) -> None:
    """Forget expired Idempotency-Keys, hourly (a loop body: the runtime supervises it, an
    error is logged and retried with capped backoff, never taking the service down)."""
    ttl = timedelta(hours=core.settings.idempotency_ttl_hours)
    while True:
        purged = await core.idempotency.purge(ttl)
        health.running()
        if purged:
            log.info("idempotency keys purged", extra={"purged": purged})
        await asyncio.sleep(3600)
