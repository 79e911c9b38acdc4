"""When each case reached each stage, from the events' own timestamps.

Stages (wall-clock seconds since the epoch; every process runs on this machine's clock):

| stage     | from                                                                         |
|-----------|------------------------------------------------------------------------------|
| submitted | the driver's clock when it sent `POST /v1/applications`                       |
| accepted  | `intake.application_accepted`.occurred_at (after any supplements)             |
| routed    | `routing.case_routed`.occurred_at                                             |
| assigned  | `routing.case_assigned`.occurred_at (the first)                               |
| decided   | `routing.case_decided`.occurred_at                                            |
| notified  | `notify.delivered`.occurred_at of the resident's "result ready" message       |
|           | (source `routing.result_returned`, the final hop)                             |
| audited   | the latest `appended_at` in the audit log over every event of the case that   |
|           | the intake, routing and notify topics carried (not audit's own findings),     |
|           | read through audit's inspector export once the phase has drained              |

`TopicTail` reads the run's intake, routing and notify topics from the beginning (no
consumer group: nothing is committed, nobody else's group is touched) and also lets the
driver wait for an event of a case (the assignment, a correction request reaching intake)
instead of polling the APIs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer

from eventkit.kafka_security import client_kwargs

log = logging.getLogger("bench.loadgen")

STAGES = ("submitted", "accepted", "routed", "assigned", "decided", "notified", "audited")
STAGE_OF = {
    "intake.application_accepted": "accepted",
    "routing.case_routed": "routed",
    "routing.case_assigned": "assigned",
    "routing.case_decided": "decided",
}
RESULT_READY_SOURCE = "routing.result_returned"
WAITABLE = frozenset(
    {
        "routing.case_assigned",
        "intake.correction_request_received",
        "routing.correction_received",
    }
)
"""Event types the driver may wait for: their envelopes are kept."""

Json = dict[str, Any]


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@dataclass
class CaseTrace:
    case_id: str
    stamps: dict[str, float] = field(default_factory=dict)
    event_ids: set[str] = field(default_factory=set)
    kept: dict[str, Json] = field(default_factory=dict)

    def done_through(self, stage: str) -> bool:
        return stage in self.stamps


class TopicTail:
    """Every envelope of the run's topics, indexed per case, with waiters."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.topics = topics
        self.cases: dict[str, CaseTrace] = {}
        self.per_topic: Counter[str] = Counter()
        self.per_type: Counter[str] = Counter()
        self._waiters: dict[tuple[str, str], list[asyncio.Future[Json]]] = {}
        self._notified: dict[str, asyncio.Future[None]] = {}
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            **client_kwargs(),
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_wait_ms=50,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="topic tail")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    def trace(self, case_id: str) -> CaseTrace:
        t = self.cases.get(case_id)
        if t is None:
            t = self.cases[case_id] = CaseTrace(case_id)
        return t

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            for tp, records in batches.items():
                self.per_topic[tp.topic] += len(records)
                for r in records:
                    try:
                        self._on(orjson.loads(r.value))
                    except Exception:  # a bench must not die on one odd record
                        log.exception("could not read a record of %s", tp.topic)

    def _on(self, env: Json) -> None:
        etype = env.get("event_type", "")
        self.per_type[etype] += 1
        case_id = env.get("stream_id", "")
        if not case_id.startswith("case-"):
            return
        t = self.trace(case_id)
        t.event_ids.add(env["event_id"])
        at = ts(env["occurred_at"])
        stage = STAGE_OF.get(etype)
        if (
            stage is None
            and etype == "notify.delivered"
            and env["payload"].get("source_event_type") == RESULT_READY_SOURCE
            and env["payload"].get("recipient_kind") == "resident"
        ):
            stage = "notified"
        if stage is not None and stage not in t.stamps:
            t.stamps[stage] = at
            if stage == "notified":
                done = self._notified.pop(case_id, None)
                if done is not None and not done.done():
                    done.set_result(None)
        if etype in WAITABLE:
            t.kept[etype] = env
            for fut in self._waiters.pop((case_id, etype), []):
                if not fut.done():
                    fut.set_result(env)

    async def wait(self, case_id: str, event_type: str, timeout: float) -> Json:
        """The case's latest envelope of `event_type`, once it has crossed Kafka."""
        assert event_type in WAITABLE
        t = self.cases.get(case_id)
        if t is not None and event_type in t.kept:
            return t.kept[event_type]
        fut: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault((case_id, event_type), []).append(fut)
        return await asyncio.wait_for(fut, timeout)

    def forget(self, case_id: str, event_type: str) -> None:
        """Drop a kept envelope (a second correction round waits for the new one)."""
        t = self.cases.get(case_id)
        if t is not None:
            t.kept.pop(event_type, None)

    async def wait_notified(self, case_ids: list[str], timeout: float) -> int:
        """Wait until every case was notified or `timeout` passed; the number still missing."""
        loop = asyncio.get_running_loop()
        futs = []
        for cid in case_ids:
            if self.trace(cid).done_through("notified"):
                continue
            fut = self._notified.get(cid)
            if fut is None:
                fut = self._notified[cid] = loop.create_future()
            futs.append(fut)
        if futs:
            await asyncio.wait(futs, timeout=timeout)
        return sum(1 for cid in case_ids if not self.trace(cid).done_through("notified"))


async def collect_audited(
    client: httpx.AsyncClient, headers: dict[str, str], since: datetime, tail: TopicTail
) -> int:
    """Read audit's log (inspector export, JSON lines, events that occurred since `since`)
    and stamp each case with the latest `appended_at` over its events. Returns the number
    of log entries read."""
    latest: dict[str, float] = {}
    seen: dict[str, set[str]] = {}
    n = 0
    async with client.stream(
        "GET",
        "/v1/inspect/events/export",
        params={"since": since.isoformat(), "format": "jsonl"},
        headers=headers,
        timeout=300,
    ) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line:
                continue
            n += 1
            item = orjson.loads(line)
            sid = item.get("stream_id") or ""
            if not sid.startswith("case-"):
                continue
            t = tail.cases.get(sid)
            if t is None or item["event_id"] not in t.event_ids:
                # audit's own findings about the case (audit.anomaly_flagged, written by its
                # periodic rule scan) are not events of the pipeline: they made "audited"
                # several seconds late for flagged cases
                continue
            at = ts(item["appended_at"])
            if at > latest.get(sid, 0.0):
                latest[sid] = at
            seen.setdefault(sid, set()).add(item["event_id"])
    for sid, at in latest.items():
        t = tail.cases.get(sid)
        # audited only once every event the topics carried for the case is in the log
        if t is not None and t.event_ids <= seen[sid]:
            t.stamps["audited"] = at
    return n
