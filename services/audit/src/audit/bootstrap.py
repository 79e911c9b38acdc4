"""Builds the audit service from settings: pool, broker, HTTP app. Connects nothing at import.

Background loops, built here and started with the runtime (`runtime.on_start`), supervised by it
(`eventkit.loops.supervise`: errors logged and retried with capped backoff, each loop's state
in `/readyz`), only when ``AUDIT_RUN_WRITER`` is true (the default):

* the appender (`audit.log.appender`) — it waits for the writer lease, so any number of
  instances may run it and exactly one appends;
* the checkpointer (needs ``AUDIT_SIGNING_KEY``/``_FILE``; without a key it is off and a
  warning is logged);
* the projector (inspector-facing read models, anomaly rules, transparency figures), fed
  from the leaves table in log order;
* the situation-report scheduler (`audit.sitreport.service`, leader only; off with
  ``AUDIT_SITREPORT_ENABLED=false``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from contracts.upcasters import UPCASTERS
from eventkit.auth import AuthSettings, TokenVerifier, install
from eventkit.clock import Clock, system_clock
from eventkit.loops import LoopHealth
from eventkit.production import refuse_unsafe_production
from eventkit.service import ServiceRuntime, create_app

from .board_cache import BoardCache
from .http.admin_routes import router as admin_router
from .http.board_routes import router as board_router
from .http.board_staff_routes import router as board_staff_router
from .http.inspector_routes import router as inspector_router
from .http.key_routes import router as key_router
from .http.log_routes import router as log_router
from .http.pacing import Pacer
from .http.sitreport_routes import router as sitreport_router
from .log.append import AppendOutcome, BeforeCommit, OnHalt
from .log.appender import Appender
from .log.checkpoint import Checkpointer
from .log.gaps import Halt
from .log.publish import open_published
from .log.roles import grant_runtime_role, rewrite_powers
from .projector import Projector
from .runtime import AuditRuntime, load_keys, make_builder
from .settings import Settings
from .sitreport.service import Scheduler

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

LoopBody = Callable[[LoopHealth], Awaitable[None]]

log = logging.getLogger("audit")


def build(
    settings: Settings | None = None,
    *,
    auth: TokenVerifier | None = None,
    before_commit: BeforeCommit | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    settings = settings or Settings()
    tokens = auth or TokenVerifier(AuthSettings())
    refuse_unsafe_production(
        "audit",
        secrets={
            # the writer signs checkpoints; a read-only replica needs the log's verifier key
            **(
                {"AUDIT_SIGNING_KEY (or AUDIT_SIGNING_KEY_FILE)": settings.signer_key()}
                if settings.run_writer
                else {"AUDIT_VERIFIER_KEY": settings.verifier_key}
            ),
            "AUDIT_PERSONAL_HMAC_KEY": settings.personal_hmac_key,
        },
        auth=tokens.settings,
    )
    runtime = ServiceRuntime(settings, MIGRATIONS, upcasters=UPCASTERS)
    runtime.on_migrated.append(grant_runtime_role)
    if settings.outbox_topic:
        runtime.enable_outbox(settings.outbox_topic)
    app = create_app(
        runtime,
        title="Bianmin audit",
        description="The sunshine audit log: verifiable Merkle log, inspector queries, anomalies.",
    )
    install(app, tokens)
    signer, verifier, witnesses = load_keys(settings)
    c = AuditRuntime(
        settings=settings,
        runtime=runtime,
        signer=signer,
        verifier=verifier,
        witness_verifiers=witnesses,
        builder=make_builder(settings),
        clock=clock or system_clock(service="audit"),
        board_cache=BoardCache(),
        published=open_published(settings.checkpoint_store) if settings.checkpoint_store else None,
    )
    # the writer's loops (started with the runtime), built whole here
    appender: Appender | None = None
    checkpointer: Checkpointer | None = None
    projector: Projector | None = None
    if settings.run_writer:
        appender = Appender(
            dsn=settings.database_url,
            schema=settings.database_schema,
            bootstrap=settings.kafka().bootstrap_servers,
            topics=settings.topic_list(),
            builder=c.builder,
            max_batch=settings.append_max_batch,
            poll_ms=settings.append_poll_ms,
            linger_ms=settings.append_linger_ms,
            linger_min_rate=settings.append_linger_min_rate,
            lease_retry_seconds=settings.lease_retry_seconds,
            before_commit=before_commit,
            on_halt=_flag_halt(c),
            discovery_seconds=settings.append_discovery_seconds,
            security=settings.kafka().security,
        )
        if signer is not None:
            checkpointer = Checkpointer(
                lambda: runtime.pool,
                signer,
                settings.log_origin,
                settings.checkpoint_every,
                settings.checkpoint_seconds,
                published=c.published,
            )
            appender.on_commit.append(checkpointer.notify)
        else:
            log.warning("no AUDIT_SIGNING_KEY: checkpoints will not be signed")
        projector = Projector(c)
        appender.on_commit.append(projector.notify)
    scheduler = Scheduler(c) if settings.run_writer and settings.sitreport_enabled else None
    # what the routes are handed (`http.deps`), each whole before the app serves anything
    app.state.audit = c
    app.state.appender = appender
    app.state.checkpointer = checkpointer
    app.state.projector = projector
    app.state.sitreport_scheduler = scheduler
    app.state.cosign_pacer = Pacer(settings.cosign_burst, settings.cosign_per_second)

    app.include_router(log_router)
    app.include_router(key_router)
    app.include_router(inspector_router)
    app.include_router(board_router)
    app.include_router(board_staff_router)
    app.include_router(admin_router)
    app.include_router(sitreport_router)

    mine: list[asyncio.Task[Any]] = []

    def supervise(rt: ServiceRuntime, name: str, body: LoopBody) -> None:
        rt.supervise(name, body)
        mine.append(rt.background[-1])

    async def start(rt: ServiceRuntime) -> None:
        problems = settings.production_problems()
        if problems and not settings.development:
            raise RuntimeError(
                "the audit service refuses a production start: "
                + "; ".join(problems)
                + " (BIANMIN_DEVELOPMENT=1 starts it anyway, for development only)"
            )
        for p in problems:
            log.warning("development start: %s", p)
        async with c.pool.acquire() as conn:
            powers = await rewrite_powers(conn)
        c.rewrite_powers[:] = powers
        if powers and not settings.development:
            raise RuntimeError(
                "the audit service refuses to run as a database role that could rewrite the "
                "log: " + "; ".join(powers) + " (run the migrations as the owner with "
                "AUDIT_MIGRATION_DATABASE_URL and the service as a role that owns nothing; "
                "BIANMIN_DEVELOPMENT=1 starts it anyway)"
            )
        for p in powers:
            log.warning("development start: %s", p)
        if appender is None or projector is None:  # AUDIT_RUN_WRITER=false
            return
        if checkpointer is not None:
            supervise(rt, "checkpointer", _when_leader(appender, checkpointer.rounds))
        supervise(rt, "appender", appender.session)
        supervise(rt, "projector", _when_leader(appender, projector.rounds))
        if scheduler is not None:
            supervise(rt, "sitreports", _when_leader(appender, scheduler.rounds))

    async def stop(rt: ServiceRuntime) -> None:
        # our loops hold no work worth finishing (every append is one transaction): cut them
        # at once, so the runtime's grace period goes to the outbox relay alone
        for task in mine:
            task.cancel()
        await asyncio.gather(*mine, return_exceptions=True)

    runtime.on_start.append(start)
    runtime.on_stop.append(stop)
    return app


def _flag_halt(c: AuditRuntime) -> OnHalt:
    """A halt of the appender is an anomaly too (`audit.anomaly_flagged`, rule `log_gap`),
    flagged in the transaction that raised it, so inspectors see it with the others."""
    import uuid

    import orjson

    from eventkit.envelope import Envelope, Producer

    from .anomaly.runner import AUDIT_ACTOR, EVENT_TYPE
    from .runtime import append_in_transaction

    async def flag(conn: Any, halt_id: int, h: Halt) -> None:
        stream_id = f"log-halt-{halt_id}"
        details = {
            "halt_id": halt_id,
            "topic": h.topic,
            "partition": h.partition,
            "kind": h.kind,
            "expected_offset": h.expected_offset,
            "found_offset": h.found_offset,
            "known_topic_id": h.known_topic_id,
            "found_topic_id": h.found_topic_id,
        }
        env = Envelope(
            event_type=EVENT_TYPE,
            stream_id=stream_id,
            occurred_at=c.clock(),
            producer=Producer(service="audit", instance=c.settings.instance_id),
            actor=AUDIT_ACTOR,
            correlation_id=uuid.uuid5(uuid.NAMESPACE_URL, f"audit-log-halt:{halt_id}"),
            payload={
                "rule_id": "log_gap",
                "rule_kind": "log_gap",
                "severity": "high",
                "description": h.detail,
                "case_id": stream_id,
                "evidence": [],
                "details": details,
            },
        )
        await conn.execute(
            """INSERT INTO anomaly_flags (rule_id, stream_id, event_id, details)
               VALUES ('log_gap', $1, $2, $3) ON CONFLICT (rule_id, stream_id) DO NOTHING""",
            stream_id,
            env.event_id,
            orjson.dumps(env.payload).decode(),
        )
        await append_in_transaction(c.events, conn, stream_id, [env])

    return flag


def _when_leader(appender: Appender, body: LoopBody) -> LoopBody:
    """`body`, run only in the process that holds the writer lease: it waits for the lease
    first (a standby waits here, healthy). Losing the lease later changes nothing that
    matters: projection batches and checkpoints take their own locks."""

    async def leader_only(health: LoopHealth) -> None:
        while not appender.stats.leader:
            await asyncio.sleep(0.2)
        await body(health)

    return leader_only


__all__ = ["MIGRATIONS", "AppendOutcome", "build"]
