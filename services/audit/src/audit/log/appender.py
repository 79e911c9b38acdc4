"""The appender: every record of every logged topic, appended once, in batches per poll.

aiokafka directly, without a consumer group: partitions are *assigned* (all partitions of
every configured topic, re-discovered periodically so topics created later are picked up) and
each is sought to the offset stored in PostgreSQL (`consumer_offsets`), which is written in
the same transaction as the leaves (see `audit.log.append` for why that makes the append
exactly-once). Nothing is committed to Kafka, so a group coordinator, rebalances and
at-least-once redelivery never come into it.

One `session` holds a connection, the lease and a consumer until an error (PostgreSQL or
Kafka); `eventkit.loops.supervise` logs the error, waits a capped backoff and starts a new
session: take the lease again, seek again to the stored offsets, continue. Whatever was
polled but not committed is simply read again.

Gaps are checked, not assumed (`audit.log.gaps`): every discovery compares the topics' ids
with the recorded ones, and every append checks that each partition's records continue its
stored offset; a partition that does not is halted (paused here, `blocked` in `/readyz`)
until an operator decides.

Why the appender once stayed `stopped` after a Kafka outage: with the broker away, the
periodic topic discovery failed (`NodeNotReadyError`), and on the way out aiokafka's
`consumer.stop()` raised the CancelledError of a fetch task it had just cancelled (its
`Fetcher.close()` awaits its pending fetch-request tasks unguarded). That CancelledError
replaced the real error, and the old retry loop re-raised it as if the appender had been
cancelled: the task ended, with nothing logged. Now clients are stopped with
`stop_quietly` and `supervise` treats a CancelledError nobody asked for as an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from eventkit.kafka_security import KafkaSecurity, client_kwargs
from eventkit.loops import LoopHealth, stop_quietly, supervise

from .append import AppendOutcome, AppendPipeline, BeforeCommit, OnHalt
from .gaps import check_topic_ids, open_halts
from .leaf import LeafBuilder
from .lease import try_acquire
from .topic_ids import topic_ids

log = logging.getLogger("audit.log.appender")


@dataclass
class AppenderStats:
    batches: int = 0
    appended: int = 0
    rejected: int = 0
    duplicates: int = 0
    restarts: int = 0
    leader: bool = False
    last_error: str | None = None
    assigned: list[str] = field(default_factory=list)


class Appender:
    def __init__(
        self,
        *,
        dsn: str,
        schema: str,
        bootstrap: str,
        topics: list[str],
        builder: LeafBuilder,
        max_batch: int = 5000,
        poll_ms: int = 200,
        lease_retry_seconds: float = 2.0,
        discovery_seconds: float = 10.0,
        before_commit: BeforeCommit | None = None,
        on_commit: Callable[[AppendOutcome], None] | None = None,
        linger_ms: int = 0,
        linger_min_rate: float = 40.0,
        on_halt: OnHalt | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.dsn = dsn
        self.security = security  # None: the KAFKA_* variables
        self.schema = schema
        self.bootstrap = bootstrap
        self.topics = topics
        self.builder = builder
        self.max_batch = max_batch
        self.poll_ms = poll_ms
        self.lease_retry_seconds = lease_retry_seconds
        self.discovery_seconds = discovery_seconds
        self.before_commit = before_commit
        self.on_commit: list[Callable[[AppendOutcome], None]] = [on_commit] if on_commit else []
        self.linger_s = linger_ms / 1000
        self.linger_min_rate = linger_min_rate
        self._recent: deque[tuple[float, int]] = deque()
        self.stats = AppenderStats()
        self.health = LoopHealth("appender")
        self.on_halt = on_halt
        self.halted: dict[tuple[str, int], int] = {}  # (topic, partition) -> open halt id
        self.topic_ids: dict[str, str] = {}
        self._recheck = False

    def recheck(self) -> None:
        """Look at the halts (and topics) again at the next poll: an operator decided."""
        self._recheck = True

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.dsn,
            server_settings={"search_path": self.schema, "application_name": "audit-appender"},
        )

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Sessions one after another until `stop` is set or the task is cancelled (what a
        test or a tool runs; the service supervises `session` through its runtime)."""
        await supervise(
            "appender", self.session, stop=stop or asyncio.Event(), health=self.health, logger=log
        )

    async def session(self, health: LoopHealth) -> None:
        """Connect, wait for the writer lease, consume and append until an error."""
        self.health = health
        conn = await self._connect()
        try:
            while not await try_acquire(conn, self.schema):
                health.running()  # a standby with a working connection is healthy
                await asyncio.sleep(self.lease_retry_seconds)
            self.stats.leader = True
            log.info("writer lease taken", extra={"schema": self.schema})
            await self._consume(conn, health)
        except BaseException as exc:
            self.stats.last_error = repr(exc)
            self.stats.restarts += 1
            raise
        finally:
            self.stats.leader = False
            try:
                await asyncio.shield(conn.close(timeout=5))
            except BaseException:  # a dead connection, or our own cancellation
                conn.terminate()

    def _busy(self, n: int) -> bool:
        """Whether records arrive as a stream (at least `linger_min_rate` per second over the
        last second): then an append waits `linger_ms` to take more in the same transaction.
        One append costs about nine statements whatever its size, and each one wakes the
        projector (five more) and the checkpointer, so under load a few larger appends
        cost far less than many small ones; a lone event (light load) is appended at once."""
        if self.linger_s <= 0:
            return False
        now = time.monotonic()
        self._recent.append((now, n))
        while self._recent and self._recent[0][0] < now - 1.0:
            self._recent.popleft()
        return n < self.max_batch and sum(k for _, k in self._recent) >= self.linger_min_rate

    async def _top_up(
        self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[Any]]
    ) -> None:
        """Linger, then add what was fetched meanwhile (per partition, in offset order)."""
        await asyncio.sleep(self.linger_s)
        room = self.max_batch - sum(len(v) for v in batch.values())
        more = await consumer.getmany(timeout_ms=0, max_records=room)
        for tp, recs in more.items():
            batch.setdefault(tp, []).extend(recs)
            self._recent.append((time.monotonic(), len(recs)))

    async def _discover(
        self, admin: AIOKafkaAdminClient, conn: asyncpg.Connection
    ) -> set[TopicPartition]:
        described = await admin.describe_topics(self.topics)
        tps: set[TopicPartition] = set()
        for t in described:
            if t.get("error_code"):
                continue
            tps.update(TopicPartition(t["topic"], p["partition"]) for p in t["partitions"])
        self.topic_ids = await topic_ids(admin, self.topics)
        parts: dict[str, list[int]] = {}
        for tp in tps:
            parts.setdefault(tp.topic, []).append(tp.partition)
        for hid, h in await check_topic_ids(conn, self.topic_ids, parts):
            if self.on_halt is not None:
                async with conn.transaction():
                    await self.on_halt(conn, hid, h)
        return tps

    async def _apply_halts(
        self, conn: asyncpg.Connection, consumer: AIOKafkaConsumer, health: LoopHealth
    ) -> None:
        """Pause the halted partitions; resume (from the stored offset) the ones an operator
        released; say which are halted in `/readyz`."""
        now = await open_halts(conn)
        assigned = consumer.assignment()
        released = [TopicPartition(*k) for k in self.halted if k not in now]
        self.halted = now
        paused = [TopicPartition(*k) for k in now if TopicPartition(*k) in assigned]
        if paused:
            consumer.pause(*paused)
        back = [tp for tp in released if tp in assigned]
        if back:
            consumer.resume(*back)
            await self._seek(conn, consumer, set(back))
            log.warning("appending resumed", extra={"partitions": [str(tp) for tp in back]})
        if now:
            which = ", ".join(f"{t}:{p} (halt {i})" for (t, p), i in sorted(now.items()))
            health.blocked(
                f"appending halted for {which}: an operator decision is needed "
                "(GET /v1/admin/log/halts)"
            )
        else:
            health.running()

    async def _seek(
        self, conn: asyncpg.Connection, consumer: AIOKafkaConsumer, tps: set[TopicPartition]
    ) -> None:
        rows = await conn.fetch("SELECT topic, partition, next_offset FROM consumer_offsets")
        stored = {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        fresh = []
        for tp in tps:
            if tp in stored:
                consumer.seek(tp, stored[tp])
            else:
                fresh.append(tp)
        if fresh:
            await consumer.seek_to_beginning(*fresh)

    async def _consume(self, conn: asyncpg.Connection, health: LoopHealth) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap,
            request_timeout_ms=30000,
            **client_kwargs(self.security),
        )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 * 1024 * 1024,
            client_id=f"audit-appender-{self.schema}",
            **client_kwargs(self.security),
        )
        pipeline = AppendPipeline(conn, self.builder, self.before_commit, self.on_halt)
        await admin.start()
        await consumer.start()
        try:
            assigned: set[TopicPartition] = set()
            next_discovery = 0.0
            while True:
                now = time.monotonic()
                if now >= next_discovery or self._recheck:
                    self._recheck = False
                    self._done(await pipeline.drain())  # _seek uses the connection
                    tps = await self._discover(admin, conn)
                    if tps != assigned:
                        consumer.assign(sorted(tps))
                        await self._seek(conn, consumer, tps)
                        assigned = tps
                        self.stats.assigned = sorted(f"{t.topic}:{t.partition}" for t in tps)
                        log.info("partitions assigned", extra={"count": len(tps)})
                    await self._apply_halts(conn, consumer, health)
                    complete = len({t.topic for t in tps}) == len(set(self.topics))
                    next_discovery = now + (self.discovery_seconds if complete else 1.0)
                if not assigned:
                    await asyncio.sleep(0.5)
                    continue
                # with an append in flight, only take what is already fetched: if nothing
                # is, finish that append first (its callbacks wake the projector)
                wait_ms = 0 if pipeline.busy else self.poll_ms
                batch = await consumer.getmany(timeout_ms=wait_ms, max_records=self.max_batch)
                if batch and self._busy(sum(len(v) for v in batch.values())):
                    await self._top_up(consumer, batch)
                records = [
                    rec
                    for tp in sorted(batch)
                    if (tp.topic, tp.partition) not in self.halted
                    for rec in batch[tp]
                ]
                if not records:
                    self._done(await pipeline.drain())
                    continue
                self._done(await pipeline.push(records))
        finally:
            try:
                await pipeline.abort()
            finally:
                await stop_quietly(consumer.stop(), "audit appender's consumer")
                await stop_quietly(admin.close(), "audit appender's admin client")

    def _done(self, outcome: AppendOutcome | None) -> None:
        if outcome is None:
            return
        self.stats.batches += 1
        self.stats.appended += outcome.appended
        self.stats.rejected += outcome.rejected
        self.stats.duplicates += outcome.duplicates
        if outcome.halts:
            self._recheck = True  # pause them before the next poll
        for cb in self.on_commit:
            cb(outcome)
