"""Audit log benchmarks: append throughput against raw COPY, proofs and the case timeline at
1M leaves.

* ``audit.append.batch{1,100,1000}.ratio_vs_copy``: entries/s of the audit append path
  (`audit.log.append.append_records`: envelope validation, redaction, leaf hashing, dedup,
  tree nodes, COPY of leaves + nodes + personal data, tree state and offsets, one transaction
  per batch) over entries/s of a raw ``COPY`` of the very same rows (the leaf, node and
  personal-data rows the append wrote), batch by batch, one transaction each, into tables
  with the same columns and indexes, in the same run. The note also gives the ratio against
  the leaf rows alone. Kafka is not involved in either (the consumer side is measured by
  kafka_raw). Target for batch 1000: >= 0.5.
* ``audit.proof.inclusion.p99_ms_at_1m`` / ``audit.proof.consistency.p99_ms_at_1m``: one proof
  from PostgreSQL (one query via `get_nodes` + building it) in a tree of 1,000,000 leaves.
* ``audit.query.case_timeline.p95_ms_at_1m``: `audit.inspector.queries.case_timeline` (stream
  + correlation lookups, rows decoded to JSON) for a random case among 100,000 cases of 10
  events in a log of 1,000,000 leaves.

The 1M-leaf log is loaded with COPY (`audit.log.bulk`), not through the append path.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from audit.bootstrap import MIGRATIONS
from audit.inspector.queries import case_timeline
from audit.log.append import LEAF_COLUMNS, AppendPipeline, RawRecord, append_records
from audit.log.bulk import bulk_load
from audit.log.leaf import LeafBuilder, LeafRecord, Redactor
from audit.log.store import consistency_proof, inclusion_proof
from audit.settings import DEFAULT_PERSONAL_FIELDS
from eventkit import migrate
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.service import tune_gc
from tlog.hashing import leaf_hash

from .harness import Result, Stack

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _envelopes(n: int, seed: int = 1) -> list[bytes]:
    """A realistic mix: 1 submission with an applicant (personal data) per 6 events."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        case = f"case-{seed}-{i // 6}"
        if i % 6 == 0:
            payload: dict[str, Any] = {
                "case_id": case,
                "item_code": "second_child",
                "item_version": 2,
                "applicant": {
                    "name": "张三",
                    "id_number": f"3303811990{rng.randrange(10**8):08d}",
                    "phone": f"138{rng.randrange(10**8):08d}",
                    "household_no": f"HH-{rng.randrange(10**6)}",
                    "address": "安阳街道育才社区",
                },
                "accepting_center_id": "c-yucai",
                "accepting_staff_id": "agent-1",
                "fee_standard_fen": 0,
                "fee_paid_fen": 0,
            }
            et = "intake.application_submitted"
        else:
            payload = {"case_id": case, "assigned_to": f"off-{i % 17}", "reason": "工作调整"}
            et = "routing.case_assigned"
        out.append(
            Envelope(
                event_type=et,
                stream_id=case,
                occurred_at=T0 + timedelta(seconds=i),
                producer=Producer(service=et.split(".")[0], instance="bench"),
                actor=Actor(id="agent-1", role="community_agent", org_id="c-yucai"),
                org_id="c-yucai",
                tier="community",
                payload=payload,
            ).canonical()
        )
    return out


async def _schema(url: str) -> tuple[str, asyncpg.Connection]:
    schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.execute(f'SET search_path = "{schema}"')
    await migrate.apply(
        conn, migrate.eventkit_migrations() + migrate.directory_migrations(MIGRATIONS, "audit")
    )
    return schema, conn


async def _drop(conn: asyncpg.Connection, schema: str) -> None:
    await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await conn.close()


def _builder() -> LeafBuilder:
    return LeafBuilder(
        Redactor(DEFAULT_PERSONAL_FIELDS.split(","), ["id_number", "household_no"], b"bench")
    )


async def append_ratio(
    url: str, batch: int, total: int, rounds: int = 7
) -> tuple[float, float, float]:
    """(append entries/s, raw COPY entries/s of all the rows it wrote, raw COPY entries/s of
    its leaf rows alone) for `total` records in batches of `batch`.

    The box is shared, so the two are measured in alternating rounds (append some batches,
    then COPY the very rows they wrote) and the medians are taken: a burst of load elsewhere
    hits both sides alike."""
    raw = _envelopes(total, seed=batch)
    records = [RawRecord("intake.events", 0, i, v) for i, v in enumerate(raw)]
    schema, conn = await _schema(url)
    thresholds = gc.get_threshold()
    tune_gc()  # the garbage collector as the audit service runs it (eventkit.service.serve)
    try:
        b = _builder()
        await append_records(conn, b, records[:batch])  # warm-up (not counted)
        for t in ("leaves", "nodes", "personal_data"):
            await conn.execute(f"CREATE TABLE {t}_copy (LIKE {t} INCLUDING ALL)")
        await conn.execute("CREATE TABLE leaves_copy2 (LIKE leaves INCLUDING ALL)")
        starts = list(range(batch, total, batch))
        per_round = max(1, len(starts) // rounds)
        ours_r, all_r, leaves_r = [], [], []
        for r0 in range(0, len(starts), per_round):
            chunk = starts[r0 : r0 + per_round]
            n = sum(len(records[i : i + batch]) for i in chunk)
            t0 = time.perf_counter()
            pipeline = AppendPipeline(conn, b)  # as the appender runs it
            for i in chunk:
                await pipeline.push(records[i : i + batch])
            await pipeline.drain()
            ours_r.append(n / (time.perf_counter() - t0))
            lo, hi = chunk[0], chunk[-1] + batch
            leaves = [
                tuple(x)
                for x in await conn.fetch(
                    f"SELECT {', '.join(_q(c) for c in LEAF_COLUMNS)} FROM leaves"
                    " WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                    lo,
                    hi,
                )
            ]
            # the nodes each batch completed: those whose last leaf falls in it
            nodes = [
                tuple(x)
                for x in await conn.fetch(
                    "SELECT level, idx, hash FROM nodes"
                    " WHERE ((idx + 1) << level) - 1 >= $1 AND ((idx + 1) << level) - 1 < $2",
                    lo,
                    hi,
                )
            ]
            personal = [
                tuple(x)
                for x in await conn.fetch(
                    "SELECT idx, event_id, salt, fields::text, keyed::text FROM personal_data"
                    " WHERE idx >= $1 AND idx < $2",
                    lo,
                    hi,
                )
            ]
            by_nodes: dict[int, list[tuple[Any, ...]]] = {}
            for nd in nodes:
                by_nodes.setdefault((((nd[1] + 1) << nd[0]) - 1) // batch, []).append(nd)
            by_pd: dict[int, list[tuple[Any, ...]]] = {}
            for pd in personal:
                by_pd.setdefault(pd[0] // batch, []).append(pd)
            t0 = time.perf_counter()
            for i in chunk:
                k = i // batch
                async with conn.transaction():
                    await conn.copy_records_to_table(
                        "leaves_copy",
                        records=leaves[i - lo : i - lo + batch],
                        columns=LEAF_COLUMNS,
                    )
                    await conn.copy_records_to_table(
                        "nodes_copy",
                        records=by_nodes.get(k, []),
                        columns=("level", "idx", "hash"),
                    )
                    if by_pd.get(k):
                        await conn.copy_records_to_table(
                            "personal_data_copy",
                            records=by_pd[k],
                            columns=("idx", "event_id", "salt", "fields", "keyed"),
                        )
            all_r.append(n / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for i in chunk:
                async with conn.transaction():
                    await conn.copy_records_to_table(
                        "leaves_copy2",
                        records=leaves[i - lo : i - lo + batch],
                        columns=LEAF_COLUMNS,
                    )
            leaves_r.append(n / (time.perf_counter() - t0))
        ratio = statistics.median(o / c for o, c in zip(ours_r, all_r, strict=True))
        ours = statistics.median(ours_r)
        # report the pair whose ratio is the median ratio's, consistently
        copy_all = ours / ratio
        copy_leaves = statistics.median(leaves_r)
        return ours, copy_all, copy_leaves
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        await _drop(conn, schema)


def _q(c: str) -> str:
    return f'"{c}"' if c in ("offset", "partition") else c


def _synthetic(n: int, per_case: int = 10) -> Any:
    """1M leaves of 100k cases, with the columns the inspector queries use."""
    corr: dict[int, uuid.UUID] = {}
    for i in range(n):
        c = i % (n // per_case)  # interleaved: a case's events are spread over the log
        cid = corr.setdefault(c, uuid.UUID(int=c + 1))
        eid = uuid.UUID(int=(1 << 100) + i)
        doc = {
            "event_id": str(eid),
            "event_type": "routing.case_assigned",
            "stream_id": f"case-{c}",
            "payload": {"case_id": f"case-{c}", "assigned_to": f"off-{i % 97}"},
            "occurred_at": (T0 + timedelta(seconds=i)).isoformat(),
        }
        leaf = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        yield LeafRecord(
            leaf=leaf,
            leaf_hash=leaf_hash(leaf),
            status="accepted",
            topic="routing.events",
            partition=c % 3,
            offset=i,
            event_id=eid,
            event_type="routing.case_assigned",
            stream_id=f"case-{c}",
            correlation_id=cid,
            occurred_at=T0 + timedelta(seconds=i),
            actor_id="routing",
            org_id=f"t-{c % 15}",
            tier="town",
        )


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


async def at_1m(url: str, n: int = 1_000_000) -> dict[str, float]:
    schema, conn = await _schema(url)
    try:
        t0 = time.perf_counter()
        await bulk_load(conn, _synthetic(n), chunk=100_000)
        await conn.execute("ANALYZE leaves; ANALYZE nodes")
        load_s = time.perf_counter() - t0
        rng = random.Random(1)
        for _ in range(200):  # warm caches
            await inclusion_proof(conn, rng.randrange(n), n)
        incl, cons, tl = [], [], []
        for _ in range(2000):
            i = rng.randrange(n)
            t = time.perf_counter()
            await inclusion_proof(conn, i, n)
            incl.append((time.perf_counter() - t) * 1000)
        for _ in range(2000):
            m = rng.randrange(1, n)
            t = time.perf_counter()
            await consistency_proof(conn, m, n)
            cons.append((time.perf_counter() - t) * 1000)
        for _ in range(500):
            c = rng.randrange(n // 10)
            t = time.perf_counter()
            rows = await case_timeline(conn, f"case-{c}")
            tl.append((time.perf_counter() - t) * 1000)
            assert len(rows) == 10
        return {
            "load_s": load_s,
            "incl_p99": _pct(incl, 99),
            "incl_p50": statistics.median(incl),
            "cons_p99": _pct(cons, 99),
            "cons_p50": statistics.median(cons),
            "tl_p95": _pct(tl, 95),
            "tl_p50": statistics.median(tl),
        }
    finally:
        await _drop(conn, schema)


async def run(stack: Stack) -> list[Result]:
    url = stack.database_url
    results: list[Result] = []
    for batch, total in ((1, 1_400), (100, 21_000), (1000, 70_000)):
        ours, copy_all, copy_leaves = await append_ratio(url, batch, total)
        results.append(
            Result(
                f"audit.append.batch{batch}.ratio_vs_copy",
                ours,
                "entries/s",
                baseline=copy_all,
                target=">= 0.5" if batch == 1000 else None,
                note=f"append path {ours:,.0f}/s vs raw COPY {copy_all:,.0f}/s of the same rows "
                f"(leaves + nodes + personal_data, one transaction per batch of {batch}; median "
                f"of 7 alternating rounds); vs COPY of the leaf rows alone "
                f"{copy_leaves:,.0f}/s: ratio {ours / copy_leaves:.2f}",
            )
        )
    m = await at_1m(url)
    note = f"1,000,000 leaves loaded by COPY in {m['load_s']:.0f} s; one SQL query per proof"
    results += [
        Result(
            "audit.proof.inclusion.p99_ms_at_1m",
            m["incl_p99"],
            "ms",
            target="< 5",
            note=f"{note}; p50 {m['incl_p50']:.2f} ms",
        ),
        Result(
            "audit.proof.consistency.p99_ms_at_1m",
            m["cons_p99"],
            "ms",
            target="< 5",
            note=f"p50 {m['cons_p50']:.2f} ms",
        ),
        Result(
            "audit.query.case_timeline.p95_ms_at_1m",
            m["tl_p95"],
            "ms",
            target="< 100",
            note=f"100,000 cases x 10 events, interleaved; p50 {m['tl_p50']:.2f} ms",
        ),
    ]
    return results


if __name__ == "__main__":  # python -m bench.audit_log (without touching latest.json)
    from .harness import stack as _stack

    async def _main() -> None:
        s = _stack()
        try:
            for r in await run(s):
                print(r.to_json())
        finally:
            s.close()

    asyncio.run(_main())
