"""Intake as its own process (`python -m intake`) on the real Kafka and PostgreSQL: a token
minted with the dev CLI, an application submitted over HTTP, its events on intake's topic."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from devstack.common import free_port
from eventkit.auth import generate_private_key, private_pem, public_pem

from ...integration.intake.support import (
    FP002_ALL,
    STAFF,
    UNITS,
    org_unit_envelope,
    publish,
    read_topic_until,
    second_child,
    staff_envelope,
)
from ...polling import eventually

pytestmark = pytest.mark.e2e


async def mint(key_file: Path, *args: str) -> str:
    """A token from the dev CLI, exactly as the README shows it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventkit.auth",
        "mint",
        "--key-file",
        str(key_file),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode().strip()


async def test_intake_process_takes_an_application_and_publishes_its_events(
    infra, pg_schema, topics, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    intake_topic, routing_topic = await topics("intake", "routing")
    key = generate_private_key("EdDSA")
    key_file = tmp_path / "dev-jwt.pem"
    key_file.write_text(private_pem(key))
    port = free_port()
    env = dict(
        os.environ,
        PYTHONUNBUFFERED="1",
        BIANMIN_DEVELOPMENT="1",  # no token issuer/audience here (eventkit.production)
        KAFKA_BOOTSTRAP_SERVERS=infra.bootstrap,
        INTAKE_HTTP_PORT=str(port),
        INTAKE_DATABASE_URL=infra.database_url,
        INTAKE_DATABASE_SCHEMA=pg_schema.schema,
        INTAKE_TOPIC_INTAKE=intake_topic,
        INTAKE_TOPIC_ROUTING=routing_topic,
        INTAKE_CONSUMER_GROUP=f"intake-{pg_schema.schema}",
        INTAKE_VERIFICATION_SECRET="e2e-verification-secret-0123456789",
        INTAKE_AUTH_PUBLIC_KEY=public_pem(key),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "intake",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:

            async def ready() -> bool:
                assert proc.returncode is None, "intake exited early"
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, what="intake /readyz")
            assert (await client.get("/docs")).status_code == 200
            assert "/v1/applications" in (await client.get("/openapi.json")).json()["paths"]

            # routing's org tree arrives on routing's topic: the staff directory first, then
            # the units (one stream, one partition, consumed in order: once the centers are
            # there, so are the staff)
            tree = [*(staff_envelope(*s) for s in STAFF), *(org_unit_envelope(*u) for u in UNITS)]
            await publish(infra.bootstrap, routing_topic, tree)

            async def centers() -> bool:
                return len((await client.get("/v1/centers")).json()["items"]) == len(UNITS)

            await eventually(centers, what="the org units in intake's centers")

            token = await mint(
                key_file,
                "--role",
                "community_agent",
                "--sub",
                "staff.mabei.huang",
                "--org",
                "ruian.mayu.mabei",
                "--tier",
                "community",
            )
            auth = {"Authorization": f"Bearer {token}"}
            three_missing = [
                m
                for m in FP002_ALL
                if m["code"] not in ("MARRIAGE_CERT", "HOUSEHOLD_REG", "PHOTO_1IN")
            ]
            body = second_child(materials_provided=three_missing)
            r = await client.post(
                "/v1/applications", json=body, headers={**auth, "Idempotency-Key": "e2e-1"}
            )
            assert r.status_code == 201, r.text
            case_id = r.json()["case_id"]
            assert r.json()["status"] == "awaiting_materials"
            again = await client.post(
                "/v1/applications", json=body, headers={**auth, "Idempotency-Key": "e2e-1"}
            )
            assert again.json()["case_id"] == case_id

            s = await client.post(
                f"/v1/applications/{case_id}/materials",
                json={
                    "materials": [
                        {"code": "MARRIAGE_CERT", "form": "copy"},
                        {"code": "HOUSEHOLD_REG", "form": "copy"},
                        {"code": "PHOTO_1IN", "form": "original", "copies": 2},
                    ]
                },
                headers=auth,
            )
            assert s.status_code == 200, s.text
            receipt, code = s.json()["receipt_no"], s.json()["verification_code"]

            def arrived(envs: list[dict]) -> bool:
                return any(
                    e["stream_id"] == case_id and e["event_type"] == "intake.application_accepted"
                    for e in envs
                )

            on_topic = await read_topic_until(infra.bootstrap, intake_topic, arrived)
            mine = [e["event_type"] for e in on_topic if e["stream_id"] == case_id]
            assert mine == [
                "intake.application_submitted",
                "intake.materials_missing_notified",
                "intake.materials_supplemented",
                "intake.application_accepted",
            ]
            assert any(e["stream_id"] == "catalog" for e in on_topic)  # the seed, as events

            view = await client.get("/v1/status", params={"receipt_no": receipt, "code": code})
            assert view.status_code == 200 and view.json()["status"] == "accepted"

        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, out.decode()[-3000:]
        assert '"msg":"stopped"' in out.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
