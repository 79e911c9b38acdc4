"""Builds the notify service from settings: pool, broker, consumer, dispatcher, HTTP app.

Connects nothing at import. What runs once the runtime has started:

* the consumer (`notify.intents` inbox name, group `NOTIFY_CONSUMER_GROUP`) on the intake
  and routing topics: directory + delivery intents, exactly once per event;
* the dispatcher (unless `NOTIFY_RUN_DISPATCHER=false` or delivery is disabled): sends what
  is due, records outcomes; supervised by the runtime (errors logged, retried with capped
  backoff, its state in `/readyz`);
* the outbox relay publishing notify's events (`notify.delivered`, `.delivery_failed`,
  `.delivery_deferred`) to `NOTIFY_TOPIC_NOTIFY`.

Tests inject a clock (`clock=`), channel senders (`senders=`) or a crash hook
(`after_send=`); everything else comes from `Settings`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

import contracts.intake
import contracts.notify
import contracts.routing  # noqa: F401  (registers the event models notify reads)
from contracts.personal_data import DEV_CONTACT_SECRET
from contracts.topics import INTAKE_EVENTS, ROUTING_EVENTS, owner_of
from contracts.upcasters import UPCASTERS
from eventkit.auth import AuthSettings, TokenVerifier, install
from eventkit.clock import Clock, system_clock
from eventkit.envelope import Producer
from eventkit.production import refuse_unsafe_production
from eventkit.service import ServiceRuntime, create_app

from .channels import FileSmsGateway, Sender, SmsGateway, SmsSender, SmtpSender, WebhookSender
from .delivery.dispatcher import AfterSend, Dispatcher
from .delivery.events import NotifyEvents
from .delivery.intents import IntentRecorder
from .delivery.replay import ReplayAwareConsumer
from .directory.contacts import IntakeContacts
from .domain import ChannelSetup, parse_quiet_hours
from .runtime import NotifyRuntime
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
INBOX_NAME = "notify.intents"

log = logging.getLogger("notify")


def channel_setup(settings: Settings, sms_gateway: SmsGateway | None) -> ChannelSetup:
    return ChannelSetup(
        email=settings.smtp_host is not None,
        sms=sms_gateway is not None or settings.sms_gateway != "none",
        resident_webhook=settings.resident_webhook_url,
        staff_webhook=settings.staff_webhook_url,
        sms_signature=settings.sms_signature,
    )


def build_senders(settings: Settings, sms_gateway: SmsGateway | None) -> dict[str, Sender]:
    senders: dict[str, Sender] = {}
    if settings.smtp_host:
        senders["email"] = SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.smtp_from,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            timeout=settings.smtp_timeout_seconds,
        )
    if settings.webhook_secret is not None:
        senders["webhook"] = WebhookSender(
            settings.webhook_secret.get_secret_value().encode(),
            timeout=settings.webhook_timeout_seconds,
        )
    gateway = sms_gateway
    if gateway is None and settings.sms_gateway == "file":
        gateway = FileSmsGateway(settings.sms_file)
    if gateway is not None:
        senders["sms"] = SmsSender(gateway)
    return senders


def build(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    auth: TokenVerifier | None = None,
    sms_gateway: SmsGateway | None = None,
    senders: Mapping[str, Sender] | None = None,
    after_send: AfterSend | None = None,
    intake_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """`intake_transport`: how to reach intake's API for contacts (tests running the
    services in one process give intake's app; default: over HTTP to NOTIFY_INTAKE_URL)."""
    settings = settings or Settings()
    verifier = auth or TokenVerifier(AuthSettings())
    refuse_unsafe_production(
        "notify",
        secrets={
            "NOTIFY_VERIFICATION_SECRET": settings.verification_secret,
            "NOTIFY_INTAKE_CONTACT_SECRET": None
            if settings.intake_contact_secret is None
            or settings.intake_contact_secret.get_secret_value() == DEV_CONTACT_SECRET
            else settings.intake_contact_secret,
        },
        auth=verifier.settings,
    )
    runtime = ServiceRuntime(settings, MIGRATIONS, upcasters=UPCASTERS)
    runtime.enable_outbox(settings.topic_notify)
    app = create_app(
        runtime,
        title="Bianmin notify",
        description="Tells residents and staff what happened, exactly once per event and channel.",
    )
    install(app, verifier)
    ctx = NotifyRuntime(
        settings=settings,
        runtime=runtime,
        clock=clock or system_clock(service="notify"),
        setup=channel_setup(settings, sms_gateway),
        quiet=parse_quiet_hours(settings.quiet_hours, ZoneInfo(settings.timezone)),
        events=NotifyEvents(
            lambda: runtime.store,
            Producer(service=settings.service_name, instance=settings.instance_id),
        ),
        contacts=IntakeContacts(
            settings.intake_url,
            (
                settings.intake_contact_secret.get_secret_value()
                if settings.intake_contact_secret is not None
                else DEV_CONTACT_SECRET
            ).encode(),
            settings.intake_timeout_seconds,
            transport=intake_transport,
            cache_seconds=settings.contact_cache_seconds,
        ),
    )
    app.state.notify = ctx
    recorder = IntentRecorder(ctx)
    # Subscribers must exist before the broker starts (runtime.start); the pool is created
    # there too, hence the callable.
    consumer = ReplayAwareConsumer(
        runtime.broker,
        lambda: runtime.pool,
        [settings.topic_intake, settings.topic_routing],
        group_id=settings.consumer_group,
        name=INBOX_NAME,
        handler=recorder.handle,
        # each topic has one producer: anything else on it is dead-lettered
        producers={
            settings.topic_intake: owner_of(INTAKE_EVENTS),
            settings.topic_routing: owner_of(ROUTING_EVENTS),
        },
        upcasters=UPCASTERS,
        batch=settings.consumer_batch,
        max_records=settings.consumer_max_records,
    )
    active = dict(senders) if senders is not None else build_senders(settings, sms_gateway)
    dispatcher: Dispatcher | None = None
    if settings.run_dispatcher and settings.delivery_enabled:
        dispatcher = Dispatcher(ctx, active, pool=lambda: runtime.pool, after_send=after_send)
    # each whole before the app serves anything
    app.state.intents_consumer = consumer
    app.state.senders = active
    app.state.dispatcher = dispatcher
    stop = asyncio.Event()
    running: dict[str, asyncio.Task[None]] = {}

    async def start(rt: ServiceRuntime) -> None:
        stop.clear()
        rt.supervise(consumer.health.name, consumer.watch)
        if dispatcher is not None:
            rt.supervise("dispatcher", functools.partial(dispatcher.session, stop=stop), stop)
            running["dispatcher"] = rt.background[-1]
        elif not settings.delivery_enabled:
            log.warning("NOTIFY_DELIVERY_ENABLED=false: deliveries are recorded, never sent")

    async def shutdown(rt: ServiceRuntime) -> None:
        stop.set()
        task = running.get("dispatcher")
        if task is not None:
            await asyncio.wait([task], timeout=15)
        for sender in active.values():
            await sender.close()
        await consumer.close()
        await ctx.contacts.close()

    runtime.on_start.append(start)
    runtime.on_stop.append(shutdown)

    from .http.deliveries_routes import router as deliveries_router

    app.include_router(deliveries_router)
    return app


__all__ = ["INBOX_NAME", "MIGRATIONS", "build"]
