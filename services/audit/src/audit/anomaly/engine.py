"""Evaluates anomaly rules over one case's events. Pure: no I/O, the clock is passed in.

A case's events come from the log (redacted leaves, so no personal data), in the order they
happened (occurred_at, then log index). Personal comparisons use the keyed hashes that the
appender kept beside the leaf (`personal_data.keyed`), handed in with each event.
`evaluate` returns the findings and, for time-based rules, when to look at the case again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from contracts.decisions import StaffPost, decision_right
from contracts.topics import PRODUCER_OF

from .rules import (
    ConflictOfInterest,
    CountExceeds,
    Deadline,
    DecisionRight,
    ForeignProducer,
    RequiresPrior,
    StandardMismatch,
)


@dataclass(frozen=True)
class CaseEvent:
    idx: int
    event_type: str
    occurred_at: datetime
    payload: Mapping[str, Any]
    event_id: str | None = None
    actor_id: str | None = None
    keyed: Mapping[str, str] = field(default_factory=dict)
    """JSON pointer -> HMAC of the personal value there (from personal_data)."""
    topic: str | None = None
    producer: str | None = None
    """The service the envelope names as its producer."""


def foreign_producer(topic: str | None, producer: str | None) -> str | None:
    """The owner of `topic` when the envelope names another producer, else None."""
    owner = PRODUCER_OF.get(topic or "")
    return owner if owner is not None and producer != owner else None


@dataclass(frozen=True)
class Finding:
    rule_id: str
    kind: str
    severity: str
    description: str
    evidence: tuple[int, ...]
    """Log indexes of the events that show it."""
    details: dict[str, Any]


class RuleContext(Protocol):
    def catalog_in_force(self, code: str, at: datetime) -> Mapping[str, Any] | None: ...

    def staff_identity(self, staff_id: str) -> Mapping[str, str]: ...

    def staff_post(self, staff_id: str) -> StaffPost | None:
        """The staff member's unit and roles (routing.staff_registered); None if unknown."""
        ...


class EmptyContext:
    def catalog_in_force(self, code: str, at: datetime) -> Mapping[str, Any] | None:
        return None

    def staff_identity(self, staff_id: str) -> Mapping[str, str]:
        return {}

    def staff_post(self, staff_id: str) -> StaffPost | None:
        return None


@dataclass
class Evaluation:
    findings: list[Finding] = field(default_factory=list)
    next_check_at: datetime | None = None

    def recheck_at(self, when: datetime) -> None:
        if self.next_check_at is None or when < self.next_check_at:
            self.next_check_at = when


def _get(obj: Mapping[str, Any], path: Sequence[str]) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, Mapping) or p not in cur:
            return None
        cur = cur[p]
    return cur


def _parse_time(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v
    if isinstance(v, str):
        try:
            t = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
        return t if t.tzinfo is not None else None
    return None


def _finding(rule: Any, evidence: Sequence[CaseEvent], **details: Any) -> Finding:
    return Finding(
        rule_id=rule.id,
        kind=rule.kind,
        severity=rule.severity,
        description=rule.description,
        evidence=tuple(e.idx for e in evidence),
        details=details,
    )


# -- kinds ---------------------------------------------------------------------------------------


def _standard_mismatch(
    rule: StandardMismatch, events: Sequence[CaseEvent], ctx: RuleContext, out: Evaluation
) -> None:
    for e in events:
        if e.event_type not in rule.event_types:
            continue
        code = e.payload.get(rule.item_field)
        item = ctx.catalog_in_force(code, e.occurred_at) if isinstance(code, str) else None
        diffs = []
        for chk in rule.checks:
            charged = next(
                (e.payload[f] for f in chk.charged_fields if isinstance(e.payload.get(f), int)),
                None,
            )
            if charged is None:
                continue
            if item is not None:
                std = _get(item, chk.catalog_path)
                standard, source = (std if isinstance(std, int) else 0), "catalog"
            elif chk.declared_field and isinstance(e.payload.get(chk.declared_field), int):
                standard, source = e.payload[chk.declared_field], "declared"
            else:
                continue
            if charged != standard:
                diffs.append(
                    {
                        "amount": chk.name,
                        "charged_fen": charged,
                        "standard_fen": standard,
                        "standard_from": source,
                    }
                )
        if diffs:
            out.findings.append(
                _finding(
                    rule,
                    [e],
                    item_code=code,
                    differences=diffs,
                    catalog_version=(item or {}).get("version"),
                )
            )
            return


def _decision_right(
    rule: DecisionRight, events: Sequence[CaseEvent], ctx: RuleContext, out: Evaluation
) -> None:
    assignee: str | None = None
    assigned_by: CaseEvent | None = None
    route: Mapping[str, Any] = {}
    fields = {a.event_type: a.field for a in rule.assignments}
    for e in events:
        if e.event_type == rule.route:
            route = e.payload
        if e.event_type in fields:
            v = e.payload.get(fields[e.event_type])
            if isinstance(v, str):
                assignee, assigned_by = v, e
        if e.event_type in rule.event_types:
            actor = e.payload.get(rule.actor_field)
            if actor is None:
                actor = e.actor_id
            right = decision_right(
                decided_by=str(actor),
                assigned_to=assignee,
                case_type=str(route.get("case_type", "")),
                handling_tier=str(route.get("handling_tier", "")),
                handling_unit_id=str(route.get("handling_unit_id", "")),
                staff=ctx.staff_post(str(actor)) if actor is not None else None,
            )
            if right is None:
                ev = [assigned_by, e] if assigned_by else [e]
                out.findings.append(_finding(rule, ev, decided_by=actor, assignee=assignee))
                return


def _requires_prior(rule: RequiresPrior, events: Sequence[CaseEvent], out: Evaluation) -> None:
    if any(e.event_type in rule.unless_any for e in events):
        return
    for e in events:
        if e.event_type not in rule.event_types:
            continue
        if rule.unless_field and e.payload.get(rule.unless_field.field) in rule.unless_field.values:
            continue
        prior = [
            p
            for p in events
            if p.event_type in rule.requires_any and p.occurred_at <= e.occurred_at
        ]
        if not prior:
            out.findings.append(_finding(rule, [e], missing=list(rule.requires_any)))
            return


def _matches(e: CaseEvent, where: Mapping[str, Any]) -> bool:
    return all(e.payload.get(k) == v for k, v in where.items())


def _deadline(rule: Deadline, events: Sequence[CaseEvent], now: datetime, out: Evaluation) -> None:
    flag_now = [e for e in events if e.event_type in rule.also_flag_on]
    if flag_now:
        out.findings.append(_finding(rule, flag_now[:1], reported_by=flag_now[0].event_type))
        return
    starts = [
        e
        for e in events
        if e.event_type in rule.start.event_types and _matches(e, rule.start.where)
    ]
    if not starts:
        return
    start = starts[0]
    due: datetime | None = None
    due_event: CaseEvent | None = None
    for src in rule.due:
        if src.types and src.field:
            # the latest statement of the due time wins (e.g. a deadline reset after 补正, or
            # counted again when a year's holiday schedule was published)
            cands = [
                e
                for e in events
                if e.event_type in src.types and _parse_time(e.payload.get(src.field)) is not None
            ]
            if cands:
                due_event = cands[-1]
                due = _parse_time(due_event.payload.get(src.field))
                break
        elif src.after_start_hours is not None:
            due = start.occurred_at + timedelta(hours=src.after_start_hours)
            break
    if due is None:
        return
    after = [e for e in events if e.occurred_at >= start.occurred_at]
    done = next((e for e in after if e.event_type in rule.done_by), None)
    ev = [start] + ([due_event] if due_event and due_event is not start else [])
    if done is not None:
        if done.occurred_at > due:
            out.findings.append(
                _finding(
                    rule,
                    [*ev, done],
                    due_at=due.isoformat(),
                    done_at=done.occurred_at.isoformat(),
                    late_by_hours=round((done.occurred_at - due).total_seconds() / 3600, 2),
                )
            )
        return
    paused = False
    for e in events:
        if e.event_type in rule.paused_by:
            paused = True
        elif e.event_type in rule.resumed_by:
            paused = False
    if paused:
        return
    if now > due:
        out.findings.append(_finding(rule, ev, due_at=due.isoformat(), open_at=now.isoformat()))
    else:
        out.recheck_at(due)


def _foreign_producer(rule: ForeignProducer, events: Sequence[CaseEvent], out: Evaluation) -> None:
    foreign = [e for e in events if foreign_producer(e.topic, e.producer)]
    if foreign:
        first = foreign[0]
        out.findings.append(
            _finding(
                rule,
                foreign,
                topic=first.topic,
                producer=first.producer,
                owner=foreign_producer(first.topic, first.producer),
            )
        )


def _count_exceeds(rule: CountExceeds, events: Sequence[CaseEvent], out: Evaluation) -> None:
    hits = [e for e in events if e.event_type in rule.event_types]
    if len(hits) > rule.max:
        out.findings.append(_finding(rule, hits, count=len(hits), max=rule.max))


def _conflict(
    rule: ConflictOfInterest, events: Sequence[CaseEvent], ctx: RuleContext, out: Evaluation
) -> None:
    for e in events:  # intake's own finding (sealed applicants, issue 15)
        if e.event_type in rule.found and isinstance(e.payload.get("staff_id"), str):
            out.findings.append(
                _finding(
                    rule,
                    [e],
                    staff_id=e.payload["staff_id"],
                    role_field=e.payload.get("role_field"),
                    same=sorted(e.payload.get("same") or ()),
                )
            )
            return
    applicant: dict[str, set[str]] = {}
    applicant_events: list[CaseEvent] = []
    for e in events:
        for ap in rule.applicant:
            if e.event_type == ap.event_type and ap.pointer in e.keyed:
                applicant.setdefault(ap.as_, set()).add(e.keyed[ap.pointer])
                if e not in applicant_events:
                    applicant_events.append(e)
    if not applicant:
        return
    for e in events:
        for sf in rule.staff_fields:
            if e.event_type != sf.event_type:
                continue
            staff = e.payload.get(sf.field)
            if not isinstance(staff, str):
                continue
            ident = ctx.staff_identity(staff)
            same = sorted(k for k, h in ident.items() if h in applicant.get(k, ()))
            if same:
                out.findings.append(
                    _finding(
                        rule, [*applicant_events, e], staff_id=staff, role_field=sf.field, same=same
                    )
                )
                return


def evaluate(
    rules: Sequence[Any], events: Sequence[CaseEvent], ctx: RuleContext, now: datetime
) -> Evaluation:
    """Every rule over one case; `events` in any order (sorted here)."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.idx))
    out = Evaluation()
    for rule in rules:
        if isinstance(rule, StandardMismatch):
            _standard_mismatch(rule, ordered, ctx, out)
        elif isinstance(rule, DecisionRight):
            _decision_right(rule, ordered, ctx, out)
        elif isinstance(rule, RequiresPrior):
            _requires_prior(rule, ordered, out)
        elif isinstance(rule, Deadline):
            _deadline(rule, ordered, now, out)
        elif isinstance(rule, CountExceeds):
            _count_exceeds(rule, ordered, out)
        elif isinstance(rule, ConflictOfInterest):
            _conflict(rule, ordered, ctx, out)
        elif isinstance(rule, ForeignProducer):
            _foreign_producer(rule, ordered, out)
    return out


def in_force(
    versions: Sequence[Mapping[str, Any]], at: datetime, eff_field: str, ver_field: str
) -> Mapping[str, Any] | None:
    """The catalog item version in force on the date of `at` (latest effective_from <= date,
    then the highest version)."""
    day = at.date()
    best: tuple[date, int] | None = None
    chosen = None
    for v in versions:
        try:
            eff = date.fromisoformat(str(v.get(eff_field)))
        except ValueError:
            continue
        key = (eff, int(v.get(ver_field) or 0))
        if eff <= day and (best is None or key > best):
            best, chosen = key, v
    return chosen
