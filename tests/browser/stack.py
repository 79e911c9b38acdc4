"""The real stack for the portal's browser tests: intake, routing and notify
(`tests/e2e/lifecycle/stack.py`, reused as it is), plus the audit service and the portal, each
a separate process on the real Kafka and PostgreSQL, started once per test session.

The services' clocks stand at 10:00 on a weekday of the current month (the A posts on duty,
and this month's board counts the cases the tests make); the portal and the audit keep the
wall clock. The portal gets development sign-in with the stack's own JWT key, as under
`make run`.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from contracts.workdays import SHANGHAI
from devstack.common import free_ports
from eventkit.auth import private_pem

from ..e2e.lifecycle.stack import Service, Stack, _clean_env, _stop, _wait_ready, start_stack
from ..polling import eventually


def drill_start(now: datetime | None = None) -> datetime:
    """10:00 on a weekday of this month in Rui'an: today if it is one, else the nearest
    weekday of the month (before today if there is one)."""
    local = (now or datetime.now(UTC)).astimezone(SHANGHAI).date()
    days = [local - timedelta(days=d) for d in range(0, 7)] + [
        local + timedelta(days=d) for d in range(1, 7)
    ]
    day = next(d for d in days if d.weekday() < 5 and d.month == local.month)
    return datetime.combine(day, time(10, 0), tzinfo=SHANGHAI)


@dataclass
class PortalStack:
    stack: Stack
    audit: Service
    portal: Service
    workdir: Path

    @property
    def url(self) -> str:
        return self.portal.url

    @property
    def audit_client(self) -> httpx.AsyncClient:
        return self.stack.clients["audit"]


@asynccontextmanager
async def start_portal_stack(infra: Any, workdir: Path) -> AsyncIterator[PortalStack]:
    from tlog.note import generate_key

    async with start_stack(infra, workdir, drill_start=drill_start()) as stack:
        run = uuid.uuid4().hex[:8]
        audit_port, portal_port = free_ports(2)
        audit = Service("audit", audit_port, workdir / "audit.log")
        portal = Service("portal", portal_port, workdir / "portal.log")
        schema = f"br_audit_{run}"
        key_file = workdir / "dev-jwt.pem"
        key_file.write_text(private_pem(stack.private_key))
        signer, _ = generate_key("bianmin.ruian/audit")
        logged = ",".join(stack.topics.values())
        env = _clean_env(
            {
                "PYTHONUNBUFFERED": "1",
                "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
                "AUTH_PUBLIC_KEY_FILE": str(workdir / "jwt.pub.pem"),
                "AUDIT_HTTP_PORT": str(audit_port),
                "AUDIT_DATABASE_URL": infra.database_url,
                "AUDIT_DATABASE_SCHEMA": schema,
                "AUDIT_DB_POOL_MIN": "1",
                "AUDIT_DB_POOL_MAX": "4",
                "AUDIT_TOPICS": logged,
                "AUDIT_OUTBOX_TOPIC": "",
                "AUDIT_SIGNING_KEY": signer,
                "AUDIT_CHECKPOINT_SECONDS": "1",
                "AUDIT_PERSONAL_HMAC_KEY": f"browser-{run}",
                "AUDIT_CONSUMER_GROUP": f"audit-browser-{run}",
                # the situation reports of the last closed week and month, made as soon as the
                # org tree is in the log (every 5 s, not every minute), without their charts
                # (the portal's pages show figures and documents; drawing ~80 reports' charts
                # would only take the other pages' CPU)
                "AUDIT_SITREPORT_INTERVAL_SECONDS": "5",
                "AUDIT_SITREPORT_CHARTS": "false",
                "PORTAL_HTTP_PORT": str(portal_port),
                "PORTAL_INTAKE_URL": stack.services["intake"].url,
                "PORTAL_ROUTING_URL": stack.services["routing"].url,
                "PORTAL_NOTIFY_URL": stack.services["notify"].url,
                "PORTAL_AUDIT_URL": f"http://127.0.0.1:{audit_port}",
                "PORTAL_SESSION_SECRET": f"browser-tests-{run}-0123456789abcdef",
                "PORTAL_DEV_SIGNIN": "true",
                "PORTAL_DEV_KEY_FILE": str(key_file),
                "PORTAL_COOKIE_SECURE": "false",
            }
        )
        files = []
        try:
            for svc, module in ((audit, "audit"), (portal, "portal")):
                out = svc.log_path.open("wb")
                files.append(out)
                svc.proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    module,
                    env=env,
                    stdout=out,
                    stderr=asyncio.subprocess.STDOUT,
                )
                stack.clients[svc.name] = httpx.AsyncClient(base_url=svc.url, timeout=15)
            await asyncio.gather(*(_wait_ready(s, stack.clients[s.name]) for s in (audit, portal)))

            async def signed() -> bool:
                r = await stack.clients["audit"].get("/v1/log/checkpoint")
                return r.status_code == 200

            await eventually(signed, what="the audit log's first signed checkpoint")
            stack.services["audit"] = audit
            stack.services["portal"] = portal
            yield PortalStack(stack=stack, audit=audit, portal=portal, workdir=workdir)
        except BaseException:
            for svc in (audit, portal):
                print(f"----- {svc.name} log (tail) -----\n{svc.log_tail()}", file=sys.stderr)
            raise
        finally:
            await asyncio.gather(_stop(audit), _stop(portal))
            for name in ("audit", "portal"):
                client = stack.clients.pop(name, None)
                if client is not None:
                    await client.aclose()
                stack.services.pop(name, None)
            for f in files:
                f.close()
            conn = await asyncpg.connect(infra.database_url)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()
