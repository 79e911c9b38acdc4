"""Dead letters: where messages that can never (or did not) succeed go, and how they come back.

A consumer sends a message it gives up on to `<topic>.dlq` (created beside every event topic
by `devstack.topics.ensure_topics`): the **original value and key unchanged**, the original
headers, plus

=========================  ===========================================================
``dlq.reason``             why: see `DeadLetterReason` (malformed_json, schema_invalid, ...)
``dlq.error``              the error text (exception type and message, truncated)
``dlq.original_topic``     where it came from
``dlq.original_partition`` ...
``dlq.original_offset``    ...
``dlq.attempts``           how many times processing was tried (1 for bad input)
``dlq.consumer``           the consumer (inbox name) that gave up
``dlq.group_id``           its Kafka consumer group
``dlq.failed_at``          UTC timestamp, ISO 8601
``dlq.value_dropped``      only when the value could not be re-published (too large):
                           the original size in bytes; the value in the DLQ is then empty
=========================  ===========================================================

The publish waits for the broker's acknowledgement (acks=all, idempotent producer) before
the consumer commits the original offset, so a dead letter is never lost; a crash between
the two can produce the same dead letter twice (at-least-once; the `dlq.original_*` headers
identify duplicates).

`redrive` re-publishes chosen dead letters to their original topic: same value and key,
original headers without any `dlq.*` header, plus ``dlq.redriven_from`` =
``<dlq topic>:<partition>:<offset>``. Kafka is append-only, so the dead letter stays where it
was; re-driving it twice is harmless for envelope consumers (the inbox absorbs the repeat).

`list_dead_letters` and `redrive` are plain async functions (the CLI in `eventkit.cli` is a
thin shell around them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import RecordMetadata

from .kafka_security import client_kwargs
from .limits import PRODUCER_MAX_REQUEST_BYTES

log = logging.getLogger("eventkit.dlq")

DLQ_SUFFIX = ".dlq"
HEADER_PREFIX = "dlq."
H_REASON = "dlq.reason"
H_ERROR = "dlq.error"
H_ORIGINAL_TOPIC = "dlq.original_topic"
H_ORIGINAL_PARTITION = "dlq.original_partition"
H_ORIGINAL_OFFSET = "dlq.original_offset"
H_ATTEMPTS = "dlq.attempts"
H_CONSUMER = "dlq.consumer"
H_GROUP_ID = "dlq.group_id"
H_FAILED_AT = "dlq.failed_at"
H_VALUE_DROPPED = "dlq.value_dropped"
H_REDRIVEN_FROM = "dlq.redriven_from"

MAX_ERROR_CHARS = 2000

Headers = list[tuple[str, bytes]]


class DeadLetterReason(StrEnum):
    MALFORMED_JSON = "malformed_json"  # empty, not UTF-8, or not JSON
    SCHEMA_INVALID = "schema_invalid"  # not a JSON object, or the envelope fails validation
    UNKNOWN_EVENT_TYPE = "unknown_event_type"  # not in the consumer's known types
    UNKNOWN_SCHEMA_VERSION = "unknown_schema_version"  # newer than the registry knows
    UPCAST_FAILED = "upcast_failed"  # an upcaster raised or the chain is broken
    DECODE_FAILED = "decode_failed"  # decoding raised something unexpected (a bug to report)
    OVERSIZE = "oversize"  # value larger than the consumer's max_message_bytes
    EVENT_TOO_LARGE = "event_too_large"  # the handler would store an event over the limit
    HANDLER_FAILED = "handler_failed"  # the handler raised max_attempts times
    PRODUCER_NOT_OWNER = "producer_not_owner"  # the envelope names a producer that does not
    # own the topic it arrived on (a forgery, or a service writing where it must not)


#: Reasons that can never succeed on a retry: dead-lettered at once, attempts = 1.
IMMEDIATE_REASONS = frozenset(DeadLetterReason) - {DeadLetterReason.HANDLER_FAILED}


def dlq_topic_for(topic: str) -> str:
    return topic if topic.endswith(DLQ_SUFFIX) else f"{topic}{DLQ_SUFFIX}"


def describe_error(exc: BaseException | str) -> str:
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def dead_letter_headers(
    record: ConsumerRecord[Any, Any],
    *,
    reason: DeadLetterReason | str,
    error: BaseException | str,
    attempts: int,
    consumer: str,
    group_id: str | None = None,
) -> Headers:
    """The original headers (minus stale dlq.* error headers) plus this failure's dlq.*."""
    kept = [
        (k, v if v is not None else b"")
        for k, v in (record.headers or ())
        if not k.startswith(HEADER_PREFIX) or k == H_REDRIVEN_FROM
    ]
    ours: dict[str, str] = {
        H_REASON: str(reason),
        H_ERROR: describe_error(error),
        H_ORIGINAL_TOPIC: record.topic,
        H_ORIGINAL_PARTITION: str(record.partition),
        H_ORIGINAL_OFFSET: str(record.offset),
        H_ATTEMPTS: str(attempts),
        H_CONSUMER: consumer,
        H_GROUP_ID: group_id or "",
        H_FAILED_AT: datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    return kept + [(k, v.encode("utf-8", "replace")) for k, v in ours.items()]


class DeadLetterPublisher:
    """Publishes dead letters with its own idempotent, acks=all producer.

    Its own producer (not FastStream's `broker.publish`) because FastStream's publish takes
    `str` headers and adds `content-type`/`correlation_id` ones: a dead letter must carry the
    original bytes and headers exactly so a redrive is faithful. Started lazily on the first
    dead letter (they are rare); `stop()` closes it.
    """

    def __init__(self, bootstrap_servers: str, *, client_id: str = "eventkit-dlq", **kw: Any):
        self.bootstrap_servers = bootstrap_servers
        self._kw = {
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 0,
            "request_timeout_ms": 30000,
            "max_request_size": PRODUCER_MAX_REQUEST_BYTES,
            **client_kwargs(),
            **kw,
        }
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, **self._kw)
                await producer.start()
                self._producer = producer

    async def stop(self) -> None:
        async with self._lock:
            if self._producer is not None:
                producer, self._producer = self._producer, None
                await producer.stop()

    async def publish(
        self,
        record: ConsumerRecord[Any, Any],
        *,
        reason: DeadLetterReason | str,
        error: BaseException | str,
        attempts: int,
        consumer: str,
        group_id: str | None = None,
        dlq_topic: str | None = None,
    ) -> RecordMetadata:
        """Send `record` to its DLQ and wait for the broker's acknowledgement."""
        if self._producer is None:
            await self.start()
        assert self._producer is not None
        topic = dlq_topic or dlq_topic_for(record.topic)
        headers = dead_letter_headers(
            record,
            reason=reason,
            error=error,
            attempts=attempts,
            consumer=consumer,
            group_id=group_id,
        )
        value = record.value if record.value is not None else b""
        try:
            return await self._producer.send_and_wait(
                topic, value=value, key=record.key, headers=headers
            )
        except MessageSizeTooLargeError:
            # The original fitted in its topic but not with our headers: keep the evidence
            # (headers, coordinates) and drop the value; the original is still in its topic.
            headers.append((H_VALUE_DROPPED, str(len(value)).encode()))
            return await self._producer.send_and_wait(
                topic, value=b"", key=record.key, headers=headers
            )


# -- reading and re-driving ---------------------------------------------------------------------
@dataclass(frozen=True)
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Headers = field(repr=False)

    @property
    def id(self) -> str:
        """`partition:offset`, the handle `redrive` takes."""
        return f"{self.partition}:{self.offset}"

    def header(self, name: str) -> str | None:
        for k, v in reversed(self.headers):
            if k == name:
                return (v or b"").decode("utf-8", "replace")
        return None

    @property
    def reason(self) -> str | None:
        return self.header(H_REASON)

    @property
    def error(self) -> str | None:
        return self.header(H_ERROR)

    @property
    def original_topic(self) -> str | None:
        return self.header(H_ORIGINAL_TOPIC)

    @property
    def original_partition(self) -> int | None:
        v = self.header(H_ORIGINAL_PARTITION)
        return int(v) if v and v.lstrip("-").isdigit() else None

    @property
    def original_offset(self) -> int | None:
        v = self.header(H_ORIGINAL_OFFSET)
        return int(v) if v and v.lstrip("-").isdigit() else None

    @property
    def attempts(self) -> int | None:
        v = self.header(H_ATTEMPTS)
        return int(v) if v and v.isdigit() else None

    @property
    def consumer(self) -> str | None:
        return self.header(H_CONSUMER)

    def _body_field(self, name: str) -> str | None:
        try:
            body = orjson.loads(self.value or b"")
        except orjson.JSONDecodeError:
            return None
        v = body.get(name) if isinstance(body, dict) else None
        return str(v) if v is not None else None

    @property
    def event_id(self) -> str | None:
        return self.header("event_id") or self._body_field("event_id")

    @property
    def event_type(self) -> str | None:
        return self.header("event_type") or self._body_field("event_type")

    def original_headers(self) -> Headers:
        """The headers the message had before it was dead-lettered (no dlq.* ones)."""
        return [(k, v) for k, v in self.headers if not k.startswith(HEADER_PREFIX)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dlq_topic": self.dlq_topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
            "reason": self.reason,
            "error": self.error,
            "original_topic": self.original_topic,
            "original_partition": self.original_partition,
            "original_offset": self.original_offset,
            "attempts": self.attempts,
            "consumer": self.consumer,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "redriven_from": self.header(H_REDRIVEN_FROM),
            "value_bytes": len(self.value or b""),
        }

    @classmethod
    def from_record(cls, record: ConsumerRecord[Any, Any]) -> DeadLetter:
        return cls(
            dlq_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp=record.timestamp,
            key=record.key,
            value=record.value,
            headers=list(record.headers or ()),
        )


@dataclass(frozen=True)
class Redriven:
    source: str  # dlq_topic:partition:offset
    topic: str
    partition: int
    offset: int


class DeadLetterError(RuntimeError):
    """A DLQ topic or a dead letter asked for does not exist, or a handle is ambiguous."""


async def topic_partitions(bootstrap: str, topic: str, timeout: float = 30.0) -> list[int]:
    """The partition numbers of `topic` (empty if it does not exist).

    Asked of the admin API: a group-less `AIOKafkaConsumer` only learns the partitions of
    topics it is subscribed to (`partitions_for_topic` stays None for the others).
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000), **client_kwargs()
    )
    try:
        await admin.start()
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code"):
        return []
    return sorted(p["partition"] for p in described["partitions"])


class _Reader:
    """A group-less consumer over every partition of one topic (reads never commit)."""

    def __init__(self, bootstrap: str, topic: str, timeout: float) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout = timeout
        self.tps: list[TopicPartition] = []
        self.begin: dict[TopicPartition, int] = {}
        self.end: dict[TopicPartition, int] = {}

    async def __aenter__(self) -> _Reader:
        parts = await topic_partitions(self.bootstrap, self.topic, self.timeout)
        if not parts:
            raise DeadLetterError(f"topic {self.topic!r} does not exist")
        # made only now: a consumer never started nor stopped is reported "unclosed"
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=int(self.timeout * 1000),
            **client_kwargs(),
        )
        try:
            await self.consumer.start()
            self.tps = [TopicPartition(self.topic, p) for p in parts]
            self.consumer.assign(self.tps)
            self.begin = await self.consumer.beginning_offsets(self.tps)
            self.end = await self.consumer.end_offsets(self.tps)
        except BaseException:
            await self.consumer.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def read_partition(self, tp: TopicPartition, limit: int | None) -> list[DeadLetter]:
        out: list[DeadLetter] = []
        end = self.end[tp]
        if end <= self.begin[tp]:
            return out
        self.consumer.seek(tp, self.begin[tp])
        async with asyncio.timeout(self.timeout):
            while await self.consumer.position(tp) < end:
                batch = await self.consumer.getmany(tp, timeout_ms=500)
                for rec in batch.get(tp, []):
                    if rec.offset >= end:
                        return out
                    out.append(DeadLetter.from_record(rec))
                    if limit is not None and len(out) >= limit:
                        return out
        return out

    async def read_one(self, tp: TopicPartition, offset: int) -> DeadLetter:
        if not self.begin[tp] <= offset < self.end[tp]:
            raise DeadLetterError(f"{tp.topic}: no message at {tp.partition}:{offset}")
        self.consumer.seek(tp, offset)
        async with asyncio.timeout(self.timeout):
            while True:
                batch = await self.consumer.getmany(tp, timeout_ms=500, max_records=1)
                for rec in batch.get(tp, []):
                    if rec.offset == offset:
                        return DeadLetter.from_record(rec)
                    raise DeadLetterError(
                        f"{tp.topic}: no message at {tp.partition}:{offset} (next is {rec.offset})"
                    )


async def list_dead_letters(
    bootstrap: str, dlq_topic: str, limit: int | None = 100, *, timeout: float = 30.0
) -> list[DeadLetter]:
    """The first `limit` dead letters of `dlq_topic`, by (partition, offset)."""
    dlq_topic = dlq_topic_for(dlq_topic)
    out: list[DeadLetter] = []
    async with _Reader(bootstrap, dlq_topic, timeout) as reader:
        for tp in reader.tps:
            remaining = None if limit is None else limit - len(out)
            if remaining is not None and remaining <= 0:
                break
            out.extend(await reader.read_partition(tp, remaining))
    return out


Handle = str | int | tuple[int, int]


def _parse_handle(h: Handle) -> tuple[int | None, int]:
    if isinstance(h, tuple):
        return int(h[0]), int(h[1])
    if isinstance(h, int):
        return None, h
    text = str(h).strip()
    if ":" in text:
        p, o = text.split(":", 1)
        return int(p), int(o)
    return None, int(text)


async def redrive(
    bootstrap: str,
    dlq_topic: str,
    offsets: Iterable[Handle] | None,
    *,
    timeout: float = 30.0,
    producer: AIOKafkaProducer | None = None,
) -> list[Redriven]:
    """Re-publish chosen dead letters to their original topics; `offsets=None` means all.

    A handle is `"partition:offset"`, `(partition, offset)`, or a bare offset (accepted when
    exactly one partition of the DLQ has that offset). Every handle is resolved before
    anything is published, so a typo publishes nothing. Each publish waits for the broker's
    acknowledgement.
    """
    dlq_topic = dlq_topic_for(dlq_topic)
    async with _Reader(bootstrap, dlq_topic, timeout) as reader:
        letters: list[DeadLetter] = []
        if offsets is None:
            for tp in reader.tps:
                letters.extend(await reader.read_partition(tp, None))
        else:
            for handle in offsets:
                part, off = _parse_handle(handle)
                if part is None:
                    holders = [tp for tp in reader.tps if reader.begin[tp] <= off < reader.end[tp]]
                    if not holders:
                        raise DeadLetterError(f"{dlq_topic}: no message at offset {off}")
                    if len(holders) > 1:
                        raise DeadLetterError(
                            f"{dlq_topic}: offset {off} exists in partitions "
                            f"{[tp.partition for tp in holders]}; say which, as P:{off}"
                        )
                    tp = holders[0]
                else:
                    tp = TopicPartition(dlq_topic, part)
                    if tp not in reader.begin:
                        raise DeadLetterError(f"{dlq_topic}: no partition {part}")
                letters.append(await reader.read_one(tp, off))
    for letter in letters:
        if not letter.original_topic:
            raise DeadLetterError(f"{dlq_topic} {letter.id}: no {H_ORIGINAL_TOPIC} header")
    return await _republish(bootstrap, letters, producer)


async def _republish(
    bootstrap: str, letters: Sequence[DeadLetter], producer: AIOKafkaProducer | None
) -> list[Redriven]:
    own = producer is None
    if producer is None:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            max_request_size=PRODUCER_MAX_REQUEST_BYTES,
            client_id="eventkit-redrive",
            **client_kwargs(),
        )
        await producer.start()
    out: list[Redriven] = []
    try:
        for letter in letters:
            assert letter.original_topic is not None
            source = f"{letter.dlq_topic}:{letter.partition}:{letter.offset}"
            headers = [*letter.original_headers(), (H_REDRIVEN_FROM, source.encode())]
            md = await producer.send_and_wait(
                letter.original_topic, value=letter.value, key=letter.key, headers=headers
            )
            out.append(Redriven(source, md.topic, md.partition, md.offset))
            log.info("redriven", extra={"source": source, "topic": md.topic, "offset": md.offset})
    finally:
        if own:
            with contextlib.suppress(Exception):
                await producer.stop()
    return out


__all__ = [
    "DLQ_SUFFIX",
    "IMMEDIATE_REASONS",
    "DeadLetter",
    "DeadLetterError",
    "DeadLetterPublisher",
    "DeadLetterReason",
    "Redriven",
    "dead_letter_headers",
    "dlq_topic_for",
    "list_dead_letters",
    "redrive",
    "topic_partitions",
]
