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


# -- who owns which topic (Kafka ACLs and the consumers' producer check are derived from here) --

INTAKE = "intake"
ROUTING = "routing"
NOTIFY = "notify"
AUDIT = "audit"
SERVICES: tuple[str, ...] = (INTAKE, ROUTING, NOTIFY, AUDIT)

PRODUCER_OF: dict[str, str] = {
    INTAKE_EVENTS: INTAKE,
    ROUTING_EVENTS: ROUTING,
    NOTIFY_EVENTS: NOTIFY,
    AUDIT_EVENTS: AUDIT,
}
"""The one service that writes each event topic: an envelope on it naming another producer
is a forgery (or a bug) and is dead-lettered by every consumer."""

CONSUMERS_OF: dict[str, tuple[str, ...]] = {
    INTAKE_EVENTS: (ROUTING, NOTIFY),
    ROUTING_EVENTS: (INTAKE, NOTIFY),
    NOTIFY_EVENTS: (),
    AUDIT_EVENTS: (),
}
"""The services whose consumer group reads each event topic (and that dead-letter into its
`.dlq`). The audit is not listed: it reads every topic and every `.dlq` (`AUDIT_READS`)
without a consumer group, and writes no dead letters."""

AUDIT_READS: tuple[str, ...] = ALL_TOPICS


def owner_of(topic: str) -> str:
    """The producing service of an event topic of the contracts (KeyError if not one)."""
    return PRODUCER_OF[topic]
