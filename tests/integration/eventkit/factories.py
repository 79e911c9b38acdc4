"""Envelope factory shared by the eventkit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from eventkit.envelope import Actor, Envelope, Producer

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def make_event(
    stream_id: str, n: int = 0, event_type: str = "test.thing_happened", **payload: object
) -> Envelope:
    return Envelope(
        event_type=event_type,
        stream_id=stream_id,
        occurred_at=T0,
        producer=Producer(service="test", instance="t1"),
        actor=Actor(id="staff-1", role="officer", org_id="ruian"),
        payload={"n": n, **payload},
    )
