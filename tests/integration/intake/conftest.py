"""One intake per test module (the app's lifespan on real PostgreSQL and Kafka), with its
own schema and topics. Tests in a module make their own cases, so they never interfere;
starting intake once per module keeps each file well under a minute."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from devstack.topics import delete_topics, ensure_topics

from .support import Harness, running_intake


@pytest.fixture(scope="module")
async def intake(infra) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:10]
    schema = f"t_intake_{tag}"
    intake_topic, routing_topic = f"intake_{tag}.events", f"routing_{tag}.events"
    made = await ensure_topics(infra.bootstrap, [intake_topic, routing_topic], partitions=3)
    conn = await asyncpg.connect(infra.database_url)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    try:
        async with running_intake(
            infra.database_url, schema, infra.bootstrap, intake_topic, routing_topic
        ) as h:
            yield h
    finally:
        conn = await asyncpg.connect(infra.database_url)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
        await delete_topics(infra.bootstrap, made)
