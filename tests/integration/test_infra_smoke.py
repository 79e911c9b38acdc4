"""The real broker and the real database answer, with the settings the project relies on."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from eventkit import migrate
from eventkit.kafka_security import client_kwargs

from ..polling import eventually

pytestmark = pytest.mark.integration


async def test_produce_and_consume_on_the_real_broker(infra, topics) -> None:
    (topic,) = await topics("smoke")
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.bootstrap, **client_kwargs(), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for i in range(50):
            await producer.send(topic, key=f"case-{i % 5}".encode(), value=f"m{i}".encode())
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.bootstrap,
        **client_kwargs(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=f"g-{topic}",
    )
    await consumer.start()
    got: list[bytes] = []

    async def more() -> list[bytes]:
        for msgs in (await consumer.getmany(timeout_ms=500)).values():
            got.extend(m.value for m in msgs)
        return got

    try:
        await eventually(
            more, lambda got: len(got) >= 50, what=f"50 records on {topic}", interval=0
        )
    finally:
        await consumer.stop()
    assert sorted(got) == sorted(f"m{i}".encode() for i in range(50))


async def test_topics_have_a_dlq_beside_them_and_keep_everything(infra, topics) -> None:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    (topic,) = await topics("retention", partitions=2)
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap, **client_kwargs())
    await admin.start()
    try:
        names = set(await admin.list_topics())
        assert {topic, f"{topic}.dlq"} <= names
        described = await admin.describe_topics([topic])
        assert len(described[0]["partitions"]) == 2
        cfg = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = {e[0]: e[1] for e in cfg[0].resources[0][4]}
        assert entries["retention.ms"] == "-1"
    finally:
        await admin.close()


async def test_migrations_apply_once_and_refuse_edited_files(eventkit_schema) -> None:
    conn = await eventkit_schema.connect()
    try:
        again = await migrate.apply(conn, migrate.eventkit_migrations())
        assert again == []
        tables = {
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1", eventkit_schema.schema
            )
        }
        assert {"events", "inbox", "reader_checkpoints", "snapshots", "schema_migrations"} <= tables
        name, sql = migrate.eventkit_migrations()[0]
        with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
            await migrate.apply(conn, [(name, sql + "\n-- edited")])
        await conn.execute("INSERT INTO inbox (consumer, event_id) VALUES ('c', gen_random_uuid())")
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 1
    finally:
        await conn.close()
