"""One load-generation session: the fleet, the API client, the tail, the monitors, and
phases of load measured one after another on the same services.

    async with LoadSession(bootstrap, database_url) as s:
        report = await s.phase("sustained", lambda d: fixed_rate(d, 50, 60, 2000))
        print(render(report))

A phase runs its load, then *drains*: it waits until every case was notified and nothing
is left behind in any consumer group, audit or outbox (bounded), reads the audit log for
the cases' `appended_at`, and builds the report. Lag and process samples run for the whole
session; each report takes its own window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from devstack.demo import INSPECTOR, Api, load_world, record_absences

from . import stmtcount
from .driver import Driver, PhaseRun
from .fleet import Fleet
from .monitor import LagMonitor, ProcMonitor, db_delta, db_snapshot
from .profile import Profile
from .report import PhaseReport, build
from .trace import TopicTail, collect_audited

log = logging.getLogger("bench.loadgen")
DRAIN_TIMEOUT_S = 120.0
AUDITED_TIMEOUT_S = 30.0


class LoadSession:
    def __init__(
        self,
        bootstrap: str,
        database_url: str,
        *,
        extra_env: dict[str, str] | None = None,
        seed: int = 7,
        sample_interval: float = 1.0,
        count_statements: bool | Path = False,
        idle_seconds: float = 5.0,
        replication: int = 1,
        patience_s: float = 0.0,
    ) -> None:
        """`replication`: of the run's topics (3 on a 3-broker cluster); `patience_s`: how
        long the driver rides out 5xx or unanswered POSTs (`Driver`)."""
        self.fleet = Fleet(
            bootstrap,
            database_url,
            extra_env=dict(extra_env or {}),
            count_statements=count_statements,
            replication=replication,
        )
        self.patience_s = patience_s
        self.idle_seconds = idle_seconds
        self.seed = seed
        self.sample_interval = sample_interval
        self.api: Api | None = None
        self.tail: TopicTail | None = None
        self.driver: Driver | None = None
        self.lag: LagMonitor | None = None
        self.procs: ProcMonitor | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.absences: list[str] = []

    async def __aenter__(self) -> LoadSession:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        f = self.fleet
        await f.start()
        t = f.topics
        self.tail = TopicTail(f.bootstrap, [t["intake"], t["routing"], t["notify"]])
        await self.tail.start()
        urls = f.urls
        self.api = Api(f.private_key, {k: urls[k] for k in ("intake", "routing", "notify")})
        self.api.http["audit"] = httpx.AsyncClient(base_url=urls["audit"], timeout=30)
        world = await load_world(self.api)
        self.absences = await record_absences(self.api, world)
        self.driver = Driver(self.api, world, self.tail, seed=self.seed, patience_s=self.patience_s)
        svc = f.services
        self.lag = LagMonitor(
            bootstrap=f.bootstrap,
            database_url=f.database_url,
            groups={
                "intake": (svc["intake"].group, [t["routing"]]),
                "routing": (svc["routing"].group, [t["intake"]]),
                "notify": (svc["notify"].group, [t["intake"], t["routing"]]),
            },
            audit_schema=svc["audit"].schema,
            audit_topics=[t["intake"], t["routing"], t["notify"], t["audit"]],
            outboxes={n: s.schema for n, s in svc.items()},
            partitions=f.partitions,
            interval=self.sample_interval,
        )
        self.procs = ProcMonitor(f.pids(), interval=self.sample_interval)
        self._tasks = [
            asyncio.create_task(self.lag.run(self._stop), name="lag monitor"),
            asyncio.create_task(self.procs.run(self._stop), name="process monitor"),
        ]

    async def close(self) -> None:
        self._stop.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.driver is not None:
            await self.driver.close()
        if self.tail is not None:
            await self.tail.stop()
        if self.api is not None:
            await self.api.close()
        await self.fleet.close()

    async def drain(self, phase: PhaseRun, timeout: float = DRAIN_TIMEOUT_S) -> float:
        """Wait (bounded) until the phase's cases were notified and no lag is left anywhere;
        the instant it was reached."""
        assert self.tail is not None and self.lag is not None
        deadline = time.monotonic() + timeout
        await self.tail.wait_notified(phase.case_ids, timeout)
        while time.monotonic() < deadline:
            last = self.lag.samples[-1] if self.lag.samples else None
            if last is not None and last.t > time.time() - 2 * self.sample_interval:
                if last.total == 0:
                    return last.t
            await asyncio.sleep(self.sample_interval / 2)
        return time.time()

    async def audited(
        self, phase: PhaseRun, since: datetime, timeout: float = AUDITED_TIMEOUT_S
    ) -> None:
        """Stamp the phase's cases from audit's log, reading it again (bounded) while some
        case has an event not logged yet. No lag at one sample does not mean every event was
        made: a later one of a case (notify's delivery outcome) can still be on its way, and
        a case's stamp is the log's own `appended_at`, so waiting does not change it."""
        assert self.tail is not None and self.api is not None
        deadline = time.monotonic() + timeout
        while True:
            await collect_audited(
                self.api.http["audit"], self.api.headers(INSPECTOR), since, self.tail
            )
            cases = [self.tail.cases.get(c) for c in phase.case_ids]
            if all(t is None or "audited" in t.stamps for t in cases):
                return
            if time.monotonic() > deadline:
                return  # the report counts them as incomplete
            await asyncio.sleep(1.0)

    async def phase(
        self,
        name: str,
        load: Callable[[Driver], Awaitable[PhaseRun]],
        *,
        warmup_s: float = 0.0,
        profile: Profile | None = None,
    ) -> PhaseReport:
        assert self.driver is not None and self.tail is not None and self.api is not None
        assert self.lag is not None and self.procs is not None
        dead = self.fleet.alive()
        if dead:
            raise RuntimeError(f"services exited: {dead}")
        self.driver.calls.ms.clear()
        counting = self.fleet.count_dir
        if counting is not None:
            idle_from = await stmtcount.snapshot(counting, self.fleet.pids())
            idle_t0 = time.monotonic()
            await asyncio.sleep(self.idle_seconds)
            stmts_before = await stmtcount.snapshot(counting, self.fleet.pids())
            idle_s = time.monotonic() - idle_t0
            idle = stmtcount.delta(idle_from, stmts_before)
            idle_rate = {n: sum(c.values()) / idle_s for n, c in idle.items()}
            stmts_t0 = time.monotonic()
        since = datetime.now(UTC) - timedelta(seconds=1)
        schemas = [svc.schema for svc in self.fleet.services.values()]
        db_before = await db_snapshot(self.fleet.database_url, schemas)
        profiling = (
            asyncio.create_task(profile.run(self.fleet.pids()), name="py-spy")
            if profile is not None
            else None
        )
        phase = await load(self.driver)
        if profiling is not None:
            await profiling
        drained_at = await self.drain(phase)
        db = db_delta(db_before, await db_snapshot(self.fleet.database_url, schemas))
        statements: dict[str, Any] = {}
        if counting is not None:
            stmts = stmtcount.delta(
                stmts_before, await stmtcount.snapshot(counting, self.fleet.pids())
            )
            statements = stmtcount.summarize(
                stmts, len(phase.case_ids), idle_rate, time.monotonic() - stmts_t0
            )
        await self.audited(phase, since)
        report = build(
            name,
            phase,
            self.tail,
            self.driver.calls,
            self.lag.samples,
            self.procs.samples,
            drained_at=drained_at,
            warmup_s=warmup_s,
        )
        report.db = db
        report.statements = statements
        return report

    def info(self) -> dict[str, Any]:
        return {
            "run": self.fleet.run,
            "workdir": str(self.fleet.workdir),
            "absences": self.absences,
            "pids": self.fleet.pids(),
        }
