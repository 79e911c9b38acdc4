"""What an operator sees of, and does to, an outbox relay: status, the next event, skip.

The relay (`eventkit.relay`) records the event it cannot publish in `outbox_blocked`; the
operator reads it (`status`, `show`) and, when the event can never be published (e.g. a
record over the topics' limit, stored before the store refused such events), records a
skip. A skip is a row in `outbox_skips` (who, why, when); the event stays in the
append-only store. The relay's checkpoint is moved past the event in the same transaction
and the relay is told at once (`NOTIFY eventkit_outbox`); a running relay also checks the
skips itself, so the order in which the two learn of it does not matter. Every later event
is then published once: nothing before the skipped event is touched, and nothing after it
had been sent when the producer refused it (the usual case: a record over
`max_request_size`; the relay sends in store order and stops there). When the broker is the
one refusing, records of other partitions in the same produce request may have been
written and are sent again after it; the consumers' inbox absorbs that repeat.

Plain async functions over one connection; `eventkit.cli` is a thin shell around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from .envelope import (
    HEADER_CORRELATION_ID,
    HEADER_EVENT_ID,
    HEADER_EVENT_TYPE,
    HEADER_SCHEMA_VERSION,
)
from .limits import (
    MAX_EVENT_BYTES,
    PRODUCER_MAX_REQUEST_BYTES,
    TOPIC_MAX_MESSAGE_BYTES,
    largest_fields,
)
from .store import Checkpoint, RawEvent, read_all_raw

NOTIFY_CHANNEL = "eventkit_outbox"
READER_PREFIX = "relay:"


class OutboxError(Exception):
    """An operator command that cannot be done as asked (nothing was changed)."""


def reader_of(relay: str) -> str:
    return f"{READER_PREFIX}{relay}"


def kafka_message(raw: RawEvent) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) for one stored event: canonical JSON, headers per §3.
    The relay sends exactly this; it lives here, below the relay, because `record_bytes`
    measures it."""
    headers = [
        (HEADER_EVENT_ID, raw.event_id.encode()),
        (HEADER_EVENT_TYPE, raw.event_type.encode()),
        (HEADER_SCHEMA_VERSION, str(raw.schema_version).encode()),
        (HEADER_CORRELATION_ID, raw.correlation_id.encode()),
    ]
    return raw.stream_id.encode(), raw.data, headers


def record_bytes(raw: RawEvent) -> int:
    """What the producer counts against `max_request_size` for this event (key, value,
    headers and the record batch's framing), exactly as aiokafka computes it."""
    key, value, headers = kafka_message(raw)
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers))


# -- the relay's side ---------------------------------------------------------------------------
async def load_checkpoint(conn: asyncpg.Connection, relay: str) -> Checkpoint:
    row = await conn.fetchrow(
        "SELECT transaction_id::text AS tx, global_position FROM reader_checkpoints "
        "WHERE reader = $1",
        reader_of(relay),
    )
    return Checkpoint() if row is None else Checkpoint(int(row["tx"]), row["global_position"])


async def skipped_positions(conn: asyncpg.Connection, relay: str, after: Checkpoint) -> set[int]:
    """Positions after `after` that an operator skipped (usually none)."""
    rows = await conn.fetch(
        "SELECT global_position FROM outbox_skips WHERE relay = $1 "
        "AND (transaction_id, global_position) > ($2::text::xid8, $3::bigint)",
        relay,
        str(after.transaction_id),
        after.global_position,
    )
    return {r[0] for r in rows}


async def record_blocked(conn: asyncpg.Connection, relay: str, raw: RawEvent, reason: str) -> None:
    """Remember (for `outbox status`) the event this relay cannot publish, and why."""
    await conn.execute(
        """INSERT INTO outbox_blocked (relay, global_position, event_id, event_type, bytes,
                                       reason)
           VALUES ($1, $2, $3::uuid, $4, $5, $6)
           ON CONFLICT (relay) DO UPDATE SET
               attempts = CASE WHEN outbox_blocked.global_position = EXCLUDED.global_position
                               THEN outbox_blocked.attempts + 1 ELSE 1 END,
               since = CASE WHEN outbox_blocked.global_position = EXCLUDED.global_position
                            THEN outbox_blocked.since ELSE now() END,
               global_position = EXCLUDED.global_position, event_id = EXCLUDED.event_id,
               event_type = EXCLUDED.event_type, bytes = EXCLUDED.bytes,
               reason = EXCLUDED.reason, last_attempt_at = now()""",
        relay,
        raw.checkpoint.global_position,
        raw.event_id,
        raw.event_type,
        len(raw.data),
        reason,
    )


async def clear_blocked(conn: asyncpg.Connection, relay: str) -> None:
    await conn.execute("DELETE FROM outbox_blocked WHERE relay = $1", relay)


# -- the operator's side ------------------------------------------------------------------------
@dataclass(frozen=True)
class Blocked:
    position: int
    event_id: str
    event_type: str
    bytes: int
    reason: str
    attempts: int
    since: datetime
    last_attempt_at: datetime


@dataclass(frozen=True)
class RelayStatus:
    relay: str
    checkpoint: Checkpoint
    backlog: int  # committed events after the checkpoint
    blocked: Blocked | None
    skipped: int  # events ever skipped by an operator

    def as_dict(self) -> dict[str, Any]:
        b = self.blocked
        return {
            "relay": self.relay,
            "checkpoint": {
                "transaction_id": self.checkpoint.transaction_id,
                "global_position": self.checkpoint.global_position,
            },
            "backlog": self.backlog,
            "blocked": None
            if b is None
            else {
                "position": b.position,
                "event_id": b.event_id,
                "event_type": b.event_type,
                "bytes": b.bytes,
                "reason": b.reason,
                "attempts": b.attempts,
                "since": b.since.isoformat(),
                "last_attempt_at": b.last_attempt_at.isoformat(),
            },
            "skipped": self.skipped,
        }


async def relays(conn: asyncpg.Connection) -> list[str]:
    """The relays this schema knows of (they have a checkpoint, a block or a skip)."""
    rows = await conn.fetch(
        "SELECT substr(reader, $1) FROM reader_checkpoints WHERE starts_with(reader, $2) "
        "UNION SELECT relay FROM outbox_blocked UNION SELECT relay FROM outbox_skips "
        "ORDER BY 1",
        len(READER_PREFIX) + 1,
        READER_PREFIX,
    )
    return [r[0] for r in rows]


async def resolve_relay(conn: asyncpg.Connection, relay: str | None) -> str:
    """`relay`, or the only relay of the schema (a service's database has one)."""
    if relay:
        return relay
    known = await relays(conn)
    if len(known) == 1:
        return known[0]
    if not known:
        raise OutboxError("no relay has run against this schema yet: give --relay NAME")
    raise OutboxError(f"several relays here ({', '.join(known)}): give --relay NAME")


async def status(conn: asyncpg.Connection, relay: str | None = None) -> list[RelayStatus]:
    names = [relay] if relay else await relays(conn)
    out = []
    for name in names:
        cp = await load_checkpoint(conn, name)
        backlog = await conn.fetchval(
            "SELECT count(*) FROM events "
            "WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)",
            str(cp.transaction_id),
            cp.global_position,
        )
        row = await conn.fetchrow(
            "SELECT global_position, event_id::text, event_type, bytes, reason, attempts, "
            "since, last_attempt_at FROM outbox_blocked WHERE relay = $1",
            name,
        )
        skipped = await conn.fetchval("SELECT count(*) FROM outbox_skips WHERE relay = $1", name)
        out.append(
            RelayStatus(
                name,
                cp,
                int(backlog),
                None if row is None else Blocked(*row),
                int(skipped),
            )
        )
    return out


@dataclass(frozen=True)
class EventView:
    """One stored event as the relay would send it, with the sizes that decide whether it can."""

    relay: str
    raw: RawEvent
    record_bytes: int  # what the producer counts against max_request_size
    skipped: bool
    largest: list[tuple[str, int]]

    @property
    def position(self) -> int:
        return self.raw.checkpoint.global_position

    @property
    def publishable(self) -> bool:
        return self.record_bytes <= PRODUCER_MAX_REQUEST_BYTES

    def as_dict(self) -> dict[str, Any]:
        r = self.raw
        return {
            "relay": self.relay,
            "position": self.position,
            "transaction_id": r.checkpoint.transaction_id,
            "stream_id": r.stream_id,
            "event_id": r.event_id,
            "event_type": r.event_type,
            "schema_version": r.schema_version,
            "envelope_bytes": len(r.data),
            "record_bytes": self.record_bytes,
            "limits": {
                "event_bytes": MAX_EVENT_BYTES,
                "producer_max_request_size": PRODUCER_MAX_REQUEST_BYTES,
                "topic_max_message_bytes": TOPIC_MAX_MESSAGE_BYTES,
            },
            "publishable": self.publishable,
            "skipped": self.skipped,
            "largest_fields": [{"field": f, "bytes": n} for f, n in self.largest],
        }


async def next_event(conn: asyncpg.Connection, relay: str) -> RawEvent | None:
    """The event the relay publishes next: the first committed one after its checkpoint."""
    batch = await read_all_raw(conn, await load_checkpoint(conn, relay), 1)
    return batch[0] if batch else None


async def show(
    conn: asyncpg.Connection, relay: str, position: int | None = None
) -> EventView | None:
    """The event at `position`, or the next one the relay would publish; None if none."""
    if position is None:
        raw = await next_event(conn, relay)
    else:
        r = await conn.fetchrow(
            "SELECT transaction_id::text, global_position, stream_id, event_id::text, "
            "event_type, schema_version, correlation_id::text, envelope FROM events "
            "WHERE global_position = $1",
            position,
        )
        raw = None if r is None else RawEvent(Checkpoint(int(r[0]), r[1]), *r[2:])
    if raw is None:
        return None
    skipped = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM outbox_skips WHERE relay = $1 AND global_position = $2)",
        relay,
        raw.checkpoint.global_position,
    )
    return EventView(
        relay, raw, record_bytes(raw), bool(skipped), largest_fields(orjson.loads(raw.data))
    )


@dataclass(frozen=True)
class Skipped:
    relay: str
    position: int
    event_id: str
    event_type: str
    bytes: int
    reason: str
    skipped_by: str
    skipped_at: datetime


async def skip(
    conn: asyncpg.Connection, relay: str, position: int, *, reason: str, by: str
) -> Skipped:
    """Record that `relay` must never publish the event at `position` and move its
    checkpoint past it. Only the next event the relay would publish may be skipped: that
    is the one it is blocked at, and skipping it leaves every other event to be published
    exactly once."""
    if not reason.strip():
        raise OutboxError("say why (--reason): the skip is kept as a record")
    if not by.strip():
        raise OutboxError("say who skips (--by)")
    async with conn.transaction():
        # serialise with another operator's skip of the same relay
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", relay)
        nxt = await next_event(conn, relay)
        if nxt is None:
            raise OutboxError(f"relay {relay} has nothing left to publish; nothing to skip")
        if nxt.checkpoint.global_position != position:
            raise OutboxError(
                f"position {position} is not the next event relay {relay} would publish "
                f"(that is position {nxt.checkpoint.global_position}, {nxt.event_type}); "
                "only that one may be skipped"
            )
        row = await conn.fetchrow(
            """INSERT INTO outbox_skips (relay, global_position, transaction_id, event_id,
                                         event_type, bytes, reason, skipped_by)
               VALUES ($1, $2, $3::text::xid8, $4::uuid, $5, $6, $7, $8)
               RETURNING skipped_at""",
            relay,
            position,
            str(nxt.checkpoint.transaction_id),
            nxt.event_id,
            nxt.event_type,
            len(nxt.data),
            reason,
            by,
        )
        # forward only: a relay that got further meanwhile is not sent back
        await conn.execute(
            """INSERT INTO reader_checkpoints (reader, transaction_id, global_position,
                                               updated_at)
               VALUES ($1, $2::text::xid8, $3, now())
               ON CONFLICT (reader) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
                   global_position = EXCLUDED.global_position, updated_at = now()
               WHERE (reader_checkpoints.transaction_id, reader_checkpoints.global_position)
                     < (EXCLUDED.transaction_id, EXCLUDED.global_position)""",
            reader_of(relay),
            str(nxt.checkpoint.transaction_id),
            position,
        )
        await conn.execute(
            "DELETE FROM outbox_blocked WHERE relay = $1 AND global_position = $2",
            relay,
            position,
        )
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, relay)
    return Skipped(
        relay,
        position,
        nxt.event_id,
        nxt.event_type,
        len(nxt.data),
        reason,
        by,
        row["skipped_at"],
    )


__all__ = [
    "NOTIFY_CHANNEL",
    "Blocked",
    "EventView",
    "OutboxError",
    "RelayStatus",
    "Skipped",
    "kafka_message",
    "load_checkpoint",
    "next_event",
    "record_blocked",
    "relays",
    "resolve_relay",
    "show",
    "skip",
    "skipped_positions",
    "status",
]
