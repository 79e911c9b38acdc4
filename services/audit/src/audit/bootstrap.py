"""Builds the audit service from settings: pool, broker, HTTP app. Connects nothing at import.

Background loops, started with the runtime (`runtime.on_start`) and supervised by it
(`eventkit.loops.supervise`: errors logged and retried with capped backoff, each loop's state
in `/readyz`), only when ``AUDIT_RUN_WRITER`` is true (the default):

* the appender (`audit.log.appender`) — it waits for the writer lease, so any number of
  instances may run it and exactly one appends;
* the checkpointer (needs ``AUDIT_SIGNING_KEY``/``_FILE``; without a key it is off and a
  warning is logged);
* the projector (inspector-facing read models, anomaly rules, transparency figures), fed
  from the leaves table in log order.
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
from eventkit.service import ServiceRuntime, create_app
from eventkit.store import PostgresEventStore

from .context import AuditContext, load_keys, make_builder
from .log.append import AppendOutcome, BeforeCommit
from .log.appender import Appender
from .log.checkpoint import Checkpointer
from .settings import Settings

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
    runtime = ServiceRuntime(settings, MIGRATIONS, upcasters=UPCASTERS)
    if settings.outbox_topic:
        runtime.enable_outbox(settings.outbox_topic)
    app = create_app(
        runtime,
        title="Bianmin audit",
        description="The sunshine audit log: verifiable Merkle log, inspector queries, anomalies.",
    )
    install(app, auth or TokenVerifier(AuthSettings()))
    signer, verifier, witnesses = load_keys(settings)
    c = AuditContext(
        settings=settings,
        runtime=runtime,
        signer=signer,
        verifier=verifier,
        witness_verifiers=witnesses,
        builder=make_builder(settings),
        clock=clock or system_clock(service="audit"),
    )
    app.state.audit = c

    from .http.admin_routes import router as admin_router
    from .http.board_routes import router as board_router
    from .http.inspector_routes import router as inspector_router
    from .http.key_routes import router as key_router
    from .http.log_routes import router as log_router

    app.include_router(log_router)
    app.include_router(key_router)
    app.include_router(inspector_router)
    app.include_router(board_router)
    app.include_router(admin_router)

    mine: list[asyncio.Task[Any]] = []

    def supervise(rt: ServiceRuntime, name: str, body: LoopBody) -> None:
        rt.supervise(name, body)
        mine.append(rt.background[-1])

    async def start(rt: ServiceRuntime) -> None:
        assert rt.pool is not None
        # the runtime's store: its appends wake the outbox relay
        c.events = rt.store or PostgresEventStore(rt.pool, reader=rt.reader)
        if not settings.run_writer:
            return
        bootstrap = settings.kafka().bootstrap_servers
        c.appender = Appender(
            dsn=settings.database_url,
            schema=settings.database_schema,
            bootstrap=bootstrap,
            topics=settings.topic_list(),
            builder=c.builder,
            max_batch=settings.append_max_batch,
            poll_ms=settings.append_poll_ms,
            linger_ms=settings.append_linger_ms,
            linger_min_rate=settings.append_linger_min_rate,
            lease_retry_seconds=settings.lease_retry_seconds,
            before_commit=before_commit,
            security=settings.kafka().security,
        )
        if signer is not None:
            c.checkpointer = Checkpointer(
                rt.pool,
                signer,
                settings.log_origin,
                settings.checkpoint_every,
                settings.checkpoint_seconds,
            )
            c.appender.on_commit.append(c.checkpointer.notify)
            supervise(rt, "checkpointer", _when_leader(c, c.checkpointer.rounds))
        else:
            log.warning("no AUDIT_SIGNING_KEY: checkpoints will not be signed")
        from .projector import Projector

        projector = Projector(c)
        c.extras["projector"] = projector
        c.appender.on_commit.append(projector.notify)
        supervise(rt, "appender", c.appender.session)
        supervise(rt, "projector", _when_leader(c, projector.rounds))

    async def stop(rt: ServiceRuntime) -> None:
        # our loops hold no work worth finishing (every append is one transaction): cut them
        # at once, so the runtime's grace period goes to the outbox relay alone
        for task in mine:
            task.cancel()
        await asyncio.gather(*mine, return_exceptions=True)

    runtime.on_start.append(start)
    runtime.on_stop.append(stop)
    return app


def _when_leader(c: AuditContext, body: LoopBody) -> LoopBody:
    """`body`, run only in the process that holds the writer lease: it waits for the lease
    first (a standby waits here, healthy). Losing the lease later changes nothing that
    matters: projection batches and checkpoints take their own locks."""

    async def leader_only(health: LoopHealth) -> None:
        while c.appender is None or not c.appender.stats.leader:
            await asyncio.sleep(0.2)
        await body(health)

    return leader_only


__all__ = ["MIGRATIONS", "AppendOutcome", "build"]
