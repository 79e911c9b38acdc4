"""The four services as processes for the fuzz tests, on the real Kafka and PostgreSQL.

Like the lifecycle tests' stack (tests/e2e/lifecycle/stack.py, whose helpers this reuses):
unique topics, a schema per service, a generated Ed25519 key pair for tokens, each process
logging to a file whose tail is printed when something fails. Audit logs the intake and
routing topics and signs checkpoints with a generated key, with a personal-data key set.
The seeds (routing's org tree, intake's catalog) are waited for, so the tests can take
valid ids from them.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from devstack.common import free_ports
from devstack.topics import ensure_topics
from eventkit.auth import generate_private_key, public_pem
from tests.e2e.lifecycle.stack import (
    SEEDED_CENTERS,
    Service,
    _clean_env,
    _stop,
    _wait_ready,
)
from tests.polling import eventually
from tests.tokens import mint
from tlog.note import generate_key

SERVICES = ("intake", "routing", "notify", "audit")


@dataclass
class FuzzStack:
    services: dict[str, Service]
    private_key: Any
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def token(self, sub: str, role: str, org: str | None = None, tier: str | None = None) -> str:
        return mint(self.private_key, sub, role, org, tier, ttl_seconds=3 * 3600)

    def logs(self) -> str:
        return "\n".join(
            f"----- {s.name} log (tail) -----\n{s.log_tail(30)}" for s in self.services.values()
        )


@asynccontextmanager
async def start_fuzz_stack(infra: Any, workdir: Path) -> AsyncIterator[FuzzStack]:
    run = uuid.uuid4().hex[:8]
    topics = {n: f"fuzz_{n}_{run}.events" for n in SERVICES}
    await ensure_topics(infra.bootstrap, list(topics.values()))
    key = generate_private_key("EdDSA")
    (workdir / "jwt.pub.pem").write_text(public_pem(key))
    signer, _ = generate_key("bianmin.fuzz/audit")
    services = {
        n: Service(n, port, workdir / f"{n}.log")
        for n, port in zip(SERVICES, free_ports(len(SERVICES)), strict=True)
    }
    env: dict[str, str] = {
        "PYTHONUNBUFFERED": "1",
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "AUTH_PUBLIC_KEY_FILE": str(workdir / "jwt.pub.pem"),
    }
    for name, svc in services.items():
        p = name.upper()
        env |= {
            f"{p}_HTTP_PORT": str(svc.port),
            f"{p}_DATABASE_URL": infra.database_url,
            f"{p}_DATABASE_SCHEMA": f"fz_{name}_{run}",
            f"{p}_DB_POOL_MIN": "1",
            f"{p}_DB_POOL_MAX": "6",
            f"{p}_TOPIC_INTAKE": topics["intake"],
            f"{p}_TOPIC_ROUTING": topics["routing"],
            f"{p}_CONSUMER_GROUP": f"{name}-fuzz-{run}",
            f"{p}_LOG_LEVEL": "WARNING",
        }
    logged = [topics["intake"], topics["routing"], topics["notify"]]
    env |= {
        "BIANMIN_DEVELOPMENT": "1",  # development keys, no token issuer (eventkit.production)
        "INTAKE_VERIFICATION_SECRET": f"fuzz-secret-{run}-0123456789abcdef",
        "NOTIFY_TOPIC_NOTIFY": topics["notify"],
        "NOTIFY_SMS_FILE": str(workdir / "sms.jsonl"),
        "AUDIT_TOPICS": ",".join(logged),
        "AUDIT_OUTBOX_TOPIC": topics["audit"],
        "AUDIT_SIGNING_KEY": signer,
        "AUDIT_LOG_ORIGIN": "bianmin.fuzz/audit",
        "AUDIT_CHECKPOINT_SECONDS": "0.5",
        "AUDIT_PERSONAL_HMAC_KEY": f"fuzz-hmac-{run}",
    }
    env = _clean_env(env)
    stack = FuzzStack(services=services, private_key=key)
    files = []
    try:
        for name, svc in services.items():
            out = svc.log_path.open("wb")
            files.append(out)
            svc.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", name, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
            stack.clients[name] = httpx.AsyncClient(base_url=svc.url, timeout=30)
        await asyncio.gather(*(_wait_ready(s, stack.clients[n]) for n, s in services.items()))

        async def seeded() -> bool:
            intake = stack.clients["intake"]
            centers = (await intake.get("/v1/centers")).json()["items"]
            catalog = (await intake.get("/v1/catalog")).json()["items"]
            return SEEDED_CENTERS <= {c["unit_id"] for c in centers} and bool(catalog)

        await eventually(
            seeded, what="the org tree in intake's centers and the catalog", timeout=90
        )
        yield stack
    except BaseException:
        print(stack.logs(), file=sys.stderr)
        raise
    finally:
        await asyncio.gather(*(_stop(s) for s in services.values()))
        for c in stack.clients.values():
            await c.aclose()
        for f in files:
            f.close()
        conn = await asyncpg.connect(infra.database_url)
        try:
            for name in SERVICES:
                await conn.execute(f'DROP SCHEMA IF EXISTS "fz_{name}_{run}" CASCADE')
        finally:
            await conn.close()
