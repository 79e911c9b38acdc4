"""The org tree as routing sees it: units, offices, staff, posts, rosters, absences, rules.

`OrgState` is the folded org stream (see `org_admin.evolve_org`), the published holiday
schedules included (its `calendar`). It is immutable: every
admin event yields a new state, so a case decider can be handed the tree as it stood. The
query methods here are the only way the case deciders read reference data, which keeps
the routing rules readable ("the head of this center", "the path between two units").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from contracts.routing import (
    ALL_CATEGORIES,
    AbsenceKind,
    HopDirection,
    Role,
    RosterEntry,
    ServiceLine,
    Tier,
    UnitKind,
)
from contracts.workdays import OfficeHours, WorkingCalendar, default_calendar

KINDS_BY_TIER: dict[str, frozenset[str]] = {
    "city": frozenset({"市中心"}),
    "town": frozenset({"镇", "街道"}),
    "community": frozenset({"社区", "村"}),
}
PARENT_TIER: dict[str, str | None] = {"city": None, "town": "city", "community": "town"}


@dataclass(frozen=True)
class OrgUnit:
    unit_id: str
    name_zh: str
    tier: Tier
    kind: UnitKind
    parent_id: str | None
    office_hours: OfficeHours
    service_lines: tuple[ServiceLine, ...] = ()
    is_island: bool = False
    access_note_zh: str | None = None
    travel_minutes_to_parent: int | None = None
    address_zh: str | None = None


@dataclass(frozen=True)
class Office:
    office_id: str
    unit_id: str
    name_zh: str
    categories: tuple[str, ...]
    item_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Staff:
    staff_id: str
    name_zh: str
    roles: tuple[Role, ...]
    unit_id: str
    office_id: str | None = None


@dataclass(frozen=True)
class Post:
    post_id: str
    unit_id: str
    office_id: str
    name_zh: str
    categories: tuple[str, ...]
    a_holder: str
    b_holder: str
    service_line_ids: tuple[str, ...] = ()

    def takes(self, category: str) -> bool:
        return category in self.categories or ALL_CATEGORIES in self.categories


@dataclass(frozen=True)
class Absence:
    absence_id: str
    staff_id: str
    starts_at: datetime
    ends_at: datetime
    kind: AbsenceKind
    reason: str | None = None
    cancelled: bool = False

    def covers(self, at: datetime) -> bool:
        return not self.cancelled and self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class DelegationRule:
    rule_id: str
    item_code: str
    area_unit_id: str
    handling_tier: Tier
    direction: HopDirection
    effective_from: date
    effective_to: date | None
    basis_zh: str

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True)
class OrgState:
    """Everything routing knows about the tree. Dicts are never mutated after creation."""

    units: dict[str, OrgUnit] = field(default_factory=dict)
    offices: dict[str, Office] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)
    posts: dict[str, Post] = field(default_factory=dict)
    rosters: dict[str, tuple[RosterEntry, ...]] = field(default_factory=dict)
    absences: dict[str, Absence] = field(default_factory=dict)
    delegation_rules: dict[str, DelegationRule] = field(default_factory=dict)
    calendar: WorkingCalendar = field(default_factory=default_calendar)
    """The statutory calendar every deadline is counted by: the package's years and the
    published holiday schedules (`routing.holiday_schedule_published`), reference data like
    the rest of the tree."""
    version: int = 0

    # -- tree ------------------------------------------------------------------------------
    def ancestors(self, unit_id: str) -> list[str]:
        """`unit_id` and its ancestors, nearest first, ending at the root."""
        chain: list[str] = []
        current: str | None = unit_id
        while current is not None:
            if current in chain:  # defensive: evolve never admits a cycle
                raise ValueError(f"cycle in the org tree at {current}")
            chain.append(current)
            current = self.units[current].parent_id
        return chain

    def is_within(self, unit_id: str, area_unit_id: str) -> bool:
        """True when `unit_id` lies in the subtree rooted at `area_unit_id`."""
        return area_unit_id in self.ancestors(unit_id)

    def depth(self, unit_id: str) -> int:
        return len(self.ancestors(unit_id)) - 1

    def ancestor_at_tier(self, unit_id: str, tier: str) -> str | None:
        """The unit at `tier` on the way up from `unit_id` (itself included), if any."""
        for uid in self.ancestors(unit_id):
            if self.units[uid].tier == tier:
                return uid
        return None

    def children(self, unit_id: str) -> list[str]:
        return sorted(u.unit_id for u in self.units.values() if u.parent_id == unit_id)

    def path(self, from_unit: str, to_unit: str) -> list[str]:
        """Units a paper file would pass through: up to the common ancestor, then down.

        Both ends included; a single element when they are the same unit.
        """
        up = self.ancestors(from_unit)
        down = self.ancestors(to_unit)
        common = next(u for u in up if u in down)
        return up[: up.index(common) + 1] + list(reversed(down[: down.index(common)]))

    # -- people and offices ----------------------------------------------------------------
    def staff_of(self, unit_id: str) -> list[Staff]:
        return sorted(
            (s for s in self.staff.values() if s.unit_id == unit_id), key=lambda s: s.staff_id
        )

    def center_head(self, unit_id: str) -> str | None:
        """The head (主任) of a center: its staff member with the center_head role."""
        heads = [s.staff_id for s in self.staff_of(unit_id) if "center_head" in s.roles]
        return heads[0] if heads else None

    def nearest_head(self, unit_id: str) -> tuple[str, str] | None:
        """(unit, head) of the nearest center at or above `unit_id` that has a head."""
        for uid in self.ancestors(unit_id):
            head = self.center_head(uid)
            if head is not None:
                return uid, head
        return None

    def offices_of(self, unit_id: str) -> list[Office]:
        return sorted(
            (o for o in self.offices.values() if o.unit_id == unit_id), key=lambda o: o.office_id
        )

    def office_for(self, unit_id: str, category: str, item_code: str = "") -> Office | None:
        """The unit's office for a case: the one naming the item, else the one taking the

        category, else the general window (`*`); first by office id at each step.
        """
        offices = self.offices_of(unit_id)
        for wanted in (
            lambda o: item_code in o.item_codes,
            lambda o: category in o.categories,
            lambda o: ALL_CATEGORIES in o.categories,
        ):
            found = next((o for o in offices if wanted(o)), None)
            if found is not None:
                return found
        return None

    def post_for(self, office_id: str, category: str, line_id: str | None = None) -> Post | None:
        """The post at the office whose duties cover the case: the one holding its service
        line (服务条线), else the one naming `category`, else one taking every category."""
        posts = sorted(
            (p for p in self.posts.values() if p.office_id == office_id), key=lambda p: p.post_id
        )
        if line_id is not None:
            for p in posts:
                if line_id in p.service_line_ids:
                    return p
        for p in posts:
            if category in p.categories:
                return p
        for p in posts:
            if p.takes(category):
                return p
        return None

    def absence_at(self, staff_id: str, at: datetime) -> Absence | None:
        for a in sorted(self.absences.values(), key=lambda a: a.absence_id):
            if a.staff_id == staff_id and a.covers(at):
                return a
        return None
