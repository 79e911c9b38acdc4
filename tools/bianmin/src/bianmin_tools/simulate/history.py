"""What a simulation produces: the envelopes the services would have stored, in order.

`GenEvent` keeps an envelope as its canonical bytes (the bytes a relay publishes and audit
hashes): a month is hundreds of thousands of envelopes, and bytes are a third of the memory
of the parsed dict, which is made on demand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson

from contracts import topics as topic_names
from intake.settings import DEV_VERIFICATION_SECRET
from notify.domain import ChannelSetup

INTAKE, ROUTING, NOTIFY = "intake", "routing", "notify"
SERVICE_TOPICS = {
    INTAKE: topic_names.INTAKE_EVENTS,
    ROUTING: topic_names.ROUTING_EVENTS,
    NOTIFY: topic_names.NOTIFY_EVENTS,
}


@dataclass(frozen=True)
class GeneratorConfig:
    """What to simulate. `scale` multiplies the number of cases (1.0 is a busy month: about
    9 cases per community per working day, some 7,000 cases and 130,000 events in October
    2026)."""

    start: date = date(2026, 10, 1)
    end: date = date(2026, 10, 31)
    seed: int = 20261001
    scale: float = 1.0
    reference_data: bool = True
    """Emit the seeded org tree and catalog (before `start`), so names and tiers are known.
    Without them the history holds the period's activity only (absences included)."""
    channels: ChannelSetup = field(default_factory=lambda: ChannelSetup(sms=True, email=True))
    """The deployment notify plans for: SMS and e-mail (residents who gave an address, and
    staff at their work contacts), no webhooks."""
    verification_secret: bytes = DEV_VERIFICATION_SECRET.encode()
    """intake's secret of the verification codes (intake's settings' development default;
    `make run` generates its own, so a generated code opens no running intake's view)."""


class GenEvent:
    """One stored envelope: which service stored it, where, and its canonical bytes."""

    __slots__ = (
        "_envelope",
        "event_type",
        "occurred_at",
        "raw",
        "service",
        "stream_id",
        "stream_version",
    )

    def __init__(
        self,
        service: str,
        occurred_at: datetime,
        stream_id: str,
        stream_version: int,
        event_type: str,
        raw: bytes,
    ) -> None:
        self.service = service
        self.occurred_at = occurred_at
        self.stream_id = stream_id
        self.stream_version = stream_version
        self.event_type = event_type
        self.raw = raw
        self._envelope: dict[str, Any] | None = None

    @property
    def envelope(self) -> dict[str, Any]:
        """The envelope as a JSON dict (parsed once, on first use)."""
        if self._envelope is None:
            self._envelope = orjson.loads(self.raw)
        return self._envelope

    def value(self) -> bytes:
        """The canonical bytes, exactly as `Envelope.canonical()` wrote them."""
        return self.raw

    def headers(self, replay: bool = False) -> list[tuple[str, bytes]]:
        env = self.envelope
        h = [
            ("event_id", env["event_id"].encode()),
            ("event_type", self.event_type.encode()),
            ("schema_version", str(env["schema_version"]).encode()),
            ("correlation_id", env["correlation_id"].encode()),
        ]
        return [*h, ("bianmin-replay", b"1")] if replay else h

    def __repr__(self) -> str:
        return (
            f"GenEvent({self.service}, {self.event_type}, {self.stream_id}"
            f"@{self.stream_version}, {self.occurred_at.isoformat()})"
        )


@dataclass
class History:
    config: GeneratorConfig
    events: list[GenEvent]
    cases: int
    stats: dict[str, int] = field(default_factory=dict)
    """Event types and what the people did or were refused (`refused:<command>`)."""

    def of(self, service: str) -> list[GenEvent]:
        return [e for e in self.events if e.service == service]

    def kafka_records(
        self, topics: dict[str, str] | None = None
    ) -> Iterator[tuple[str, bytes, bytes, list[tuple[str, bytes]], int]]:
        """(topic, key, value, headers, timestamp_ms) per event, in occurrence order; the
        record timestamp is the event's time, as a relay publishing promptly would give."""
        topics = topics or SERVICE_TOPICS
        for e in self.events:
            yield (
                topics[e.service],
                e.stream_id.encode(),
                e.raw,
                e.headers(),
                int(e.occurred_at.timestamp() * 1000),
            )
