"""notify's own events (contracts.notify), appended to its store and relayed to Kafka.

Each case's notify events form one stream in notify's store (stream id = case id). Several
writers may append to one case at once (the consumer deferring an SMS while the dispatcher
records another channel), so an append takes a per-stream transaction-scoped advisory lock
and reads the version under it: no `ConcurrencyError` to retry, and the lock is released by
the same commit that makes the events visible. A caller may take the lock itself in an
earlier statement of its transaction (`lock_sql`, e.g. in the RETURNING of the UPDATE that
decides to append) and say so with `locked=True`: one round trip less.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg

from contracts.base import DomainEvent, to_payload
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.store import PostgresEventStore

NOTIFY_ACTOR = Actor(id="notify", role="system")


def lock_key(case_id: str) -> str:
    return f"notify-stream:{case_id}"


def lock_sql(param: str) -> str:
    """The stream lock as an SQL expression on the parameter holding `lock_key(case_id)`.
    It must run in a statement *before* the version is read (a statement reads with the
    snapshot it started with, before any wait for the lock)."""
    return f"pg_advisory_xact_lock(hashtextextended({param}, 0))"


class NotifyEvents:
    def __init__(self, store: Callable[[], PostgresEventStore | None], producer: Producer):
        self._store = store
        self.producer = producer

    async def append(
        self,
        conn: asyncpg.Connection,
        case_id: str,
        events: Sequence[DomainEvent],
        *,
        now: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID,
        locked: bool = False,
    ) -> None:
        """Append inside the caller's transaction (`locked`: it holds the stream lock)."""
        if not events:
            return
        # asyncpg hands out its own UUID subclass, which orjson cannot encode: normalise
        correlation_id, causation_id = uuid.UUID(str(correlation_id)), uuid.UUID(str(causation_id))
        store = self._store()
        if store is None:
            raise ConnectionError("the event store is not ready yet")
        if not locked:
            await conn.execute(f"SELECT {lock_sql('$1')}", lock_key(case_id))
        version = await store.stream_version(case_id, conn=conn)
        envelopes = [
            Envelope(
                event_type=e.event_type,
                schema_version=e.schema_version,
                stream_id=case_id,
                occurred_at=now,
                producer=self.producer,
                actor=NOTIFY_ACTOR,
                correlation_id=correlation_id,
                causation_id=causation_id,
                payload=to_payload(e),
            )
            for e in events
        ]
        await store.append(case_id, int(version), envelopes, conn=conn)
