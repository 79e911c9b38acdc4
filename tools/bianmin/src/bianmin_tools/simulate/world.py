"""The world the cases happen in: the seeded catalog and org tree, and the tree's changes.

Reference data is the services' own seed run through their own deciders (`edges`). The org
tree changes while the period runs — administrators record the A holders' absences — so
the tree a routing command is decided against is the one as it stood at that moment
(`org_at`), exactly as routing folds its org stream before each command.
"""

from __future__ import annotations

import bisect
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.base import DomainEvent
from contracts.intake import CatalogItemVersion
from contracts.routing import ORG_STREAM_ID, StaffRegistered
from eventkit.envelope import Actor
from notify.domain import StaffContact
from routing.domain.org_model import OrgState

from . import days, edges, people
from .history import ROUTING, GeneratorConfig


@dataclass(frozen=True)
class Decided:
    """One admin command and what its decider made of it, at `at`."""

    at: datetime
    actor: Actor
    events: list[DomainEvent]


class World:
    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.ref_at = days.local(config.start - timedelta(days=30), 9 * 60)
        # intake's catalog, seeded an hour after routing's tree
        self.catalog_at = self.ref_at + timedelta(hours=1)
        self.catalog, catalog_decided = edges.seed_catalog(self.catalog_at)
        self.catalog_commands = [
            Decided(self.catalog_at, cmd.actor, events) for cmd, events in catalog_decided
        ]
        seed, org_decided = edges.seed_org(self.ref_at)
        self.seed_commands = [Decided(self.ref_at, cmd.actor, ev) for cmd, ev in org_decided]
        self.absence_commands: list[Decided] = []
        self.items: dict[str, CatalogItemVersion] = {}
        for d in catalog_decided:
            for evt in d[1]:
                item = getattr(evt, "item", None)
                if item is not None:
                    self.items[item.code] = item
        # the tree over time: the seed, then each recorded absence
        self._times: list[datetime] = [self.ref_at]
        self._states: list[OrgState] = [seed]
        rng = random.Random(config.seed * 31 + 7)
        state = seed
        for at, cmd in people.absences(rng, seed, config.start - timedelta(days=7), config.end):
            state, events = edges.record_absence(cmd, state, at)
            self.absence_commands.append(Decided(at, cmd.actor, events))
            self._times.append(at)
            self._states.append(state)
        self.seed = seed
        self.contacts = {
            e.staff_id: StaffContact(
                staff_id=e.staff_id,
                name_zh=e.name_zh,
                unit_id=e.unit_id,
                email=e.email,
                phone=e.phone,
            )
            for d in self.seed_commands
            for e in d.events
            if isinstance(e, StaffRegistered)
        }
        self.unit_names = {u.unit_id: u.name_zh for u in seed.units.values()}
        self.pace = people.paces(config.seed, list(seed.units))
        self._agents: dict[str, list[str]] = {}

    def org_at(self, t: datetime) -> OrgState:
        """The org tree as routing has folded it at `t` (commands recorded before or at `t`)."""
        return self._states[bisect.bisect_right(self._times, t) - 1]

    def hours(self, unit_id: str) -> days.OfficeHours:
        return self.seed.units[unit_id].office_hours

    def agents(self, unit_id: str, at: datetime) -> list[str]:
        """The staff working a center's window at `at` (its community agents, or anyone when
        it has none), without those recorded absent then (all of them if everyone is)."""
        found = self._agents.get(unit_id)
        if found is None:
            everyone = self.seed.staff_of(unit_id)
            found = [s.staff_id for s in everyone if "community_agent" in s.roles]
            found = found or [s.staff_id for s in everyone]
            self._agents[unit_id] = found
        org = self.org_at(at)
        return [s for s in found if org.absence_at(s, at) is None] or found

    def staff_actor(self, staff_id: str, role: str | None = None) -> Actor:
        """The actor a staff member's token names: `role`, or their first of officer,
        center head and community agent (what the demo mints)."""
        staff = self.seed.staff[staff_id]
        if role is None:
            role = next(
                r for r in ("officer", "center_head", "community_agent") if r in staff.roles
            )
        return Actor(id=staff_id, role=role, org_id=staff.unit_id)

    def reference(self, store: edges.Store, ids: Callable[[], uuid.UUID]) -> None:
        """Append the seeds (when configured) and the absences to the stores."""
        if self.config.reference_data:
            corr = ids()  # the seed is one append with one correlation
            for d in self.seed_commands:
                store.append(
                    ROUTING,
                    ORG_STREAM_ID,
                    d.events,
                    ids=ids,
                    now=d.at,
                    actor=d.actor,
                    meta=edges.routing_meta,
                    correlation=corr,
                    causation=None,
                )
            for d in self.catalog_commands:
                store.append(
                    "intake",
                    edges.CATALOG_STREAM,
                    d.events,
                    ids=ids,
                    now=d.at,
                    actor=d.actor,
                    meta=lambda _e: (None, None),
                    correlation=ids(),
                    causation=None,
                )
        else:  # the period's events keep the versions they have after the seed
            store.versions[(ROUTING, ORG_STREAM_ID)] = sum(
                len(d.events) for d in self.seed_commands
            )
            store.versions[("intake", edges.CATALOG_STREAM)] = sum(
                len(d.events) for d in self.catalog_commands
            )
        for d in self.absence_commands:
            if d.at >= store.cutoff:
                continue
            store.append(
                ROUTING,
                ORG_STREAM_ID,
                d.events,
                ids=ids,
                now=d.at,
                actor=d.actor,
                meta=edges.routing_meta,
                correlation=ids(),
                causation=None,
            )
