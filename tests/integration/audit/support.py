"""Helpers shared by the audit tests (integration, fault, e2e): schema, envelopes, builders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from audit.bootstrap import MIGRATIONS
from audit.log.leaf import LeafBuilder, Redactor
from audit.settings import DEFAULT_PERSONAL_FIELDS
from eventkit import migrate
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.kafka_security import client_kwargs

HMAC_KEY = b"test-hmac-key"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def migrate_audit(conn: asyncpg.Connection) -> None:
    await migrate.apply(
        conn,
        migrate.eventkit_migrations() + migrate.directory_migrations(MIGRATIONS, "audit"),
    )


def builder(hmac_key: bytes | None = HMAC_KEY) -> LeafBuilder:
    return LeafBuilder(
        Redactor(DEFAULT_PERSONAL_FIELDS.split(","), ["id_number", "household_no"], hmac_key)
    )


def envelope(
    event_type: str,
    stream_id: str = "case-1",
    payload: dict[str, Any] | None = None,
    *,
    actor: str = "agent-1",
    role: str = "community_agent",
    org_id: str | None = "c-yucai",
    tier: str | None = "community",
    at: datetime | None = None,
    minutes: float = 0,
    correlation_id: uuid.UUID | None = None,
) -> Envelope:
    extra: dict[str, Any] = {}
    if correlation_id is not None:
        extra["correlation_id"] = correlation_id
    return Envelope(
        event_type=event_type,
        stream_id=stream_id,
        occurred_at=(at or T0) + timedelta(minutes=minutes),
        producer=Producer(service=event_type.split(".")[0], instance="test"),
        actor=Actor(id=actor, role=role, org_id=org_id),
        org_id=org_id,
        tier=tier,
        payload=payload or {},
        **extra,
    )


APPLICANT = {
    "name": "张三",
    "id_number": "330381199001011234",
    "phone": "13800000000",
    "household_no": "HH-001",
    "registered_community_id": "c-yucai",
    "address": "安阳街道育才社区1号",
}


def submitted(case: str = "case-1", **kw: Any) -> Envelope:
    payload = {
        "case_id": case,
        "item_code": "second_child",
        "item_version": 1,
        "applicant": dict(APPLICANT),
        "accepting_center_id": "c-yucai",
        "accepting_staff_id": "agent-1",
        "fee_standard_fen": 0,
        "fee_paid_fen": 0,
        "deposit_standard_fen": 100000,
        "deposit_paid_fen": 100000,
    }
    payload.update(kw.pop("payload", {}))
    return envelope("intake.application_submitted", case, payload, **kw)


# -- running the service in-process ------------------------------------------------------------

import contextlib  # noqa: E402
from collections.abc import AsyncIterator, Iterable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import httpx  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402

from audit.bootstrap import build  # noqa: E402
from audit.settings import Settings  # noqa: E402
from eventkit.auth import (  # noqa: E402
    AuthSettings,
    TokenVerifier,
    generate_private_key,
    mint_token,
    public_pem,
)
from tlog.note import Verifier, generate_key  # noqa: E402

from ...polling import TIMEOUT, eventually  # noqa: E402

ORIGIN = "bianmin.test/audit"


@dataclass
class Keys:
    signer: str
    verifier: str
    jwt_private: object

    def token(
        self, role: str, sub: str = "user-1", org: str | None = "ruian", tier: str | None = "city"
    ) -> str:
        return mint_token(self.jwt_private, sub=sub, role=role, org_id=org, tier=tier)

    def headers(self, role: str, sub: str = "user-1") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, sub)}"}

    @property
    def log_verifier(self) -> Verifier:
        return Verifier.from_key(self.verifier)


def make_keys() -> Keys:
    s, v = generate_key(ORIGIN)
    return Keys(s, v, generate_private_key("EdDSA"))


def auth_for(keys: Keys) -> TokenVerifier:
    return TokenVerifier(AuthSettings(public_key=public_pem(keys.jwt_private)))


RUNTIME_ROLE = "bianmin_audit_runtime"
"""The role the audit service runs as in these tests: it owns nothing, and the service's own
migration step (as the test database's owner, `migration_database_url`) grants it INSERT and
SELECT only on the append-only tables (`audit.log.roles`), as in production."""


def runtime_url(database_url: str, role: str = RUNTIME_ROLE) -> str:
    """`database_url` with the runtime role as the user."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(database_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{role}:{role}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def ensure_runtime_role(owner_url: str, role: str = RUNTIME_ROLE) -> None:
    conn = await asyncpg.connect(owner_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            try:
                await conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{role}'")
            except asyncpg.DuplicateObjectError:
                pass  # another test session made it meanwhile
    finally:
        await conn.close()


def settings_for(infra, schema: str, topics: Iterable[str], keys: Keys | None, **kw) -> Settings:  # type: ignore[no-untyped-def]
    """The audit's settings for a test: the restricted runtime role, the test database's owner
    for migrations, checkpoints published to a fresh directory, and `development` (most tests
    configure no witness)."""
    import tempfile

    all_topics = []
    for t in topics:
        all_topics += [t, f"{t}.dlq"]
    base = dict(
        database_url=runtime_url(infra.database_url),
        migration_database_url=infra.database_url,
        checkpoint_store=tempfile.mkdtemp(prefix="audit-published-"),
        development=True,
        database_schema=schema,
        kafka_bootstrap_servers=infra.bootstrap,
        topics=",".join(all_topics),
        signing_key=keys.signer if keys else None,
        log_origin=ORIGIN,
        checkpoint_every=10_000,
        checkpoint_seconds=0.3,
        personal_hmac_key=HMAC_KEY.decode(),
        append_poll_ms=100,
        anomaly_interval_seconds=0.3,
        anomaly_grace_seconds=0.5,
        db_pool_min=1,
        db_pool_max=5,
        outbox_topic="",
        sitreport_enabled=False,  # on where a test is about it (test_situation_reports)
    )
    base.update(kw)
    return Settings(**base)


@contextlib.asynccontextmanager
async def running_audit(settings: Settings, keys: Keys | None, **build_kw) -> AsyncIterator[tuple]:  # type: ignore[no-untyped-def]
    if settings.migration_database_url:
        await ensure_runtime_role(settings.migration_database_url)
    app = build(settings, auth=auth_for(keys) if keys else None, **build_kw)
    rt = app.state.runtime
    await rt.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit") as client:
            yield app, client
    finally:
        await rt.stop()


@contextlib.asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **client_kwargs(), acks="all", enable_idempotence=True
    )
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def publish(
    p: AIOKafkaProducer, topic: str, envs: Iterable[Envelope | bytes], headers=None
) -> None:  # type: ignore[no-untyped-def]
    futs = []
    for e in envs:
        if isinstance(e, Envelope):
            futs.append(
                await p.send(topic, e.canonical(), key=e.stream_id.encode(), headers=e.headers())
            )
        else:
            futs.append(await p.send(topic, e, key=b"raw", headers=headers or []))
    for f in futs:
        await f


async def wait_for(
    pred, timeout: float = TIMEOUT, interval: float = 0.1, *, what: str = "a condition"
):  # type: ignore[no-untyped-def]
    """What `pred()` returns once it is truthy (`polling.eventually`)."""
    return await eventually(pred, what=what, timeout=timeout, interval=interval)


async def wait_size(conn: asyncpg.Connection, n: int, timeout: float = TIMEOUT) -> int:
    """The log's size once it is at least `n`."""
    size: int = await eventually(
        lambda: conn.fetchval("SELECT size FROM tree_state"),
        lambda size: size is not None and size >= n,
        what=f"the log to reach {n} leaves",
        timeout=timeout,
    )
    return size


async def wait_checkpoint(conn: asyncpg.Connection, n: int, timeout: float = TIMEOUT) -> int:
    """The largest checkpoint's size once it is at least `n`."""
    size: int = await eventually(
        lambda: conn.fetchval("SELECT max(size) FROM checkpoints"),
        lambda size: size is not None and size >= n,
        what=f"a checkpoint of at least {n} leaves",
        timeout=timeout,
    )
    return size


# -- the log's leaves and a witness watching it -----------------------------------------------


async def append_leaves(conn: asyncpg.Connection, n: int, start: int = 0) -> None:
    """Append `n` intake records (offsets `start`..) straight to the log, as the writer does."""
    from audit.log.append import RawRecord, append_records

    recs = [
        RawRecord(
            "intake.events",
            0,
            start + i,
            envelope("intake.x_done", f"case-{start + i}").canonical(),
        )
        for i in range(n)
    ]
    await append_records(conn, builder(), recs)


def asgi(client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    """The witness's transport, speaking to an audit app in the same process."""

    async def transport(method, path, query, body):  # type: ignore[no-untyped-def]
        r = await client.request(method, path, params=query, content=body)
        return r.status_code, r.text

    return transport


def witness_for(  # type: ignore[no-untyped-def]
    client: httpx.AsyncClient, keys: Keys, witness_key: str, state_dir, clock=None
):
    """A witness (signing with `witness_key`) watching the audit app behind `client`."""
    from audit.witness.core import Witness
    from eventkit.clock import system_clock
    from tlog.note import Signer

    return Witness(
        asgi(client),
        keys.log_verifier,
        ORIGIN,
        Signer.from_key(witness_key),
        state_dir,
        clock=clock or system_clock(),
    )


# -- a realistic scenario: the second-child application (二胎申请) ---------------------------

STAFF_ID_NUMBER = "330381198505050011"


def catalog_events() -> list[Envelope]:
    def item(version: int, deposit: int, eff: str) -> dict[str, Any]:
        return {
            "item": {
                "code": "second_child",
                "version": version,
                "name_zh": "二胎申请",
                "category": "family_planning",
                "handling_tier": "town",
                "promised_limit_days": 5,
                "materials": [{"code": "hukou", "name_zh": "户口簿", "form": "original"}],
                "fee": {"amount_fen": 0},
                "deposit": {"amount_fen": deposit, "basis": "计生保证金"},
                "effective_from": eff,
            },
            "published_by": "admin-1",
        }

    return [
        envelope(
            "intake.catalog_item_published",
            "catalog-second_child",
            item(1, 100000, "2025-01-01"),
            actor="admin-1",
            role="admin",
            org_id="city",
            tier="city",
        ),
        envelope(
            "intake.catalog_item_published",
            "catalog-second_child",
            item(2, 50000, "2026-03-01"),
            actor="admin-1",
            role="admin",
            org_id="city",
            tier="city",
            minutes=1,
        ),
    ]


def staff_events() -> list[Envelope]:
    return [
        envelope(
            "routing.staff_registered",
            "org",
            {
                "staff_id": "agent-wang",
                "name_zh": "王",
                "id_number": STAFF_ID_NUMBER,
                "household_no": "HH-WANG",
            },
            actor="admin-1",
            role="admin",
            org_id=None,
            tier=None,
        ),
    ]


def case_events(case: str, *, dirty: bool) -> tuple[list[Envelope], list[Envelope]]:
    """(intake events, routing events) of one second-child case. `dirty` breaks every rule."""
    applicant = dict(APPLICANT)
    agent = "agent-li"
    if dirty:
        applicant["id_number"] = STAFF_ID_NUMBER  # the agent's own application
        agent = "agent-wang"
    town = dict(org_id="t-anyang", tier="town")
    comm = dict(org_id="c-yucai", tier="community")
    intake = [
        envelope(
            "intake.application_submitted",
            case,
            {
                "case_id": case,
                "item_code": "second_child",
                "item_version": 2,
                "applicant": applicant,
                "accepting_center_id": "c-yucai",
                "accepting_staff_id": agent,
                "fee_standard_fen": 0,
                "fee_paid_fen": 0,
                "deposit_standard_fen": 50000,
                "deposit_paid_fen": 100000 if dirty else 50000,
            },
            actor=agent,
            **comm,
        ),
        envelope(
            "intake.application_accepted",
            case,
            {
                "case_id": case,
                "item_code": "second_child",
                "item_version": 2,
                "accepting_center_id": "c-yucai",
                "accepting_staff_id": agent,
                "handling_tier": "town",
                "fee_standard_fen": 0,
                "fee_charged_fen": 0,
                "deposit_standard_fen": 50000,
                "deposit_charged_fen": 100000 if dirty else 50000,
                "accepted_at": T0.isoformat(),
                "reason": "材料齐全，予以受理",
            },
            actor=agent,
            minutes=1,
            **comm,
        ),
    ]
    due = (T0 + timedelta(days=5)).isoformat()
    decided_at_minutes = 60 * 24 * (15 if dirty else 2)
    routing = [
        envelope(
            "routing.case_routed",
            case,
            {
                "case_id": case,
                "item_code": "second_child",
                "handling_unit_id": "t-anyang",
                "handling_tier": "town",
            },
            actor="routing",
            role="system",
            minutes=2,
            **town,
        ),
        envelope(
            "routing.case_assigned",
            case,
            {"case_id": case, "assigned_to": "off-zhao"},
            actor="routing",
            role="system",
            minutes=3,
            **town,
        ),
        envelope(
            "routing.deadline_set",
            case,
            {"case_id": case, "due_at": due},
            actor="routing",
            role="system",
            minutes=3,
            **town,
        ),
    ]
    if dirty:
        for i, off in enumerate(["off-qian", "off-sun", "off-li"]):
            routing.append(
                envelope(
                    "routing.case_reassigned",
                    case,
                    {
                        "case_id": case,
                        "from_officer": "off-zhao",
                        "to_officer": off,
                        "reason": "工作调整 workload",
                    },
                    actor="head-1",
                    role="center_head",
                    minutes=10 + i,
                    **town,
                )
            )
    decider = "off-zhou" if dirty else "off-zhao"
    routing.append(
        envelope(
            "routing.case_decided",
            case,
            {
                "case_id": case,
                "decision": "approved",
                "decided_by": decider,
                "on_time": not dirty,
                "reason": "符合条件，准予办理" if not dirty else "材料不全但予以批准 overruled",
            },
            actor=decider,
            role="officer",
            minutes=decided_at_minutes,
            **town,
        )
    )
    if not dirty:
        intake.append(
            envelope(
                "intake.result_delivered",
                case,
                {"case_id": case, "decision": "approved", "delivered_by": agent},
                actor=agent,
                minutes=decided_at_minutes + 60,
                **comm,
            )
        )
    intake.append(
        envelope(
            "intake.case_archived",
            case,
            {"case_id": case, "decision": "approved"},
            actor=agent,
            minutes=decided_at_minutes + 120,
            **comm,
        )
    )
    intake.append(
        envelope(
            "intake.service_evaluated",
            case,
            {
                "case_id": case,
                "score": 1 if dirty else 5,
                "bad_review": dirty,
                "accepting_center_id": "c-yucai",
                "comment": "办事太慢" if dirty else "很满意",
            },
            actor="resident-1",
            role="resident",
            minutes=decided_at_minutes + 180,
            **comm,
        )
    )
    return intake, routing


DIRTY_RULES = {
    "fee_differs_from_standard",
    "decision_by_non_assignee",
    "case_overdue",
    "reassigned_too_often",
    "staff_handles_own_or_household_case",
    "closed_without_delivery",
    "bad_review_without_follow_up",
}
