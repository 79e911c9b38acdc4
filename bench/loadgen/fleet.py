"""The four services as separate processes, isolated from anything else on the stack.

Like `devstack.supervisor` (`make run`), each service is `python -m <svc>` with its settings
in environment variables; unlike it, everything is private to the run:

- HTTP on free ports of 127.0.0.1;
- a fresh schema per service in the stack's database (`bench_pl_<run>_<svc>`), dropped at
  the end;
- private topics `bench_pl_<run>_<name>.events` (+ `.dlq`), deleted at the end, given to
  every service through its `<SVC>_TOPIC_*` settings (audit: `AUDIT_TOPICS`,
  `AUDIT_OUTBOX_TOPIC`);
- private consumer groups (`<SVC>_CONSUMER_GROUP`);
- a JWT key pair, an audit signing key, an intake verification secret and an SMS file made
  for the run, under `.local/bench/pipeline-<run>/` with the services' logs.

Variables a developer exported for their own `make run` (`INTAKE_*`, `AUTH_*`, ...) are
removed from the children's environment so they cannot point a service elsewhere.
`extra_env` lays tuning settings over the defaults (e.g. `{"ROUTING_DB_POOL_MAX": "20"}`).
`count_statements` (True, or a directory) turns on `stmtcount`'s per-process statement
counts (True: files under the run's directory).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from devstack.common import free_ports, state_dir
from devstack.topics import delete_topics, ensure_topics

from . import stmtcount

SERVICES = ("intake", "routing", "notify", "audit")
TOPIC_NAMES = ("intake", "routing", "notify", "audit")
_PREFIXES = ("INTAKE_", "ROUTING_", "NOTIFY_", "AUDIT_", "AUTH_")
READY_TIMEOUT_S = 90.0


@dataclass
class Service:
    name: str
    port: int
    schema: str
    group: str
    log_path: Path
    proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


@dataclass
class Fleet:
    """Start with `async with Fleet(bootstrap, database_url) as fleet:`."""

    bootstrap: str
    database_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    partitions: int = 3
    replication: int = 1
    count_statements: bool | Path = False
    count_dir: Path | None = None
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    services: dict[str, Service] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    workdir: Path = field(default_factory=Path)
    private_key: Any = None
    _logs: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir = state_dir() / "bench" / f"pipeline-{self.run}"
        self.topics = {n: f"bench_pl_{self.run}_{n}.events" for n in TOPIC_NAMES}
        if self.count_statements is not False:
            given = self.count_statements
            self.count_dir = (
                given.resolve() if isinstance(given, Path) else self.workdir / "statements"
            )
        for svc, port in zip(SERVICES, free_ports(len(SERVICES)), strict=True):
            self.services[svc] = Service(
                name=svc,
                port=port,
                schema=f"bench_pl_{self.run}_{svc}",
                group=f"bench_pl_{self.run}_{svc}",
                log_path=self.workdir / f"{svc}.log",
            )

    @property
    def urls(self) -> dict[str, str]:
        return {name: s.url for name, s in self.services.items()}

    @property
    def all_topics(self) -> list[str]:
        return [x for t in self.topics.values() for x in (t, f"{t}.dlq")]

    def pids(self) -> dict[str, int]:
        return {n: s.pid for n, s in self.services.items() if s.pid is not None}

    # -- environment ---------------------------------------------------------------------------
    def _secrets(self) -> dict[str, str]:
        from eventkit.auth import generate_private_key, public_pem
        from tlog.note import generate_key

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.private_key = generate_private_key("EdDSA")
        pub = self.workdir / "jwt.pub.pem"
        pub.write_text(public_pem(self.private_key))
        signer, verifier = generate_key("bianmin.bench/audit")
        skey = self.workdir / "audit-signer.key"
        skey.write_text(signer)
        skey.chmod(0o600)
        (self.workdir / "audit-verifier.key").write_text(verifier)
        return {
            "AUTH_PUBLIC_KEY_FILE": str(pub),
            "AUDIT_SIGNING_KEY_FILE": str(skey),
            "INTAKE_VERIFICATION_SECRET": secrets.token_hex(32),
            "BIANMIN_DEVELOPMENT": "1",  # bench keys, no token issuer (eventkit.production)
        }

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
        env |= {"PYTHONUNBUFFERED": "1", "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        env |= self._secrets()
        t = self.topics
        for name, svc in self.services.items():
            p = name.upper()
            env |= {
                f"{p}_HTTP_HOST": "127.0.0.1",
                f"{p}_HTTP_PORT": str(svc.port),
                f"{p}_DATABASE_URL": self.database_url,
                f"{p}_DATABASE_SCHEMA": svc.schema,
                f"{p}_CONSUMER_GROUP": svc.group,
                f"{p}_TOPIC_INTAKE": t["intake"],
                f"{p}_TOPIC_ROUTING": t["routing"],
            }
        env |= {
            "NOTIFY_TOPIC_NOTIFY": t["notify"],
            "NOTIFY_SMS_FILE": str(self.workdir / "sms.jsonl"),
            # the wall clock's night must not defer the residents' SMS (and so "notified")
            "NOTIFY_QUIET_HOURS": "off",
            "AUDIT_TOPICS": ",".join(self.all_topics),
            "AUDIT_OUTBOX_TOPIC": t["audit"],
        }
        if self.count_dir is not None:
            hook = stmtcount.write_sitecustomize(self.workdir / "stmthook")
            env[stmtcount.ENV] = str(self.count_dir)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(hook.parent), env.get("PYTHONPATH")) if p
            )
        env |= self.extra_env
        return env

    # -- lifecycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> Fleet:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        await ensure_topics(
            self.bootstrap, list(self.topics.values()), self.partitions, self.replication
        )
        env = self.environment()
        for name, svc in self.services.items():
            out = svc.log_path.open("wb")
            self._logs.append(out)
            svc.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                name,
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        async with httpx.AsyncClient(timeout=3) as client:
            await asyncio.gather(*(self._wait_ready(s, client) for s in self.services.values()))

    async def _wait_ready(self, svc: Service, client: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert svc.proc is not None
            if svc.proc.returncode is not None:
                raise RuntimeError(f"{svc.name} exited at start:\n{svc.log_tail()}")
            try:
                if (await client.get(f"{svc.url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{svc.name} not ready after {READY_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.25)

    def alive(self) -> list[str]:
        """Names of services that have exited (empty while all run)."""
        return [
            n for n, s in self.services.items() if s.proc is None or s.proc.returncode is not None
        ]

    async def close(self) -> None:
        await asyncio.gather(*(_stop(s) for s in self.services.values()))
        for f in self._logs:
            f.close()
        self._logs.clear()
        if os.environ.get("BENCH_KEEP_FLEET"):  # to look into a run: schemas and topics stay
            print(f"kept: schemas {[s.schema for s in self.services.values()]}", flush=True)
            return
        try:
            conn = await asyncpg.connect(self.database_url)
            try:
                for svc in self.services.values():
                    await conn.execute(f'DROP SCHEMA IF EXISTS "{svc.schema}" CASCADE')
            finally:
                await conn.close()
        finally:
            await delete_topics(self.bootstrap, self.all_topics)


async def _stop(svc: Service) -> None:
    proc = svc.proc
    if proc is None or proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
