"""Outbox relay: the events table is the outbox; this publishes it to the service's topic.

- One active relay per service: a session-level advisory lock (the lease) is held on a
  dedicated connection; a second instance waits for it. Advisory locks belong to the whole
  database while the events table is the schema's, so the lease is named after both
  (`lease_key`): two services, two cities' deployments or two test stacks sharing one
  database in separate schemas never wait for each other's relay. If that connection
  dies, PostgreSQL releases the lock and the relay stops publishing (its next query fails).
- Reads follow the xid8 rule (`PostgresEventStore.read_all_raw`), so nothing is skipped.
- The idempotent producer (acks=all) sends a batch keyed by stream id (one case stays in one
  partition, in order); the checkpoint advances only after the broker acknowledged every
  message of the batch. A crash between the two republishes the batch: at-least-once to
  Kafka, and the consumers' inbox makes the duplicate a no-op.
- It never dies silently. `run` is `eventkit.loops.supervise` around one session (connect,
  lease, producer, publish): a lost server (PostgreSQL restarted or the connection killed,
  Kafka gone) ends the session with a warning, `/readyz` shows `retrying: <error>`, and a
  new session starts after a capped backoff (`RelaySettings.backoff`) — the lease is taken
  again, the checkpoint reloaded, the unacknowledged batch republished. Anything unexpected
  is logged with its traceback and retried the same way.
- An event that cannot be published (the producer or the broker refuses the record, e.g. a
  record over the size limit stored before the store refused such events) blocks the relay
  there: what precedes it is published and checkpointed; the relay logs at error level with
  the position and the reason, records the block in `outbox_blocked`, shows
  `blocked at position N: reason` in `/readyz` (503), keeps its lease and retries that one
  event with capped backoff (`RelaySettings.blocked_backoff`). It never passes over an event
  by itself: an operator decides (`python -m eventkit outbox show|skip`, `eventkit.outbox`);
  a skip wakes the relay at once (NOTIFY), and the relay also checks for skips itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    UnsupportedForMessageFormatError,
)

from . import outbox
from .kafka_security import KafkaSecurity, client_kwargs
from .limits import PRODUCER_MAX_REQUEST_BYTES
from .loops import Backoff, LoopHealth, sleep_or_stop, supervise
from .store import Checkpoint, RawEvent, read_all_raw

log = logging.getLogger("eventkit.relay")

#: What the producer or the broker answers for a record that no retry of the same bytes to
#: the same topic will get through: the relay blocks on it instead of restarting.
UNPUBLISHABLE: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    CorruptRecordException,
    InvalidTimestampError,
    UnsupportedForMessageFormatError,
)


@dataclass
class RelaySettings:
    """Tuning (bench/PIPELINE.md has the measurements behind the defaults).

    `linger_ms` is the producer's: 0, because the relay hands the producer a whole batch at
    once (nothing more would arrive while it lingers; 5 ms was 5 ms per hop of latency).
    `busy_linger_ms`: once events stream in (at least `busy_rate` per second over the last
    second), the relay waits this long after a wake-up before reading, so one read, one
    produce request and one checkpoint write carry the commits of that moment together; a
    lone commit (light load) is published at once.
    `request_timeout_ms`: how long the producer keeps an unacknowledged batch. Short on
    purpose: while a batch is pending and the broker is gone, aiokafka's sender asks for
    metadata again and again without any backoff (thousands of attempts and error lines per
    second); an expired batch ends the session, which then waits with capped backoff and a
    stopped producer, and republishes from the checkpoint once Kafka is back.
    `backoff`: between sessions after a lost server or an unexpected error;
    `blocked_backoff`: between attempts at an event that cannot be published (each attempt
    logs an error line, so it is capped at a minute, not seconds)."""

    batch_size: int = 1000
    linger_ms: int = 0
    idle_poll_s: float = 0.05
    lease_retry_s: float = 1.0
    max_batch_bytes: int = PRODUCER_MAX_REQUEST_BYTES
    max_request_bytes: int = PRODUCER_MAX_REQUEST_BYTES
    compression_type: str | None = None
    request_timeout_ms: int = 10_000
    busy_linger_ms: int = 20
    busy_rate: float = 50.0
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=0.2, maximum=10.0))
    blocked_backoff: Backoff = field(default_factory=lambda: Backoff(initial=1.0, maximum=60.0))


def refusal_text(exc: BaseException) -> str:
    """The producer's or broker's refusal in one line (aiokafka's texts already name the
    error: "[Error 10] MessageSizeTooLargeError: The message is ... bytes ...")."""
    text = str(exc).strip()
    name = type(exc).__name__
    if not text:
        return name
    return text if name in text else f"{name}: {text}"


def blocked_reason(raw: RawEvent, record_bytes: int, exc: BaseException) -> str:
    """What `/readyz` and `outbox status` say about an event the relay cannot publish."""
    return (
        f"blocked at position {raw.checkpoint.global_position}: cannot publish event "
        f"{raw.event_id} ({raw.event_type}, {record_bytes:,} bytes): {refusal_text(exc)}"
    )


class OutboxRelay:
    """Publishes new events of one store to one topic, exactly one instance at a time."""

    def __init__(
        self,
        dsn: str,
        bootstrap: str,
        topic: str,
        name: str,
        *,
        schema: str = "public",
        settings: RelaySettings | None = None,
        health: LoopHealth | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.dsn = dsn
        self.security = security  # None: the KAFKA_* variables
        self.schema = schema
        self.bootstrap = bootstrap
        self.topic = topic
        self.name = name
        self.settings = settings or RelaySettings()
        self.health = health or LoopHealth("outbox_relay")
        self._wake = asyncio.Event()
        self._operator = asyncio.Event()  # an `outbox skip` for this relay was committed
        self._skips: set[int] = set()
        self._skips_stale = True
        self.published = 0
        self.blocked_attempts = 0  # attempts at events that could not be published
        self.has_lease = False
        self.checkpoint = Checkpoint()
        self._recent: deque[tuple[float, int]] = deque()

    @property
    def reader(self) -> str:
        return f"relay:{self.name}"

    @property
    def lease_key(self) -> str:
        """The advisory lock's name: the schema's relay of this name (see the module doc)."""
        return f"{self.schema}:{self.reader}"

    def wake(self) -> None:
        """Tell the relay new events were committed (saves waiting for the next poll)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set or the task is cancelled; never ends by itself (see the
        module doc): every failure is logged, shown in `self.health`, and retried."""
        stop = stop or asyncio.Event()

        async def session(health: LoopHealth) -> None:
            await self._session(health, stop)

        await supervise(
            self.health.name,
            session,
            stop=stop,
            health=self.health,
            backoff=self.settings.backoff,
            logger=log,
        )

    async def _session(self, health: LoopHealth, stop: asyncio.Event) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(
            self.dsn,
            server_settings={"search_path": self.schema, "application_name": f"relay-{self.name}"},
        )
        try:
            while not stop.is_set():
                got = await conn.fetchval(
                    "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", self.lease_key
                )
                if got:
                    break
                health.running()  # a standby waiting for the lease is healthy
                await sleep_or_stop(stop, self.settings.lease_retry_s)
            if stop.is_set():
                return
            self.has_lease = True
            log.info("relay holds the lease", extra={"relay": self.name, "topic": self.topic})
            await conn.add_listener(outbox.NOTIFY_CHANNEL, self._on_notify)
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=self.settings.linger_ms,
                max_batch_size=min(self.settings.max_batch_bytes, self.settings.max_request_bytes),
                max_request_size=self.settings.max_request_bytes,
                compression_type=self.settings.compression_type,
                request_timeout_ms=self.settings.request_timeout_ms,
                client_id=f"relay-{self.name}",
                **client_kwargs(self.security),
            )
            try:
                await producer.start()
                health.running()  # both servers answer (only now: this resets the backoff)
                await self._pump(conn, producer, stop, health)
            finally:
                await _stop_producer(producer)
        finally:
            self.has_lease = False
            await _close(conn)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == self.name:
            self._skips_stale = True
            self._operator.set()
            self._wake.set()

    async def _pump(
        self,
        conn: asyncpg.Connection,
        producer: AIOKafkaProducer,
        stop: asyncio.Event,
        health: LoopHealth,
    ) -> None:
        self.checkpoint = await outbox.load_checkpoint(conn, self.name)
        self._skips_stale = True
        while not stop.is_set():
            self._wake.clear()
            if self._skips_stale:
                self._skips_stale = False
                self._skips = await outbox.skipped_positions(conn, self.name, self.checkpoint)
            batch = await read_all_raw(conn, self.checkpoint, self.settings.batch_size)
            if not batch:
                await self._idle(stop)
                continue
            done, error = await self._send(producer, batch)
            if done:
                await self._save_checkpoint(conn, batch[done - 1].checkpoint)
                self.published += sum(
                    1 for r in batch[:done] if r.checkpoint.global_position not in self._skips
                )
            if error is not None:
                if not isinstance(error, UNPUBLISHABLE):
                    raise error  # a lost broker or a bug: supervise logs it and retries
                await self._blocked(conn, producer, batch[done], error, stop, health)
                continue
            if len(batch) < self.settings.batch_size:
                # Caught up: wait for the next wake (an append committed while we were
                # publishing has already set it, so this returns at once) or the idle poll,
                # instead of reading again straight away only to find nothing.
                await self._idle(stop)
                if self._busy(len(batch)):
                    await sleep_or_stop(stop, self.settings.busy_linger_ms / 1000)

    async def _send(
        self, producer: AIOKafkaProducer, batch: list[RawEvent]
    ) -> tuple[int, BaseException | None]:
        """Send `batch` in store order and wait for the acknowledgements. Returns (n, error):
        the first n events are acknowledged (or skipped by an operator), and `error` is why
        event n was not (None when all were)."""
        futures: list[asyncio.Future[Any] | None] = []
        refused: BaseException | None = None
        for raw in batch:
            if raw.checkpoint.global_position in self._skips:
                futures.append(None)
                continue
            key, value, headers = outbox.kafka_message(raw)
            try:
                futures.append(await producer.send(self.topic, value, key=key, headers=headers))
            except UNPUBLISHABLE as exc:  # refused by the producer before sending
                refused = exc
                break
        results = iter(
            await asyncio.gather(*(f for f in futures if f is not None), return_exceptions=True)
        )
        for i, fut in enumerate(futures):
            if fut is None:
                continue
            result = next(results)
            if isinstance(result, asyncio.CancelledError):
                # the send was cancelled, not this task (that would have raised here): do
                # not let it pass for our cancellation, which would end the loop
                return i, ConnectionError("the producer cancelled a send")
            if isinstance(result, BaseException):
                return i, result
        return len(futures), refused

    async def _blocked(
        self,
        conn: asyncpg.Connection,
        producer: AIOKafkaProducer,
        raw: RawEvent,
        error: BaseException,
        stop: asyncio.Event,
        health: LoopHealth,
    ) -> None:
        """Hold the lease and retry `raw` alone, with capped backoff, until it is published
        or an operator skips it; say so at error level on every attempt."""
        size = outbox.record_bytes(raw)
        position = raw.checkpoint.global_position
        attempt = 0
        while not stop.is_set():
            attempt += 1
            self.blocked_attempts += 1
            reason = blocked_reason(raw, size, error)
            health.blocked(reason)
            await outbox.record_blocked(conn, self.name, raw, reason)
            delay = self.settings.blocked_backoff.delay(attempt)
            log.error(
                "relay cannot publish an event; it keeps its lease and retries it "
                "(see `python -m eventkit outbox status|show|skip`)",
                extra={
                    "relay": self.name,
                    "topic": self.topic,
                    "position": position,
                    "transaction_id": raw.checkpoint.transaction_id,
                    "event_id": raw.event_id,
                    "event_type": raw.event_type,
                    "record_bytes": size,
                    "error": refusal_text(error),
                    "attempt": attempt,
                    "retry_in_s": round(delay, 2),
                },
            )
            self._operator.clear()
            await _wait_any(stop, self._operator, delay)
            if stop.is_set():
                return
            skips = await outbox.skipped_positions(conn, self.name, self.checkpoint)
            if position in skips:
                self._skips |= skips
                await self._save_checkpoint(conn, raw.checkpoint)
                await outbox.clear_blocked(conn, self.name)
                log.warning(
                    "event skipped by an operator; the relay goes on after it",
                    extra={"relay": self.name, "position": position, "event_id": raw.event_id},
                )
                health.running()
                return
            key, value, headers = outbox.kafka_message(raw)
            try:
                await (await producer.send(self.topic, value, key=key, headers=headers))
            except UNPUBLISHABLE as exc:
                error = exc
                continue
            await self._save_checkpoint(conn, raw.checkpoint)
            self.published += 1
            await outbox.clear_blocked(conn, self.name)
            log.info(
                "the event that blocked the relay is published",
                extra={"relay": self.name, "position": position, "attempts": attempt + 1},
            )
            health.running()
            return

    async def _save_checkpoint(self, conn: asyncpg.Connection, cp: Checkpoint) -> None:
        await conn.execute(
            "INSERT INTO reader_checkpoints (reader, transaction_id, global_position, "
            "updated_at) VALUES ($1, $2::text::xid8, $3, now()) ON CONFLICT (reader) DO "
            "UPDATE SET transaction_id = EXCLUDED.transaction_id, "
            "global_position = EXCLUDED.global_position, updated_at = now()",
            self.reader,
            str(cp.transaction_id),
            cp.global_position,
        )
        self.checkpoint = cp

    def _busy(self, published: int) -> bool:
        now = time.monotonic()
        self._recent.append((now, published))
        while self._recent and self._recent[0][0] < now - 1.0:
            self._recent.popleft()
        return (
            self.settings.busy_linger_ms > 0
            and sum(n for _, n in self._recent) >= self.settings.busy_rate
        )

    async def _idle(self, stop: asyncio.Event) -> None:
        await _wait_any(stop, self._wake, self.settings.idle_poll_s)


async def _wait_any(stop: asyncio.Event, other: asyncio.Event, timeout: float) -> None:
    """Until `stop` or `other` is set, or `timeout` seconds pass."""
    waiters = [asyncio.ensure_future(other.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def _stop_producer(producer: AIOKafkaProducer) -> None:
    """Stop the producer without letting a dead broker hold the session's end hostage."""
    try:
        await asyncio.wait_for(producer.stop(), 10)
    except Exception as exc:
        log.warning("relay producer did not stop cleanly", extra={"error": repr(exc)})


async def _close(conn: asyncpg.Connection) -> None:
    """Close the session's connection; a dead one (server restarted) is just dropped."""
    try:
        await asyncio.wait_for(conn.close(), 5)
    except Exception:
        conn.terminate()


__all__ = ["UNPUBLISHABLE", "OutboxRelay", "RelaySettings", "blocked_reason"]
