"""Outbox relay: the events table is the outbox; this publishes it to the service's topic.

- One active relay per service: a session-level advisory lock (the lease) is held on a
  dedicated connection; a second instance waits for it. If that connection dies, PostgreSQL
  releases the lock and the relay stops publishing (its next query fails).
- Reads follow the xid8 rule (`PostgresEventStore.read_all_raw`), so nothing is skipped.
- The idempotent producer (acks=all) sends a batch keyed by stream id (one case stays in one
  partition, in order); the checkpoint advances only after the broker acknowledged every
  message of the batch. A crash between the two republishes the batch: at-least-once to
  Kafka, and the consumers' inbox makes the duplicate a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from .envelope import (
    HEADER_CORRELATION_ID,
    HEADER_EVENT_ID,
    HEADER_EVENT_TYPE,
    HEADER_SCHEMA_VERSION,
)
from .store import Checkpoint, RawEvent, read_all_raw

log = logging.getLogger("eventkit.relay")


@dataclass
class RelaySettings:
    """Tuning (bench/PIPELINE.md has the measurements behind the defaults).

    `linger_ms` is the producer's: 0, because the relay hands the producer a whole batch at
    once (nothing more would arrive while it lingers; 5 ms was 5 ms per hop of latency).
    `busy_linger_ms`: once events stream in (at least `busy_rate` per second over the last
    second), the relay waits this long after a wake-up before reading, so one read, one
    produce request and one checkpoint write carry the commits of that moment together; a
    lone commit (light load) is published at once."""

    batch_size: int = 1000
    linger_ms: int = 0
    idle_poll_s: float = 0.05
    lease_retry_s: float = 1.0
    max_batch_bytes: int = 1024 * 1024
    compression_type: str | None = None
    busy_linger_ms: int = 20
    busy_rate: float = 50.0


def kafka_message(raw: RawEvent) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) for one stored event: canonical JSON, headers per §3."""
    headers = [
        (HEADER_EVENT_ID, raw.event_id.encode()),
        (HEADER_EVENT_TYPE, raw.event_type.encode()),
        (HEADER_SCHEMA_VERSION, str(raw.schema_version).encode()),
        (HEADER_CORRELATION_ID, raw.correlation_id.encode()),
    ]
    return raw.stream_id.encode(), raw.data, headers


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
    ) -> None:
        self.dsn = dsn
        self.schema = schema
        self.bootstrap = bootstrap
        self.topic = topic
        self.name = name
        self.settings = settings or RelaySettings()
        self._wake = asyncio.Event()
        self.published = 0
        self.has_lease = False
        self.checkpoint = Checkpoint()
        self._recent: deque[tuple[float, int]] = deque()

    @property
    def reader(self) -> str:
        return f"relay:{self.name}"

    def wake(self) -> None:
        """Tell the relay new events were committed (saves waiting for the next poll)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set or the task is cancelled; re-acquire the lease on loss."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self._run_once(stop)
            except (
                asyncpg.PostgresConnectionError,
                asyncpg.OperatorInterventionError,  # AdminShutdownError: pg_ctl restart
                asyncpg.InternalClientError,  # a connection the restart left half-closed
                OSError,
                asyncpg.InterfaceError,
                KafkaError,  # LeaderNotAvailableError &c. while the broker restarts
            ) as exc:
                log.warning(
                    "relay lost its database connection; retrying",
                    extra={"relay": self.name, "error": repr(exc)},
                )
                self.has_lease = False
                await _sleep_or_stop(stop, self.settings.lease_retry_s)

    async def _run_once(self, stop: asyncio.Event) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(
            self.dsn,
            server_settings={"search_path": self.schema, "application_name": f"relay-{self.name}"},
        )
        try:
            while not stop.is_set():
                got = await conn.fetchval(
                    "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", self.reader
                )
                if got:
                    break
                await _sleep_or_stop(stop, self.settings.lease_retry_s)
            if stop.is_set():
                return
            self.has_lease = True
            log.info("relay holds the lease", extra={"relay": self.name, "topic": self.topic})
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=self.settings.linger_ms,
                max_batch_size=self.settings.max_batch_bytes,
                compression_type=self.settings.compression_type,
                client_id=f"relay-{self.name}",
            )
            await producer.start()
            try:
                await self._pump(conn, producer, stop)
            finally:
                await producer.stop()
        finally:
            self.has_lease = False
            await conn.close()

    async def _load_checkpoint(self, conn: asyncpg.Connection) -> Checkpoint:
        row = await conn.fetchrow(
            "SELECT transaction_id::text AS tx, global_position FROM reader_checkpoints "
            "WHERE reader = $1",
            self.reader,
        )
        if row is None:
            return Checkpoint()
        return Checkpoint(int(row["tx"]), row["global_position"])

    async def _pump(
        self, conn: asyncpg.Connection, producer: AIOKafkaProducer, stop: asyncio.Event
    ) -> None:
        self.checkpoint = await self._load_checkpoint(conn)
        while not stop.is_set():
            self._wake.clear()
            batch = await read_all_raw(conn, self.checkpoint, self.settings.batch_size)
            if not batch:
                await self._idle(stop)
                continue
            futures: list[asyncio.Future[Any]] = []
            for raw in batch:
                key, value, headers = kafka_message(raw)
                futures.append(await producer.send(self.topic, value, key=key, headers=headers))
            await asyncio.gather(*futures)  # every message acknowledged (acks=all)
            last = batch[-1].checkpoint
            await conn.execute(
                "INSERT INTO reader_checkpoints (reader, transaction_id, global_position, "
                "updated_at) VALUES ($1, $2::text::xid8, $3, now()) ON CONFLICT (reader) DO "
                "UPDATE SET transaction_id = EXCLUDED.transaction_id, "
                "global_position = EXCLUDED.global_position, updated_at = now()",
                self.reader,
                str(last.transaction_id),
                last.global_position,
            )
            self.checkpoint = last
            self.published += len(batch)
            if len(batch) < self.settings.batch_size:
                # Caught up: wait for the next wake (an append committed while we were
                # publishing has already set it, so this returns at once) or the idle poll,
                # instead of reading again straight away only to find nothing.
                await self._idle(stop)
                if self._busy(len(batch)):
                    await _sleep_or_stop(stop, self.settings.busy_linger_ms / 1000)

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
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(
                waiters, timeout=self.settings.idle_poll_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for w in waiters:
                w.cancel()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
