"""Each of the four services starts as its own process, reports ready, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import httpx
import pytest

from devstack.common import free_ports

from ..polling import eventually

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "routing", "notify", "audit")


async def test_four_services_ready_then_stop_cleanly(infra, pg_schema) -> None:
    procs = {}
    ports = {}
    env = dict(
        os.environ,
        PYTHONUNBUFFERED="1",
        KAFKA_BOOTSTRAP_SERVERS=infra.bootstrap,
        BIANMIN_DEVELOPMENT="1",  # no secrets, keys, token issuer, witness or store here
    )
    for svc, p in zip(SERVICES, free_ports(len(SERVICES)), strict=True):
        ports[svc] = p
        env.update(
            {
                f"{svc.upper()}_HTTP_PORT": str(p),
                f"{svc.upper()}_DATABASE_URL": infra.database_url,
                f"{svc.upper()}_DATABASE_SCHEMA": f"{pg_schema.schema}_{svc}",
                # never join the consumer groups of a `make run` sharing this broker
                f"{svc.upper()}_CONSUMER_GROUP": f"{pg_schema.schema}_{svc}",
            }
        )
    try:
        for svc in SERVICES:
            procs[svc] = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                svc,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        async with httpx.AsyncClient(timeout=3) as client:
            for svc in SERVICES:

                async def readyz(svc: str = svc) -> httpx.Response | None:
                    assert procs[svc].returncode is None, f"{svc} exited early"
                    try:
                        return await client.get(f"http://127.0.0.1:{ports[svc]}/readyz")
                    except httpx.TransportError:
                        return None

                r = await eventually(
                    readyz,
                    lambda r: r is not None and r.status_code == 200,
                    what=f"{svc} /readyz",
                    show=lambda r: r and (r.status_code, r.text),
                )
                assert r is not None
                body = r.json()
                # connected to both servers, and every background loop (the outbox relay,
                # consumers...) reports ok
                assert body["ready"] is True, body
                assert {"postgres", "kafka"} <= body["checks"].keys(), body
                assert set(body["checks"].values()) == {"ok"}, body
                health = (await client.get(f"http://127.0.0.1:{ports[svc]}/healthz")).json()
                assert health == {"status": "ok", "service": svc}
        for svc in SERVICES:
            procs[svc].send_signal(signal.SIGTERM)
        for svc in SERVICES:
            out, _ = await asyncio.wait_for(procs[svc].communicate(), 30)
            assert procs[svc].returncode == 0, out.decode()[-2000:]
            lines = out.decode().splitlines()
            # JSON structured logs, one object per line, naming the service.
            assert any('"msg":"stopped"' in ln and f'"service":"{svc}"' in ln for ln in lines)
    finally:
        for p in procs.values():
            if p.returncode is None:
                p.kill()
                await p.wait()
        import asyncpg

        conn = await asyncpg.connect(infra.database_url)
        for svc in SERVICES:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{pg_schema.schema}_{svc}" CASCADE')
        await conn.close()
