"""How notify knows not to send: replays never reach a resident or a member of staff.

Analysts replay history into their own models by reading the event topics with their own
consumer groups: notify is not involved and sends nothing. notify itself refuses to send in
three situations, and records the delivery as `suppressed` (with the reason) instead:

1. **A replayed record.** A tool that re-publishes history onto a live topic marks each
   record with the Kafka header `bianmin-replay: 1` (or `true`). notify still updates its
   directory from it but sends nothing. (Re-published records that keep their event ids
   are absorbed by the inbox anyway; the header covers copies with new ids.)
2. **Delivery turned off**: `NOTIFY_DELIVERY_ENABLED=false`, for a notify instance that
   rebuilds its tables from the retained history, or runs against a replay environment.
3. **Stale events**: an event older than `NOTIFY_MAX_EVENT_AGE_HOURS` when notify first
   sees it (default one week) is history, not news: a new notify database consuming the
   topics from the beginning (retention is unlimited) must not message every resident of
   the past years.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import asyncpg
import orjson
from aiokafka import ConsumerRecord

from eventkit.consumer import EventConsumer, Handler
from eventkit.envelope import Envelope

REPLAY_HEADER = "bianmin-replay"
_TRUE = {b"1", b"true", b"yes"}

_replaying: ContextVar[bool] = ContextVar("notify_replaying", default=False)
_replayed_ids: ContextVar[frozenset[str]] = ContextVar("notify_replayed_ids", default=frozenset())


def is_replay(headers: Any) -> bool:
    for key, value in headers or ():
        if key.lower() == REPLAY_HEADER and (value or b"").strip().lower() in _TRUE:
            return True
    return False


def replaying() -> bool:
    """True while the handler processes a record that carries the replay header."""
    return _replaying.get()


def _event_id(record: ConsumerRecord[Any, Any]) -> str | None:
    try:
        data = orjson.loads(record.value)
    except (orjson.JSONDecodeError, TypeError):
        return None  # the consumer dead-letters it; nothing to flag
    eid = data.get("event_id") if isinstance(data, dict) else None
    return str(eid) if eid is not None else None


class ReplayAwareConsumer(EventConsumer):
    """`EventConsumer` whose handler can ask `replaying()`: the record's headers are not part
    of the envelope, so the flag travels in a context variable set around processing (the
    handler runs in the same task).

    Single mode sets the flag around the one record. Batch mode (one transaction per poll)
    notes the event ids of the poll's replayed records and sets the flag around the handler
    call of each of those envelopes; an event id that also arrived without the header in
    the same poll counts as live (the original wins, as it would one record at a time)."""

    def __init__(self, *args: Any, handler: Handler, **kwargs: Any) -> None:
        super().__init__(*args, handler=_flagging(handler), **kwargs)

    async def process_record(self, record: ConsumerRecord[Any, Any]) -> None:
        token = _replaying.set(is_replay(record.headers))
        try:
            await super().process_record(record)
        finally:
            _replaying.reset(token)

    async def process_records(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        replayed = {e for r in records if is_replay(r.headers) if (e := _event_id(r))}
        live = (  # parsed only when the poll holds a replayed record at all
            {e for r in records if not is_replay(r.headers) if (e := _event_id(r))}
            if replayed
            else set()
        )
        token = _replayed_ids.set(frozenset(replayed - live))
        try:
            await super().process_records(records)
        finally:
            _replayed_ids.reset(token)


def _flagging(handler: Handler) -> Handler:
    """The handler, with `replaying()` true for the envelopes of replayed records of a batch."""

    async def flagged(conn: asyncpg.Connection, env: Envelope) -> None:
        ids = _replayed_ids.get()
        if ids and str(env.event_id) in ids:
            token = _replaying.set(True)
            try:
                await handler(conn, env)
            finally:
                _replaying.reset(token)
        else:
            await handler(conn, env)

    return flagged
