"""What a replay selects: topics, start positions, event types, org units, tiers, time range.

Semantics (documented in the CLI help and the README):

- topics and start positions choose what is READ (Kafka only);
- `since` / `until` keep events whose `occurred_at` lies in [since, until); on Kafka `since`
  also seeks each partition (by record timestamp, an hour early to allow for publish delay);
- event types keep only those rows in `events`; `cases` and `center_daily` are built from the
  events kept, so a type filter also narrows them;
- org units and tiers select whole CASES: a case is kept (all its events) when any of its
  events names a unit in the subtree of one of the org units (`org_id` on the envelope: the
  accepting center for intake, the handling unit for routing) and, with `tiers`, a tier among
  them. Events of other streams are kept when they match themselves.
- reference data (the org tree and the catalog) always feeds the `org_units` and
  `catalog_items` tables, whatever the filters, so names and tiers are known.

Everything the user typed is checked before anything is written; org units and event types
that are well-formed but not in `contracts` are checked against the history once it is read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from contracts import intake as _intake  # noqa: F401  (registers the event types)
from contracts import joint as _joint  # noqa: F401
from contracts import notify as _notify  # noqa: F401
from contracts import routing as _routing  # noqa: F401
from contracts.base import REGISTRY
from contracts.workdays import SHANGHAI

from .errors import BadInput

TIERS = ("community", "town", "city")
_UNIT_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_OFFSETS = re.compile(r"^(?P<topic>[A-Za-z0-9._-]+):(?P<parts>\d+=\d+(,\d+=\d+)*)$")


@dataclass(frozen=True)
class ReplayFilter:
    since: datetime | None = None
    until: datetime | None = None
    event_types: tuple[str, ...] = ()
    org_units: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    unregistered_types: tuple[str, ...] = field(default=())
    """Well-formed types not in `contracts` (e.g. audit's): must occur in the history."""

    def describe(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "event_types": list(self.event_types),
            "org_units": list(self.org_units),
            "tiers": list(self.tiers),
        }


def parse_instant(value: str, fieldname: str, *, end: bool = False) -> datetime:
    """An ISO date (a whole local day: its start, or with `end` the start of the next day)
    or an ISO date-time (Asia/Shanghai when it has no offset)."""
    text = value.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            if end:
                d += timedelta(days=1)
            return datetime.combine(d, time(0), SHANGHAI)
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            fieldname, f"{value!r} is not an ISO date (2026-10-01) or date-time"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=SHANGHAI)


def build_filter(
    *,
    since: str | None = None,
    until: str | None = None,
    event_types: Sequence[str] = (),
    org_units: Sequence[str] = (),
    tiers: Sequence[str] = (),
) -> ReplayFilter:
    s = parse_instant(since, "--since") if since else None
    u = parse_instant(until, "--until", end=True) if until else None
    if s and u and u <= s:
        raise BadInput("--until", f"the end ({until}) is not after the start ({since})")
    types = _split(event_types)
    for t in types:
        if not _EVENT_TYPE.match(t):
            raise BadInput(
                "--type", f"{t!r} is not an event type (like intake.application_accepted)"
            )
    units = _split(org_units)
    for unit in units:
        if not _UNIT_ID.match(unit):
            raise BadInput("--org", f"{unit!r} is not an org unit id (like ruian.mayu)")
    tier_list = _split(tiers)
    for tier in tier_list:
        if tier not in TIERS:
            raise BadInput("--tier", f"unknown tier {tier!r}; one of {', '.join(TIERS)}")
    unregistered = tuple(t for t in types if t not in REGISTRY)
    for t in unregistered:
        # a typo of a known type is refused at once rather than after a long read
        service = t.split(".", 1)[0]
        if service in {"intake", "routing", "notify"}:
            close = sorted(k for k in REGISTRY if k.startswith(service + "."))
            raise BadInput(
                "--type", f"unknown event type {t!r}; {service} publishes: {', '.join(close)}"
            )
    return ReplayFilter(s, u, types, units, tier_list, unregistered)


def check_topics(topics: Sequence[str]) -> tuple[str, ...]:
    names = _split(topics)
    for t in names:
        if not _TOPIC.match(t):
            raise BadInput("--topic", f"{t!r} is not a valid Kafka topic name")
    return names


def parse_offsets(specs: Sequence[str]) -> dict[tuple[str, int], int]:
    """`topic:partition=offset[,partition=offset...]`, repeatable."""
    out: dict[tuple[str, int], int] = {}
    for spec in specs:
        m = _OFFSETS.match(spec.strip())
        if not m:
            raise BadInput(
                "--offsets", f"{spec!r} is not topic:partition=offset[,partition=offset]"
            )
        for part in m.group("parts").split(","):
            p, o = part.split("=")
            out[(m.group("topic"), int(p))] = int(o)
    return out


def _split(values: Sequence[str]) -> tuple[str, ...]:
    """Repeated options and comma-separated lists, in order, without duplicates."""
    out: list[str] = []
    for v in values:
        for part in v.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return tuple(out)
