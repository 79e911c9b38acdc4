"""Envelope factory shared by the eventkit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.base import payload_of
from contracts.routing import DeadlineWarningIssued
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


T_READ = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def warning_v1(stream_id: str) -> Envelope:
    """A deadline warning as routing wrote it before v2 (no holders in the payload)."""
    return Envelope(
        event_type="routing.deadline_warning_issued",
        schema_version=1,
        stream_id=stream_id,
        occurred_at=T_READ,
        producer=Producer(service="routing", instance="r1"),
        actor=Actor(id="routing", role="system"),
        payload={
            "case_id": stream_id,
            "org_id": "ruian.mayu",
            "tier": "town",
            "assigned_to": "ruian.mayu.officer1",
            "due_at": "2026-12-09T09:30:00Z",
            "working_days_left": 1,
            "issued_by": "routing",
        },
    )


def assert_v2(env: Envelope) -> None:
    assert env.schema_version == 2
    assert env.payload["a_holder"] is None and env.payload["b_holder"] is None
    evt = payload_of(env)
    assert isinstance(evt, DeadlineWarningIssued) and evt.a_holder is None
