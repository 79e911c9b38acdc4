"""Issue 18, finding 1, replayed against intake running as its own Kafka user: a forged
`routing.case_decided` ("FORGED over Kafka") from an anonymous client or with intake's
credentials never reaches routing's topic, and an envelope that names a producer other than
the topic's owner is dead-lettered with the reason instead of being acted on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from contracts.base import to_payload
from contracts.routing import CaseDecided
from contracts.topics import INTAKE_EVENTS, ROUTING_EVENTS
from devstack.kafka_users import security
from eventkit.envelope import Actor, Envelope, Producer

from ...polling import eventually
from ..intake.support import AGENT_MABEI, OFFICER_MAYU, Harness, running_intake, second_child
from .support import OwnTopics, own_topics, produce, read_records_until

pytestmark = pytest.mark.integration

OFFICER = Actor(id=OFFICER_MAYU[0], role="officer", org_id=OFFICER_MAYU[2])
TOWN = {"org_id": "ruian.mayu", "tier": "town"}


@pytest.fixture(scope="module")
async def stack(infra) -> AsyncIterator[tuple[Harness, OwnTopics]]:  # type: ignore[no-untyped-def]
    schema = f"t_kafka_auth_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(infra.database_url)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    try:
        async with own_topics(infra.bootstrap) as topics:
            async with running_intake(
                infra.database_url,
                schema,
                infra.bootstrap,
                topics[INTAKE_EVENTS],
                topics[ROUTING_EVENTS],
                kafka_security=security("intake"),  # intake logs in as itself
                consumer_group=topics.groups["intake"],
            ) as h:
                yield h, topics
    finally:
        conn = await asyncpg.connect(infra.database_url)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


def decision(case_id: str, reason: str, producer: str = "routing") -> Envelope:
    evt = CaseDecided(
        case_id=case_id,
        decision_id=f"dec-{uuid.uuid4().hex[:8]}",
        decision="refuse",
        reason=reason,
        decided_by=OFFICER.id,
        at_window=False,
        on_time=True,
        **TOWN,  # type: ignore[arg-type]
    )
    return Envelope(
        event_type=evt.event_type,
        schema_version=evt.schema_version,
        stream_id=case_id,
        occurred_at=datetime.now(UTC),
        producer=Producer(service=producer, instance="forger"),
        actor=OFFICER,
        payload=to_payload(evt),
        **TOWN,
    )


async def accepted_case(h: Harness) -> str:
    r = await h.submit(AGENT_MABEI, second_child())
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"])


def send_args(env: Envelope) -> dict[str, object]:
    return {"key": env.stream_id.encode(), "headers": env.headers()}


async def test_a_forged_decision_never_reaches_intake(
    stack: tuple[Harness, OwnTopics],
) -> None:
    h, topics = stack
    case_id = await accepted_case(h)
    forged = decision(case_id, "FORGED over Kafka")
    with pytest.raises(KafkaError):  # no login: the broker does not talk to it
        await produce(h.bootstrap, None, topics[ROUTING_EVENTS], forged.canonical())
    with pytest.raises(TopicAuthorizationFailedError):  # intake may not write routing's topic
        await produce(
            h.bootstrap, "intake", topics[ROUTING_EVENTS], forged.canonical(), **send_args(forged)
        )
    # routing's real decision, after the attempts, is the one intake records
    real = decision(case_id, "材料不全")
    await produce(
        h.bootstrap, "routing", topics[ROUTING_EVENTS], real.canonical(), **send_args(real)
    )

    stream = await eventually(
        lambda: h.stream(case_id),
        lambda s: any(e["event_type"] == "intake.decision_received" for e in s),
        what="routing's decision applied by intake",
        show=lambda s: [e["event_type"] for e in s],
    )
    received = [e for e in stream if e["event_type"] == "intake.decision_received"]
    assert len(received) == 1
    assert "FORGED" not in str(received[0]["payload"])
    assert "材料不全" in str(received[0]["payload"])


async def test_an_envelope_naming_another_producer_is_dead_lettered(
    stack: tuple[Harness, OwnTopics],
) -> None:
    h, topics = stack
    case_id = await accepted_case(h)
    # on routing's topic (where only routing's login may write), claiming to be intake's:
    # whoever wrote it, intake does not act on it
    foreign = decision(case_id, "FORGED over Kafka", producer="intake")
    await produce(
        h.bootstrap, "routing", topics[ROUTING_EVENTS], foreign.canonical(), **send_args(foreign)
    )
    dlq = topics[ROUTING_EVENTS] + ".dlq"
    letters = await read_records_until(
        h.bootstrap,
        dlq,
        lambda recs: any(r.value == foreign.canonical() for r in recs),
        what="the foreign envelope dead-lettered",
    )
    letter = next(r for r in letters if r.value == foreign.canonical())
    headers = {k: (v or b"").decode() for k, v in letter.headers}
    assert headers["dlq.reason"] == "producer_not_owner"
    assert "'intake'" in headers["dlq.error"] and "only 'routing'" in headers["dlq.error"]
    # a marker after it on the same case (same partition): once it is applied, the forged
    # envelope before it was handled, and it changed nothing
    real = decision(case_id, "材料不全")
    await produce(
        h.bootstrap, "routing", topics[ROUTING_EVENTS], real.canonical(), **send_args(real)
    )
    stream = await eventually(
        lambda: h.stream(case_id),
        lambda s: any(e["event_type"] == "intake.decision_received" for e in s),
        what="routing's decision applied by intake",
    )
    assert ["FORGED" in str(e["payload"]) for e in stream].count(True) == 0
