"""Figures of one phase: throughput, per-stage latency percentiles, lag over time, processes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from . import stmtcount
from .driver import Calls, PhaseRun
from .monitor import LagSample, ProcSample, lag_slope, summarize_procs
from .trace import STAGES, TopicTail

SPANS: tuple[tuple[str, str, str], ...] = (
    ("submit->accepted", "submitted", "accepted"),
    ("accepted->routed", "accepted", "routed"),
    ("routed->assigned", "routed", "assigned"),
    ("assigned->decided", "assigned", "decided"),
    ("decided->notified", "decided", "notified"),
    ("notified->audited", "notified", "audited"),
    ("submit->notified", "submitted", "notified"),
    ("submit->audited", "submitted", "audited"),
)
"""assigned->decided includes the driver's own reaction (it sees the assignment on Kafka,
then calls the API) and, for 8 % of cases, the correction round trip."""


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def pcts(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else math.nan,
    }


@dataclass
class PhaseReport:
    name: str
    phase: PhaseRun
    cases: int
    completed: int
    submitted_per_s: float
    completed_per_s: float
    spans_ms: dict[str, dict[str, float]]
    calls_ms: dict[str, dict[str, float]]
    lag_slope_per_s: float
    lag_max: int
    lag_end: int
    lag_series: list[tuple[float, dict[str, int]]]
    procs: dict[str, Any]
    events_per_case: float
    documents: dict[str, int] = field(default_factory=dict)
    """Scans the driver attached: cases with scans, documents, bytes."""
    errors: list[str] = field(default_factory=list)
    incomplete: dict[str, int] = field(default_factory=dict)
    db: dict[str, Any] = field(default_factory=dict)
    statements: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.phase.mode,
            "seconds": round(self.phase.seconds, 1),
            "offered_rate": self.phase.offered_rate,
            "concurrency": self.phase.concurrency,
            "cases": self.cases,
            "completed": self.completed,
            "shed": self.phase.shed,
            "late_starts": self.phase.late_starts,
            "submitted_per_s": self.submitted_per_s,
            "completed_per_s": self.completed_per_s,
            "spans_ms": self.spans_ms,
            "calls_ms": self.calls_ms,
            "lag_slope_per_s": self.lag_slope_per_s,
            "lag_max": self.lag_max,
            "lag_end": self.lag_end,
            "procs": self.procs,
            "events_per_case": self.events_per_case,
            "documents": self.documents,
            "errors": self.errors[:10],
            "incomplete": self.incomplete,
            "db": self.db,
            "statements": self.statements,
        }


def build(
    name: str,
    phase: PhaseRun,
    tail: TopicTail,
    calls: Calls,
    lag: list[LagSample],
    procs: list[ProcSample],
    *,
    drained_at: float,
    warmup_s: float = 0.0,
) -> PhaseReport:
    """Figures for the cases the phase submitted. Throughput counts cases *completed*
    (audited) inside the arrival window, after `warmup_s`."""
    ids = phase.case_ids
    traces = [tail.cases[c] for c in ids if c in tail.cases]
    spans: dict[str, dict[str, float]] = {}
    for label, a, b in SPANS:
        vals = [
            (t.stamps[b] - t.stamps[a]) * 1000 for t in traces if a in t.stamps and b in t.stamps
        ]
        spans[label] = pcts(vals)
    completed = [t for t in traces if "audited" in t.stamps]
    w0, w1 = phase.started + warmup_s, phase.ended
    window = max(1e-6, w1 - w0)
    in_window = sum(1 for t in completed if w0 <= t.stamps["audited"] <= w1)
    submitted = sum(1 for r in phase.runs if r.case_id and w0 <= r.submitted_at <= w1)
    incomplete = {s: sum(1 for t in traces if s not in t.stamps) for s in STAGES[1:]}
    lag_w = [s for s in lag if phase.started <= s.t <= drained_at]
    n_events = sum(len(t.event_ids) for t in traces)
    series = [(round(s.t - phase.started, 1), s.lag) for s in lag_w]
    return PhaseReport(
        name=name,
        phase=phase,
        cases=len(ids),
        completed=len(completed),
        submitted_per_s=submitted / window,
        completed_per_s=in_window / window,
        spans_ms=spans,
        calls_ms={k: pcts(v) for k, v in sorted(calls.ms.items())},
        lag_slope_per_s=lag_slope(lag, w0, w1),
        lag_max=max((s.total for s in lag_w), default=0),
        lag_end=next((s.total for s in reversed(lag) if s.t <= w1), 0),
        lag_series=series,
        procs=summarize_procs(procs, phase.started, phase.ended),
        events_per_case=n_events / len(traces) if traces else 0.0,
        documents={
            "cases_with_scans": sum(1 for r in phase.runs if r.documents),
            "documents": sum(r.documents for r in phase.runs),
            "bytes": sum(r.document_bytes for r in phase.runs),
        },
        errors=phase.errors,
        incomplete={k: v for k, v in incomplete.items() if v},
    )


def _f(x: float, digits: int = 0) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def render(r: PhaseReport) -> str:
    """A plain-text report (what `python -m bench.loadgen` prints)."""
    p = r.phase
    lines = [
        f"== {r.name}: {p.mode}"
        + (f" at {p.offered_rate:g} cases/s" if p.offered_rate else "")
        + (f", {p.concurrency} in flight" if p.concurrency else "")
        + f", {p.seconds:.0f} s",
        f"   cases {r.cases} (completed {r.completed}, errors {len(r.errors)}, shed {p.shed}, "
        f"late starts {p.late_starts}); submitted {r.submitted_per_s:.1f}/s, "
        f"completed (audited) {r.completed_per_s:.1f}/s; {r.events_per_case:.1f} events/case",
    ]
    if r.documents.get("documents"):
        d = r.documents
        lines.append(
            f"   scans: {d['documents']} documents on {d['cases_with_scans']} cases, "
            f"{d['bytes'] / 1e6:.1f} MB uploaded"
        )
    if r.incomplete:
        lines.append(f"   not reached: {r.incomplete}")
    lines.append(f"   {'stage (ms)':<22}{'n':>7}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}")
    for label, s in r.spans_ms.items():
        lines.append(
            f"   {label:<22}{s['n']:>7}{_f(s['p50']):>9}{_f(s['p95']):>9}"
            f"{_f(s['p99']):>9}{_f(s['max']):>9}"
        )
    lines.append(f"   {'API call (ms)':<34}{'n':>7}{'p50':>8}{'p95':>8}{'p99':>8}")
    for route, s in r.calls_ms.items():
        lines.append(
            f"   {route:<34}{s['n']:>7}{_f(s['p50'], 1):>8}{_f(s['p95'], 1):>8}{_f(s['p99'], 1):>8}"
        )
    lines.append(
        f"   lag: slope {r.lag_slope_per_s:+.1f} msg/s over the window, max {r.lag_max}, "
        f"at end of arrivals {r.lag_end}"
    )
    step = max(1, len(r.lag_series) // 12)
    for t, lag in r.lag_series[::step]:
        parts = "  ".join(f"{k}={v}" for k, v in lag.items() if v)
        lines.append(f"     t={t:>6.1f}s  total={sum(lag.values()):>6}  {parts}")
    if r.procs:
        lines.append(
            f"   {'process':<12}{'cpu% mean':>10}{'cpu% max':>10}{'rss MB':>9}{'→':>3}{'MB':>7}"
        )
        for name, s in r.procs.items():
            if name.startswith("_"):
                continue
            lines.append(
                f"   {name:<12}{s['cpu_pct_mean']:>10.0f}{s['cpu_pct_max']:>10.0f}"
                f"{s['rss_mb_first']:>9.0f}{'→':>3}{s['rss_mb_last']:>7.0f}"
            )
        lines.append(
            f"   machine busy {r.procs['_machine_busy_pct_mean']:.0f}% of all cores; processes "
            f"outside the measurement {r.procs['_others_cpu_pct_mean']:.0f}% of one core"
        )
    if r.db and r.cases:
        lines.append(
            f"   postgres: {r.db['xacts'] / r.cases:.1f} transactions per case (whole server); "
            "busiest tables per case (rows read by seq scans / index scans / rows written):"
        )
        tables = sorted(
            r.db["tables"].items(),
            key=lambda kv: -(kv[1]["seq_tup_read"] + kv[1]["idx_scan"] + kv[1]["n_tup_ins"]),
        )
        for name, t in tables[:8]:
            written = t["n_tup_ins"] + t["n_tup_upd"] + t["n_tup_del"]
            lines.append(
                f"     {name:<34}{t['seq_tup_read'] / r.cases:>10.1f}"
                f"{t['idx_scan'] / r.cases:>8.1f}{written / r.cases:>8.1f}"
            )
    if r.statements:
        lines.append(stmtcount.render(r.statements, r.cases))
    for e in r.errors[:3]:
        lines.append(f"   error: {e}")
    return "\n".join(lines)
