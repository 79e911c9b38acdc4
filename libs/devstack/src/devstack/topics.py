"""Create the project's topics up front (auto-creation is off on our brokers)."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from eventkit.kafka_security import client_kwargs


async def ensure_topics(
    bootstrap: str,
    topics: list[str],
    partitions: int = 3,
    replication: int = 1,
    event_retention_forever: bool = True,
) -> list[str]:
    """Create each topic and its `.dlq` sibling if missing; return the names created.

    Event topics keep everything (retention -1): they are the replay source. Every topic
    gets `max.message.bytes` explicitly (`eventkit.limits`: the producers' request size and
    the event store's limit are derived from the same place).
    """
    from eventkit.limits import topic_config

    wanted: list[str] = []
    for t in topics:
        wanted.append(t)
        if not t.endswith(".dlq"):
            wanted.append(f"{t}.dlq")
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **client_kwargs()
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        config = topic_config()
        if event_retention_forever:
            config |= {"retention.ms": "-1", "retention.bytes": "-1"}
        if replication >= 3:
            config["min.insync.replicas"] = "2"
        new = [
            NewTopic(
                name=t,
                num_partitions=partitions,
                replication_factor=replication,
                topic_configs=dict(config),
            )
            for t in wanted
            if t not in existing
        ]
        if new:
            try:
                resp = await admin.create_topics(new, timeout_ms=30000)
            except TopicAlreadyExistsError:
                return []
            errors = [
                (name, code, msg)
                for name, code, msg, *_ in getattr(resp, "topic_errors", [])
                if code not in (0, 36)  # 36 = TOPIC_ALREADY_EXISTS
            ]
            if errors:
                raise RuntimeError(f"topic creation failed: {errors}")
            # Creation is acknowledged by the controller before every broker's metadata
            # shows it; wait so a producer started right after does not fail.
            deadline = asyncio.get_running_loop().time() + 30
            while not {t.name for t in new} <= set(await admin.list_topics()):
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError("created topics did not appear in metadata within 30 s")
                await asyncio.sleep(0.1)
        return [t.name for t in new]
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **client_kwargs()
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            await admin.delete_topics(doomed, timeout_ms=30000)
    finally:
        await admin.close()
