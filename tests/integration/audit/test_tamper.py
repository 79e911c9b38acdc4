"""Tampering by a database superuser is caught, at the exact entry, by the integrity endpoint
AND by the offline verifier (`python -m tlog recompute`) run on an export."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from audit.log.append import RawRecord, append_records
from audit.log.checkpoint import make_checkpoint
from audit.log.store import root_at
from tlog.note import Signer
from tlog.tree import frontier_addresses

from .support import ORIGIN, builder, envelope, make_keys, running_audit, settings_for, submitted

pytestmark = pytest.mark.integration

SIZE = 40


async def _superuser(conn, *sql: tuple) -> None:  # type: ignore[no-untyped-def]
    await conn.execute("SET session_replication_role = replica")  # triggers off
    try:
        for stmt, *args in sql:
            await conn.execute(stmt, *args)
    finally:
        await conn.execute("SET session_replication_role = DEFAULT")


ATTACKS = {
    # name: (expected integrity problem kind, first bad index, offline verifier message)
    "one_byte": ("leaf_bytes_changed", 17, "first problem at index 17: leaf_hash does not match"),
    "deleted_row": ("missing_leaf", 17, "first problem at index 17: export line 18 has index 18"),
    "swapped_rows": ("leaf_node_mismatch", 11, "first problem at index 11: leaf_hash does not"),
    "tree_state_rollback": (
        "tree_state_rollback",
        30,
        "export has 30 leaves, the checkpoint covers 40",
    ),
    "tree_state_root": ("tree_state_root", None, None),
}


async def _attack(conn, name: str) -> None:  # type: ignore[no-untyped-def]
    if name == "one_byte":
        # one byte of the stored leaf: '"case-17"' becomes '"case-1X"'
        leaf = bytes(await conn.fetchval("SELECT leaf FROM leaves WHERE idx = 17"))
        pos = leaf.index(b"case-17") + 6
        bad = leaf[:pos] + b"X" + leaf[pos + 1 :]
        await _superuser(conn, ("UPDATE leaves SET leaf = $1 WHERE idx = 17", bad))
    elif name == "deleted_row":
        await _superuser(conn, ("DELETE FROM leaves WHERE idx = 17",))
    elif name == "swapped_rows":
        await _superuser(
            conn,
            ("UPDATE leaves SET idx = -1 WHERE idx = 11",),
            ("UPDATE leaves SET idx = 11 WHERE idx = 23",),
            ("UPDATE leaves SET idx = 23 WHERE idx = -1",),
        )
    elif name == "tree_state_rollback":
        # hide entries 30.. behind a perfectly self-consistent older tree state
        root = await root_at(conn, 30)
        rows = await conn.fetch(
            "SELECT level, idx, hash FROM nodes WHERE (level, idx) IN "
            "(SELECT * FROM unnest($1::smallint[], $2::bigint[]))",
            [a[0] for a in frontier_addresses(30)],
            [a[1] for a in frontier_addresses(30)],
        )
        got = {(r["level"], r["idx"]): bytes(r["hash"]) for r in rows}
        frontier = [got[a] for a in frontier_addresses(30)]
        await _superuser(
            conn,
            ("UPDATE tree_state SET size = 30, root = $1, frontier = $2", root, frontier),
            ("DELETE FROM leaves WHERE idx >= 30",),
        )
    elif name == "tree_state_root":
        await _superuser(conn, ("UPDATE tree_state SET root = $1", b"\x42" * 32))


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_tampering_is_reported_with_the_exact_entry(
    infra, pg_schema, tmp_path: Path, attack: str
) -> None:
    kind, first_bad, offline = ATTACKS[attack]
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, ["unused.events"], keys, run_writer=False)
    insp = keys.headers("inspector")
    async with running_audit(settings, keys) as (_app, client):
        conn = await pg_schema.connect()
        try:
            envs = [
                submitted(f"case-{i}")
                if i % 3 == 0
                else envelope("routing.case_assigned", f"case-{i}", {"assigned_to": f"off-{i}"})
                for i in range(SIZE)
            ]
            await append_records(
                conn,
                builder(),
                [RawRecord("intake.events", 0, i, e.canonical()) for i, e in enumerate(envs)],
            )
            await make_checkpoint(conn, Signer.from_key(keys.signer), ORIGIN)
            for mode in ("full", "sample"):
                ok = (
                    await client.get("/v1/log/integrity", params={"mode": mode}, headers=insp)
                ).json()
                assert ok["ok"], ok
            note = (await client.get("/v1/log/checkpoint")).text

            await _attack(conn, attack)

            full = (
                await client.get("/v1/log/integrity", params={"mode": "full"}, headers=insp)
            ).json()
            assert not full["ok"]
            assert full["first_bad_index"] == first_bad, full
            assert kind in {p["kind"] for p in full["problems"]}, full["problems"]
            sample = (
                await client.get(
                    "/v1/log/integrity", params={"mode": "sample", "k": SIZE}, headers=insp
                )
            ).json()
            assert not sample["ok"], sample
            if first_bad is not None:
                assert sample["first_bad_index"] == first_bad, sample

            # offline: the inspector exports and recomputes against the signed checkpoint
            export = await client.get("/v1/log/export", headers=insp)
            assert export.status_code == 200
            (tmp_path / "export.jsonl").write_bytes(export.content)
            (tmp_path / "cp.note").write_text(note)
            res = await asyncio.to_thread(
                subprocess.run,
                [
                    sys.executable,
                    "-m",
                    "tlog",
                    "recompute",
                    str(tmp_path / "export.jsonl"),
                    "-c",
                    str(tmp_path / "cp.note"),
                    "--key",
                    keys.verifier,
                    "--origin",
                    ORIGIN,
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if offline is None:
                # the leaves are intact: only the unsigned tree_state row was forged, which the
                # export does not carry; the checkpointer refuses to sign it (see
                # test_checkpoints_witness) and the integrity endpoint names it
                assert res.returncode == 0, res.stderr
            else:
                assert res.returncode == 1, (res.stdout, res.stderr)
                assert offline in res.stderr.replace("\n", " "), res.stderr
        finally:
            await conn.close()
