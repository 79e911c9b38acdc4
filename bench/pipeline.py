"""Whole-pipeline benchmark (issue 7): cases per second from hand-in to audited and notified,
and how long one case takes, on the four services as separate processes.

Phases, on one private fleet (`bench.loadgen`; nothing of a running `make run` is touched):

0. **baseline** — the raw hops on the same stack: aiokafka produce->consume round trip and
   throughput, one-row asyncpg transaction latency and throughput (`loadgen.baseline`).
1. **single** — light load: `BENCH_PIPELINE_SINGLE_CASES` (30) cases one at a time, after
   5 warm-up cases that are not counted.
   -> `pipeline.single_case_p50_ms` = p50 of submit->audited (target < 100), and its ratio to
   the raw hops on the case's critical path.
2. **probe** — closed loop, `BENCH_PIPELINE_CONCURRENCY` (32) cases in flight for
   `BENCH_PIPELINE_PROBE_SECONDS` (30): the capacity estimate X (cases audited per second).
3. **sustained** — Poisson arrivals at r = min(500, 0.9 X) for `BENCH_PIPELINE_SECONDS` (60).
   The rate *holds* when no arrival was shed, every case was audited within the drain
   window, and the total lag (consumer groups + audit + outboxes) did not grow: its
   least-squares slope after the warm-up stays under 5 % of the event rate. If it does not
   hold, r is lowered by 20 % and the phase runs again (at most 3 tries).
   -> `pipeline.sustained_cases_per_s` (target >= 500 for 60 s with no growing lag) and
   `pipeline.p99_submit_to_audited_ms` at that rate (target < 2000).
4. **soak** — Poisson arrivals at half the sustained rate for `BENCH_SOAK_SECONDS` (600);
   resident memory of each service sampled every second.
   -> `pipeline.soak_memory_growth_pct` (the largest of the four; target < 10) and one
   `pipeline.soak_memory_growth_pct.<service>` each: mean RSS over the soak's last tenth
   against the mean over the tenth after the warm-up (the first tenth, at least 30 s).

`BENCH_PIPELINE_ENV` ("KEY=VALUE,KEY=VALUE") passes settings to the services (tuning
experiments); `BENCH_PIPELINE_REPORT` names a JSON file for the full phase reports
(default `bench/results/pipeline.json`). Every result's note states the durations used.
"""

from __future__ import annotations

import json
import math
import os
from functools import partial
from pathlib import Path
from typing import Any

from .harness import Result, Stack
from .loadgen.baseline import Baseline, measure
from .loadgen.driver import Driver, PhaseRun, closed_loop, fixed_rate, single_cases
from .loadgen.report import PhaseReport, render
from .loadgen.session import LoadSession

TARGET_RATE = 500.0
WARMUP_CASES = 5
HOLD_LAG_SHARE = 0.05
KAFKA_HOPS_ON_PATH = 4
"""intake->routing, routing->driver (the assignment), routing->notify, notify->audit."""
PG_TXNS_ON_PATH = 14
"""submit, route, decision, result-return, notify intent, dispatcher claim + outcome, audit
append (8), plus a read and a checkpoint per outbox relay cycle on the path (3 relays)."""


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if not raw else float(raw)


def _extra_env() -> dict[str, str]:
    raw = os.environ.get("BENCH_PIPELINE_ENV", "")
    return dict(kv.split("=", 1) for kv in raw.split(",") if "=" in kv)


async def _at_rate(driver: Driver, *, r: float, seconds: float, cap: int) -> PhaseRun:
    return await fixed_rate(driver, r, seconds, cap)


def holds(r: PhaseReport) -> tuple[bool, str]:
    """Did a fixed-rate phase carry its rate? (and why not)"""
    rate = r.phase.offered_rate or 0.0
    events_per_s = rate * max(1.0, r.events_per_case)
    why = []
    if r.phase.shed:
        why.append(f"{r.phase.shed} arrivals shed")
    if r.errors:
        why.append(f"{len(r.errors)} cases failed")
    if r.cases and r.completed < 0.99 * r.cases:
        why.append(f"only {r.completed}/{r.cases} audited within the drain window")
    if r.lag_slope_per_s > max(2.0, HOLD_LAG_SHARE * events_per_s):
        why.append(f"lag grew {r.lag_slope_per_s:+.1f} msg/s")
    return not why, "; ".join(why) or "held"


def memory_growth(session: LoadSession, start: float, end: float) -> dict[str, float]:
    """% growth of each service's RSS: mean over the last tenth vs the tenth after warm-up."""
    assert session.procs is not None
    samples = [s for s in session.procs.samples if start <= s.t <= end]
    if len(samples) < 10:
        return {}
    tenth = max(1, len(samples) // 10)
    warm = max(tenth, min(len(samples) // 3, 30))
    early = samples[warm : warm + tenth]
    late = samples[-tenth:]
    out = {}
    for svc in session.fleet.services:
        a = sum(s.rss_mb.get(svc, 0.0) for s in early) / len(early)
        b = sum(s.rss_mb.get(svc, 0.0) for s in late) / len(late)
        out[svc] = 100.0 * (b - a) / a if a else math.nan
    return out


async def run(stack: Stack) -> list[Result]:
    single_n = int(_env_float("BENCH_PIPELINE_SINGLE_CASES", 30))
    probe_s = _env_float("BENCH_PIPELINE_PROBE_SECONDS", 30)
    sustain_s = _env_float("BENCH_PIPELINE_SECONDS", 60)
    soak_s = _env_float("BENCH_SOAK_SECONDS", 600)
    concurrency = int(_env_float("BENCH_PIPELINE_CONCURRENCY", 32))
    warmup = min(10.0, sustain_s / 5)
    extra = _extra_env()
    reports: list[PhaseReport] = []
    results: list[Result] = []

    base = await measure(stack.bootstrap, stack.database_url)
    print(f"   baseline: {base.describe()}", flush=True)

    async with LoadSession(stack.bootstrap, stack.database_url, extra_env=extra) as s:
        # the first cases after start pay for first-use work (prepared statements, pools
        # filling, the audit appender discovering the topics): warm up, not measured
        await s.phase("warm-up", lambda d: single_cases(d, WARMUP_CASES))
        single = await s.phase("single", lambda d: single_cases(d, single_n))
        reports.append(single)
        print(render(single), flush=True)

        probe = await s.phase(
            "probe",
            lambda d: closed_loop(d, concurrency, probe_s),
            warmup_s=min(5.0, probe_s / 5),
        )
        reports.append(probe)
        print(render(probe), flush=True)

        rate = min(TARGET_RATE, max(1.0, 0.9 * probe.completed_per_s))
        held: PhaseReport | None = None
        tries: list[str] = []
        for _ in range(3):
            r = rate
            cap = max(64, int(r * 20))
            rep = await s.phase(
                f"sustained@{r:.1f}",
                partial(_at_rate, r=r, seconds=sustain_s, cap=cap),
                warmup_s=warmup,
            )
            reports.append(rep)
            print(render(rep), flush=True)
            ok, why = holds(rep)
            tries.append(f"{r:.1f}/s: {why}")
            if ok:
                held = rep
                break
            rate = max(1.0, 0.8 * rate)

        carried = held.phase.offered_rate if held and held.phase.offered_rate else rate
        soak_rate = max(1.0, 0.5 * carried)
        soak = await s.phase(
            "soak",
            lambda d: fixed_rate(d, soak_rate, soak_s, max(64, int(soak_rate * 20))),
            warmup_s=warmup,
        )
        reports.append(soak)
        print(render(soak), flush=True)
        growth = memory_growth(s, soak.phase.started, soak.phase.ended)
        info = s.info()

    results += _results(base, single, probe, held, tries, soak, growth, sustain_s, soak_s)
    _write_report(reports, base, info, extra)
    return results


def _results(
    base: Baseline,
    single: PhaseReport,
    probe: PhaseReport,
    held: PhaseReport | None,
    tries: list[str],
    soak: PhaseReport,
    growth: dict[str, float],
    sustain_s: float,
    soak_s: float,
) -> list[Result]:
    out: list[Result] = []
    e2e = single.spans_ms["submit->audited"]
    floor = KAFKA_HOPS_ON_PATH * base.kafka_rtt_ms_p50 + PG_TXNS_ON_PATH * base.pg_txn_ms_p50
    out.append(
        Result(
            "pipeline.single_case_p50_ms",
            e2e["p50"],
            "ms",
            target="< 100",
            note=f"submit->audited, {e2e['n']} cases one at a time; p95 {e2e['p95']:.0f} ms; "
            + _stages(single),
        )
    )
    out.append(
        Result(
            "pipeline.single_case_p50_ratio_vs_raw_hops",
            e2e["p50"],
            "ms",
            baseline=floor,
            note=f"baseline = {KAFKA_HOPS_ON_PATH} Kafka round trips "
            f"({base.kafka_rtt_ms_p50:.2f} ms) + {PG_TXNS_ON_PATH} one-row transactions "
            f"({base.pg_txn_ms_p50:.2f} ms) on the case's critical path",
        )
    )
    if held is not None:
        rate = held.completed_per_s
        p99 = held.spans_ms["submit->audited"]["p99"]
        note = (
            f"Poisson arrivals at {held.phase.offered_rate:.1f}/s for "
            f"{held.phase.seconds:.0f} s (tries: {' | '.join(tries)}); lag slope "
            f"{held.lag_slope_per_s:+.1f} msg/s; closed-loop probe "
            f"{probe.completed_per_s:.1f}/s with {probe.phase.concurrency} in flight"
        )
    else:
        rate, p99 = 0.0, math.nan
        note = f"no rate held for {sustain_s:.0f} s: {' | '.join(tries)}"
    out.append(
        Result("pipeline.sustained_cases_per_s", rate, "cases/s", target=">= 500", note=note)
    )
    if held is not None:
        txns = _pg_txns_per_case(held)
        out.append(
            Result(
                "pipeline.sustained_ratio_vs_raw_hops",
                rate,
                "cases/s",
                baseline=base.pg_txn_per_s / txns,
                note=f"baseline = one-row asyncpg transactions/s ({base.pg_txn_per_s:,.0f}, "
                f"8 connections) / {txns:.0f} transactions per case (API calls, consumed "
                "events, deliveries)",
            )
        )
    out.append(
        Result(
            "pipeline.p99_submit_to_audited_ms",
            p99,
            "ms",
            target="< 2000",
            note=(
                f"at {rate:.1f} cases/s; " + _stages(held)
                if held is not None
                else "no sustained rate"
            ),
        )
    )
    worst = max(growth.values()) if growth else math.nan
    out.append(
        Result(
            "pipeline.soak_memory_growth_pct",
            worst,
            "%",
            target="< 10",
            note=f"largest of the four over {soak.phase.seconds:.0f} s (asked {soak_s:.0f} s) at "
            f"{soak.phase.offered_rate:.1f} cases/s: "
            + ", ".join(f"{k} {v:+.1f}%" for k, v in growth.items()),
        )
    )
    for svc, g in growth.items():
        out.append(
            Result(
                f"pipeline.soak_memory_growth_pct.{svc}",
                g,
                "%",
                target="< 10",
                note=f"{soak.phase.seconds:.0f} s at {soak.phase.offered_rate:.1f} cases/s",
            )
        )
    out.append(
        Result(
            "pipeline.baseline.kafka_round_trip_p50_ms",
            base.kafka_rtt_ms_p50,
            "ms",
            note="aiokafka acks=all idempotent, linger 0, produce->consume one message",
        )
    )
    out.append(
        Result(
            "pipeline.baseline.pg_one_row_txn_p50_ms",
            base.pg_txn_ms_p50,
            "ms",
            note=f"asyncpg BEGIN/INSERT/COMMIT; {base.pg_txn_per_s:,.0f} txn/s from 8 connections",
        )
    )
    return out


def _stages(r: PhaseReport) -> str:
    keys = (
        "submit->accepted",
        "accepted->routed",
        "assigned->decided",
        "decided->notified",
        "notified->audited",
    )
    return "p50/p99 ms " + ", ".join(
        f"{k} {r.spans_ms[k]['p50']:.0f}/{r.spans_ms[k]['p99']:.0f}" for k in keys
    )


def _pg_txns_per_case(r: PhaseReport) -> float:
    calls = sum(v["n"] for v in r.calls_ms.values()) / max(1, r.cases)
    # each event is consumed by intake (routing's), routing (intake's) or both by notify;
    # a delivery is a claim and an outcome: roughly 2 transactions per event beyond the call
    return calls + 2.0 * r.events_per_case


def _write_report(
    reports: list[PhaseReport], base: Baseline, info: dict[str, Any], extra: dict[str, str]
) -> None:
    path = Path(
        os.environ.get("BENCH_PIPELINE_REPORT")
        or Path(__file__).resolve().parent / "results" / "pipeline.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "fleet": info,
        "services_env": extra,
        "baseline": base.__dict__,
        "phases": [r.as_json() for r in reports],
    }
    path.write_text(json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n")
