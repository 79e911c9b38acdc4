"""No event that cannot be published is ever stored: the size limits, the refusal naming the
field, the 413 at the edge, the consumer's dead letter, the relay's blocked reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import MessageSizeTooLargeError
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from eventkit.consumer import EventConsumer
from eventkit.dlq import DeadLetterReason
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.http_errors import install_size_handler
from eventkit.limits import (
    MAX_EVENT_BYTES,
    MAX_EVENT_BYTES_CEILING,
    PRODUCER_MAX_REQUEST_BYTES,
    TOPIC_MAX_MESSAGE_BYTES,
    EventTooLarge,
    check_max_event_bytes,
    largest_fields,
    too_large,
    topic_config,
)
from eventkit.relay import RelaySettings, blocked_reason
from eventkit.service import build_broker
from eventkit.settings import ServiceSettings
from eventkit.store import Checkpoint, InMemoryEventStore, RawEvent

pytestmark = pytest.mark.unit


def event(stream: str = "org", **payload: Any) -> Envelope:
    return Envelope(
        event_type="routing.org_unit_registered",
        stream_id=stream,
        occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
        producer=Producer(service="routing", instance="t"),
        actor=Actor(id="admin.ops", role="admin"),
        payload=payload,
    )


def test_the_limits_nest_so_whatever_is_stored_can_be_published() -> None:
    # an accepted event, with its key and headers, fits a producer request, which fits a topic
    assert MAX_EVENT_BYTES == 256 * 1024
    assert MAX_EVENT_BYTES < MAX_EVENT_BYTES_CEILING < PRODUCER_MAX_REQUEST_BYTES
    assert PRODUCER_MAX_REQUEST_BYTES <= TOPIC_MAX_MESSAGE_BYTES
    assert topic_config() == {"max.message.bytes": str(TOPIC_MAX_MESSAGE_BYTES)}
    producer = build_broker(ServiceSettings())._connection_kwargs  # FastStream's, as given
    assert producer["max_request_size"] == PRODUCER_MAX_REQUEST_BYTES
    assert producer["max_batch_size"] <= PRODUCER_MAX_REQUEST_BYTES
    assert RelaySettings().max_request_bytes == PRODUCER_MAX_REQUEST_BYTES
    assert RelaySettings().max_batch_bytes <= PRODUCER_MAX_REQUEST_BYTES


def test_a_configured_maximum_above_what_can_be_published_is_refused() -> None:
    assert check_max_event_bytes(64 * 1024) == 64 * 1024
    with pytest.raises(ValueError, match="max_event_bytes"):
        check_max_event_bytes(MAX_EVENT_BYTES_CEILING + 1)
    with pytest.raises(ValueError, match="max_event_bytes"):
        ServiceSettings(max_event_bytes=PRODUCER_MAX_REQUEST_BYTES)
    assert ServiceSettings().max_event_bytes == MAX_EVENT_BYTES


def test_the_largest_field_is_named_by_its_path_in_the_payload() -> None:
    # a long name is the name; 8,000 items of 200 characters are the list, not one item
    env = event(name_zh="长" * 1000, kind="社区")
    (first, *_) = largest_fields(env.to_json_dict())
    assert first == ("name_zh", len(orjson.dumps("长" * 1000)))
    items = [{"code": f"M{i}", "note": "x" * 200} for i in range(8000)]
    fields = largest_fields(event(items=items, note="n").to_json_dict())
    assert fields[0][0] == "items" and fields[0][1] > 1_600_000
    nested = largest_fields(event(unit={"name_zh": "y" * 5000, "kind": "k"}).to_json_dict())
    assert nested[0][0] == "unit.name_zh"
    # a field outside the payload is named as the envelope's
    outside = {**event().to_json_dict(), "stream_id": "s" * 5000}
    assert largest_fields(outside)[0][0] == "envelope.stream_id"


def test_too_large_says_the_sizes_and_the_field() -> None:
    small = event(name_zh="新桥社区").canonical()
    assert too_large(small, MAX_EVENT_BYTES) is None
    big = event(name_zh="长" * 100_000).canonical()
    refusal = too_large(big, MAX_EVENT_BYTES)
    assert isinstance(refusal, EventTooLarge)
    assert refusal.field == "name_zh"
    assert (refusal.size, refusal.limit) == (len(big), MAX_EVENT_BYTES)
    assert f"{len(big):,} bytes" in refusal.reason and "262,144" in refusal.reason
    assert "name_zh (300,002 bytes)" in refusal.reason


async def test_the_in_memory_store_refuses_the_whole_batch_and_writes_nothing() -> None:
    store = InMemoryEventStore()
    fine, huge = event(name_zh="a"), event(name_zh="长" * 100_000)
    with pytest.raises(EventTooLarge) as info:
        await store.append("org", 0, [fine, huge])
    assert info.value.field == "name_zh"
    assert await store.stream_version("org") == 0 and await store.read_all() == []
    # a lower configured maximum applies too
    strict = InMemoryEventStore(max_event_bytes=2048)
    with pytest.raises(EventTooLarge):
        await strict.append("org", 0, [event(name_zh="b" * 3000)])
    await strict.append("org", 0, [fine])


async def test_the_edge_answers_413_naming_the_field() -> None:
    app = FastAPI()
    install_size_handler(app)

    @app.post("/units")
    async def post_unit() -> None:
        await InMemoryEventStore().append("org", 0, [event(name_zh="长" * 100_000)])

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post("/units")
    assert r.status_code == 413
    detail = r.json()["detail"]
    assert detail["field"] == "name_zh"
    assert "limited to 262,144 bytes" in detail["reason"]


class _Letters:
    """Stands in for the dead-letter publisher: records what would be published."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def publish(self, record: Any, **kw: Any) -> Any:
        self.sent.append(kw)

        class Md:
            partition, offset = 0, 0

        return Md()

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def test_a_handler_that_would_store_a_too_large_event_is_dead_lettered_at_once() -> None:
    letters = _Letters()
    c = EventConsumer(
        KafkaBroker("127.0.0.1:1"),
        lambda: None,
        "intake.events",
        group_id="g",
        name="n",
        handler=lambda conn, e: None,  # type: ignore[arg-type,return-value]
        dead_letters=letters,  # type: ignore[arg-type]
        max_attempts=5,
    )
    calls = 0

    async def apply(envelopes: Any) -> None:
        nonlocal calls
        calls += 1
        raise EventTooLarge(event_type="x.y", event_id="e", size=2, limit=1, fields=[("f", 2)])

    c._apply = apply  # type: ignore[method-assign]
    value = event(n=1).canonical()
    rec = ConsumerRecord(
        "intake.events", 0, 3, 0, 0, b"k", value, None, 1, len(value), [("event_id", b"e")]
    )
    await c.process_record(rec)
    assert calls == 1  # no retry: it can never fit
    (sent,) = letters.sent
    assert sent["reason"] is DeadLetterReason.EVENT_TOO_LARGE and sent["attempts"] == 1


def test_the_blocked_reason_names_position_event_size_and_refusal() -> None:
    raw = RawEvent(Checkpoint(900, 17), "org", "e-1", "routing.x", 1, "c-1", b"{}")
    exc = MessageSizeTooLargeError("The message is 3000617 bytes when serialized")
    reason = blocked_reason(raw, 3_000_617, exc)
    assert reason == (
        "blocked at position 17: cannot publish event e-1 (routing.x, 3,000,617 bytes): "
        "[Error 10] MessageSizeTooLargeError: The message is 3000617 bytes when serialized"
    )
