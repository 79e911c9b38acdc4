"""The local broker refuses who it does not know and what the ACL table does not grant
(issue 18, finding 1: any client could produce anywhere and delete topics)."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from contracts.topics import INTAKE_EVENTS, ROUTING_EVENTS
from devstack.kafka_users import kwargs

from .support import end_offsets, own_topics, produce, topic_exists

pytestmark = pytest.mark.integration

TOPIC_AUTHORIZATION_FAILED = 29


async def test_an_anonymous_client_cannot_produce(infra) -> None:  # type: ignore[no-untyped-def]
    async with own_topics(infra.bootstrap) as topics:
        target = topics[ROUTING_EVENTS]
        before = await end_offsets(infra.bootstrap, target)
        with pytest.raises(KafkaError) as refused:
            await produce(infra.bootstrap, None, target, b'{"forged": true}')
        # the same client with the owner's login is accepted: the refusal is the login's
        await produce(infra.bootstrap, "routing", target, b'{"event": "real"}')
        after = await end_offsets(infra.bootstrap, target)
    print(f"anonymous producer refused: {refused.value!r}")
    assert sum(after.values()) == sum(before.values()) + 1  # only routing's record landed


async def test_a_wrong_password_is_refused(infra) -> None:  # type: ignore[no-untyped-def]
    from aiokafka import AIOKafkaProducer

    async with own_topics(infra.bootstrap) as topics:
        login = kwargs("routing") | {"sasl_plain_password": "not-the-password"}
        producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, **login)
        with pytest.raises(KafkaError):
            try:
                await producer.start()
                await producer.send_and_wait(topics[ROUTING_EVENTS], b"{}")
            finally:
                await producer.stop()


async def test_a_service_cannot_write_another_services_topic(infra) -> None:  # type: ignore[no-untyped-def]
    async with own_topics(infra.bootstrap) as topics:
        with pytest.raises(TopicAuthorizationFailedError):
            await produce(infra.bootstrap, "intake", topics[ROUTING_EVENTS], b"{}")
        with pytest.raises(TopicAuthorizationFailedError):
            await produce(infra.bootstrap, "notify", topics[INTAKE_EVENTS], b"{}")
        # its own topic, and the dead letters of what it consumes, it may write
        await produce(infra.bootstrap, "intake", topics[INTAKE_EVENTS], b"{}")
        await produce(infra.bootstrap, "intake", topics[ROUTING_EVENTS] + ".dlq", b"{}")
        assert sum((await end_offsets(infra.bootstrap, topics[ROUTING_EVENTS])).values()) == 0


async def test_a_service_cannot_delete_or_create_topics(infra) -> None:  # type: ignore[no-untyped-def]
    async with own_topics(infra.bootstrap) as topics:
        target = topics[ROUTING_EVENTS]
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap, **kwargs("routing"))
        await admin.start()
        try:
            deleted = await admin.delete_topics([target])
            created = await admin.create_topics(
                [NewTopic(name=target + "-again", num_partitions=1, replication_factor=1)]
            )
        finally:
            await admin.close()
        assert [code for _, code, *_ in deleted.topic_error_codes] == [TOPIC_AUTHORIZATION_FAILED]
        assert [code for _, code, *_ in created.topic_errors] == [TOPIC_AUTHORIZATION_FAILED]
        assert await topic_exists(infra.bootstrap, target)
        assert not await topic_exists(infra.bootstrap, target + "-again")
