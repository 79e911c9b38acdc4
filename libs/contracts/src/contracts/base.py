"""Base of every event payload in the published language, and the type registry.

A domain event is a frozen pydantic model naming its `event_type` and `schema_version`.
Deciders return these; the service edge wraps each in an `eventkit.Envelope` (actor,
stream, correlation) and the registry turns an envelope's payload back into the model.
Money is integer fen (分) and durations are integers: canonical JSON carries no floats.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from eventkit.envelope import Envelope


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1


E = TypeVar("E", bound=type[DomainEvent])

REGISTRY: dict[str, type[DomainEvent]] = {}


def event(cls: E) -> E:
    """Class decorator: register an event type (one model per type, latest version)."""
    name = cls.event_type
    if name in REGISTRY and REGISTRY[name] is not cls:
        raise ValueError(f"event type {name} registered twice")
    REGISTRY[name] = cls
    return cls


class UnknownEventType(KeyError):
    pass


def model_for(event_type: str) -> type[DomainEvent]:
    try:
        return REGISTRY[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def payload_of(envelope: Envelope) -> DomainEvent:
    """Validate an envelope's payload as its registered model (after upcasting)."""
    return model_for(envelope.event_type).model_validate(envelope.payload)


def to_payload(evt: DomainEvent) -> dict[str, Any]:
    return evt.model_dump(mode="json")
