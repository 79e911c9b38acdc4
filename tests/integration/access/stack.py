"""The four services in-process, wired as in production, for the access-matrix test.

intake, routing, notify and audit each run their own app with its real lifespan
(migrations, seeds, relays, consumers) on the real PostgreSQL (a schema each) and Kafka
(topics of their own for this module), with one token key and one frozen clock (a
Tuesday, 09:30 in Rui'an: the A posts are on duty). Routing seeds Rui'an's org tree, which
reaches intake (centers and the staff directory) and notify over Kafka; intake seeds the
catalog, which reaches routing. Clients talk to each app through httpx's ASGI transport.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

import audit.bootstrap
import audit.settings
import intake.bootstrap
import intake.settings
import notify.bootstrap
import notify.settings
import routing.bootstrap
import routing.settings
from contracts.workdays import SHANGHAI
from devstack.topics import delete_topics, ensure_topics
from eventkit.auth import AuthSettings, TokenVerifier, generate_private_key, public_pem
from eventkit.testing import FrozenClock
from routing.seed_org import seed_org_state
from tlog.note import generate_key

from ...polling import eventually
from ...tokens import mint

NOW = datetime(2026, 9, 29, 9, 30, tzinfo=SHANGHAI)
SERVICES = ("intake", "routing", "notify", "audit")

Who = tuple[str, str, str | None, str | None]
"""(sub, role, org_id, tier) of a token."""


@dataclass
class Stack:
    apps: dict[str, FastAPI]
    clients: dict[str, httpx.AsyncClient]
    schemas: dict[str, str]
    database_url: str
    private_key: Any
    settings: dict[str, Any] = field(default_factory=dict)

    def headers(self, who: Who | None) -> dict[str, str]:
        if who is None:
            return {}
        sub, role, org, tier = who
        token = mint(self.private_key, sub, role, org, tier)
        return {"Authorization": f"Bearer {token}"}

    async def connect(self, service: str) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.database_url, server_settings={"search_path": self.schemas[service]}
        )

    async def fetchval(self, service: str, sql: str, *args: Any) -> Any:
        conn = await self.connect(service)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()


@asynccontextmanager
async def running_stack(
    infra: Any, workdir: Path, intake_settings: dict[str, Any] | None = None
) -> AsyncIterator[Stack]:
    """`intake_settings`: more settings for intake (the documents tests' S3 store)."""
    tag = uuid.uuid4().hex[:8]
    topics = {n: f"access_{n}_{tag}.events" for n in ("intake", "routing", "notify")}
    made = await ensure_topics(infra.bootstrap, list(topics.values()), partitions=3)
    schemas = {s: f"t_access_{s}_{tag}" for s in SERVICES}
    conn = await asyncpg.connect(infra.database_url)
    try:
        for schema in schemas.values():
            await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    key = generate_private_key("EdDSA")
    verifier = TokenVerifier(AuthSettings(public_key=public_pem(key)))
    clock = FrozenClock(NOW)
    common: dict[str, Any] = {
        "database_url": infra.database_url,
        "kafka_bootstrap_servers": infra.bootstrap,
        "db_pool_min": 1,
        "db_pool_max": 6,
    }
    s_intake = intake.settings.Settings(
        **common,
        database_schema=schemas["intake"],
        topic_intake=topics["intake"],
        topic_routing=topics["routing"],
        consumer_group=f"intake-access-{tag}",
        verification_secret=f"access-matrix-secret-{tag}-0123456789",  # type: ignore[arg-type]
        **(intake_settings or {}),
    )
    s_routing = routing.settings.Settings(
        **common,
        database_schema=schemas["routing"],
        topic_intake=topics["intake"],
        topic_routing=topics["routing"],
        consumer_group=f"routing-access-{tag}",
        drill_endpoints=True,
        deadline_check_interval_seconds=3600.0,
    )
    s_notify = notify.settings.Settings(
        **common,
        database_schema=schemas["notify"],
        topic_intake=topics["intake"],
        topic_routing=topics["routing"],
        topic_notify=topics["notify"],
        consumer_group=f"notify-access-{tag}",
        sms_file=workdir / "sms.jsonl",
        dispatch_poll_seconds=0.1,
        quiet_hours="off",
        max_event_age_hours=0,
    )
    signer, _ = generate_key("bianmin.access-test/audit")
    audit_topics = [t for base in topics.values() for t in (base, f"{base}.dlq")]
    s_audit = audit.settings.Settings(
        **common,
        database_schema=schemas["audit"],
        topics=",".join(audit_topics),
        signing_key=signer,  # type: ignore[arg-type]
        log_origin="bianmin.access-test/audit",
        checkpoint_every=10_000,
        checkpoint_seconds=0.5,
        append_poll_ms=100,
        anomaly_interval_seconds=3600.0,
        sitreport_enabled=False,  # the routes answer without it; the matrix needs no reports
        personal_hmac_key=f"access-matrix-hmac-{tag}",  # type: ignore[arg-type]
        outbox_topic="",
        checkpoint_store=str(workdir / "published-checkpoints"),
        development=True,  # no witness, and the test database's owner as its role
    )
    intake_app = intake.bootstrap.build(s_intake, auth=verifier, clock=clock.now)
    apps = {
        "intake": intake_app,
        "routing": routing.bootstrap.build(s_routing, auth=verifier, clock=clock.now),
        "notify": notify.bootstrap.build(
            s_notify,
            auth=verifier,
            clock=clock.now,
            intake_transport=httpx.ASGITransport(app=intake_app),
        ),
        "audit": audit.bootstrap.build(s_audit, auth=verifier),
    }
    try:
        async with AsyncExitStack() as stack:
            clients = {}
            for name, app in apps.items():
                await stack.enter_async_context(app.router.lifespan_context(app))
                transport = httpx.ASGITransport(app=app)
                clients[name] = await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url=f"http://{name}", timeout=30)
                )
            st = Stack(
                apps,
                clients,
                schemas,
                infra.database_url,
                key,
                {"intake": s_intake, "routing": s_routing, "notify": s_notify, "audit": s_audit},
            )
            await _seeded(st)
            yield st
    finally:
        conn = await asyncpg.connect(infra.database_url)
        try:
            for schema in schemas.values():
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()
        await delete_topics(infra.bootstrap, made)


async def _seeded(st: Stack) -> None:
    """Routing's org tree in intake (centers and staff directory) and in notify, intake's
    catalog in routing: the state `make run` starts from."""

    tree, _ = seed_org_state(NOW)

    async def counts() -> dict[str, int]:
        seen: dict[str, int] = {}
        seen["intake centers"] = len(
            (await st.clients["intake"].get("/v1/centers")).json()["items"]
        )
        seen["intake staff"] = await st.fetchval("intake", "SELECT count(*) FROM staff")
        seen["routing FP-002"] = await st.fetchval(
            "routing", "SELECT count(*) FROM catalog_items WHERE code = 'FP-002'"
        )
        seen["notify units"] = await st.fetchval("notify", "SELECT count(*) FROM org_units")
        return seen

    await eventually(
        counts,
        lambda seen: (
            seen["intake centers"] == len(tree.units)
            and seen["intake staff"] == len(tree.staff)
            and seen["routing FP-002"] > 0
            and seen["notify units"] == len(tree.units)
        ),
        what="the org tree in intake and notify, the catalog in routing",
    )
