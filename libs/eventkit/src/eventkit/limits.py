"""Size limits, in one place: what a topic holds, what a producer sends, what an event may be.

Why three numbers and why these:

- `TOPIC_MAX_MESSAGE_BYTES` (1 MiB + 64 KiB) is set explicitly as `max.message.bytes` on
  every topic the project creates (and as the broker's `message.max.bytes` on the local
  stack), so the limit is ours and not whatever the cluster's default happens to be. It is
  compared with a whole record batch (61 bytes of header included), possibly compressed.
- `PRODUCER_MAX_REQUEST_BYTES` (1 MiB) is every producer's `max_request_size` (outbox relay,
  FastStream broker, dead-letter publisher, replay): aiokafka refuses a record whose batch
  would exceed it before sending anything, so nothing a producer accepts can be refused by a
  topic. Producer batches (`max_batch_size`) stay at or under it. The 64 KiB between the two
  absorb compression framing of incompressible batches and a dead letter's extra headers.
- `MAX_EVENT_BYTES` (256 KiB) is the largest canonical envelope the event store accepts
  (`EventTooLarge` above it; configurable per service, never above `MAX_EVENT_BYTES_CEILING`).
  A legitimate event is a few KiB (an application with its materials list, a correction
  request with a few dozen items), so 256 KiB is ~50 times that, and 4 times under the
  producer's limit: room for the key and headers, for an upcaster that adds fields when an
  old event is re-published, for an audit leaf that wraps the envelope, and for consumers
  that fetch hundreds of records per poll. Whatever the store accepts can always be published.

Nothing is written when an event is refused: the check runs before the store's statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

TOPIC_MAX_MESSAGE_BYTES = 1024 * 1024 + 64 * 1024
PRODUCER_MAX_REQUEST_BYTES = 1024 * 1024
MAX_EVENT_BYTES = 256 * 1024
# The most a service may configure: the envelope plus its key (stream id, at most 200
# characters, 800 bytes of UTF-8), its four headers and a record batch's framing must stay
# under the producers' request size.
MAX_EVENT_BYTES_CEILING = PRODUCER_MAX_REQUEST_BYTES - 16 * 1024

assert MAX_EVENT_BYTES <= MAX_EVENT_BYTES_CEILING < PRODUCER_MAX_REQUEST_BYTES
assert PRODUCER_MAX_REQUEST_BYTES <= TOPIC_MAX_MESSAGE_BYTES


def topic_config() -> dict[str, str]:
    """The size settings every topic of the project is created with."""
    return {"max.message.bytes": str(TOPIC_MAX_MESSAGE_BYTES)}


def check_max_event_bytes(value: int) -> int:
    """A configured event maximum, refused when it could let through what cannot be published."""
    if not 1024 <= value <= MAX_EVENT_BYTES_CEILING:
        raise ValueError(
            f"max_event_bytes must be between 1024 and {MAX_EVENT_BYTES_CEILING} "
            f"(the producers' max_request_size {PRODUCER_MAX_REQUEST_BYTES} minus room for the "
            f"key and headers); got {value}"
        )
    return value


class EventTooLarge(Exception):
    """An envelope whose canonical encoding exceeds the store's maximum. Nothing was written.

    `fields` are the largest fields, biggest first, as (JSON path, encoded bytes): a path
    into the payload (`name_zh`, `items`, `applicant.address`), or `envelope.<field>` for a
    field outside it. `field` and `reason` are what the HTTP edge answers (413)."""

    def __init__(
        self,
        *,
        event_type: str,
        event_id: str,
        size: int,
        limit: int,
        fields: list[tuple[str, int]],
    ) -> None:
        self.event_type = event_type
        self.event_id = event_id
        self.size = size
        self.limit = limit
        self.fields = fields
        self.field = fields[0][0] if fields else "payload"
        largest = ", ".join(f"{path} ({n:,} bytes)" for path, n in fields) or "none"
        self.reason = (
            f"the {event_type} event this would record is {size:,} bytes; events are limited "
            f"to {limit:,} bytes (largest fields: {largest})"
        )
        super().__init__(self.reason)


def encoded_size(value: Any) -> int:
    """Bytes of `value` in the canonical (compact UTF-8) JSON encoding."""
    return len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))


def _children(value: Any) -> Iterable[tuple[str | int, Any]]:
    if isinstance(value, Mapping):
        return value.items()
    if isinstance(value, list | tuple):
        return enumerate(value)
    return ()


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _drill(path: str, value: Any, size: int) -> tuple[str, int]:
    """Follow the biggest child while it alone is most of its parent: the field to blame
    for a long `name_zh` is `name_zh`, for 8,000 list items it is the list."""
    while True:
        kids = [(k, v, encoded_size(v)) for k, v in _children(value)]
        if not kids:
            return path, size
        key, child, n = max(kids, key=lambda t: t[2])
        if n * 2 <= size:
            return path, size
        path, value, size = _join(path, key), child, n


def largest_fields(envelope: Mapping[str, Any], top: int = 3) -> list[tuple[str, int]]:
    """The `top` biggest fields of an envelope (payload fields by their path in the
    payload, others as `envelope.<name>`), biggest first; the first is drilled down to the
    part that makes it big."""
    candidates: list[tuple[str, Any, int]] = []
    for key, value in envelope.items():
        if key == "payload" and isinstance(value, Mapping):
            candidates += [(str(k), v, encoded_size(v)) for k, v in value.items()]
        else:
            candidates.append((f"envelope.{key}", value, encoded_size(value)))
    candidates.sort(key=lambda t: t[2], reverse=True)
    out = [(path, n) for path, _, n in candidates[:top]]
    if out:
        out[0] = _drill(candidates[0][0], candidates[0][1], candidates[0][2])
    return out


def too_large(encoded: bytes, limit: int) -> EventTooLarge | None:
    """The refusal for one canonical envelope over `limit`, or None when it fits."""
    if len(encoded) <= limit:
        return None
    data = orjson.loads(encoded)
    return EventTooLarge(
        event_type=str(data.get("event_type", "?")),
        event_id=str(data.get("event_id", "?")),
        size=len(encoded),
        limit=limit,
        fields=largest_fields(data),
    )


__all__ = [
    "MAX_EVENT_BYTES",
    "MAX_EVENT_BYTES_CEILING",
    "PRODUCER_MAX_REQUEST_BYTES",
    "TOPIC_MAX_MESSAGE_BYTES",
    "EventTooLarge",
    "check_max_event_bytes",
    "encoded_size",
    "largest_fields",
    "too_large",
]
