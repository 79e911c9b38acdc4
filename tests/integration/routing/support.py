"""Helpers for routing's API tests: the service in-process (lifespan and all) on the real
Kafka and PostgreSQL, intake's events published to an isolated topic, signed tokens."""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from contracts.base import DomainEvent, to_payload
from contracts.intake import (
    ApplicationAccepted,
    ApplicationWithdrawn,
    CatalogItemPublished,
    CatalogItemVersion,
    CorrectionSupplied,
    ServiceEvaluated,
)
from contracts.workdays import SHANGHAI
from eventkit.auth import AuthSettings, TokenVerifier, generate_private_key, public_pem
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.kafka_security import client_kwargs
from eventkit.testing import FrozenClock
from routing.bootstrap import build
from routing.domain.org_model import OrgState
from routing.seed_org import seed_org_state
from routing.settings import Settings

from ...kafka_reading import read_topic_until as read_topic_until
from ...polling import eventually
from ...tokens import mint

INTAKE = Producer(service="intake", instance="test")


def at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    """A local (Asia/Shanghai) instant."""
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def new_case_id() -> str:
    return f"case-{uuid.uuid4().hex}"


# -- tokens ------------------------------------------------------------------------------------
@functools.cache
def seeded_tree() -> OrgState:
    """The seeded org tree (the same `seed_org` routing starts with)."""
    return seed_org_state(at(2026, 9, 1, 8))[0]


@dataclass
class Tokens:
    private_key: Any = field(default_factory=lambda: generate_private_key("EdDSA"))

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(AuthSettings(public_key=public_pem(self.private_key)))

    def public_pem(self) -> str:
        return public_pem(self.private_key)

    def headers(
        self, role: str, sub: str, org: str | None = None, tier: str | None = None, **extra: str
    ) -> dict[str, str]:
        token = mint(self.private_key, sub, role, org, tier)
        return {"Authorization": f"Bearer {token}", **extra}

    def staff(self, staff_id: str, role: str = "officer", org: str | None = None) -> dict[str, str]:
        """Headers of a seeded staff member: their center and its tier, as the identity
        provider puts them in every staff token (routing still reads where they work from
        the tree). `org` names another center for a subject the seed does not list."""
        tree = seeded_tree()
        staff = tree.staff.get(staff_id)
        unit = org or (staff.unit_id if staff is not None else "ruian")
        tier = tree.units[unit].tier if unit in tree.units else "city"
        return self.headers(role, staff_id, org=unit, tier=tier)

    def admin(self) -> dict[str, str]:
        return self.headers("admin", "admin.ops", org="ruian", tier="city")

    def inspector(self) -> dict[str, str]:
        return self.headers("inspector", "ruian.inspector1", org="ruian", tier="city")


# -- intake's events ---------------------------------------------------------------------------
def intake_envelope(
    evt: DomainEvent, stream_id: str, *, at_time: datetime, actor: str = "intake.system"
) -> Envelope:
    return Envelope(
        event_type=evt.event_type,
        schema_version=evt.schema_version,
        stream_id=stream_id,
        occurred_at=at_time,
        producer=INTAKE,
        actor=Actor(id=actor, role="community_agent"),
        payload=to_payload(evt),
    )


ITEMS: dict[str, dict[str, Any]] = {
    "FP-002": {
        "name_zh": "再生育(二胎)申请审批",
        "category": "family_planning",
        "handling_tier": "town",
        "case_type": "promised",
        "promised_limit_days": 15,
        "statutory_limit_days": 30,
    },
    "LS-001": {
        "name_zh": "城乡居民社会养老保险参保登记(社保)",
        "category": "labour_social_security",
        "handling_tier": "town",
        "case_type": "promised",
        "promised_limit_days": 5,
        "statutory_limit_days": 15,
    },
    "CA-001": {  # handled by the communities of 安阳街道 (下授)
        "name_zh": "老年优待证办理",
        "category": "civil_affairs",
        "handling_tier": "town",
        "case_type": "promised",
        "promised_limit_days": 5,
        "statutory_limit_days": 20,
    },
    "LS-002": {  # handled by every community from 2026-07-01 (下授)
        "name_zh": "退休职工养老保险年检(领取养老金资格认证)",
        "category": "labour_social_security",
        "handling_tier": "town",
        "case_type": "promised",
        "promised_limit_days": 5,
        "statutory_limit_days": 20,
    },
}


def catalog_published(code: str, when: datetime) -> Envelope:
    item = ITEMS[code]
    version = CatalogItemVersion(
        code=code,
        version=1,
        name_zh=item["name_zh"],
        category=item["category"],
        legal_basis="《中华人民共和国人口与计划生育法》",
        implementing_body="镇(街道)行政服务中心",
        handling_tier=item["handling_tier"],
        case_type=item["case_type"],
        statutory_limit_days=item["statutory_limit_days"],
        promised_limit_days=item["promised_limit_days"],
        result_type="批复",
        effective_from=date(2026, 1, 1),
    )
    evt = CatalogItemPublished(item=version, published_at=when, published_by="admin.catalog")
    return intake_envelope(evt, f"catalog-{code}", at_time=when, actor="admin.catalog")


def accepted(
    case_id: str,
    *,
    code: str = "FP-002",
    community: str = "ruian.mayu.mabei",
    center: str = "ruian.mayu.mabei",
    staff: str | None = "ruian.mayu.mabei.agent1",
    when: datetime | None = None,
    line_id: str | None = None,
) -> Envelope:
    item = ITEMS[code]
    when = when or at(2026, 9, 29, 9, 30)
    evt = ApplicationAccepted(
        case_id=case_id,
        receipt_no=f"RA{uuid.uuid4().hex[:10].upper()}",
        item_code=code,
        item_version=1,
        item_name_zh=item["name_zh"],
        category=item["category"],
        handling_tier=item["handling_tier"],
        case_type=item["case_type"],
        statutory_limit_days=item["statutory_limit_days"],
        promised_limit_days=item["promised_limit_days"],
        accepted_on=when.date(),
        promised_completion_date=when.date(),
        registered_community_id=community,
        accepting_center_id=center,
        accepting_staff_id=staff,
        channel="window" if staff else "online",
        fee_standard_fen=0,
        fee_charged_fen=0,
        deposit_standard_fen=300_000 if code == "FP-002" else 0,
        deposit_charged_fen=300_000 if code == "FP-002" else 0,
        fee_overridden=False,
        accepted_at=when,
        accepted_by=staff or "online",
        required_materials=_materials(code),
        line_id=line_id,
    )
    return intake_envelope(evt, case_id, at_time=when, actor=staff or "online")


def _materials(code: str) -> tuple[Any, ...]:
    """The seeded catalog's material list of the item (what an acceptance carries)."""
    from intake.seed_catalog import seed_items

    return next((i.materials for i in seed_items() if i.code == code), ())


def withdrawn(case_id: str, when: datetime) -> Envelope:
    evt = ApplicationWithdrawn(
        case_id=case_id,
        status_before="accepted",
        reason="申请人撤回",
        deposit_held_fen=0,
        withdrawn_by="resident",
    )
    return intake_envelope(evt, case_id, at_time=when, actor="resident")


def correction_supplied(case_id: str, correction_id: str, when: datetime) -> Envelope:
    evt = CorrectionSupplied(
        case_id=case_id,
        correction_id=correction_id,
        materials=(),
        note="补齐材料",
        received_center_id="ruian.mayu.mabei",
        supplied_by="ruian.mayu.mabei.agent1",
    )
    return intake_envelope(evt, case_id, at_time=when)


def evaluated(case_id: str, score: int, when: datetime) -> Envelope:
    evt = ServiceEvaluated(
        case_id=case_id,
        score=score,
        dimensions={"attitude": score, "speed": 1},
        comment="等了太久",
        bad_review=score <= 2,
        accepting_center_id="ruian.mayu.mabei",
        accepting_staff_id="ruian.mayu.mabei.agent1",
        evaluated_by="resident",
    )
    return intake_envelope(evt, case_id, at_time=when, actor="resident")


# -- the service -------------------------------------------------------------------------------
def settings_for(
    infra: Any, schema: str, intake_topic: str, routing_topic: str, **kw: Any
) -> Settings:
    base: dict[str, Any] = {
        "database_url": infra.database_url,
        "database_schema": schema,
        "kafka_bootstrap_servers": infra.bootstrap,
        "topic_intake": intake_topic,
        "topic_routing": routing_topic,
        "consumer_group": f"routing-{uuid.uuid4().hex[:8]}",
        "db_pool_min": 1,
        "db_pool_max": 6,
        "drill_endpoints": True,
        "deadline_check_interval_seconds": 3600.0,
    }
    base.update(kw)
    return Settings(**base)


@dataclass
class Routing:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FrozenClock
    tokens: Tokens
    producer: AIOKafkaProducer
    intake_topic: str
    routing_topic: str

    async def publish(self, *envelopes: Envelope) -> None:
        for env in envelopes:
            await self.producer.send_and_wait(
                self.intake_topic,
                env.canonical(),
                key=env.stream_id.encode(),
                headers=env.headers(),
            )

    async def case(self, case_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.get(
            f"/v1/cases/{case_id}", headers=headers or self.tokens.inspector()
        )

    async def wait_case(
        self, case_id: str, pred: Callable[[dict[str, Any]], object] = lambda _: True
    ) -> dict[str, Any]:
        """The case detail once routing has it (404 before) and `pred` holds, as it was then."""

        async def detail() -> dict[str, Any] | None:
            r = await self.case(case_id)
            if r.status_code == 404:
                return None
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        found = await eventually(
            detail,
            lambda d: d is not None and pred(d),
            what=f"routing's detail of {case_id}",
            show=lambda d: d and {"state": d["state"], "trail": types_of(d)},
        )
        assert found is not None
        return found

    async def post(
        self, path: str, headers: dict[str, str], json: Any = None, key: str | None = None
    ) -> httpx.Response:
        h = dict(headers)
        if key is not None:
            h["Idempotency-Key"] = key
        return await self.client.post(path, headers=h, json=json)


@contextlib.asynccontextmanager
async def running_routing(
    infra: Any,
    schema: str,
    topics: Callable[..., Awaitable[list[str]]],
    *,
    now: datetime,
    **settings_kw: Any,
) -> AsyncIterator[Routing]:
    """Routing in-process with its real lifespan (migrations, seed, relay, consumer, loop)."""
    intake_topic, routing_topic = await topics("intake", "routing")
    tokens = Tokens()
    clock = FrozenClock(now)
    settings = settings_for(infra, schema, intake_topic, routing_topic, **settings_kw)
    app = build(settings, auth=tokens.verifier(), clock=clock.now)
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.bootstrap, **client_kwargs(), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
                yield Routing(app, client, clock, tokens, producer, intake_topic, routing_topic)
    finally:
        await producer.stop()


def types_of(detail: dict[str, Any]) -> list[str]:
    return [e["event_type"] for e in detail["trail"]]


def of_case(envelopes: Iterable[dict[str, Any]], case_id: str) -> list[dict[str, Any]]:
    return [e for e in envelopes if e["stream_id"] == case_id]
