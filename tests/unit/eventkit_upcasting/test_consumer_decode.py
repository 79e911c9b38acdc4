"""EventConsumer.decode sorts bad input into dead-letter reasons (no broker needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from eventkit.consumer import Backoff, EventConsumer, Poison
from eventkit.dlq import DeadLetterReason, dead_letter_headers, dlq_topic_for
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.upcasting import UpcasterRegistry

pytestmark = pytest.mark.unit


def record(value: bytes | None, headers=(), offset: int = 7) -> ConsumerRecord:
    return ConsumerRecord(
        topic="intake.events",
        partition=1,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"case-1",
        value=value,
        checksum=None,
        serialized_key_size=6,
        serialized_value_size=len(value or b""),
        headers=list(headers),
    )


def env(event_type: str = "test.thing_happened", version: int = 1, **payload) -> Envelope:
    return Envelope(
        event_type=event_type,
        schema_version=version,
        stream_id="case-1",
        occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
        producer=Producer(service="t", instance="1"),
        actor=Actor(id="u", role="r"),
        payload=payload,
    )


async def _noop(conn, e) -> None:
    return None


def consumer(**kw) -> EventConsumer:
    return EventConsumer(
        KafkaBroker("127.0.0.1:1"),
        lambda: None,
        "intake.events",
        group_id="g",
        name="n",
        handler=_noop,
        **kw,
    )


def reason_of(c: EventConsumer, value: bytes | None) -> DeadLetterReason:
    with pytest.raises(Poison) as info:
        c.decode(record(value))
    return info.value.reason


def test_good_envelopes_decode() -> None:
    e = env(n=1)
    assert consumer().decode(record(e.canonical())) == e


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, DeadLetterReason.MALFORMED_JSON),
        (b"", DeadLetterReason.MALFORMED_JSON),
        (b"{oops", DeadLetterReason.MALFORMED_JSON),
        (b"\xff\xfe\x00", DeadLetterReason.MALFORMED_JSON),
        (b"[1]", DeadLetterReason.SCHEMA_INVALID),
        (b'"a string"', DeadLetterReason.SCHEMA_INVALID),
        (b'{"event_type": "test.thing_happened"}', DeadLetterReason.SCHEMA_INVALID),
    ],
)
def test_bad_bytes(value: bytes | None, reason: DeadLetterReason) -> None:
    assert reason_of(consumer(), value) is reason


def test_schema_invalid_envelope_fields() -> None:
    d = env().to_json_dict()
    d["occurred_at"] = "2026-01-05T00:00:00"  # naive: refused
    assert reason_of(consumer(), orjson.dumps(d)) is DeadLetterReason.SCHEMA_INVALID
    d = {**env().to_json_dict(), "surprise": 1}  # extra fields are forbidden
    assert reason_of(consumer(), orjson.dumps(d)) is DeadLetterReason.SCHEMA_INVALID


def test_oversize_is_checked_before_parsing() -> None:
    c = consumer(max_message_bytes=100)
    assert reason_of(c, b"{" * 101) is DeadLetterReason.OVERSIZE
    with pytest.raises(Poison, match="at most 100"):
        c.decode(record(b"x" * 101))


def test_known_types_as_set_callable_or_registry() -> None:
    bad = env("test.other_thing").canonical()
    assert reason_of(consumer(known_types={"test.thing_happened"}), bad) is (
        DeadLetterReason.UNKNOWN_EVENT_TYPE
    )
    assert reason_of(consumer(known_types=lambda t: t.startswith("x.")), bad) is (
        DeadLetterReason.UNKNOWN_EVENT_TYPE
    )
    reg = UpcasterRegistry()
    reg.declare("test.thing_happened", 1)
    assert reason_of(consumer(known_types=reg), bad) is DeadLetterReason.UNKNOWN_EVENT_TYPE
    consumer(known_types=reg).decode(record(env().canonical()))  # known: fine
    consumer().decode(record(bad))  # no known_types: everything goes


def test_upcasting_and_its_failures() -> None:
    reg = UpcasterRegistry()
    reg.add("test.thing_happened", 1, lambda e: {**e, "payload": {"n": e["payload"]["old"]}})
    reg.add("test.broken", 1, lambda e: e["payload"]["missing"])
    c = consumer(upcasters=reg)
    up = c.decode(record(env(old=5).canonical()))
    assert (up.schema_version, up.payload) == (2, {"n": 5})
    assert reason_of(c, env(version=3).canonical()) is DeadLetterReason.UNKNOWN_SCHEMA_VERSION
    assert reason_of(c, env("test.broken").canonical()) is DeadLetterReason.UPCAST_FAILED


def test_backoff_grows_caps_and_never_goes_below_its_minimum() -> None:
    b = Backoff(initial=0.1, maximum=1.0, multiplier=2.0, jitter=0.25)
    assert [b.base(n) for n in (1, 2, 3, 4, 5, 100)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    for n in range(1, 10):
        for _ in range(50):
            assert b.minimum(n) <= b.delay(n) <= b.base(n)
    with pytest.raises(ValueError):
        Backoff(initial=0)
    with pytest.raises(ValueError):
        Backoff(jitter=1.0)
    assert consumer(backoff=(0.3, 3.0)).backoff == Backoff(initial=0.3, maximum=3.0)


def test_constructor_refuses_unsafe_options() -> None:
    with pytest.raises(ValueError, match="handler"):
        EventConsumer(KafkaBroker("127.0.0.1:1"), lambda: None, "t", group_id="g", name="n")
    with pytest.raises(ValueError, match="max_workers"):
        consumer(max_workers=4)
    with pytest.raises(ValueError, match="max_attempts"):
        consumer(max_attempts=0)


def test_dead_letter_headers_keep_the_original_and_add_ours() -> None:
    rec = record(
        b"x",
        headers=[("event_id", b"e1"), ("dlq.reason", b"stale"), ("dlq.redriven_from", b"d:0:1")],
    )
    h = dead_letter_headers(
        rec,
        reason=DeadLetterReason.OVERSIZE,
        error=ValueError("big" * 1000),
        attempts=1,
        consumer="n",
        group_id="g",
    )
    d = dict(h)
    assert d["event_id"] == b"e1"
    assert d["dlq.reason"] == b"oversize"  # the stale one is gone
    assert [k for k, _ in h].count("dlq.reason") == 1
    assert d["dlq.redriven_from"] == b"d:0:1"
    assert d["dlq.original_topic"] == b"intake.events"
    assert (d["dlq.original_partition"], d["dlq.original_offset"]) == (b"1", b"7")
    assert d["dlq.error"].startswith(b"ValueError: bigbig") and len(d["dlq.error"]) == 2000
    assert dlq_topic_for("intake.events") == "intake.events.dlq"
    assert dlq_topic_for("intake.events.dlq") == "intake.events.dlq"


class FakeDeadLetters:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, record, **kw):
        self.sent.append({"offset": record.offset, **kw})
        return type("Md", (), {"partition": 0, "offset": len(self.sent) - 1})()


async def test_an_unexpected_decoding_error_is_dead_lettered_not_raised() -> None:
    dead = FakeDeadLetters()
    c = consumer(dead_letters=dead)

    def broken_decode(record):
        raise TypeError("a bug in decoding")

    c.decode = broken_decode  # type: ignore[method-assign]
    await c.process_record(record(b"{}"))
    (sent,) = dead.sent
    assert sent["reason"] == DeadLetterReason.DECODE_FAILED
    assert sent["error"] == "TypeError: a bug in decoding"
    assert sent["attempts"] == 1


async def test_a_processing_bug_rewinds_after_a_backoff_and_never_acks() -> None:
    c = consumer(backoff=Backoff(initial=0.01, maximum=0.01))
    calls: list[str] = []

    class Msg:
        raw_message = record(b"{}")

        async def ack(self) -> None:
            calls.append("ack")

        async def nack(self) -> None:
            calls.append("nack")

    async def boom(record) -> None:
        raise RuntimeError("bug")

    c.process_record = boom  # type: ignore[method-assign]
    await c._on_message(Msg())  # type: ignore[arg-type]
    assert calls == ["nack"]
    assert c.stats.rewinds == 1
