"""Faults under a steady load, measured: the pieces the pipeline fault tests share.

- `PrivatePostgres` / `private_kafka`: servers only these tests use (own ports below 32768,
  own state under `.local/fault/` and `.local/kafka/fault_*`), so restarting them disturbs
  nobody: not the suite's shared servers, not another engineer's `make run`.
- `FaultRun.play`: the four services as processes (`bench.loadgen.LoadSession`: its fleet,
  its driver playing `make demo`'s case mix, its topic tail), a steady Poisson load of
  cases, and the fault injected once the pipeline is flowing (a condition, not a timer);
  `/readyz` of every service is sampled throughout.
- `FaultRun.verdict`: once every case had its chance (bounded waits), what a city would
  ask: was any case lost (not routed, decided, notified and audited), was any effect
  applied twice (stores, SMS, audit leaves), did every loop come back to `ok` in `/readyz`
  without a service being restarted, and how long did all that take. Printed; the tests
  assert the counts, never the times.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from bench.loadgen.driver import PhaseRun, fixed_rate
from bench.loadgen.session import LoadSession
from bench.loadgen.trace import collect_audited
from devstack.common import state_dir
from devstack.demo import INSPECTOR
from devstack.kafka import KafkaCluster, Node, probe
from devstack.kafka_users import use_admin
from devstack.postgres import TEST_DB, LocalPostgres, find_bin_dir

# Ports of the servers these tests own (below Linux's ephemeral range, away from the
# defaults and from the suite's BIANMIN_* ports).
PG_PORT = 22501
KAFKA_PORT = 22510  # + its controller on 22511
TRIO_BASE_PORT = 22520  # brokers 22520, 22522, 22524; controllers one above each

END_STAGES = ("routed", "decided", "notified", "audited")
"""A case that reached all four went through every service: intake accepted it (else it
would not be routed), routing routed and decided it, notify told the resident the result is
ready, and audit logged every event the pipeline's topics carried for it."""

ONCE_PER_CASE = {
    "intake": ("intake.application_accepted",),
    "routing": ("routing.case_routed", "routing.case_decided", "routing.result_returned"),
}
"""Event types that happen once in a case's life in these runs (no reopening, one
decision), once per hop for the result's way back: a second one would be an effect
applied twice."""


# -- servers these tests own -----------------------------------------------------------------
class PrivatePostgres(LocalPostgres):
    """A cluster of our own (devstack's `LocalPostgres`), restartable the way an operator
    restarts one."""

    @classmethod
    def for_faults(cls) -> PrivatePostgres:
        return cls(PG_PORT, state_dir() / "fault" / "pg")

    @property
    def database_url(self) -> str:
        return self.url(TEST_DB)

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every session is terminated (`AdminShutdownError`),
        the server goes down and comes back on the same port; returns once it accepts
        connections again."""
        self._run(
            [
                str(find_bin_dir() / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log_path),
                "-o",
                f"-p {self.port}",
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "restart",
            ]
        )
        self._wait_accepting()


def private_kafka() -> KafkaCluster:
    """One broker of our own (KRaft, devstack's `KafkaCluster`); this process and the
    services it starts log in as its super user."""
    use_admin()
    return KafkaCluster("fault_single", [Node(1, KAFKA_PORT, KAFKA_PORT + 1)])


def every_broker_answers(cluster: KafkaCluster, timeout: float = 120.0) -> None:
    """Wait until each broker answers on its own address, listing all of them: devstack's
    readiness asks the cluster as a whole, which once listed a broker that did not accept
    connections yet (the next admin call failed with NodeNotReadyError)."""
    deadline = time.monotonic() + timeout
    n = len(cluster.nodes)
    while not all(probe(f"127.0.0.1:{node.port}", n, timeout=3) for node in cluster.nodes):
        if time.monotonic() > deadline:
            raise AssertionError(f"not every broker of {cluster.name} answers after {timeout} s")
        time.sleep(0.5)


def private_trio() -> KafkaCluster:
    """Three brokers of our own (replication 3, min.insync.replicas 2)."""
    use_admin()
    nodes = [Node(i + 1, TRIO_BASE_PORT + 2 * i, TRIO_BASE_PORT + 2 * i + 1) for i in range(3)]
    return KafkaCluster("fault_trio", nodes, heap="384m")


# -- readiness, sampled ----------------------------------------------------------------------
@dataclass
class ReadySample:
    t: float
    ok: bool
    not_ok: dict[str, dict[str, str]]
    """service -> {check: what /readyz said} for every check that was not "ok"."""


@dataclass
class ReadinessMonitor:
    """Every service's `/readyz`, every `interval` seconds, until stopped."""

    urls: dict[str, str]
    interval: float = 0.25
    samples: list[ReadySample] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=3) as client:
            while not stop.is_set():
                self.samples.append(await self.sample(client))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)

    async def sample(self, client: httpx.AsyncClient) -> ReadySample:
        async def one(name: str, url: str) -> tuple[str, dict[str, str]]:
            try:
                r = await client.get(f"{url}/readyz")
                checks: dict[str, str] = r.json()["checks"]
                bad = {k: v for k, v in checks.items() if v != "ok"}
                if r.status_code != 200 and not bad:
                    bad = {"readyz": f"HTTP {r.status_code}"}
                return name, bad
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                return name, {"readyz": f"no answer: {type(exc).__name__}"}

        t = time.time()
        results = dict(await asyncio.gather(*(one(n, u) for n, u in self.urls.items())))
        bad = {n: b for n, b in results.items() if b}
        return ReadySample(t, not bad, bad)

    async def all_ok(self, timeout: float) -> ReadySample | None:
        """The first all-ok sample from now on (None if none within `timeout`)."""
        deadline = time.monotonic() + timeout
        seen = len(self.samples)
        while time.monotonic() < deadline:
            for s in self.samples[seen:]:
                if s.ok:
                    return s
            seen = len(self.samples)
            await asyncio.sleep(self.interval)
        return None


# -- one run ---------------------------------------------------------------------------------
@dataclass
class Verdict:
    name: str
    cases: int
    fault_at_s: float
    submitted_before: int
    in_flight: int
    outage_s: float
    ready_s: float | None
    ready_since_fault_s: float | None
    not_ok_s: float
    caught_up_s: float | None
    lost: list[str]
    driver_errors: list[str]
    twice: dict[str, int]
    twice_examples: list[str]
    seen_not_ok: dict[str, set[str]]
    restarted: list[str]

    @property
    def applied_twice(self) -> int:
        return sum(self.twice.values())

    def render(self) -> str:
        def secs(v: float | None) -> str:
            return "never" if v is None else f"{v:.1f} s"

        lines = [
            f"FAULT {self.name}: {self.cases} cases; the fault {self.fault_at_s:.1f} s into "
            f"the load ({self.submitted_before} submitted by then), {self.in_flight} cases "
            "in flight during the outage; "
            f"server back {self.outage_s:.1f} s after the fault; every loop ok in /readyz "
            f"{secs(self.ready_s)} after that ({secs(self.ready_since_fault_s)} after the "
            f"fault; some loop not ok for {self.not_ok_s:.1f} s in all); every case submitted "
            f"before it was back notified {secs(self.caught_up_s)}"
            f" after it; lost {len(self.lost)}; applied twice "
            f"{self.applied_twice} ({', '.join(f'{k} {v}' for k, v in self.twice.items())}); "
            f"services restarted {len(self.restarted)}",
        ]
        if self.twice_examples:
            lines.append(f"  applied twice, e.g.: {'; '.join(self.twice_examples)}")
        for svc, seen in sorted(self.seen_not_ok.items()):
            shown = sorted(seen)
            more = f" (+{len(shown) - 4} more)" if len(shown) > 4 else ""
            lines.append(f"  {svc} /readyz during the fault: {'; '.join(shown[:4])}{more}")
        return "\n".join(lines)


@dataclass
class FaultRun:
    """One fault under load on one `LoadSession` (see the module doc)."""

    session: LoadSession
    name: str
    rate: float = 4.0
    seconds: float = 20.0
    flowing_cases: int = 8
    """The fault waits until this many cases were notified (the pipeline is flowing)."""
    drain_timeout: float = 240.0
    seed: int = 11
    phase: PhaseRun | None = None
    t_fault: float = 0.0
    t_back: float = 0.0
    monitor: ReadinessMonitor | None = None
    pids: dict[str, int] = field(default_factory=dict)

    async def play(self, fault: Callable[[], Awaitable[None]]) -> None:
        """Load for `seconds`; inject `fault` (it returns once the server is back) when
        the pipeline is flowing; wait until every case had its chance."""
        s = self.session
        tail = s.tail
        assert s.driver is not None and tail is not None
        self.pids = s.fleet.pids()
        self.monitor = ReadinessMonitor(s.fleet.urls)
        stop = asyncio.Event()
        sampling = asyncio.create_task(self.monitor.run(stop), name="readyz sampler")
        try:
            before = set(tail.cases)
            load = asyncio.create_task(
                fixed_rate(s.driver, self.rate, self.seconds, max_in_flight=1000, seed=self.seed)
            )

            def flowing() -> bool:
                mine = [c for cid, c in tail.cases.items() if cid not in before]
                return sum(c.done_through("notified") for c in mine) >= self.flowing_cases

            await until(flowing, 120, "the first cases to be notified", load)
            self.t_fault = time.time()
            await fault()
            self.t_back = time.time()
            self.phase = await load
            await tail.wait_notified(self.case_ids, self.drain_timeout)
            await self._audited(self.case_ids, self.drain_timeout)
            await self.monitor.all_ok(60)
        finally:
            stop.set()
            await sampling

    @property
    def case_ids(self) -> list[str]:
        """Every case intake took (it answered with a case id), whatever the driver met
        afterwards: a case the driver could not finish is a lost case, not a missing one."""
        assert self.phase is not None
        return [r.case_id for r in self.phase.runs if r.case_id is not None]

    async def _audited(self, case_ids: list[str], timeout: float) -> None:
        """Read audit's log until every case is audited (bounded)."""
        s = self.session
        assert s.api is not None and s.tail is not None
        since = datetime.fromtimestamp(self.t_fault, UTC) - timedelta(minutes=10)
        audit = s.api.http["audit"]
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(httpx.HTTPError):
                await collect_audited(audit, s.api.headers(INSPECTOR), since, s.tail)
            if all(s.tail.trace(c).done_through("audited") for c in case_ids):
                return
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(1.0)

    # -- the verdict ---------------------------------------------------------------------------
    async def verdict(self) -> Verdict:
        s = self.session
        assert self.phase is not None and self.monitor is not None and s.tail is not None
        ids = self.case_ids
        traces = {c: s.tail.trace(c) for c in ids}
        lost = [c for c, t in traces.items() if not all(t.done_through(x) for x in END_STAGES)]
        # in the pipeline at some moment of the outage: submitted before the server was
        # back, not notified before it went away
        in_flight = sum(
            1
            for t in traces.values()
            if t.stamps.get("submitted", 0) <= self.t_back
            and t.stamps.get("notified", float("inf")) >= self.t_fault
        )
        caught = [
            t.stamps["notified"]
            for t in traces.values()
            if t.stamps.get("submitted", 0) <= self.t_back and "notified" in t.stamps
        ]
        complete = all(
            "notified" in t.stamps
            for t in traces.values()
            if t.stamps.get("submitted", 0) <= self.t_back
        )
        caught_up = max(0.0, max(caught) - self.t_back) if caught and complete else None
        examples: list[str] = []
        ready_at = self._ready_at()
        return Verdict(
            name=self.name,
            cases=len(ids),
            fault_at_s=self.t_fault - self.phase.started,
            submitted_before=sum(
                1 for t in traces.values() if t.stamps.get("submitted", 0) <= self.t_fault
            ),
            in_flight=in_flight,
            outage_s=self.t_back - self.t_fault,
            ready_s=None if ready_at is None else max(0.0, ready_at - self.t_back),
            ready_since_fault_s=None if ready_at is None else ready_at - self.t_fault,
            not_ok_s=self._not_ok_s(),
            caught_up_s=caught_up,
            lost=lost,
            driver_errors=self.phase.errors,
            twice=await applied_twice(s, ids, examples),
            twice_examples=examples,
            seen_not_ok=self._seen_not_ok(),
            restarted=[
                n
                for n, pid in self.pids.items()
                if s.fleet.pids().get(n) != pid or n in s.fleet.alive()
            ],
        )

    def _ready_at(self) -> float | None:
        """When every /readyz was ok again for good: the first ok sample after the last one
        that was not (None: not ok at the end)."""
        assert self.monitor is not None
        samples = [x for x in self.monitor.samples if x.t >= self.t_fault]
        last_bad = max((i for i, x in enumerate(samples) if not x.ok), default=None)
        if last_bad is None:
            return self.t_fault
        after = samples[last_bad + 1 :]
        return after[0].t if after else None

    def _not_ok_s(self) -> float:
        """How long, in all, some /readyz was not ok after the fault (sample to sample)."""
        assert self.monitor is not None
        samples = [x for x in self.monitor.samples if x.t >= self.t_fault]
        return sum(b.t - a.t for a, b in zip(samples, samples[1:], strict=False) if not a.ok)

    def _seen_not_ok(self) -> dict[str, set[str]]:
        assert self.monitor is not None
        seen: dict[str, set[str]] = {}
        for x in self.monitor.samples:
            if x.t < self.t_fault:
                continue
            for svc, bad in x.not_ok.items():
                for check, said in bad.items():
                    seen.setdefault(svc, set()).add(f"{check}: {said[:120]}")
        return seen


async def until(
    cond: Callable[[], bool], timeout: float, what: str, watched: asyncio.Task[Any]
) -> None:
    """Poll `cond` (a deadline, not a timing assertion); fail early if `watched` died."""
    deadline = time.monotonic() + timeout
    while not cond():
        if watched.done() and watched.exception() is not None:
            raise watched.exception()  # type: ignore[misc]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")
        await asyncio.sleep(0.2)


# -- effects applied twice -------------------------------------------------------------------
_BY_CAUSE = """
SELECT count(*), max(what) FROM (
    SELECT e.stream_id || ' ' || e.event_type || ' x' || count(*) AS what
    FROM "{schema}".events e,
         LATERAL (SELECT convert_from(e.envelope, 'UTF8')::jsonb AS j) x
    WHERE e.stream_id = ANY($1::text[]) AND x.j->>'causation_id' IS NOT NULL
    GROUP BY e.stream_id, e.event_type, x.j->>'causation_id', x.j->'payload'->>'hop',
             x.j->'payload'->>'delivery_id', x.j->'payload'->>'recipient_id'
    HAVING count(*) > 1
) dup
"""

_ONCE = """
SELECT count(*), max(what) FROM (
    SELECT e.stream_id || ' ' || e.event_type || ' x' || count(*) AS what
    FROM "{schema}".events e,
         LATERAL (SELECT convert_from(e.envelope, 'UTF8')::jsonb AS j) x
    WHERE e.stream_id = ANY($1::text[]) AND e.event_type = ANY($2::text[])
    GROUP BY e.stream_id, e.event_type, x.j->'payload'->>'hop'
    HAVING count(*) > 1
) dup
"""

_LEAVES = """
SELECT count(*) - count(DISTINCT event_id) FROM "{schema}".leaves
WHERE stream_id = ANY($1::text[])
"""


async def applied_twice(
    session: LoadSession, case_ids: list[str], examples: list[str] | None = None
) -> dict[str, int]:
    """Every way an effect could have been applied twice, counted per kind:

    - `<svc> by cause`: two events of a service's store caused by the same event (same
      case, type, causation id, and hop of a route, or delivery and recipient for notify):
      a consumed event or a command handled twice;
    - `<svc> once per case`: a second accepted / routed / decided / returned for a case (a
      command applied twice, e.g. a retried POST);
    - `sms`: the same delivery sent twice (lines of the SMS gateway's file per delivery id);
    - `audit leaves`: two leaves for one event id."""
    fleet = session.fleet
    schemas = {n: svc.schema for n, svc in fleet.services.items()}
    out: dict[str, int] = {}
    conn = await asyncpg.connect(fleet.database_url)
    try:
        for svc in ("intake", "routing", "notify"):
            n, what = await conn.fetchrow(_BY_CAUSE.format(schema=schemas[svc]), case_ids)
            out[f"{svc} by cause"] = n
            if what and examples is not None:
                examples.append(f"{svc}: {what}")
        for svc, types in ONCE_PER_CASE.items():
            n, what = await conn.fetchrow(_ONCE.format(schema=schemas[svc]), case_ids, list(types))
            out[f"{svc} once per case"] = n
            if what and examples is not None:
                examples.append(f"{svc}: {what}")
        out["audit leaves"] = await conn.fetchval(_LEAVES.format(schema=schemas["audit"]), case_ids)
    finally:
        await conn.close()
    out["sms"] = sms_sent_twice(fleet.workdir / "sms.jsonl")
    return out


def sms_sent_twice(path: Path) -> int:
    if not path.exists():
        return 0
    ids = [orjson.loads(b)["delivery_id"] for b in path.read_bytes().splitlines() if b.strip()]
    return len(ids) - len(set(ids))


def log_tails(session: LoadSession, lines: int = 25) -> str:
    """The services' last log lines (without per-message chatter), for a failure."""
    out = []
    for svc in session.fleet.services.values():
        kept = [
            x
            for x in svc.log_tail(400).splitlines()
            if '"Processed"' not in x and '"Received"' not in x
        ]
        out.append(f"----- {svc.name} ({svc.log_path}) -----\n" + "\n".join(kept[-lines:]))
    return "\n".join(out)
