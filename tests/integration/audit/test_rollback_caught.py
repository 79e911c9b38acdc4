"""Issue 18, finding 2, repeated: cutting the audit log back.

The finding: the role `audit` owned its tables, so `TRUNCATE checkpoints` and `ALTER TABLE
leaves DISABLE TRIGGER` + `UPDATE`/`DELETE` worked for the service's own role; the service
then signed a smaller checkpoint and `GET /v1/log/integrity?mode=full` answered ok.

Here the service runs as it does in production (no development flag): a runtime role that
owns nothing, checkpoints published outside the database, a witness. The test shows that the
runtime role can do none of it, then does it as the database superuser and prints who
catches it (checkpointer, integrity check, witness) and after how long (run with -s).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import asyncpg
import pytest

from audit.witness.core import EXIT_ALARM
from tlog.note import generate_key
from tlog.tree import MemoryTree, frontier_addresses

from ...polling import eventually
from .support import (
    case_events,
    make_keys,
    producer,
    publish,
    running_audit,
    runtime_url,
    settings_for,
    wait_checkpoint,
    witness_for,
)

pytestmark = pytest.mark.integration

RUNTIME_ATTEMPTS = [
    "TRUNCATE checkpoints",
    "DELETE FROM checkpoints",
    "ALTER TABLE leaves DISABLE TRIGGER leaves_append_only",
    "SET session_replication_role = replica",
    "UPDATE leaves SET reject_reason = 'x' WHERE idx = 0",
    "DELETE FROM leaves WHERE idx >= 5",
    "DELETE FROM nodes WHERE idx >= 5",
    "TRUNCATE leaves",
]


async def _cut_back(conn: asyncpg.Connection, keep: int) -> None:
    """What a superuser did in the finding: cut the log back to `keep` entries, consistently
    (nodes and tree state recomputed, checkpoint rows gone), and touch one kept leaf."""
    hashes = [
        bytes(r["leaf_hash"]) for r in await conn.fetch("SELECT leaf_hash FROM leaves ORDER BY idx")
    ]
    mem = MemoryTree(hashes[:keep])
    async with conn.transaction():
        await conn.execute("ALTER TABLE leaves DISABLE TRIGGER leaves_append_only")
        await conn.execute("ALTER TABLE nodes DISABLE TRIGGER nodes_append_only")
        await conn.execute("TRUNCATE checkpoints, cosignatures")
        await conn.execute("DELETE FROM leaves WHERE idx >= $1", keep)
        await conn.execute("DELETE FROM personal_data WHERE idx >= $1", keep)
        await conn.execute("DELETE FROM nodes WHERE ((idx + 1) << level) > $1", keep)
        await conn.execute(
            "UPDATE leaves SET leaf = replace(leaf::text, '5', '1')::bytea WHERE idx = 1"
        )
        await conn.execute("ALTER TABLE leaves ENABLE TRIGGER leaves_append_only")
        await conn.execute("ALTER TABLE nodes ENABLE TRIGGER nodes_append_only")
        await conn.execute(
            "UPDATE tree_state SET size = $1, root = $2, frontier = $3::bytea[]",
            keep,
            mem.root(),
            [mem.nodes[a] for a in frontier_addresses(keep)],
        )


async def test_cutting_the_log_back_is_refused_to_the_service_and_caught_from_a_superuser(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    intake_t, routing_t = await topics("intake", "routing")
    keys = make_keys()
    w_skey, w_vkey = generate_key("inspectorate.test/w1")
    settings = settings_for(
        infra,
        pg_schema.schema,
        [intake_t, routing_t],
        keys,
        witness_keys=w_vkey,
        development=False,  # production rules: witness, store, restricted role
        checkpoint_store=str(tmp_path / "published"),
        checkpoint_seconds=0.2,
    )
    intake, routing = case_events("case-bad", dirty=True)
    async with running_audit(settings, keys) as (app, client):
        c = app.state.audit
        assert c.rewrite_powers == []
        witness = witness_for(client, keys, w_skey, tmp_path / "w")
        watching = asyncio.ensure_future(witness.run(0.2))
        su = await pg_schema.connect()
        rt = await asyncpg.connect(
            runtime_url(infra.database_url), server_settings={"search_path": pg_schema.schema}
        )
        try:
            async with producer(infra.bootstrap) as p:
                await publish(p, intake_t, intake[:2])
                await publish(p, routing_t, routing)
                await publish(p, intake_t, intake[2:])
            total = len(intake) + len(routing)
            await wait_checkpoint(su, total)
            await eventually(
                lambda: asyncio.sleep(0, witness.load_state()),
                lambda st: st is not None and st["size"] >= total,
                what="the witness to cosign the full log",
            )
            published = sorted(p.name for p in (tmp_path / "published" / "checkpoints").iterdir())
            print(f"\nlog: {total} entries, checkpoints published outside the DB: {published}")

            print("as the service's runtime role:")
            for sql in RUNTIME_ATTEMPTS:
                with pytest.raises(asyncpg.PostgresError) as err:
                    await rt.execute(sql)
                print(f"  {sql:<55} -> {type(err.value).__name__}: {err.value}")
            assert await su.fetchval("SELECT count(*) FROM leaves") == total

            print(
                "as the database superuser: disable triggers, cut the log back to 5 entries, "
                "change leaf 1, TRUNCATE checkpoints"
            )
            await _cut_back(su, 5)
            t0 = time.monotonic()
            caught: dict[str, tuple[float, str]] = {}

            async def refused() -> str | None:
                return app.state.checkpointer.refused  # type: ignore[no-any-return]

            reason = await eventually(refused, what="the checkpointer to refuse")
            caught["checkpointer"] = (time.monotonic() - t0, reason)

            r = await client.get(
                "/v1/log/integrity", params={"mode": "full"}, headers=keys.headers("inspector")
            )
            report = r.json()
            caught["integrity ?mode=full"] = (
                time.monotonic() - t0,
                "; ".join(f"{p['kind']}: {p['detail']}" for p in report["problems"]),
            )
            outcome = await eventually(
                lambda: asyncio.sleep(0, watching.result() if watching.done() else None),
                what="the witness to raise its alarm",
            )
            alarm = json.loads((tmp_path / "w" / "ALARM.json").read_text())
            caught["witness"] = (time.monotonic() - t0, f"{alarm['alarm']}: {alarm['detail']}")
            for who, (secs, why) in caught.items():
                print(f"  caught by {who:<22} after {secs:6.2f} s: {why}")

            assert "rolled back" in reason
            assert report["ok"] is False
            kinds = {p["kind"] for p in report["problems"]}
            assert {"published_rollback", "leaf_bytes_changed"} <= kinds
            assert report["checkpointer_refused"] == reason
            # the served checkpoint is gone (rollback) or, when the checkpointer's snapshot
            # predated the TRUNCATE (not MVCC-safe) and it wrote the published note's row back,
            # still there but no longer provable from the log (unprovable)
            assert outcome == EXIT_ALARM and alarm["alarm"] in {"rollback", "unprovable"}
            # nothing smaller was signed: every checkpoint row is the published one
            assert await su.fetchval("SELECT coalesce(max(size), 0) FROM checkpoints") in (0, total)
            assert (await client.get("/v1/log/published")).json()["sizes"][-1] >= total
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
            await rt.close()
            await su.close()


async def test_a_production_start_refuses_what_cannot_protect_the_past(infra, pg_schema) -> None:
    """No witness key, no checkpoint store, or a runtime role that could rewrite the log:
    the service does not start (unless BIANMIN_DEVELOPMENT=1)."""
    keys = make_keys()
    _, w_vkey = generate_key("inspectorate.test/w1")
    bare = settings_for(infra, pg_schema.schema, [], keys, development=False)
    for missing in ("witness_keys", "checkpoint_store"):
        s = bare.model_copy(
            update={"witness_keys": w_vkey, missing: "" if missing == "witness_keys" else None}
        )
        with pytest.raises(RuntimeError) as err:
            async with running_audit(s, keys):
                pass
        print(f"\nwithout {missing}: {err.value}")
        assert (
            "AUDIT_WITNESS_KEYS" if missing == "witness_keys" else "AUDIT_CHECKPOINT_STORE"
        ) in str(err.value)
    owner = bare.model_copy(
        update={
            "witness_keys": w_vkey,
            "database_url": infra.database_url,
            "migration_database_url": None,
        }
    )
    with pytest.raises(RuntimeError) as err:
        async with running_audit(owner, keys):
            pass
    print(f"as the superuser: {err.value}")
    assert "could rewrite the log" in str(err.value) and "superuser" in str(err.value)
