"""The event envelope every service writes and every topic carries (ARCHITECTURE §3).

One canonical JSON encoding (sorted keys, UTF-8, no insignificant whitespace) is used for
Kafka payloads and for audit leaves, so the bytes an inspector hashes are the bytes that
travelled. Payloads must not carry floats (money is integer fen, durations integer units):
that keeps the encoding stable across languages (RFC 8785 number rules never come into play).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

HEADER_EVENT_ID = "event_id"
HEADER_EVENT_TYPE = "event_type"
HEADER_SCHEMA_VERSION = "schema_version"
HEADER_CORRELATION_ID = "correlation_id"


class Actor(BaseModel):
    """Who did it (责任追究制: every event names its actor)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    role: str = Field(min_length=1)
    org_id: str | None = None


class Producer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str = Field(min_length=1)
    instance: str = Field(min_length=1)


SYSTEM_ACTOR = Actor(id="system", role="system")


class Envelope(BaseModel):
    """An immutable fact. `stream_version` is assigned by the store on append."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")
    schema_version: int = Field(default=1, ge=1)
    stream_id: str = Field(min_length=1, max_length=200)
    stream_version: int = Field(default=0, ge=0)
    occurred_at: AwareDatetime
    producer: Producer
    actor: Actor
    org_id: str | None = None
    tier: str | None = None
    correlation_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    causation_id: uuid.UUID | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.astimezone(UTC)

    # -- encoding ------------------------------------------------------------------------------
    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def canonical(self) -> bytes:
        """Canonical bytes. Fast path: orjson straight from the python-mode dump (UUIDs and
        UTC datetimes encode exactly as pydantic's JSON mode does; a unit test pins this)."""
        _reject_floats(self.payload)
        return orjson.dumps(self.model_dump(), option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)

    @classmethod
    def from_json(cls, data: bytes | str | dict[str, Any]) -> Envelope:
        if isinstance(data, dict):
            return cls.model_validate(data)
        return cls.model_validate(orjson.loads(data))

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            (HEADER_EVENT_ID, str(self.event_id).encode()),
            (HEADER_EVENT_TYPE, self.event_type.encode()),
            (HEADER_SCHEMA_VERSION, str(self.schema_version).encode()),
            (HEADER_CORRELATION_ID, str(self.correlation_id).encode()),
        ]

    def caused(
        self,
        event_type: str,
        payload: dict[str, Any],
        *,
        stream_id: str | None = None,
        actor: Actor | None = None,
        producer: Producer | None = None,
        occurred_at: datetime | None = None,
        **extra: Any,
    ) -> Envelope:
        """A follow-up event keeping the correlation and pointing back to this one."""
        return Envelope(
            event_type=event_type,
            stream_id=stream_id or self.stream_id,
            occurred_at=occurred_at or self.occurred_at,
            producer=producer or self.producer,
            actor=actor or self.actor,
            correlation_id=self.correlation_id,
            causation_id=self.event_id,
            payload=payload,
            **extra,
        )


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, UTF-8, no whitespace. Rejects floats so the bytes are portable."""
    _reject_floats(obj)
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def _reject_floats(obj: Any) -> None:
    if isinstance(obj, float):
        raise ValueError("floats are not allowed in canonical JSON; use integers or strings")
    if isinstance(obj, dict):
        for v in obj.values():
            _reject_floats(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _reject_floats(v)
