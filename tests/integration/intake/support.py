"""Helpers for the intake API tests (integration in-process, e2e as a separate process).

Everything runs on the real Kafka and PostgreSQL of `tests/conftest.py`, with a schema and
topics of its own. Org units reach intake as routing would send them: envelopes published
to the (test's) routing topic, consumed by intake's routing consumer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from contracts.base import DomainEvent, to_payload
from contracts.routing import OrgUnitRegistered, StaffRegistered
from contracts.workdays import OfficeHours
from eventkit.auth import AuthSettings, TokenVerifier, generate_private_key, public_pem
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.kafka_security import KafkaSecurity, client_kwargs
from intake.bootstrap import build
from intake.domain.id_number import check_digit
from intake.settings import Settings

from ...kafka_reading import read_topic_until as read_topic_until
from ...polling import eventually
from ...tokens import mint

SECRET = "integration-test-verification-secret"
ROUTING_PRODUCER = Producer(service="routing", instance="test")
ROUTING_ADMIN = Actor(id="admin.seed", role="admin", org_id="ruian")

# (unit_id, name, tier, kind, parent)
UNITS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("ruian", "瑞安市行政审批服务中心", "city", "市中心", None),
    ("ruian.mayu", "马屿镇便民服务中心", "town", "镇", "ruian"),
    ("ruian.mayu.mabei", "马北社区便民服务中心", "community", "社区", "ruian.mayu"),
    ("ruian.dongshan", "东山街道便民服务中心", "town", "街道", "ruian"),
    ("ruian.dongshan.beiji", "北麂社区便民服务中心", "community", "社区", "ruian.dongshan"),
    ("ruian.anyang", "安阳街道便民服务中心", "town", "街道", "ruian"),
    ("ruian.anyang.yucai", "育才社区便民服务中心", "community", "社区", "ruian.anyang"),
)

AGENT_MABEI = ("staff.mabei.huang", "community_agent", "ruian.mayu.mabei", "community")
AGENT_DONGSHAN = ("staff.dongshan.chen", "community_agent", "ruian.dongshan", "town")
OFFICER_MAYU = ("officer.mayu.fp.a", "officer", "ruian.mayu", "town")
OFFICER_MABEI = ("officer.mabei.li", "officer", "ruian.mayu.mabei", "community")
HEAD_MAYU = ("head.mayu", "center_head", "ruian.mayu", "town")
INSPECTOR = ("inspector.1", "inspector", "ruian", "city")

# The staff directory routing publishes (routing.staff_registered): (staff_id, unit, roles).
# Intake records a staff member only at the center the tree lists them at.
STAFF: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (AGENT_MABEI[0], "ruian.mayu.mabei", ("community_agent",)),
    (OFFICER_MABEI[0], "ruian.mayu.mabei", ("community_agent", "officer")),
    (AGENT_DONGSHAN[0], "ruian.dongshan", ("community_agent",)),
    (OFFICER_MAYU[0], "ruian.mayu", ("officer",)),
    ("officer.mayu.fp.b", "ruian.mayu", ("officer",)),
    (HEAD_MAYU[0], "ruian.mayu", ("center_head", "officer")),
)
ADMIN = ("admin.1", "admin", "ruian", "city")


def valid_id(first17: str) -> str:
    return first17 + check_digit(first17)


ID_MABEI = valid_id("33038119900415123")
ID_BEIJI = valid_id("33038119560302321")


def applicant(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "陈小芳",
        "id_number": ID_MABEI,
        "phone": "13957712345",
        "household_no": "330381-MB-0421",
        "registered_community_id": "ruian.mayu.mabei",
        "address": "瑞安市马屿镇马北社区新街12号",
    }
    data.update(overrides)
    return data


# 二胎申请 FP-002: six materials, the last (CHILD_BIRTH_CERT) may be supplied later.
FP002_ALL = [
    {"code": "APPLICATION_FORM", "form": "original"},
    {"code": "ID_CARD", "form": "copy", "copies": 2},
    {"code": "MARRIAGE_CERT", "form": "copy"},
    {"code": "HOUSEHOLD_REG", "form": "copy"},
    {"code": "PHOTO_1IN", "form": "original", "copies": 2},
]


def second_child(**overrides: Any) -> dict[str, Any]:
    """A complete 二胎 application with its deposit, handed in at 马北社区."""
    body: dict[str, Any] = {
        "item_code": "FP-002",
        "applicant": applicant(),
        "materials_provided": list(FP002_ALL),
        "fee_paid_fen": 0,
        "deposit_paid_fen": 300_000,
        "payment_receipt_no": "MB-2026-000123",
    }
    body.update(overrides)
    return body


def org_unit_envelope(
    unit_id: str,
    name: str,
    tier: str,
    kind: str,
    parent: str | None,
    address: str | None = None,
) -> Envelope:
    evt = OrgUnitRegistered(
        unit_id=unit_id,
        name_zh=name,
        tier=tier,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        parent_id=parent,
        is_island=unit_id.endswith("beiji"),
        office_hours=OfficeHours.standard(),
        registered_by=ROUTING_ADMIN.id,
        address_zh=address,
    )
    return routing_envelope(evt, stream_id="org-ruian", org_id=unit_id, tier=tier)


def staff_envelope(staff_id: str, unit_id: str, roles: tuple[str, ...]) -> Envelope:
    evt = StaffRegistered(
        staff_id=staff_id,
        name_zh=f"职员{staff_id}",
        roles=roles,  # type: ignore[arg-type]
        unit_id=unit_id,
        registered_by=ROUTING_ADMIN.id,
    )
    return routing_envelope(evt, stream_id="org-ruian", org_id=unit_id)


def routing_envelope(
    evt: DomainEvent,
    *,
    stream_id: str,
    org_id: str | None = None,
    tier: str | None = None,
    actor: Actor = ROUTING_ADMIN,
) -> Envelope:
    return Envelope(
        event_type=evt.event_type,
        schema_version=evt.schema_version,
        stream_id=stream_id,
        occurred_at=datetime.now(UTC),
        producer=ROUTING_PRODUCER,
        actor=actor,
        org_id=org_id,
        tier=tier,
        payload=to_payload(evt),
    )


async def publish(bootstrap: str, topic: str, envelopes: Iterable[Envelope]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **client_kwargs(), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for env in envelopes:
            await producer.send_and_wait(
                topic, env.canonical(), key=env.stream_id.encode(), headers=env.headers()
            )
    finally:
        await producer.stop()


@dataclass
class Keys:
    private: Any = field(default_factory=lambda: generate_private_key("EdDSA"))

    @property
    def public_pem(self) -> str:
        return public_pem(self.private)

    def token(
        self, sub: str, role: str, org: str | None = None, tier: str | None = None, **extra: Any
    ) -> str:
        return mint(self.private, sub, role, org, tier, extra=extra)

    def headers(self, who: tuple[str, str, str | None, str | None], **extra: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*who, **extra)}"}

    def resident(self, id_number: str = ID_MABEI) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(id_number, 'resident')}"}


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    keys: Keys
    bootstrap: str
    intake_topic: str
    routing_topic: str
    database_url: str
    schema: str

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.database_url, server_settings={"search_path": self.schema}
        )

    async def stream(self, stream_id: str) -> list[dict[str, Any]]:
        conn = await self.connect()
        try:
            rows = await conn.fetch(
                "SELECT envelope FROM events WHERE stream_id = $1 ORDER BY stream_version",
                stream_id,
            )
        finally:
            await conn.close()
        return [orjson.loads(r["envelope"]) for r in rows]

    async def count(self, sql: str, *args: Any) -> int:
        conn = await self.connect()
        try:
            return int(await conn.fetchval(sql, *args))
        finally:
            await conn.close()

    async def publish_routing(self, *envelopes: Envelope) -> None:
        await publish(self.bootstrap, self.routing_topic, envelopes)

    async def submit(
        self, who: tuple[str, str, str | None, str | None], body: dict[str, Any], **headers: str
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/applications", json=body, headers={**self.keys.headers(who), **headers}
        )


def make_settings(
    database_url: str,
    schema: str,
    bootstrap: str,
    intake_topic: str,
    routing_topic: str,
    keys: Keys,
    kafka_security: KafkaSecurity | None = None,
    consumer_group: str | None = None,
) -> Settings:
    return Settings(
        database_url=database_url,
        database_schema=schema,
        kafka_bootstrap_servers=bootstrap,
        kafka_security=kafka_security,
        topic_intake=intake_topic,
        topic_routing=routing_topic,
        consumer_group=consumer_group or f"intake-{uuid.uuid4().hex[:8]}",
        verification_secret=SECRET,  # type: ignore[arg-type]
        auth_public_key=keys.public_pem,
        db_pool_min=1,
        db_pool_max=8,
        status_max_failures=5,
    )


@asynccontextmanager
async def running_intake(
    database_url: str,
    schema: str,
    bootstrap: str,
    intake_topic: str,
    routing_topic: str,
    clock: Callable[[], datetime] | None = None,
    kafka_security: KafkaSecurity | None = None,
    consumer_group: str | None = None,
) -> AsyncIterator[Harness]:
    """Intake in-process: the app's own lifespan (migrations, seed, relay, consumer) running,
    an httpx client on it through ASGITransport, and the test org units loaded; the wall
    clock unless a `clock` is given; Kafka's super user unless `kafka_security` names one."""
    keys = Keys()
    settings = make_settings(
        database_url,
        schema,
        bootstrap,
        intake_topic,
        routing_topic,
        keys,
        kafka_security=kafka_security,
        consumer_group=consumer_group,
    )
    verifier = TokenVerifier(AuthSettings(public_key=keys.public_pem))
    app = build(settings, auth=verifier, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            h = Harness(
                app,
                client,
                settings,
                keys,
                bootstrap,
                intake_topic,
                routing_topic,
                database_url,
                schema,
            )
            await h.publish_routing(
                *(org_unit_envelope(*u) for u in UNITS), *(staff_envelope(*s) for s in STAFF)
            )

            async def org_loaded() -> bool:
                r = await client.get("/v1/centers")
                staff = await h.count("SELECT count(*) FROM staff")
                return len(r.json()["items"]) == len(UNITS) and staff == len(STAFF)

            await eventually(org_loaded, what="the org units and staff in intake's projections")
            yield h
