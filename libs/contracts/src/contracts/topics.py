"""Topic names: one per producing service, keyed by case id; `<topic>.dlq` beside each."""

from __future__ import annotations

INTAKE_EVENTS = "intake.events"
ROUTING_EVENTS = "routing.events"
NOTIFY_EVENTS = "notify.events"
AUDIT_EVENTS = "audit.events"

EVENT_TOPICS: tuple[str, ...] = (INTAKE_EVENTS, ROUTING_EVENTS, NOTIFY_EVENTS, AUDIT_EVENTS)


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


ALL_TOPICS: tuple[str, ...] = EVENT_TOPICS + tuple(dlq(t) for t in EVENT_TOPICS)
