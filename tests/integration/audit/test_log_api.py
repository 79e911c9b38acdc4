"""The running service on real Kafka + PostgreSQL: append from topics, checkpoints, proofs
through the HTTP API, verified with tlog and with the offline verifier CLI."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tlog.hashing import leaf_hash
from tlog.note import open_checkpoint
from tlog.proofs import verify_consistency, verify_inclusion

from .support import (
    ORIGIN,
    envelope,
    make_keys,
    producer,
    publish,
    running_audit,
    settings_for,
    submitted,
    wait_checkpoint,
    wait_size,
)

pytestmark = pytest.mark.integration


def tlog_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlog", *args], capture_output=True, text=True, timeout=60
    )


async def test_events_from_kafka_are_provably_in_the_signed_log(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    intake, routing = await topics("intake", "routing")
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [intake, routing], keys)
    first = [submitted(f"case-{i}") for i in range(5)]
    later = [
        envelope("routing.case_assigned", f"case-{i}", {"assigned_to": f"off-{i}"}, minutes=5)
        for i in range(5)
    ]
    async with running_audit(settings, keys) as (_app, client), producer(infra.bootstrap) as p:
        conn = await pg_schema.connect()
        try:
            await publish(p, intake, first)
            await publish(p, intake, [b"\x00garbage"])
            await wait_size(conn, 6)
            await wait_checkpoint(conn, 6)
            r = await client.get("/v1/log/checkpoint")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
            old_note = r.text
            cp1, _ = open_checkpoint(old_note, [keys.log_verifier], ORIGIN)
            assert cp1.size == 6
            await publish(p, routing, later)
            await wait_size(conn, 11)
            await wait_checkpoint(conn, 11)
            new_note = (await client.get("/v1/log/checkpoint")).text
            cp2, _ = open_checkpoint(new_note, [keys.log_verifier], ORIGIN)
            assert cp2.size == 11

            # every event: inclusion proof from the API verifies against the signed root
            insp = keys.headers("inspector")
            for e in first + later:
                r = await client.get(
                    "/v1/log/proof/inclusion", params={"event_id": str(e.event_id)}, headers=insp
                )
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["tree_size"] == 11
                leaf = base64.b64decode(body["leaf"])
                assert orjson.loads(leaf)["event_id"] == str(e.event_id)
                proof = [base64.b64decode(x) for x in body["proof"]]
                verify_inclusion(leaf_hash(leaf), body["leaf_index"], 11, proof, cp2.root_hash)
            # the public gets the proof but not the leaf bytes
            pub = (await client.get("/v1/log/proof/inclusion", params={"index": 0})).json()
            assert "leaf" not in pub and pub["leaf_hash"]
            # the rejected message is in the log, with its reason
            rej = (await client.get("/v1/log/leaves/5", headers=insp)).json()
            assert rej["status"] == "rejected" and rej["reject_reason"].startswith("malformed")
            # consistency between the two checkpoints
            cons = (
                await client.get("/v1/log/proof/consistency", params={"first": 6, "second": 11})
            ).json()
            verify_consistency(
                6, 11, [base64.b64decode(x) for x in cons["proof"]], cp1.root_hash, cp2.root_hash
            )

            # the same with nothing but the offline verifier CLI and the public key
            key_file = tmp_path / "log.vkey"
            key_file.write_text(keys.verifier)
            (tmp_path / "old.note").write_text(old_note)
            (tmp_path / "new.note").write_text(new_note)
            (tmp_path / "cons.json").write_text(json.dumps(cons))
            e = later[-1]
            incl = (
                await client.get(
                    "/v1/log/proof/inclusion", params={"event_id": str(e.event_id)}, headers=insp
                )
            ).json()
            (tmp_path / "incl.json").write_text(json.dumps(incl))
            export = await client.get("/v1/log/export", headers=insp)
            assert export.status_code == 200
            (tmp_path / "export.jsonl").write_bytes(export.content)
            k = ["--key", f"@{key_file}", "--origin", ORIGIN]
            for args in (
                ["checkpoint", str(tmp_path / "new.note"), *k],
                [
                    "inclusion",
                    "-c",
                    str(tmp_path / "new.note"),
                    "-p",
                    str(tmp_path / "incl.json"),
                    *k,
                ],
                [
                    "consistency",
                    "--old",
                    str(tmp_path / "old.note"),
                    "--new",
                    str(tmp_path / "new.note"),
                    "-p",
                    str(tmp_path / "cons.json"),
                    *k,
                ],
                ["recompute", str(tmp_path / "export.jsonl"), "-c", str(tmp_path / "new.note"), *k],
            ):
                res = tlog_cli(*args)
                assert res.returncode == 0, (args[0], res.stdout, res.stderr)
            # and the integrity endpoint agrees
            full = (
                await client.get("/v1/log/integrity", params={"mode": "full"}, headers=insp)
            ).json()
            assert full["ok"] and full["tree_size"] == 11 and full["checkpoints_checked"] == 2
            sample = (await client.get("/v1/log/integrity", headers=insp)).json()
            assert sample["ok"], sample
        finally:
            await conn.close()


async def test_inspector_routes_need_the_inspector_role(infra, pg_schema, topics) -> None:
    (intake,) = await topics("intake")
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [intake], keys, run_writer=False)
    async with running_audit(settings, keys) as (_app, client):
        for path in ("/v1/log/leaves/0", "/v1/log/export", "/v1/log/integrity"):
            r = await client.get(path)
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"].startswith("Bearer")
            r = await client.get(path, headers={"Authorization": "Bearer not-a-jwt"})
            assert r.status_code == 401, path
            for role in ("resident", "community_agent", "officer", "center_head"):
                r = await client.get(path, headers=keys.headers(role))
                assert r.status_code == 403, (path, role)
                assert "inspector" in r.json()["detail"]["reason"]
            r = await client.get(path, headers=keys.headers("inspector"))
            assert r.status_code in (200, 404), (path, r.text)
        # a token signed by another key is not a token
        other = make_keys()
        r = await client.get("/v1/log/export", headers=other.headers("inspector"))
        assert r.status_code == 401
        # public routes stay public
        assert (await client.get("/v1/log/checkpoint")).status_code == 404  # none signed yet
        assert (await client.get("/v1/log/checkpoints")).status_code == 200
