"""What the routes and background tasks of one audit process share.

Built whole by `bootstrap.build` and never filled in later; the appender, checkpointer and
projector built beside it are handed to the routes as FastAPI dependencies (`http.deps`).
The pool and the event store exist only after the runtime has started, so they are read
through properties that answer 503 before that.

Named `<Service>Runtime` in `<service>/runtime.py` alike in all four services: it is
eventkit's `ServiceRuntime` (pool, broker, event store: what every service has, held as
`.runtime`) plus what this service adds. Not "context": that is a decider's input
(`IntakeContext`, `CaseContext`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import HTTPException

from eventkit.clock import Clock
from eventkit.service import ServiceRuntime
from eventkit.store import PostgresEventStore
from tlog.note import Signer, Verifier

from .board_cache import BoardCache
from .log.leaf import LeafBuilder, Redactor
from .log.publish import PublishedCheckpoints
from .settings import Settings


@dataclass(frozen=True)
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
    board_cache: BoardCache
    """The public board's answers, once per signed checkpoint (`board_cache`)."""
    published: PublishedCheckpoints | None = None
    rewrite_powers: list[str] = field(default_factory=list)
    """What the start check found the runtime role able to rewrite (empty: nothing); the
    integrity report shows it (a development start runs anyway)."""

    @property
    def pool(self) -> asyncpg.Pool:
        if self.runtime.pool is None:
            raise HTTPException(503, detail={"reason": "not started"})
        return self.runtime.pool

    @property
    def events(self) -> PostgresEventStore:
        """The runtime's store: its appends wake the outbox relay."""
        if self.runtime.store is None:
            raise HTTPException(503, detail={"reason": "not started"})
        return self.runtime.store

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
