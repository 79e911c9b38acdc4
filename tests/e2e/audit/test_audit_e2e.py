"""The audit service and the witness as separate processes, keys and tokens from the CLIs:
an inspector rebuilds the second-child case's full timeline through the API and verifies
every event's inclusion offline with `python -m tlog`; the witness cosigns."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from devstack.common import free_port

from ...integration.audit.support import (
    case_events,
    catalog_events,
    producer,
    publish,
    staff_events,
)
from ...polling import eventually

pytestmark = pytest.mark.e2e

ORIGIN = "bianmin.e2e/audit"


async def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    p = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(p.communicate(), 60)
    assert p.returncode is not None
    return p.returncode, out.decode(), err.decode()


async def test_inspector_rebuilds_and_verifies_a_case_offline_and_the_witness_cosigns(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    intake, routing, audit_t = await topics("intake", "routing", "audit")
    # keys from the CLIs, as an operator would make them
    rc, out, _ = await run("-m", "audit", "keygen", ORIGIN)
    assert rc == 0
    log_skey, log_vkey = out.split()
    rc, out, _ = await run("-m", "audit.witness", "keygen", "inspectorate.e2e/w1")
    w_skey, w_vkey = out.split()
    (tmp_path / "w.key").write_text(w_skey)
    rc, _, _ = await run("-m", "eventkit.auth", "keygen", "--out", str(tmp_path / "jwt.pem"))
    assert rc == 0
    rc, token, err = await run(
        "-m",
        "eventkit.auth",
        "mint",
        "--role",
        "inspector",
        "--sub",
        "insp-1",
        "--org",
        "ruian",
        "--tier",
        "city",
        "--key-file",
        str(tmp_path / "jwt.pem"),
    )
    assert rc == 0, err
    rc, officer, _ = await run(
        "-m",
        "eventkit.auth",
        "mint",
        "--role",
        "officer",
        "--sub",
        "off-1",
        "--org",
        "ruian.mayu",
        "--tier",
        "town",
        "--key-file",
        str(tmp_path / "jwt.pem"),
    )
    insp = {"Authorization": f"Bearer {token.strip()}"}

    port = free_port()
    logged = ",".join(
        [intake, f"{intake}.dlq", routing, f"{routing}.dlq", audit_t, f"{audit_t}.dlq"]
    )
    env = dict(
        os.environ,
        PYTHONUNBUFFERED="1",
        KAFKA_BOOTSTRAP_SERVERS=infra.bootstrap,
        AUDIT_HTTP_PORT=str(port),
        AUDIT_DATABASE_URL=infra.database_url,
        AUDIT_DATABASE_SCHEMA=pg_schema.schema,
        AUDIT_TOPICS=logged,
        AUDIT_OUTBOX_TOPIC=audit_t,
        AUDIT_SIGNING_KEY=log_skey,
        AUDIT_LOG_ORIGIN=ORIGIN,
        AUDIT_CHECKPOINT_SECONDS="0.3",
        AUDIT_WITNESS_KEYS=w_vkey,
        AUDIT_PERSONAL_HMAC_KEY="e2e-secret",
        BIANMIN_DEVELOPMENT="1",  # runs as the test database's owner, no checkpoint store
        AUTH_PUBLIC_KEY_FILE=str(tmp_path / "jwt.pem.pub"),
    )
    svc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "audit",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    a_in, a_rt = case_events("case-2c", dirty=False)
    events = catalog_events() + staff_events() + a_in + a_rt
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:

            async def ready() -> bool:
                assert svc.returncode is None, "audit exited early"
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, what="audit /readyz")
            async with producer(infra.bootstrap) as p:
                await publish(p, intake, catalog_events() + a_in[:2])
                await publish(p, routing, staff_events())

            async def checkpoint_size() -> int:
                r = await client.get("/v1/log/checkpoint")
                return int(r.text.split("\n")[1]) if r.status_code == 200 else 0

            await eventually(checkpoint_size, lambda n: n >= 5, what="a checkpoint of 5 leaves")
            wargs = [
                "-m",
                "audit.witness",
                "run",
                "--url",
                base,
                "--log-key",
                log_vkey,
                "--origin",
                ORIGIN,
                "--key-file",
                str(tmp_path / "w.key"),
                "--state-dir",
                str(tmp_path / "witness"),
                "--once",
            ]
            rc, _, err = await run(*wargs)
            assert rc == 0, err

            async with producer(infra.bootstrap) as p:
                await publish(p, intake, a_in[2:])
                await publish(p, routing, a_rt)
            await eventually(
                checkpoint_size,
                lambda n: n >= len(events),
                what=f"a checkpoint of {len(events)} leaves",
            )
            rc, _, err = await run(*wargs)
            assert rc == 0, err
            state = json.loads((tmp_path / "witness" / "state.json").read_text())
            assert state["size"] == len(events)

            # the checkpoint now carries the witness's cosignature
            note = (await client.get("/v1/log/checkpoint")).text
            assert "— inspectorate.e2e/w1 " in note
            (tmp_path / "cp.note").write_text(note)
            cp_size = int(note.split("\n")[1])
            (tmp_path / "log.vkey").write_text(log_vkey)
            (tmp_path / "w.vkey").write_text(w_vkey)
            rc, out, err = await run(
                "-m",
                "tlog",
                "checkpoint",
                str(tmp_path / "cp.note"),
                "--key",
                f"@{tmp_path / 'log.vkey'}",
                "--key",
                f"@{tmp_path / 'w.vkey'}",
                "--origin",
                ORIGIN,
            )
            assert rc == 0 and "inspectorate.e2e/w1" in out, err

            # an officer may not look; the inspector rebuilds the timeline
            r = await client.get(
                "/v1/inspect/cases/case-2c", headers={"Authorization": f"Bearer {officer.strip()}"}
            )
            assert r.status_code == 403
            tl = (await client.get("/v1/inspect/cases/case-2c", headers=insp)).json()
            assert [e["event_id"] for e in tl["events"]] == [
                str(e.event_id) for e in sorted(a_in + a_rt, key=lambda e: e.occurred_at)
            ]
            # ... and verifies every event's inclusion offline, with only the public key
            for e in tl["events"]:
                pr = (
                    await client.get(
                        "/v1/log/proof/inclusion",
                        params={"event_id": e["event_id"], "tree_size": cp_size},
                        headers=insp,
                    )
                ).json()
                path = tmp_path / f"incl-{e['index']}.json"
                path.write_text(json.dumps(pr))
                rc, out, err = await run(
                    "-m",
                    "tlog",
                    "inclusion",
                    "-c",
                    str(tmp_path / "cp.note"),
                    "-p",
                    str(path),
                    "--key",
                    f"@{tmp_path / 'log.vkey'}",
                    "--origin",
                    ORIGIN,
                )
                assert rc == 0, err

            # the inspector's queries were themselves logged (via the outbox, back into the log)
            async def recorded() -> list[dict]:
                r = await client.get(
                    "/v1/inspect/events",
                    params={"event_type": "audit.inspector_query_recorded"},
                    headers=insp,
                )
                assert r.status_code == 200, r.text
                return list(r.json()["items"])

            recs = await eventually(
                recorded,
                lambda recs: any(x["payload"]["filters"] == {"case": "case-2c"} for x in recs),
                what="the inspector's query of case-2c back in the log",
            )
            # the first query recorded is the timeline's (each poll above is one too)
            assert recs[0]["payload"]["filters"] == {"case": "case-2c"}
            assert recs[0]["actor_id"] == "insp-1"
            # and the whole log recomputes to the signed root
            export = await client.get("/v1/log/export", params={"end": cp_size}, headers=insp)
            (tmp_path / "export.jsonl").write_bytes(export.content)
            rc, out, err = await run(
                "-m",
                "tlog",
                "recompute",
                str(tmp_path / "export.jsonl"),
                "-c",
                str(tmp_path / "cp.note"),
                "--key",
                log_vkey,
            )
            assert rc == 0, err
        svc.send_signal(signal.SIGTERM)
        out_b, _ = await asyncio.wait_for(svc.communicate(), 30)
        assert svc.returncode == 0, out_b.decode()[-3000:]
    finally:
        if svc.returncode is None:
            svc.kill()
            await svc.wait()
