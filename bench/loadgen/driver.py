"""Plays cases through the services' HTTP APIs: at a fixed arrival rate or in a closed loop.

The case mix is `make demo`'s (`devstack.demo.plan_case`: items by weight, residents of
many communities, islanders handing in on the mainland, about one in six leaving materials
out and coming back once or twice, 8 % corrections, 10 % refusals with a reason), played by
the people who would act: the community agent hands in and supplements, the assigned
officer (A, or B when A is away: the demo's absences are recorded first) asks for a
correction or decides, then returns the result. With 6 in 10 applications the agent uploads
1-3 scans or photos of the materials handed in (`devstack.scans`, reproducible from the seed)
through intake's multipart upload route. A case ends, for the driver, with the
result-return; notify and audit follow on their own and are observed from the topics.

Compared with the demo's `_play`: waits are for events on the topics (`TopicTail.wait`),
not polls of the APIs, so the load is the commands, and the measured stages are not
quantised by a poll interval; withdrawals, cases "still with the office" at close of
business, deliveries and reviews are left out, so every case runs to notified and audited.

Bounded everywhere: a duration, a cap on cases in flight (arrivals over the cap are counted
as shed, and a run that sheds did not hold its rate), and a timeout on every wait.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from devstack.demo import CORRECTION_NOTES, Api, DemoError, Plan, World, plan_case, submit_body
from devstack.scans import Scan, multipart, plan_scans

from .http import HttpError, LeanClient
from .trace import TopicTail

if importlib.util.find_spec("sniffio") is None:
    # httpcore (the setup calls and the audit export still go through httpx) asks
    # `import sniffio` on every request; without the package (the lock does not pull it in)
    # each failed import walks sys.path on disk: a fifth of this process's CPU under py-spy
    # when all requests used httpx. A None entry makes the import fail at once, and httpcore
    # then assumes asyncio, which is what runs here.
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

Json = dict[str, Any]
WAIT_S = 120.0


@dataclass
class CaseRun:
    plan: Plan
    submitted_at: float = 0.0
    case_id: str | None = None
    handled_at: float | None = None
    """When the driver's part ended (result returned)."""
    error: str | None = None
    documents: int = 0
    """Scans attached (`devstack.scans`)."""
    document_bytes: int = 0
    receipt_no: str | None = None
    """The receipt's number and verification code (受理回执), as intake answered them: what
    a resident types at the status page."""
    verification_code: str | None = None


@dataclass
class Calls:
    """Client-side latency of each API call, by route."""

    ms: dict[str, list[float]] = field(default_factory=dict)
    status: Counter[str] = field(default_factory=Counter)

    def add(self, route: str, ms: float) -> None:
        self.ms.setdefault(route, []).append(ms)


class Driver:
    def __init__(
        self, api: Api, world: World, tail: TopicTail, seed: int = 7, patience_s: float = 0.0
    ) -> None:
        """`patience_s` > 0: a POST answered 5xx or not at all is retried (same key) for that
        long, as a client riding out a server restart would (the fault tests); 0: two
        retries, the benchmark's client."""
        self.patience_s = patience_s
        self.api = api  # tokens (minted once per person and cached) and the URLs
        self.http = {svc: LeanClient(url) for svc, url in api.urls.items()}
        self.world = world
        self.tail = tail
        self.seed = seed
        self.rng = random.Random(seed)
        self.calls = Calls()
        self.n = 0

    def plan(self) -> Plan:
        self.n += 1
        p = plan_case(self.n, self.world, self.rng)
        # every case runs to its decision and the result's return (see the module doc); the
        # files the clerk scans with it (`devstack.scans`: 6 in 10 cases, 1-3 files each, of
        # the materials handed in), reproducible from the driver's seed
        scans = plan_scans(self.seed, p.n, p.provided)
        return dataclasses.replace(p, withdraw=False, stays=None, scans=scans)

    async def attach(self, case_id: str, who: Any, scans: list[Scan]) -> int:
        """Upload `scans` through intake's upload route, one POST per material; how many
        documents intake attached."""
        by_material: dict[str, list[Scan]] = {}
        for s in scans:
            by_material.setdefault(s.material_code, []).append(s)
        attached = 0
        for code, files in by_material.items():
            r = await self._post(
                "intake",
                f"/v1/applications/{case_id}/documents?material_code={code}",
                who,
                None,
                "POST intake /documents",
                scans=files,
            )
            attached += sum(1 for d in r["documents"] if d["event_id"] is not None)
        return attached

    async def _post(
        self,
        svc: str,
        path: str,
        who: Any,
        body: Json | None,
        route: str,
        scans: list[Scan] | None = None,
    ) -> Json:
        """A POST as `who` with one Idempotency-Key for its retries (a 5xx is retried, as the
        demo's client does: the key makes a retry return the first result); `scans`: the
        body is those files as multipart (the same bytes again attach nothing new)."""
        headers = {**self.api.headers(who), "Idempotency-Key": str(uuid.uuid4())}
        boundary = f"scans-{uuid.uuid4().hex}"
        raw = multipart(scans, boundary) if scans else None
        t0 = time.perf_counter()
        give_up = time.monotonic() + self.patience_s
        try:
            attempt = 0
            while True:
                attempt += 1
                patient = time.monotonic() < give_up
                try:
                    if raw is not None:
                        r = await self.http[svc].post_bytes(
                            path, raw, f"multipart/form-data; boundary={boundary}", headers
                        )
                    else:
                        r = await self.http[svc].post(path, body, headers)
                except HttpError as exc:
                    if not patient:
                        raise DemoError(str(exc)) from None
                    self.calls.status[f"{route} no answer"] += 1
                    await asyncio.sleep(min(0.5 * attempt, 2.0))
                    continue
                if r.status >= 500 and (attempt < 3 or patient):
                    self.calls.status[f"{route} {r.status}"] += 1
                    await asyncio.sleep(min(0.5 * attempt, 2.0))
                    continue
                if r.status not in (200, 201):
                    raise DemoError(f"{route} as {who[0]}: {r.status} {r.text[:300]}")
                result: Json = r.json()
                return result
        finally:
            self.calls.add(route, (time.perf_counter() - t0) * 1000)

    async def close(self) -> None:
        for c in self.http.values():
            await c.close()

    async def play(self, p: Plan) -> CaseRun:
        run = CaseRun(p)
        try:
            await self._play(p, run)
        except (DemoError, TimeoutError) as exc:
            run.error = f"{type(exc).__name__}: {exc}"[:300]
        return run

    async def _play(self, p: Plan, run: CaseRun) -> None:
        agent = p.agent
        run.submitted_at = time.time()
        r = await self._post(
            "intake", "/v1/applications", agent, submit_body(p), "POST intake /applications"
        )
        run.case_id = case_id = r["case_id"]
        run.verification_code = r.get("verification_code")
        self.tail.trace(case_id).stamps["submitted"] = run.submitted_at
        if p.scans:  # the clerk scans what was handed in, with the application
            run.documents = await self.attach(case_id, agent, p.scans)
            run.document_bytes = sum(len(s.data) for s in p.scans)
        if r["status"] == "awaiting_materials":  # one notice, every gap; the agent comes back
            trips = [p.held_back] if p.trips == 1 else [p.held_back[:1], p.held_back[1:]]
            for materials in trips:
                r = await self._post(
                    "intake",
                    f"/v1/applications/{case_id}/materials",
                    agent,
                    {"materials": materials},
                    "POST intake /materials",
                )
        if r["status"] != "accepted":
            raise DemoError(f"{case_id} not accepted: {r['status']}")
        run.receipt_no = r.get("receipt_no")
        run.verification_code = r.get("verification_code") or run.verification_code

        assigned = await self.tail.wait(case_id, "routing.case_assigned", WAIT_S)
        officer = self.world.who(assigned["payload"]["assigned_to"])
        if p.correction:  # 补正: the office asks, the agent supplies, the clock runs again
            await self._post(
                "routing",
                f"/v1/cases/{case_id}/correction-request",
                officer,
                {"requested_materials": p.correction, "note": CORRECTION_NOTES[p.n % 3]},
                "POST routing /correction-request",
            )
            await self.tail.wait(case_id, "intake.correction_request_received", WAIT_S)
            forms = {m["code"]: m["form"] for m in p.item["materials"]}
            await self._post(
                "intake",
                f"/v1/applications/{case_id}/correction",
                agent,
                {
                    "materials": [{"code": c, "form": forms[c]} for c in p.correction],
                    "note": "已按要求补正",
                },
                "POST intake /correction",
            )
            await self.tail.wait(case_id, "routing.correction_received", WAIT_S)
        decision: Json = {"decision": p.decision}
        if p.reason:
            decision["reason"] = p.reason
        await self._post(
            "routing", f"/v1/cases/{case_id}/decision", officer, decision, "POST routing /decision"
        )
        await self._post(
            "routing",
            f"/v1/cases/{case_id}/result-return",
            officer,
            None,
            "POST routing /result-return",
        )
        run.handled_at = time.time()


@dataclass
class PhaseRun:
    """What one phase of load did (the driver's side)."""

    mode: str
    started: float
    ended: float = 0.0
    offered_rate: float | None = None
    concurrency: int | None = None
    runs: list[CaseRun] = field(default_factory=list)
    shed: int = 0
    late_starts: int = 0

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def case_ids(self) -> list[str]:
        return [r.case_id for r in self.runs if r.case_id is not None and r.error is None]

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.runs if r.error]


async def fixed_rate(
    driver: Driver, rate: float, seconds: float, max_in_flight: int, seed: int = 11
) -> PhaseRun:
    """Poisson arrivals at `rate` cases/s for `seconds`; at most `max_in_flight` cases at once
    (an arrival over the cap is shed and counted). Returns once every started case ended."""
    rng = random.Random(seed)
    phase = PhaseRun("fixed_rate", time.time(), offered_rate=rate)
    tasks: set[asyncio.Task[CaseRun]] = set()

    def ended(task: asyncio.Task[CaseRun]) -> None:
        tasks.discard(task)
        phase.runs.append(task.result())  # `play` never raises: failures are on the run

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    next_at = t0
    end = t0 + seconds
    while True:
        next_at += rng.expovariate(rate)
        if next_at >= end:
            break
        delay = next_at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.1:
            phase.late_starts += 1  # the generator itself fell behind its schedule
        if len(tasks) >= max_in_flight:
            phase.shed += 1
            continue
        task = asyncio.create_task(driver.play(driver.plan()))
        tasks.add(task)
        task.add_done_callback(ended)
    phase.ended = time.time()
    if tasks:
        await asyncio.wait(set(tasks))
    return phase


async def closed_loop(driver: Driver, concurrency: int, seconds: float) -> PhaseRun:
    """`concurrency` cases in flight, each followed at once by the next, for `seconds`."""
    phase = PhaseRun("closed_loop", time.time(), concurrency=concurrency)
    end = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < end:
            phase.runs.append(await driver.play(driver.plan()))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.ended = time.time()
    return phase


async def single_cases(driver: Driver, n: int, pause: float = 0.5) -> PhaseRun:
    """Light load: one case at a time; the next starts once the previous one was notified
    (bounded wait) and a short pause, so no two cases overlap anywhere in the pipeline."""
    phase = PhaseRun("single", time.time(), concurrency=1)
    for _ in range(n):
        run = await driver.play(driver.plan())
        phase.runs.append(run)
        if run.case_id is not None:
            await driver.tail.wait_notified([run.case_id], 15.0)
        await asyncio.sleep(pause)
    phase.ended = time.time()
    return phase
