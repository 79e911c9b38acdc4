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

from contextvars import ContextVar
from typing import Any

from aiokafka import ConsumerRecord

from eventkit.consumer import EventConsumer

REPLAY_HEADER = "bianmin-replay"
_TRUE = {b"1", b"true", b"yes"}

_replaying: ContextVar[bool] = ContextVar("notify_replaying", default=False)


def is_replay(headers: Any) -> bool:
    for key, value in headers or ():
        if key.lower() == REPLAY_HEADER and (value or b"").strip().lower() in _TRUE:
            return True
    return False


def replaying() -> bool:
    """True while the handler processes a record that carries the replay header."""
    return _replaying.get()


class ReplayAwareConsumer(EventConsumer):
    """`EventConsumer` whose handler can ask `replaying()`: the record's headers are not part
    of the envelope, so the flag travels in a context variable set around processing (the
    handler runs in the same task). Single-record mode only."""

    async def process_record(self, record: ConsumerRecord[Any, Any]) -> None:
        token = _replaying.set(is_replay(record.headers))
        try:
            await super().process_record(record)
        finally:
            _replaying.reset(token)
