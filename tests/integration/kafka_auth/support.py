"""Topics of a test's own, with the ACLs of `contracts.kafka_acl` granted on them, and
clients logging in as a given user (or nobody) of the local broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import RecordMetadata

from contracts.kafka_acl import acls
from contracts.topics import AUDIT_EVENTS, INTAKE_EVENTS, NOTIFY_EVENTS, ROUTING_EVENTS
from devstack.kafka_users import apply_acls, kwargs
from devstack.topics import delete_topics, ensure_topics


@dataclass
class OwnTopics:
    """The four event topics (and their `.dlq`) under names of this test, with the table's
    ACLs for them and for `groups` (service -> consumer group)."""

    names: dict[str, str]  # contract topic -> this test's name
    groups: dict[str, str]

    def __getitem__(self, contract_topic: str) -> str:
        return self.names[contract_topic]


@asynccontextmanager
async def own_topics(bootstrap: str) -> AsyncIterator[OwnTopics]:
    tag = uuid.uuid4().hex[:10]
    names = {
        t: f"{t.split('.')[0]}_{tag}.events"
        for t in (INTAKE_EVENTS, ROUTING_EVENTS, NOTIFY_EVENTS, AUDIT_EVENTS)
    }
    groups = {svc: f"{svc}-{tag}" for svc in ("intake", "routing", "notify")}
    made = await ensure_topics(bootstrap, list(names.values()), partitions=1)
    try:
        await apply_acls(bootstrap, acls(names, groups))
        yield OwnTopics(names, groups)
    finally:
        await delete_topics(bootstrap, made)


def as_user(user: str | None) -> dict[str, Any]:
    """Client arguments logging in as `user`; None: no login at all (an anonymous client)."""
    return {} if user is None else kwargs(user)


async def produce(
    bootstrap: str, user: str | None, topic: str, value: bytes, **send: Any
) -> RecordMetadata:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=10_000,
        **as_user(user),
    )
    try:
        await producer.start()
        return await producer.send_and_wait(topic, value, **send)
    finally:
        await producer.stop()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Each partition's end offset, read as the super user."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **kwargs("admin"))
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        ends = await consumer.end_offsets(tps)
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        await consumer.stop()


async def topic_exists(bootstrap: str, topic: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kwargs("admin"))
    await admin.start()
    try:
        return topic in set(await admin.list_topics())
    finally:
        await admin.close()


async def read_records_until(bootstrap: str, topic: str, done: Any, what: str) -> list[Any]:
    """The records of `topic` (headers and all) from its start, as the super user, once
    `done(records)` holds."""
    from aiokafka import AIOKafkaConsumer

    from ...polling import eventually

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **kwargs("admin"),
    )
    await consumer.start()
    out: list[Any] = []

    async def more() -> list[Any]:
        for msgs in (await consumer.getmany(timeout_ms=300)).values():
            out.extend(msgs)
        return out

    try:
        return await eventually(more, done, what=f"{topic}: {what}", interval=0)
    finally:
        await consumer.stop()
