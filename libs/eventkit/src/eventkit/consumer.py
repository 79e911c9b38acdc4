"""Consumers with an exactly-once *effect*: manual commits, inbox, backoff, dead letters.

    consumer = EventConsumer(
        broker, pool, "intake.events",
        group_id="routing", name="routing.intake",
        handler=on_event,                  # async (conn, envelope) -> None
        upcasters=contracts_registry,      # optional
        known_types={"intake.application_accepted", ...},   # optional
    )
    await broker.start()                   # the subscriber starts with the broker
    ...
    await broker.stop(); await consumer.close()

What happens to one message (single mode), in order:

1. **Bad input is dead-lettered at once** (`dlq.attempts` = 1, never retried, it can never
   succeed): a value larger than `max_message_bytes` (`oversize`), empty / not UTF-8 / not
   JSON (`malformed_json`), an event type outside `known_types` (`unknown_event_type`), a
   version newer than the upcaster registry knows (`unknown_schema_version`), an upcaster
   that raises (`upcast_failed`), an envelope that fails validation (`schema_invalid`), an
   envelope whose producer does not own the topic it came from (`producer_not_owner`;
   `producers={topic: service}`, from `contracts.topics.PRODUCER_OF`).
2. Otherwise, in **one PostgreSQL transaction**: `inbox.claim(conn, name, event_id)`; if the
   claim is fresh, `await handler(conn, envelope)`; commit. A duplicate (redelivery, double
   publish) finds its claim taken and has no effect.
3. **Then** the Kafka offset is committed (`msg.ack()`). A crash between 2 and 3 leads to a
   redelivery that the inbox absorbs; a crash before 2 commits leaves nothing behind.
4. If the handler raises `EventTooLarge` (it would store an event over the size limit,
   `eventkit.limits`), the message goes to `<topic>.dlq` at once with reason
   `event_too_large`: no retry can make it fit. If it raises anything else, the message
   is retried **in place** after an exponential backoff (`Backoff`, with jitter; never a
   tight loop). After `max_attempts` failures it goes to
   `<topic>.dlq` with reason `handler_failed`; the broker's acknowledgement of that publish
   is awaited and only then is the original offset committed, so consumption goes on and
   nothing is lost. The attempt count is a local of the in-flight message: after a restart
   or rebalance it starts again (the message was never committed), which is fine.
5. Infrastructure errors (`transient_errors`: PostgreSQL unreachable or shutting down,
   serialization failures and deadlocks, connection/timeout errors) are **not** counted as
   attempts: they are retried with backoff (capped at `Backoff.maximum`) until they pass, so
   an outage stalls the partition instead of dead-lettering every message in it. The same
   holds for a dead-letter publish that fails (Kafka unreachable).

Batch mode (`batch=True`): every poll (up to `max_records`) is decoded, bad input is
dead-lettered, and the rest is processed in **one transaction** (`inbox.claim_many`, then
`batch_handler(conn, fresh_envelopes)` or `handler` per fresh envelope). If that transaction
fails, the batch falls back to per-message processing (each with its own retries and DLQ),
so one poison message costs one batch retry, not a blocked batch.

Throughput: single mode pays one PostgreSQL transaction and one Kafka offset commit per
message. On Kafka 4.1 an offset commit takes at least `group.coordinator.append.linger.ms`
(broker default 5 ms), so one consumer does roughly 100-150 messages/s on the local stack;
batch mode amortises both over a poll (thousands per second). Use batch mode for anything
busy, single mode where per-message retries and minimal redelivery matter more.

Delivery guarantees in one line: at-least-once from Kafka, exactly-once effect in
PostgreSQL (the handler's writes), at-least-once to the DLQ (a crash between the DLQ
acknowledgement and the offset commit can dead-letter the same message twice; the
`dlq.original_*` headers identify it).

What we found in FastStream 0.7.8 (and how this module uses it)
----------------------------------------------------------------
- `ack_policy=AckPolicy.MANUAL` turns aiokafka's auto-commit off (the default ACK_FIRST
  turns it on: at-most-once). `KafkaAckableMessage.ack()` calls `AIOKafkaConsumer.commit()`
  **without offsets**, i.e. it commits the *consumed position of every assigned partition*.
  That is correct here only because a subscriber handles its messages strictly one after
  another (the default subscriber uses `getone()`, the batch subscriber `getmany()`), so at
  ack time everything consumed has been processed. Do not combine this class with
  `max_workers` (FastStream's concurrent subscribers): an ack would commit past messages
  still in flight.
- A handler that returns without acking leaves nothing committed, but the consumer's
  position has moved on: the next ack commits past it. So this module never "skips" a
  message: each one is processed, dead-lettered, or retried until one of those happens.
  Should processing itself raise (a bug in this module, not a handler failure), the
  message is sought back with `msg.nack()` after a backoff instead of being left behind.
- `msg.nack()` seeks back and redelivers at once (a tight loop); we nack only in that
  last-resort case, and only after sleeping. Handler retries sleep inside the handler;
  aiokafka heartbeats from a background task, so a sleeping handler keeps its group
  membership (the whole retry sequence must stay well under `max_poll_interval_ms`, 300 s
  by default; the defaults total about 3 s).
- FastStream's parser decodes every header value with `bytes.decode()`: a message with a
  non-UTF-8 (or null) header would fail *parsing*; FastStream logs that and moves on, and
  the next ack silently commits past it. We install a parser that falls back to a
  sanitised copy for FastStream's view while keeping the raw record for us (the DLQ gets
  the original bytes).
- FastStream's decoder JSON-decodes the body when `content-type` says JSON and would raise
  on garbage; we install a decoder that returns the raw bytes and decode them ourselves.
- `no_reply=True`: a `reply_to` header on an incoming message would otherwise make
  FastStream publish the handler's return value to that topic.
- Dead letters use a separate aiokafka producer (`dlq.DeadLetterPublisher`): FastStream's
  `publish` takes `str` headers and adds its own (`content-type`, `correlation_id`), and a
  dead letter must keep the original bytes and headers.
- Batch + MANUAL works: the batch subscriber hands the tuple of `ConsumerRecord`s of one
  `getmany()` to the handler and `ack()` commits all of them. No plain-aiokafka fallback was
  needed; the processing core (`process_record`, `process_records`) takes aiokafka
  `ConsumerRecord`s and does not depend on FastStream, so a plain aiokafka loop could drive
  it if ever needed.
- Rebalances: a commit after the partition was revoked raises `CommitFailedError`; we log
  it and carry on (the new owner gets the message again and the inbox absorbs it).
- Subscribers must be registered before `broker.start()` (construct `EventConsumer` at
  build time; the pool may be given as a zero-argument callable, e.g.
  `lambda: runtime.pool`, because `ServiceRuntime` creates the pool in `start()`).
- `TestKafkaBroker` ignores commits and seeks: these semantics are tested against the
  real broker only (tests/integration/eventkit_consumer, tests/fault/eventkit_consumer).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import asyncpg
import orjson
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import ValidationError

from . import inbox
from .dlq import DeadLetterPublisher, DeadLetterReason, describe_error, dlq_topic_for
from .envelope import Envelope
from .limits import TOPIC_MAX_MESSAGE_BYTES, EventTooLarge
from .loops import RETRYING, RUNNING, Backoff, LoopHealth, sleep_or_stop
from .pools import PoolSource, resolve_pool
from .upcasting import UpcasterRegistry, UpcastError

log = logging.getLogger("eventkit.consumer")

Handler = Callable[[asyncpg.Connection, Envelope], Awaitable[None]]
BatchHandler = Callable[[asyncpg.Connection, Sequence[Envelope]], Awaitable[None]]
KnownTypes: TypeAlias = Collection[str] | Callable[[str], bool] | UpcasterRegistry

# whatever a topic can hold (`eventkit.limits`): every published event is processed
DEFAULT_MAX_MESSAGE_BYTES = TOPIC_MAX_MESSAGE_BYTES

#: Errors that say "the infrastructure is not there right now", not "this message is bad":
#: retried with backoff until they pass, never counted as attempts, never dead-lettered.
DEFAULT_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionError, TimeoutError, and "Multiple exceptions" of a refused connect
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.TransactionRollbackError,  # serialization failure, deadlock
    asyncpg.InternalClientError,  # a pooled connection a server restart left half-closed
)


@dataclass
class ConsumerStats:
    processed: int = 0  # envelopes whose handler ran and committed
    duplicates: int = 0  # envelopes whose inbox claim was already taken
    retries: int = 0  # handler failures that were retried
    transient_errors: int = 0  # infrastructure errors waited out
    batches: int = 0  # batch transactions committed
    batch_fallbacks: int = 0  # batches re-run message by message
    commit_failures: int = 0  # offset commits refused (rebalance)
    rewinds: int = 0  # unexpected processing failures, message sought back (bugs)
    dead_lettered: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["dead_lettered"] = dict(self.dead_lettered)
        return d


class Poison(Exception):
    """A message that can never be processed: dead-lettered at once."""

    def __init__(self, reason: DeadLetterReason, error: str) -> None:
        super().__init__(f"{reason}: {error}")
        self.reason = reason
        self.error = error


def _broker_bootstrap(broker: KafkaBroker) -> str:
    try:
        servers = broker.config.broker_config.builder.keywords["bootstrap_servers"]  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError) as exc:  # pragma: no cover - API drift
        raise ValueError(
            "cannot read the bootstrap servers from this KafkaBroker; pass dlq_bootstrap="
        ) from exc
    return servers if isinstance(servers, str) else ",".join(servers)


_SECURITY_KEYS = (
    "security_protocol",
    "sasl_mechanism",
    "sasl_plain_username",
    "sasl_plain_password",
    "ssl_context",
)


def _broker_security(broker: KafkaBroker) -> dict[str, Any]:
    """The broker's own login (FastStream's `security=`): dead letters go as the consumer."""
    try:
        kw = broker.config.broker_config.builder.keywords  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - API drift
        return {}
    return {k: kw[k] for k in _SECURITY_KEYS if k in kw}


def _sanitized(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    headers = [(k, (v or b"").decode("utf-8", "replace").encode()) for k, v in record.headers or ()]
    return dataclasses.replace(record, headers=headers)


class EventConsumer:
    """A FastStream subscriber that runs `handler` with an exactly-once effect (see module doc).

    `name` is the inbox consumer name: keep it stable across deploys (changing it means
    every event is new again). `group_id` is the Kafka consumer group. Extra keyword
    arguments go to `KafkaBroker.subscriber` (e.g. `session_timeout_ms`).

    `on_commit` is called (synchronously, errors logged) after each transaction that ran the
    handler has committed: a handler that appends to the service's event store passes
    `store.notify_appended` so the outbox relay publishes at once instead of at its next
    idle poll (50 ms), which is one hop of end-to-end latency per consumed event.
    """

    def __init__(
        self,
        broker: KafkaBroker,
        pool: PoolSource,
        topics: str | Sequence[str],
        *,
        group_id: str,
        name: str,
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        batch: bool = False,
        max_records: int = 500,
        batch_timeout_ms: int = 200,
        max_attempts: int = 5,
        backoff: Backoff | tuple[float, float] = Backoff(),
        upcasters: UpcasterRegistry | None = None,
        known_types: KnownTypes | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        dlq_bootstrap: str | None = None,
        dead_letters: DeadLetterPublisher | None = None,
        transient_errors: tuple[type[BaseException], ...] = DEFAULT_TRANSIENT_ERRORS,
        auto_offset_reset: str = "earliest",
        on_commit: Callable[[], None] | None = None,
        stall_seconds: float = 120.0,
        producers: Mapping[str, str] | None = None,
        **subscriber_options: Any,
    ) -> None:
        if handler is None and batch_handler is None:
            raise ValueError("give a handler (conn, envelope) or a batch_handler (conn, envelopes)")
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if subscriber_options.get("max_workers", 1) not in (None, 1):
            raise ValueError("max_workers > 1 would commit past in-flight messages")
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        # topic -> the one service that produces there (`contracts.topics.PRODUCER_OF`):
        # an envelope naming another producer is dead-lettered (`producer_not_owner`)
        self.producers: dict[str, str] = dict(producers or {})
        self.group_id = group_id
        self.name = name
        self.handler = handler
        self.batch_handler = batch_handler
        self.batch = batch
        self.max_attempts = max_attempts
        self.backoff = backoff if isinstance(backoff, Backoff) else Backoff(*backoff)
        self.upcasters = upcasters
        self.max_message_bytes = max_message_bytes
        self.transient_errors = transient_errors
        self.on_commit = on_commit
        self.stats = ConsumerStats()
        self.health = LoopHealth(f"consumer:{name}")
        self.stall_seconds = stall_seconds
        self._rewinds = 0
        self._trouble: str | None = None  # what holds processing up (an outage waited out)
        self._busy_since: float | None = None  # when the poll being processed arrived
        self._closed = asyncio.Event()
        self._pool_source = pool
        self._is_known = self._known_predicate(known_types)
        self._owns_dead_letters = dead_letters is None
        self.dead_letters = dead_letters or DeadLetterPublisher(
            dlq_bootstrap or _broker_bootstrap(broker),
            client_id=f"{name}-dlq",
            **_broker_security(broker),
        )

        subscribe: Any = broker.subscriber  # one call for both modes; the overloads split them
        self.subscriber = subscribe(
            *self.topics,
            group_id=group_id,
            batch=batch,
            max_records=max_records if batch else None,
            batch_timeout_ms=batch_timeout_ms,
            auto_offset_reset=auto_offset_reset,
            ack_policy=AckPolicy.MANUAL,
            no_reply=True,
            parser=self._parse_batch if batch else self._parse_one,
            decoder=self._raw_body,
            **subscriber_options,
        )
        self.subscriber(self._on_batch if batch else self._on_message)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Optional: connect the dead-letter producer now rather than on the first use."""
        await self.dead_letters.start()

    async def close(self) -> None:
        """Close the dead-letter producer (call after `broker.stop()`); ends `watch`."""
        self._closed.set()
        if self._owns_dead_letters:
            await self.dead_letters.stop()

    # -- FastStream glue -------------------------------------------------------------------------
    async def _parse_one(self, record: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
        try:
            return await original(record)
        except (UnicodeDecodeError, AttributeError):
            msg = await original(_sanitized(record))
            msg.raw_message = record
            return msg

    async def _parse_batch(self, records: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
        try:
            return await original(records)
        except (UnicodeDecodeError, AttributeError):
            msg = await original(tuple(_sanitized(r) for r in records))
            msg.raw_message = records
            return msg

    @staticmethod
    async def _raw_body(msg: Any) -> Any:
        return msg.body

    async def _on_message(self, msg: KafkaMessage) -> None:
        await self._on_poll(msg, self.process_record(msg.raw_message))  # type: ignore[arg-type]

    async def _on_batch(self, msg: KafkaMessage) -> None:
        await self._on_poll(msg, self.process_records(msg.raw_message))  # type: ignore[arg-type]

    async def _on_poll(self, msg: KafkaMessage, processing: Awaitable[None]) -> None:
        """One delivery (a record or a batch): processed, then committed; on an error the
        partitions are rewound to it (`_rewind`) and nothing is committed."""
        self._busy_since = time.monotonic()
        try:
            await processing
        except Exception as exc:
            await self._rewind(msg, exc)
            return
        finally:
            self._busy_since = None
        self._rewinds = 0
        self._report(None)
        await self._commit(msg)

    async def _rewind(self, msg: Any, exc: BaseException) -> None:
        """Defence in depth: processing itself failed (a bug here, not in the handler, which
        is retried and dead-lettered). Never let a later ack commit past the message: wait,
        then seek back to it so it comes again."""
        self._rewinds += 1
        self.stats.rewinds += 1
        self._report(f"processing failed unexpectedly, rewinding: {describe_error(exc)}")
        log.error(
            "processing failed unexpectedly; rewinding to the message after a backoff",
            extra={"consumer": self.name, "error": repr(exc)},
            exc_info=exc,
        )
        await asyncio.sleep(self.backoff.delay(self._rewinds))
        await msg.nack()

    async def _commit(self, msg: Any) -> None:
        try:
            await msg.ack()
        except Exception as exc:
            # Typically a rebalance took the partition away: the new owner re-reads from the
            # last committed offset and the inbox absorbs what we already processed.
            self.stats.commit_failures += 1
            log.warning(
                "offset commit failed; the messages will be redelivered (the inbox absorbs them)",
                extra={"consumer": self.name, "error": repr(exc)},
            )

    # -- processing core (FastStream-independent) ------------------------------------------------
    def decode(self, record: ConsumerRecord[Any, Any]) -> Envelope:
        """Bytes -> upcast, validated Envelope, or `Poison` with the reason."""
        value = record.value
        if value is None or len(value) == 0:
            raise Poison(DeadLetterReason.MALFORMED_JSON, "empty value")
        if len(value) > self.max_message_bytes:
            raise Poison(
                DeadLetterReason.OVERSIZE,
                f"value is {len(value)} bytes; this consumer accepts at most "
                f"{self.max_message_bytes}",
            )
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise Poison(DeadLetterReason.MALFORMED_JSON, str(exc)) from None
        if not isinstance(data, dict):
            raise Poison(
                DeadLetterReason.SCHEMA_INVALID,
                f"an envelope is a JSON object, got {type(data).__name__}",
            )
        etype = data.get("event_type")
        if isinstance(etype, str) and self._is_known is not None and not self._is_known(etype):
            raise Poison(DeadLetterReason.UNKNOWN_EVENT_TYPE, f"unknown event type {etype!r}")
        if self.upcasters is not None and isinstance(etype, str):
            version = data.get("schema_version", 1)
            latest = self.upcasters.latest(etype)
            if isinstance(version, int) and latest is not None and version > latest:
                raise Poison(
                    DeadLetterReason.UNKNOWN_SCHEMA_VERSION,
                    f"{etype} v{version} is newer than the newest known version v{latest}",
                )
            try:
                data = self.upcasters.upcast(data)
            except UpcastError as exc:
                raise Poison(DeadLetterReason.UPCAST_FAILED, str(exc)) from None
        try:
            env = Envelope.model_validate(data)
        except ValidationError as exc:
            raise Poison(DeadLetterReason.SCHEMA_INVALID, str(exc)) from None
        owner = self.producers.get(record.topic)
        if owner is not None and env.producer.service != owner:
            raise Poison(
                DeadLetterReason.PRODUCER_NOT_OWNER,
                f"envelope {env.event_id} ({env.event_type}) names producer "
                f"{env.producer.service!r}, but only {owner!r} produces to {record.topic}",
            )
        return env

    async def _decode_or_dead_letter(self, record: ConsumerRecord[Any, Any]) -> Envelope | None:
        try:
            return self.decode(record)
        except Poison as p:
            reason, error = p.reason, p.error
        except Exception as exc:  # a decoding bug must not block the partition either
            reason, error = DeadLetterReason.DECODE_FAILED, describe_error(exc)
        await self._dead_letter(record, reason, error, attempts=1)
        return None

    async def process_record(self, record: ConsumerRecord[Any, Any]) -> None:
        """Process one record to completion: handled, duplicate, or dead-lettered."""
        envelope = await self._decode_or_dead_letter(record)
        if envelope is not None:
            await self._process_with_retries(record, envelope)

    async def process_records(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Process one poll: bad input to the DLQ, the rest in one transaction, falling back
        to one message at a time if that transaction fails."""
        good: list[tuple[ConsumerRecord[Any, Any], Envelope]] = []
        for record in records:
            envelope = await self._decode_or_dead_letter(record)
            if envelope is not None:
                good.append((record, envelope))
        if not good:
            return
        try:
            await self._apply([env for _, env in good])
            self.stats.batches += 1
        except Exception as exc:
            self.stats.batch_fallbacks += 1
            log.warning(
                "batch transaction failed; processing its messages one by one",
                extra={"consumer": self.name, "size": len(good), "error": repr(exc)},
            )
            for record, env in good:
                await self._process_with_retries(record, env)

    async def _process_with_retries(
        self, record: ConsumerRecord[Any, Any], envelope: Envelope
    ) -> None:
        attempts = 0
        outages = 0
        while True:
            try:
                await self._apply([envelope])
                return
            except self.transient_errors as exc:
                outages += 1
                self.stats.transient_errors += 1
                self._report(f"{describe_error(exc)} (waiting at {self._position(record)})")
                delay = self.backoff.delay(outages)
                log.warning(
                    "infrastructure error; waiting and retrying (not counted as an attempt)",
                    extra={**self._where(record), "error": repr(exc), "delay": delay},
                )
                await asyncio.sleep(delay)
            except EventTooLarge as exc:
                # the handler would store an event no topic could carry: retrying cannot
                # help, and nothing was written (the transaction rolled back)
                await self._dead_letter(
                    record, DeadLetterReason.EVENT_TOO_LARGE, exc, attempts=attempts + 1
                )
                return
            except Exception as exc:
                attempts += 1
                if attempts >= self.max_attempts:
                    await self._dead_letter(
                        record, DeadLetterReason.HANDLER_FAILED, exc, attempts=attempts
                    )
                    return
                self.stats.retries += 1
                delay = self.backoff.delay(attempts)
                log.warning(
                    "handler failed; retrying after backoff",
                    extra={
                        **self._where(record),
                        "attempt": attempts,
                        "error": repr(exc),
                        "delay": delay,
                    },
                )
                await asyncio.sleep(delay)

    async def _apply(self, envelopes: Sequence[Envelope]) -> None:
        """One transaction: claim in the inbox, run the handler for the fresh ones, commit."""
        pool = self._pool()
        async with pool.acquire() as conn, conn.transaction():
            if len(envelopes) == 1:
                env = envelopes[0]
                fresh = (
                    {env.event_id} if await inbox.claim(conn, self.name, env.event_id) else set()
                )
            else:
                fresh = await inbox.claim_many(conn, self.name, (e.event_id for e in envelopes))
            todo: list[Envelope] = []
            for env in envelopes:
                if env.event_id in fresh:
                    todo.append(env)
                    fresh.discard(env.event_id)  # a repeat within the batch runs once
            if todo:
                if self.batch_handler is not None:
                    await self.batch_handler(conn, todo)
                else:
                    assert self.handler is not None
                    for env in todo:
                        await self.handler(conn, env)
        if todo and self.on_commit is not None:
            try:
                self.on_commit()
            except Exception:  # a wake-up hook must never undo a committed transaction
                log.exception("on_commit hook failed", extra={"consumer": self.name})
        self.stats.processed += len(todo)
        self.stats.duplicates += len(envelopes) - len(todo)

    async def _dead_letter(
        self,
        record: ConsumerRecord[Any, Any],
        reason: DeadLetterReason,
        error: BaseException | str,
        *,
        attempts: int,
    ) -> None:
        failures = 0
        while True:
            try:
                md = await self.dead_letters.publish(
                    record,
                    reason=reason,
                    error=error,
                    attempts=attempts,
                    consumer=self.name,
                    group_id=self.group_id,
                    dlq_topic=dlq_topic_for(record.topic),
                )
                break
            except Exception as exc:
                failures += 1
                delay = self.backoff.delay(failures)
                self._report(
                    f"dead-letter publish failed: {describe_error(exc)} "
                    f"(waiting at {self._position(record)})"
                )
                log.error(
                    "dead-letter publish failed; retrying (the offset stays uncommitted)",
                    extra={**self._where(record), "error": repr(exc), "delay": delay},
                )
                await asyncio.sleep(delay)
        self.stats.dead_lettered[str(reason)] += 1
        log.error(
            "message dead-lettered",
            extra={
                **self._where(record),
                "reason": str(reason),
                "attempts": attempts,
                "error": str(error)[:500],
                "dlq_partition": md.partition,
                "dlq_offset": md.offset,
            },
        )

    # -- supervision -----------------------------------------------------------------------------
    async def watch(self, health: LoopHealth) -> None:
        """The consumer's supervised loop (`runtime.supervise(consumer.health.name,
        consumer.watch)`): FastStream runs the consumption itself, in its subscriber's task
        started with the broker; this checks every second that it still does and shows in
        `health` (so in `/readyz`) what holds it up. Ends when `close()` is called.

        What we found happens (FastStream 0.7.8, aiokafka 0.14, real broker and PostgreSQL):

        - Kafka goes away: `getmany()` simply returns nothing while aiokafka marks the group
          coordinator dead and retries in the background; nothing reaches FastStream's loop,
          nothing is raised here. When a broker listens again on the same address the
          consumer rejoins its group by itself (seen after 30 s and 80 s outages) and goes
          on from the committed offsets. So the loop is not restarted for that; the health
          says `retrying: no Kafka group coordinator` while it lasts.
        - PostgreSQL restarts mid-batch: the batch transaction fails (`AdminShutdownError`,
          then `ConnectionDoesNotExistError` / `CannotConnectNowError` / refused connects),
          the batch falls back to one message at a time and each waits the outage out with
          backoff (`transient_errors`); nothing is dead-lettered, nothing committed early.
          The health says `retrying: <error> (waiting at topic:partition@offset)` until a
          message goes through again.
        - A handler call that hangs (no error, no progress) shows as stalled after
          `stall_seconds`.
        - FastStream restarts its consume task by itself (at once, no backoff) when it raises;
          should the task be gone anyway, this restarts the subscriber (an error, logged).
        """
        self.health = health
        if not self._consuming():
            await self._restart_subscriber()
        while not self._closed.is_set():
            if not self._consuming():
                raise RuntimeError(f"consumer {self.name}: the subscriber's consume task ended")
            self._report(self._trouble)
            await sleep_or_stop(self._closed, 1.0)

    def _consuming(self) -> bool:
        sub: Any = self.subscriber
        tasks = getattr(sub, "tasks", None)
        return bool(getattr(sub, "running", False)) and (
            tasks is None or any(not t.done() for t in tasks)
        )

    async def _restart_subscriber(self) -> None:
        sub: Any = self.subscriber
        log.error("restarting the subscriber", extra={"consumer": self.name})
        await sub.stop()
        await sub.start()

    def _kafka_trouble(self) -> str | None:
        """aiokafka's own view (private attributes, read defensively): its group coordinator
        is unknown while no broker answers."""
        consumer = getattr(self.subscriber, "consumer", None)
        coordinator = getattr(consumer, "_coordinator", None)
        if coordinator is not None and getattr(coordinator, "coordinator_id", 0) is None:
            return "no Kafka group coordinator (is the broker reachable?)"
        return None

    def _report(self, trouble: str | None) -> None:
        """Record what holds processing up (None: a poll went through) and show the worst
        of it, Kafka's state and a stall in `health`."""
        self._trouble = trouble
        busy = None if self._busy_since is None else time.monotonic() - self._busy_since
        stalled = (
            f"one poll has been in processing for {busy:.0f} s"
            if busy is not None and busy > self.stall_seconds
            else None
        )
        reason = trouble or self._kafka_trouble() or stalled
        h = self.health
        if reason is None:
            if h.state != RUNNING:
                h.running()
        elif h.state != RETRYING or h.reason != reason:
            h.retrying(reason)

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _position(record: ConsumerRecord[Any, Any]) -> str:
        return f"{record.topic}:{record.partition}@{record.offset}"

    def _pool(self) -> asyncpg.Pool:
        return resolve_pool(self._pool_source)

    def _where(self, record: ConsumerRecord[Any, Any]) -> dict[str, Any]:
        return {
            "consumer": self.name,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
        }

    @staticmethod
    def _known_predicate(known: KnownTypes | None) -> Callable[[str], bool] | None:
        if known is None:
            return None
        if isinstance(known, UpcasterRegistry):
            return lambda t: t in known.known_types()
        if callable(known):
            return known
        frozen = frozenset(known)
        return frozen.__contains__


__all__ = [
    "DEFAULT_TRANSIENT_ERRORS",
    "Backoff",
    "BatchHandler",
    "ConsumerStats",
    "EventConsumer",
    "Handler",
    "Poison",
]
