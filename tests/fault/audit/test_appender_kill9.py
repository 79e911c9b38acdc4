"""kill -9 of the appender process in the middle of a batch append, then restart: the root
equals the stored tree state, the tree is consistent with the last checkpoint signed before
the crash, and no event is missing or doubled."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
from pathlib import Path

import pytest

from audit.log.checkpoint import latest_checkpoint, make_checkpoint
from audit.log.integrity import check_full
from audit.log.store import consistency_proof, root_at, tree_state
from tlog.note import Signer, open_checkpoint
from tlog.proofs import verify_consistency

from ...integration.audit.support import (
    ORIGIN,
    envelope,
    make_keys,
    migrate_audit,
    producer,
    publish,
    submitted,
    wait_for,
)

pytestmark = pytest.mark.fault

PROC = Path(__file__).with_name("appender_proc.py")
EVENTS = 2400


async def _start(infra, schema: str, topics: list[str], keys, die_in_batch: int | None):  # type: ignore[no-untyped-def]
    cmd = [
        sys.executable,
        str(PROC),
        "--dsn",
        infra.database_url,
        "--schema",
        schema,
        "--bootstrap",
        infra.bootstrap,
        "--topics",
        ",".join(topics),
        "--signing-key",
        keys.signer,
        "--origin",
        ORIGIN,
        "--max-batch",
        "150",
    ]
    if die_in_batch is not None:
        cmd += ["--die-in-batch", str(die_in_batch)]
    return await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


async def _consistent(conn, keys) -> int:  # type: ignore[no-untyped-def]
    """The stored state is whole: leaves == tree_state, every checkpoint reproduced."""
    st = await tree_state(conn)
    assert await root_at(conn, st.size) == st.root
    report = await check_full(conn, keys.log_verifier, ORIGIN)
    assert report.ok, report.problems
    assert await conn.fetchval("SELECT count(*) FROM leaves") == st.size
    return st.size


async def test_kill9_during_batch_append_loses_and_doubles_nothing(
    infra, pg_schema, topics
) -> None:
    intake, routing = await topics("intake", "routing")
    logged = [intake, f"{intake}.dlq", routing, f"{routing}.dlq"]
    keys = make_keys()
    conn = await pg_schema.connect()
    procs = []
    try:
        await migrate_audit(conn)
        envs_i = [submitted(f"case-{i}") for i in range(EVENTS // 2)]
        envs_r = [
            envelope("routing.case_assigned", f"case-{i}", {"assigned_to": f"off-{i % 7}"})
            for i in range(EVENTS // 2)
        ]
        async with producer(infra.bootstrap) as p:
            await publish(p, intake, envs_i)
            await publish(p, routing, envs_r)
            # at-least-once upstream: some events arrive twice; some messages are garbage
            await publish(p, intake, envs_i[:50])
            await publish(p, routing, [b"{broken", b"\xff\xfe"])
        expected_ids = {e.event_id for e in envs_i + envs_r}
        total = len(expected_ids) + 2

        # 1st run: killed inside its 4th append transaction
        proc = await _start(infra, pg_schema.schema, logged, keys, die_in_batch=4)
        procs.append(proc)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == -signal.SIGKILL, out.decode()[-2000:]
        assert b"dying in batch 4" in out
        size1 = await _consistent(conn, keys)
        assert size1 < total
        cp_before = await latest_checkpoint(conn)

        # 2nd run: killed from outside, at whatever moment it is in
        proc = await _start(infra, pg_schema.schema, logged, keys, die_in_batch=None)
        procs.append(proc)

        async def signed_more() -> bool:
            cp = await latest_checkpoint(conn)
            return cp is not None and cp.size > size1

        await wait_for(signed_more, 60, 0.005)
        proc.send_signal(signal.SIGKILL)  # wherever it is: polling, hashing, COPYing, signing
        await proc.wait()
        await _consistent(conn, keys)
        cp_mid = await latest_checkpoint(conn)
        assert cp_mid is not None and cp_mid.size > size1

        # 3rd run: to the end
        proc = await _start(infra, pg_schema.schema, logged, keys, die_in_batch=None)
        procs.append(proc)

        async def done() -> bool:
            return (await tree_state(conn)).size >= total

        await wait_for(done, 90)
        await asyncio.sleep(0.5)  # would anything more (a double) arrive?
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

        final = await _consistent(conn, keys)
        assert final == total
        rows = await conn.fetch("SELECT event_id, status FROM leaves")
        ids = [r["event_id"] for r in rows if r["event_id"] is not None]
        assert len(ids) == len(set(ids)) == len(expected_ids)  # nothing doubled
        assert set(ids) == expected_ids  # nothing missing
        assert sum(r["status"] == "rejected" for r in rows) == 2
        offsets = {
            (r["topic"], r["partition"]): r["next_offset"]
            for r in await conn.fetch("SELECT * FROM consumer_offsets")
        }
        assert sum(v for (t, _), v in offsets.items() if t in (intake, routing)) == total + 50

        # the final tree extends every checkpoint signed before the crashes
        signer = Signer.from_key(keys.signer)
        last = await make_checkpoint(conn, signer, ORIGIN) or await latest_checkpoint(conn)
        assert last is not None and last.size == final
        for cp in (cp_before, cp_mid):
            if cp is None:
                continue
            parsed, _ = open_checkpoint(cp.note, [keys.log_verifier], ORIGIN)
            proof = await consistency_proof(conn, parsed.size, final)
            verify_consistency(parsed.size, final, proof, parsed.root_hash, last.root)
        assert base64.b64encode(last.root)
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await conn.close()
