"""What the edges of notify share: settings, the clock, channel setup, quiet hours, events.

Built whole by `bootstrap.build` and never filled in later; the consumer, the senders and
the dispatcher built on it take it as a constructor argument, so this module imports none
of them.

Named `<Service>Runtime` in `<service>/runtime.py` alike in all four services: it is
eventkit's `ServiceRuntime` (pool, broker, event store: what every service has, held as
`.runtime`) plus what this service adds. Not "context": that is a decider's input
(`IntakeContext`, `CaseContext`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from eventkit.clock import Clock
from eventkit.service import ServiceRuntime

from .delivery.events import NotifyEvents
from .directory.contacts import IntakeContacts
from .domain import ChannelSetup, QuietHours
from .settings import Settings


def wake_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel on which new due deliveries wake the dispatchers of one
    schema (`pg_notify` is delivered at commit, so a woken dispatcher sees the rows).
    Channel names are identifiers (at most 63 bytes): a long schema name is hashed."""
    name = f"notify_deliveries:{schema}"
    if len(name.encode()) <= 63:
        return name
    return "notify_deliveries:" + hashlib.sha256(schema.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class NotifyRuntime:
    settings: Settings
    runtime: ServiceRuntime
    clock: Clock
    setup: ChannelSetup
    quiet: QuietHours | None
    events: NotifyEvents
    contacts: IntakeContacts
    """Asks intake for an applicant's sealed contact (`directory.contacts`, issue 15)."""

    def now(self) -> datetime:
        return self.clock()
