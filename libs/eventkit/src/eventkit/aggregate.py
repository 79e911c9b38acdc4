"""Running a command against an event-sourced aggregate: load, decide, wrap, append.

The decider stays pure (`decide(command, state, now) -> events`, `evolve(state, event)`);
this is the edge that reads the stream, calls it with the clock passed in, wraps each domain
event in an `Envelope` naming the actor, and appends with the expected version. A concurrent
writer makes the append fail with `ConcurrencyError`; the command is then decided again on
the fresh state (a few times), so a lost race never loses or duplicates a command.

Domain events are duck-typed: any object with `event_type` and `schema_version` attributes;
`to_payload(event)` gives the payload dict and `from_envelope(envelope)` rebuilds the event.
eventkit itself knows no domain.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import asyncpg

from .envelope import Actor, Envelope, Producer
from .store import ConcurrencyError, PostgresEventStore

S = TypeVar("S")
C = TypeVar("C")


def default_meta(event: Any) -> tuple[str | None, str | None]:
    """(org_id, tier) of an event, from its payload fields when it has them."""
    return getattr(event, "org_id", None), getattr(event, "tier", None)


@dataclass
class Outcome(Generic[S]):
    state: S
    version: int
    envelopes: list[Envelope]


@dataclass
class CommandRunner(Generic[S, C]):
    store: PostgresEventStore
    decide: Callable[[C, S, datetime], Sequence[Any]]
    evolve: Callable[[S, Any], S]
    initial: Callable[[], S]
    from_envelope: Callable[[Envelope], Any]
    to_payload: Callable[[Any], dict[str, Any]]
    producer: Producer
    meta: Callable[[Any], tuple[str | None, str | None]] = default_meta
    retries: int = 12

    async def load(self, stream_id: str) -> tuple[S, int]:
        state, version, _ = self._fold(await self.store.read_stream(stream_id))
        return state, version

    def _fold(self, envelopes: Sequence[Envelope]) -> tuple[S, int, uuid.UUID | None]:
        """(state, version, the first event's correlation id) of a stream's envelopes."""
        state, version = self.initial(), 0
        for env in envelopes:
            state = self.evolve(state, self.from_envelope(env))
            version = env.stream_version
        return state, version, envelopes[0].correlation_id if envelopes else None

    def wrap(
        self,
        stream_id: str,
        events: Sequence[Any],
        *,
        actor: Actor,
        now: datetime,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
    ) -> list[Envelope]:
        correlation = correlation_id or uuid.uuid4()
        out = []
        for evt in events:
            org_id, tier = self.meta(evt)
            out.append(
                Envelope(
                    event_type=evt.event_type,
                    schema_version=evt.schema_version,
                    stream_id=stream_id,
                    occurred_at=now,
                    producer=self.producer,
                    actor=actor,
                    org_id=org_id,
                    tier=tier,
                    correlation_id=correlation,
                    causation_id=causation_id,
                    payload=self.to_payload(evt),
                )
            )
        return out

    async def handle(
        self,
        stream_id: str,
        command: C,
        *,
        actor: Actor,
        now: datetime,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
        conn: asyncpg.Connection | None = None,
        continue_correlation: bool = False,
        stream: Sequence[Envelope] | None = None,
    ) -> Outcome[S]:
        """Decide and append. Domain errors raised by `decide` propagate unchanged (nothing
        was written). With `conn`, everything happens inside the caller's transaction (no
        retry: the caller's transaction is aborted by a conflict and must be retried whole).
        `continue_correlation` without a `correlation_id`: the events carry the stream's own
        correlation id (its first event's, taken from the stream just loaded; a new one for
        a new stream), so one aggregate reads as one thread without another query.
        `stream` (with `conn`): the stream's envelopes as the caller just read them in that
        transaction (e.g. along with other rows, see `decode_rows`); not read again."""
        if stream is not None and conn is None:
            raise ValueError("stream= is for a caller's transaction (give conn=)")
        attempts = 1 if conn is not None else self.retries
        for attempt in range(attempts):
            if stream is not None:
                state, version, first_correlation = self._fold(stream)
            elif conn is not None:
                state, version, first_correlation = await self._load_in(conn, stream_id)
            else:
                state, version, first_correlation = self._fold(
                    await self.store.read_stream(stream_id)
                )
            events = list(self.decide(command, state, now))
            if not events:
                return Outcome(state, version, [])
            envelopes = self.wrap(
                stream_id,
                events,
                actor=actor,
                now=now,
                correlation_id=correlation_id
                or (first_correlation if continue_correlation else None),
                causation_id=causation_id,
            )
            try:
                await self.store.append(stream_id, version, envelopes, conn=conn)
            except ConcurrencyError:
                if attempt + 1 >= attempts:
                    raise
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # de-synchronise
                continue
            for evt in events:
                state = self.evolve(state, evt)
            return Outcome(state, version + len(events), envelopes)
        raise AssertionError("unreachable")

    async def _load_in(
        self, conn: asyncpg.Connection, stream_id: str
    ) -> tuple[S, int, uuid.UUID | None]:
        return self._fold(await self.store.read_stream(stream_id, conn=conn))

    def decode_rows(self, raws: Iterable[bytes]) -> list[Envelope]:
        """Stored `envelope` bytes, in stream order -> envelopes (the store's one decode)."""
        return self.store.reader.decode_rows(raws)
