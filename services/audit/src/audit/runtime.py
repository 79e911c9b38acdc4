"""What the routes and background tasks of one audit process share (built by `bootstrap`).

Named `<Service>Runtime` in `<service>/runtime.py` alike in all four services: it is
eventkit's `ServiceRuntime` (pool, broker, event store: what every service has, held as
`.runtime`) plus what this service adds. Not "context": that is a decider's input
(`IntakeContext`, `CaseContext`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
from fastapi import HTTPException, Request

from eventkit.clock import Clock
from eventkit.store import PostgresEventStore
from tlog.note import Signer, Verifier

from .http.pacing import Pacer
from .log.leaf import LeafBuilder, Redactor
from .log.publish import PublishedCheckpoints
from .settings import Settings

if TYPE_CHECKING:
    from eventkit.service import ServiceRuntime

    from .log.appender import Appender
    from .log.checkpoint import Checkpointer


@dataclass
class AuditRuntime:
    """`clock` is the one time source of the process (bootstrap's, a test's), so what the
    audit stamps and when it sweeps can be driven without patching `datetime`."""

    settings: Settings
    runtime: ServiceRuntime
    signer: Signer | None
    verifier: Verifier | None
    witness_verifiers: list[Verifier]
    builder: LeafBuilder
    clock: Clock
    appender: Appender | None = None
    checkpointer: Checkpointer | None = None
    events: PostgresEventStore | None = None
    published: PublishedCheckpoints | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    cosign_pacer: Pacer = field(default_factory=lambda: Pacer(10, 0.5))

    @property
    def pool(self) -> asyncpg.Pool:
        if self.runtime.pool is None:
            raise HTTPException(503, detail={"reason": "not started"})
        return self.runtime.pool

    @property
    def origin(self) -> str:
        return self.settings.log_origin


def make_builder(settings: Settings) -> LeafBuilder:
    return LeafBuilder(
        Redactor(settings.personal_field_set(), settings.keyed_field_set(), settings.hmac_key())
    )


def load_keys(settings: Settings) -> tuple[Signer | None, Verifier | None, list[Verifier]]:
    key = settings.signer_key()
    signer = Signer.from_key(key) if key else None
    verifier = signer.verifier() if signer else None
    if verifier is None and settings.verifier_key:
        verifier = Verifier.from_key(settings.verifier_key)
    witnesses = [Verifier.from_key(k) for k in settings.witness_key_list()]
    return signer, verifier, witnesses


async def ctx(request: Request) -> AuditRuntime:
    """Async: a plain `def` dependency would run in FastAPI's thread pool per request."""
    return request.app.state.audit  # type: ignore[no-any-return]


async def append_in_transaction(
    store: PostgresEventStore, conn: asyncpg.Connection, stream_id: str, events: list[Any]
) -> None:
    """Append to the audit's own event store inside the caller's transaction, at the end of
    the stream (serialized per stream with a transaction-scoped advisory lock)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('audit.stream:' || $1, 0))", stream_id
    )
    version = await store.stream_version(stream_id, conn=conn)
    await store.append(stream_id, int(version), events, conn=conn)
