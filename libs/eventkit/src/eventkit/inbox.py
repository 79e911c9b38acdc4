"""The inbox: exactly-once *effect* on top of at-least-once delivery (ARCHITECTURE §4).

A consumer claims an event id in the same PostgreSQL transaction as the handler's writes.
If the claim is fresh, the handler runs; if it is not, the event was already processed (a
redelivery after a crash, a rebalance, a duplicate publish) and the consumer acknowledges
it with no effect. Because claim and writes commit or roll back together, there is no
window in which one exists without the other.

Two consumers racing on the same event (a rebalance overlap) are serialised by the primary
key: the second INSERT waits for the first transaction and then finds the row.

Both functions refuse to run outside a transaction: a claim committed on its own would
mark the event processed even if the handler's writes then failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg

_CLAIM = """
INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)
ON CONFLICT (consumer, event_id) DO NOTHING
RETURNING true
"""

_CLAIM_MANY = """
INSERT INTO inbox (consumer, event_id)
SELECT $1, e FROM unnest($2::uuid[]) AS e
ON CONFLICT (consumer, event_id) DO NOTHING
RETURNING event_id
"""


def _require_transaction(conn: asyncpg.Connection) -> None:
    if not conn.is_in_transaction():
        raise RuntimeError(
            "inbox claims must run inside the handler's transaction "
            "(async with conn.transaction(): ...)"
        )


def _uuid(v: uuid.UUID | str) -> uuid.UUID:
    return v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))


async def claim(conn: asyncpg.Connection, consumer: str, event_id: uuid.UUID | str) -> bool:
    """True if `event_id` is new for `consumer` (now recorded); False if already processed."""
    _require_transaction(conn)
    return bool(await conn.fetchval(_CLAIM, consumer, _uuid(event_id)))


async def claim_many(
    conn: asyncpg.Connection, consumer: str, event_ids: Iterable[uuid.UUID | str]
) -> set[uuid.UUID]:
    """Claim a batch in one round trip; return the ids that were fresh (duplicates within the
    batch count once)."""
    _require_transaction(conn)
    ids = list(dict.fromkeys(_uuid(e) for e in event_ids))
    if not ids:
        return set()
    rows = await conn.fetch(_CLAIM_MANY, consumer, ids)
    return {r["event_id"] for r in rows}


async def processed(conn: asyncpg.Connection, consumer: str, event_id: uuid.UUID | str) -> bool:
    """Whether `consumer` has processed `event_id` (read-only; for diagnostics and tests)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2)",
            consumer,
            _uuid(event_id),
        )
    )


__all__ = ["claim", "claim_many", "processed"]
