"""The service catalog (服务事项目录): versioned items with effective dates, and its decider.

Why versioned: fees, materials and time limits change, and 阳光运作 means a resident is held
to the rules that were public when the case was handed in. So a change is a new whole
version (`CatalogItemPublished`), never an edit, and `Catalog.version_in_force(code, at)`
answers "which version applied at that moment".

In force at `at` means: published at or before `at`, and `effective_from` on or before the
local (Asia/Shanghai) date of `at`; among those, the latest by effective date. A version may
name an effective date in the past (the seed publishes items whose rules have long applied);
it still applies only from its publication on, so history already judged never changes.
Effective dates only move forward: a version dated before the current one is refused, as
is a retirement dated before it (retire from that date or later instead).

Item code scheme: a category prefix and a number, e.g. ``FP-002`` (FP family planning,
CA civil affairs, LS labour/social security, AG agriculture, FL floating population, LC land
and construction, DP disabled persons, IC industry and commerce, OT other). The prefix is
a reading aid, not a rule: the code is the item's identity across versions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from contracts.base import DomainEvent
from contracts.intake import CatalogItemPublished, CatalogItemRetired, CatalogItemVersion
from contracts.joint import JointBundle, JointBundlePublished
from eventkit.envelope import Actor

from .errors import AlreadyExists, Conflict, InvalidField, UnknownItem

SHANGHAI = ZoneInfo("Asia/Shanghai")
ITEM_CODE = re.compile(r"^[A-Z]{2,4}-[0-9]{3}$")
MATERIAL_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
CATALOG_STREAM = "catalog"
"""Stream id of the catalog: one small stream, so every decision sees every item."""


def local_date(at: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware moment."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: the domain needs timezone-aware times")
    return at.astimezone(SHANGHAI).date()


# -- commands --------------------------------------------------------------------------------------
class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PublishCatalogItem(_Command):
    """Publish a whole new version of an item (admins only; the edge checks the role)."""

    item: CatalogItemVersion
    actor: Actor


class RetireCatalogItem(_Command):
    """Stop taking in an item from a date on; cases already submitted are unaffected."""

    code: str
    retired_from: date
    reason: str
    actor: Actor


class PublishJointBundle(_Command):
    """Publish a whole new version of a joint bundle (联办事项); admins only."""

    bundle: JointBundle
    actor: Actor


CatalogCommand = PublishCatalogItem | RetireCatalogItem | PublishJointBundle


# -- state -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublishedVersion:
    item: CatalogItemVersion
    recorded_at: datetime

    @property
    def effective_from(self) -> date:
        return self.item.effective_from


@dataclass(frozen=True)
class Retirement:
    effective_from: date
    recorded_at: datetime
    reason: str


TimelineEntry = PublishedVersion | Retirement


@dataclass(frozen=True)
class ItemHistory:
    """Every version and retirement of one item, in the order they were recorded."""

    code: str
    timeline: tuple[TimelineEntry, ...] = ()

    @property
    def versions(self) -> tuple[PublishedVersion, ...]:
        return tuple(e for e in self.timeline if isinstance(e, PublishedVersion))

    @property
    def latest(self) -> PublishedVersion | None:
        versions = self.versions
        return versions[-1] if versions else None

    @property
    def retired(self) -> Retirement | None:
        """The retirement that ends the item now or in future, if the last word is one."""
        last = self.timeline[-1] if self.timeline else None
        return last if isinstance(last, Retirement) else None

    def entry_at(self, at: datetime) -> TimelineEntry | None:
        day = local_date(at)
        best: tuple[date, int] | None = None
        found: TimelineEntry | None = None
        for index, entry in enumerate(self.timeline):
            if entry.recorded_at <= at and entry.effective_from <= day:
                key = (entry.effective_from, index)
                if best is None or key > best:
                    best, found = key, entry
        return found

    def in_force(self, at: datetime) -> CatalogItemVersion | None:
        entry = self.entry_at(at)
        return entry.item if isinstance(entry, PublishedVersion) else None

    def version(self, number: int) -> CatalogItemVersion | None:
        for v in self.versions:
            if v.item.version == number:
                return v.item
        return None


@dataclass(frozen=True)
class Catalog:
    """All items of the catalog. Pure: rebuilt by folding catalog events."""

    items: Mapping[str, ItemHistory] = field(default_factory=dict)
    bundles: Mapping[str, tuple[tuple[JointBundle, datetime], ...]] = field(default_factory=dict)
    """Every published version of each joint bundle with the moment it was recorded."""

    def bundle_in_force(self, code: str, at: datetime) -> JointBundle | None:
        """The bundle version a joint intake at `at` is judged by (as for items)."""
        day = local_date(at)
        live = [
            b for b, when in self.bundles.get(code, ()) if when <= at and b.effective_from <= day
        ]
        return max(live, key=lambda b: (b.effective_from, b.version)) if live else None

    def bundles_in_force(self, at: datetime) -> list[JointBundle]:
        out = [self.bundle_in_force(code, at) for code in sorted(self.bundles)]
        return [b for b in out if b is not None]

    def history(self, code: str) -> ItemHistory | None:
        return self.items.get(code)

    def version_in_force(self, code: str, at: datetime) -> CatalogItemVersion | None:
        """The version a case submitted at `at` is judged by, or None."""
        history = self.items.get(code)
        return history.in_force(at) if history else None

    def version(self, code: str, number: int) -> CatalogItemVersion | None:
        history = self.items.get(code)
        return history.version(number) if history else None

    def in_force(self, at: datetime) -> list[CatalogItemVersion]:
        """The public catalog at a moment, ordered by code."""
        out = [h.in_force(at) for _, h in sorted(self.items.items())]
        return [v for v in out if v is not None]

    def why_not_in_force(self, code: str, at: datetime) -> str:
        """A reason a person can act on, for a code with no version in force at `at`."""
        history = self.items.get(code)
        if history is None or not history.timeline:
            return f"no service item with code {code}"
        entry = history.entry_at(at)
        if isinstance(entry, Retirement):
            return f"item {code} was retired from {entry.effective_from.isoformat()}"
        upcoming = [e.effective_from for e in history.versions if e.recorded_at <= at]
        if upcoming:
            return f"item {code} is in force only from {min(upcoming).isoformat()}"
        return f"item {code} was not yet published at {at.isoformat()}"


def initial_state() -> Catalog:
    return Catalog()


# -- decide ----------------------------------------------------------------------------------------
def decide(command: CatalogCommand, state: Catalog, now: datetime) -> list[DomainEvent]:
    local_date(now)  # refuses a naive clock early
    match command:
        case PublishCatalogItem():
            return _publish(command, state, now)
        case RetireCatalogItem():
            return _retire(command, state, now)
        case PublishJointBundle():
            return _publish_bundle(command, state, now)
    raise TypeError(f"not a catalog command: {type(command).__name__}")


def _publish(cmd: PublishCatalogItem, state: Catalog, now: datetime) -> list[DomainEvent]:
    item = cmd.item
    validate_item(item)
    history = state.history(item.code)
    latest = history.latest if history else None
    if history is not None and latest is not None:
        if history.version(item.version) is not None:
            raise AlreadyExists("item.version", f"version {item.version} of {item.code} exists")
        if item.version < latest.item.version:
            raise InvalidField(
                "item.version",
                f"must be greater than the latest version {latest.item.version}",
            )
        if item.effective_from < latest.effective_from:
            raise InvalidField(
                "item.effective_from",
                f"{item.effective_from.isoformat()} is before version {latest.item.version}, "
                f"in force from {latest.effective_from.isoformat()}",
            )
    retired = history.retired if history else None
    if retired is not None and item.effective_from < retired.effective_from:
        raise InvalidField(
            "item.effective_from",
            f"the item is retired from {retired.effective_from.isoformat()}; "
            "a new version cannot take effect before that",
        )
    return [CatalogItemPublished(item=item, published_at=now, published_by=cmd.actor.id)]


def _retire(cmd: RetireCatalogItem, state: Catalog, now: datetime) -> list[DomainEvent]:
    history = state.history(cmd.code)
    if history is None or history.latest is None:
        raise UnknownItem("code", f"no service item with code {cmd.code}")
    if not cmd.reason.strip():
        raise InvalidField("reason", "a retirement needs a reason")
    if history.retired is not None:
        raise Conflict("code", f"already retired from {history.retired.effective_from.isoformat()}")
    latest = history.latest
    if cmd.retired_from < latest.effective_from:
        raise InvalidField(
            "retired_from",
            f"{cmd.retired_from.isoformat()} is before version {latest.item.version}, "
            f"in force from {latest.effective_from.isoformat()}",
        )
    return [
        CatalogItemRetired(
            code=cmd.code,
            retired_from=cmd.retired_from,
            reason=cmd.reason.strip(),
            retired_at=now,
            retired_by=cmd.actor.id,
        )
    ]


def _publish_bundle(cmd: PublishJointBundle, state: Catalog, now: datetime) -> list[DomainEvent]:
    """A bundle names published items not retired, each once (an intake checks each is in
    force when it is handed in); a shared material is one at least two members list in
    their latest version (else there is nothing to share)."""
    bundle = cmd.bundle
    if not ITEM_CODE.match(bundle.code):
        raise InvalidField("bundle.code", "must look like LB-001: 2-4 capitals, '-', 3 digits")
    if state.history(bundle.code) is not None:
        raise Conflict("bundle.code", f"{bundle.code} is an item's code, not a bundle's")
    if not bundle.name_zh.strip():
        raise InvalidField("bundle.name_zh", "must not be blank")
    versions = state.bundles.get(bundle.code, ())
    if versions:
        latest = versions[-1][0]
        if bundle.version <= latest.version:
            raise InvalidField(
                "bundle.version", f"must be greater than the latest version {latest.version}"
            )
        if bundle.effective_from < latest.effective_from:
            raise InvalidField(
                "bundle.effective_from",
                f"{bundle.effective_from.isoformat()} is before version {latest.version}",
            )
    elif bundle.version != 1:
        raise InvalidField("bundle.version", "versions start at 1")
    materials: dict[str, list[str]] = {}
    for i, code in enumerate(bundle.members):
        if code in bundle.members[:i]:
            raise InvalidField(f"bundle.members[{i}]", f"member {code} appears twice")
        history = state.history(code)
        latest = history.latest if history else None
        if history is None or latest is None:
            raise UnknownItem(f"bundle.members[{i}]", f"no service item with code {code}")
        if history.retired is not None:
            raise InvalidField(
                f"bundle.members[{i}]",
                f"item {code} is retired from {history.retired.effective_from.isoformat()}",
            )
        for m in latest.item.materials:
            materials.setdefault(m.code, []).append(code)
    for i, code in enumerate(bundle.shared_materials):
        if code in bundle.shared_materials[:i]:
            raise InvalidField(f"bundle.shared_materials[{i}]", f"{code} appears twice")
        if len(materials.get(code, ())) < 2:
            raise InvalidField(
                f"bundle.shared_materials[{i}]",
                f"{code} is not listed by two members: nothing to share",
            )
    return [JointBundlePublished(bundle=bundle, published_at=now, published_by=cmd.actor.id)]


def validate_item(item: CatalogItemVersion) -> None:
    """Refuse an item version that breaks the catalog's own rules (fields under `item.`)."""
    if not ITEM_CODE.match(item.code):
        raise InvalidField("item.code", "must look like FP-002: 2-4 capitals, '-', 3 digits")
    if item.version < 1:
        raise InvalidField("item.version", "versions start at 1")
    for name in ("name_zh", "legal_basis", "implementing_body", "result_type"):
        if not str(getattr(item, name)).strip():
            raise InvalidField(f"item.{name}", "must not be blank")
    _validate_limits(item)
    _validate_materials(item)
    _validate_money(item)


def _validate_limits(item: CatalogItemVersion) -> None:
    if item.statutory_limit_days < 0:
        raise InvalidField("item.statutory_limit_days", "must not be negative")
    if item.promised_limit_days < 0:
        raise InvalidField("item.promised_limit_days", "must not be negative")
    if item.case_type == "same_day" and item.promised_limit_days != 0:
        raise InvalidField("item.promised_limit_days", "a same-day item (即办件) promises 0 days")
    if item.case_type == "promised" and item.promised_limit_days < 1:
        raise InvalidField("item.promised_limit_days", "a promised item (承诺件) needs >= 1 day")
    if item.promised_limit_days > item.statutory_limit_days:
        raise InvalidField(
            "item.promised_limit_days",
            f"promised {item.promised_limit_days} days exceeds the statutory "
            f"{item.statutory_limit_days}",
            code="promise_exceeds_statutory",
            ctx={
                "promised": item.promised_limit_days,
                "statutory": item.statutory_limit_days,
            },
        )


def _validate_materials(item: CatalogItemVersion) -> None:
    seen: set[str] = set()
    for i, m in enumerate(item.materials):
        where = f"item.materials[{i}]"
        if not MATERIAL_CODE.match(m.code):
            raise InvalidField(f"{where}.code", "must be capitals, digits and _, e.g. ID_CARD")
        if m.code in seen:
            raise InvalidField(f"{where}.code", f"material code {m.code} appears twice")
        seen.add(m.code)
        if not m.name_zh.strip():
            raise InvalidField(f"{where}.name_zh", "must not be blank")
        if m.copies < 1:
            raise InvalidField(f"{where}.copies", "at least one copy")


def _validate_money(item: CatalogItemVersion) -> None:
    if item.fee.amount_fen < 0:
        raise InvalidField("item.fee.amount_fen", "must not be negative")
    if item.fee.amount_fen > 0 and not (item.fee.basis or "").strip():
        raise InvalidField("item.fee.basis", "a fee needs its legal basis (阳光运作)")
    if item.deposit is not None:
        if item.deposit.amount_fen <= 0:
            raise InvalidField("item.deposit.amount_fen", "a deposit must be positive")
        if not item.deposit.basis.strip():
            raise InvalidField("item.deposit.basis", "a deposit needs its basis")


# -- evolve ----------------------------------------------------------------------------------------
def evolve(state: Catalog, evt: DomainEvent) -> Catalog:
    match evt:
        case CatalogItemPublished(item=item, published_at=at):
            return _append(state, item.code, PublishedVersion(item=item, recorded_at=at))
        case CatalogItemRetired(code=code, retired_from=d, retired_at=at, reason=reason):
            return _append(state, code, Retirement(effective_from=d, recorded_at=at, reason=reason))
        case JointBundlePublished(bundle=bundle, published_at=at):
            bundles = dict(state.bundles)
            bundles[bundle.code] = (*bundles.get(bundle.code, ()), (bundle, at))
            return Catalog(items=state.items, bundles=bundles)
    return state


def _append(state: Catalog, code: str, entry: TimelineEntry) -> Catalog:
    history = state.items.get(code, ItemHistory(code=code))
    items = dict(state.items)
    items[code] = ItemHistory(code=code, timeline=(*history.timeline, entry))
    return Catalog(items=items, bundles=state.bundles)
