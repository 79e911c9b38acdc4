"""Samplers that run beside the load: consumer lag and every process's CPU and memory.

Lag, every `interval` seconds:

- **Kafka consumer groups** (intake, routing, notify): the group's committed offsets
  (`AIOKafkaAdminClient.list_consumer_group_offsets`) against each partition's end offset;
  a partition the group has not committed yet counts from 0 (the run's topics start empty);
- **audit**: it reads without a consumer group and keeps its offsets in its own table
  (`consumer_offsets`, written in the append transaction), so its lag is end offsets minus
  that table;
- **outboxes**: events each service has stored but its relay has not published yet
  (events past the relay's checkpoint): a relay that falls behind shows here, not in Kafka.

Processes: CPU (% of one core) and resident memory of each service, the Kafka broker, all
PostgreSQL processes together, and this load generator; plus the machine's busy share.
psutil is used when installed, else /proc (Linux).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from eventkit.kafka_security import client_kwargs

try:  # pragma: no cover - depends on the environment
    import psutil
except ImportError:  # the project's lock does not include it: /proc it is
    psutil = None

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


# -- lag -----------------------------------------------------------------------------------------
@dataclass
class LagSample:
    t: float
    lag: dict[str, int]
    """consumer name -> messages behind (groups, `audit`, and `outbox:<svc>`)."""

    @property
    def total(self) -> int:
        return sum(self.lag.values())


@dataclass
class LagMonitor:
    bootstrap: str
    database_url: str
    groups: dict[str, tuple[str, list[str]]]
    """name -> (group id, topics it consumes)."""
    audit_schema: str
    audit_topics: list[str]
    outboxes: dict[str, str]
    """service -> schema (reader `relay:<service>`)."""
    partitions: int = 3
    interval: float = 1.0
    samples: list[LagSample] = field(default_factory=list)
    errors: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap, **client_kwargs(), request_timeout_ms=10000
        )
        ends = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, **client_kwargs(), group_id=None)
        conn = await asyncpg.connect(self.database_url)
        await admin.start()
        await ends.start()
        try:
            while not stop.is_set():
                try:
                    self.samples.append(await self.sample(admin, ends, conn))
                except Exception:
                    self.errors += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)
        finally:
            await ends.stop()
            await admin.close()
            await conn.close()

    async def sample(
        self, admin: AIOKafkaAdminClient, ends: AIOKafkaConsumer, conn: asyncpg.Connection
    ) -> LagSample:
        topics = {t for _, ts in self.groups.values() for t in ts} | set(self.audit_topics)
        tps = [TopicPartition(t, p) for t in sorted(topics) for p in range(self.partitions)]
        end = await ends.end_offsets(tps)
        t = time.time()
        lag: dict[str, int] = {}
        for name, (group, gtopics) in self.groups.items():
            committed = await admin.list_consumer_group_offsets(group)
            total = 0
            for tp in tps:
                if tp.topic in gtopics:
                    c = committed.get(tp)
                    pos = c.offset if c is not None and c.offset >= 0 else 0
                    total += max(0, end[tp] - pos)
            lag[name] = total
        rows = await conn.fetch(
            f'SELECT topic, partition, next_offset FROM "{self.audit_schema}".consumer_offsets'
        )
        stored = {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        lag["audit"] = sum(
            max(0, end[tp] - stored.get(tp, 0)) for tp in tps if tp.topic in self.audit_topics
        )
        for svc, schema in self.outboxes.items():
            # the relay publishes in (transaction_id, global_position) order, so its
            # checkpoint is that pair: positions alone miscount (a later transaction can hold
            # a lower position), which showed as one event "behind" forever
            n = await conn.fetchval(
                f'SELECT count(*) FROM "{schema}".events e WHERE (e.transaction_id,'
                " e.global_position) > coalesce((SELECT (c.transaction_id, c.global_position)"
                f' FROM "{schema}".reader_checkpoints c WHERE c.reader = $1),'
                " ('0'::xid8, 0::bigint))",
                f"relay:{svc}",
            )
            lag[f"outbox:{svc}"] = int(n)
        return LagSample(t, lag)


def lag_slope(samples: list[LagSample], start: float, end: float) -> float:
    """Least-squares slope (messages per second) of the total lag between two instants."""
    pts = [(s.t, s.total) for s in samples if start <= s.t <= end]
    if len(pts) < 3:
        return 0.0
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    den = sum((x - mx) ** 2 for x, _ in pts)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in pts) / den


# -- processes -----------------------------------------------------------------------------------
def _proc_times(pid: int) -> tuple[float, int] | None:
    """(cpu seconds, rss bytes) of one process, or None if it is gone."""
    if psutil is not None:
        try:
            p = psutil.Process(pid)
            ct = p.cpu_times()
            return ct.user + ct.system, p.memory_info().rss
        except psutil.Error:
            return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        statm = Path(f"/proc/{pid}/statm").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14, 15)
    return cpu, int(statm.split()[1]) * _PAGE


def _find_pids(match: str | None = None, comm: str | None = None) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if comm is not None and (d / "comm").read_text().strip() != comm:
                continue
            if match is not None and match not in (d / "cmdline").read_bytes().decode(
                errors="replace"
            ):
                continue
        except OSError:
            continue
        out.append(int(d.name))
    return out


def _machine_busy() -> tuple[float, float]:
    """(busy jiffies, total jiffies) of the whole machine."""
    parts = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0.0)
    return sum(parts) - idle, sum(parts)


@dataclass
class ProcSample:
    t: float
    cpu_pct: dict[str, float]
    """name -> % of one core over the last interval."""
    rss_mb: dict[str, float]
    machine_busy_pct: float


@dataclass
class ProcMonitor:
    pids: dict[str, int]
    interval: float = 1.0
    samples: list[ProcSample] = field(default_factory=list)
    groups: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.groups = {name: [pid] for name, pid in self.pids.items()}
        self.groups["loadgen"] = [os.getpid()]
        self.groups["kafka"] = _find_pids(match="kafka.Kafka")
        self.refresh_postgres()

    def refresh_postgres(self) -> None:
        self.groups["postgres"] = _find_pids(comm="postgres")

    def _read(self) -> dict[str, tuple[float, int]]:
        out: dict[str, tuple[float, int]] = {}
        for name, pids in self.groups.items():
            cpu, rss = 0.0, 0
            for pid in pids:
                got = _proc_times(pid)
                if got is not None:
                    cpu += got[0]
                    rss += got[1]
            out[name] = (cpu, rss)
        return out

    async def run(self, stop: asyncio.Event) -> None:
        prev = self._read()
        prev_t = time.time()
        prev_m = _machine_busy()
        ticks = 0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
            ticks += 1
            if ticks % 10 == 0:  # backends come and go; carry the CPU of the ones we knew
                self.refresh_postgres()
            now = self._read()
            t = time.time()
            m = _machine_busy()
            dt = max(1e-6, t - prev_t)
            cpu = {
                n: max(0.0, (now[n][0] - prev.get(n, (now[n][0], 0))[0]) / dt * 100) for n in now
            }
            rss = {n: now[n][1] / 1024 / 1024 for n in now}
            busy = (m[0] - prev_m[0]) / max(1e-6, m[1] - prev_m[1]) * 100
            self.samples.append(ProcSample(t, cpu, rss, busy))
            prev, prev_t, prev_m = now, t, m


def summarize_procs(samples: list[ProcSample], start: float, end: float) -> dict[str, Any]:
    """Mean CPU % and RSS first/last/max per process over a window."""
    window = [s for s in samples if start <= s.t <= end]
    if not window:
        return {}
    names = sorted({n for s in window for n in s.cpu_pct})
    out: dict[str, Any] = {}
    for n in names:
        cpus = [s.cpu_pct.get(n, 0.0) for s in window]
        rss = [s.rss_mb.get(n, 0.0) for s in window]
        out[n] = {
            "cpu_pct_mean": sum(cpus) / len(cpus),
            "cpu_pct_max": max(cpus),
            "rss_mb_first": rss[0],
            "rss_mb_last": rss[-1],
            "rss_mb_max": max(rss),
        }
    busy = sum(s.machine_busy_pct for s in window) / len(window)
    out["_machine_busy_pct_mean"] = busy
    # CPU spent by processes that are not part of the measurement (other people's work on a
    # shared machine): the noise floor of every figure of the window
    ours = sum(v["cpu_pct_mean"] for v in out.values() if isinstance(v, dict))
    out["_others_cpu_pct_mean"] = max(0.0, busy * (os.cpu_count() or 1) - ours)
    return out


# -- PostgreSQL activity -------------------------------------------------------------------------
_TABLES = """
    SELECT schemaname AS schema, relname AS table, seq_scan, seq_tup_read, idx_scan,
           n_tup_ins, n_tup_upd, n_tup_del
    FROM pg_stat_user_tables WHERE schemaname = ANY($1::text[])
"""


async def db_snapshot(database_url: str, schemas: list[str]) -> dict[str, Any]:
    """Transactions committed in the database (every client's: a shared server counts other
    people's work too) and per-table scan and write counters of the run's schemas."""
    conn = await asyncpg.connect(database_url)
    try:
        xacts = await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        )
        rows = await conn.fetch(_TABLES, schemas)
    finally:
        await conn.close()
    return {
        "xacts": int(xacts or 0),
        "tables": {f"{r['schema']}.{r['table']}": dict(r) for r in rows},
    }


def db_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    keys = ("seq_scan", "seq_tup_read", "idx_scan", "n_tup_ins", "n_tup_upd", "n_tup_del")
    tables = {}
    for name, a in after["tables"].items():
        b = before["tables"].get(name, {})
        tables[name.split("_", 3)[-1]] = {k: (a[k] or 0) - (b.get(k) or 0) for k in keys}
    return {"xacts": after["xacts"] - before["xacts"], "tables": tables}
