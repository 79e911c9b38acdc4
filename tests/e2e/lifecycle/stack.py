"""The whole case lifecycle as separate processes: intake, routing and notify on the real Kafka
and PostgreSQL, one drill day for the whole test module.

What `start_stack` does, and why:

- unique topics for the module (`devstack.topics.ensure_topics`, each with its `.dlq`),
  given to every service through its `<SVC>_TOPIC_*` settings, so nothing else the suite
  runs is seen and nothing of ours leaks out;
- a fresh PostgreSQL schema per service, dropped at the end;
- a generated Ed25519 key pair: the services read the public half from
  `AUTH_PUBLIC_KEY_FILE`, the tests mint tokens with the private half;
- the drill clock: intake and routing are shifted by the same offset so that "now" is
  Tuesday 29 September 2026, 09:30 in Rui'an when the module starts (a working day, the A
  posts on duty, and a 15-working-day promise spanning the National Day holiday). Both take
  `<SVC>_CLOCK_OFFSET_DAYS` (eventkit.clock). notify keeps the wall clock, with no
  event-age limit and no quiet hours, so the drill day's messages are sent;
- `ROUTING_DRILL_ENDPOINTS=true` for the deadline drill (`POST /v1/admin/clock/check-deadlines`);
- each process logs to a file under the test's tmp dir (a pipe nobody reads would fill and
  stall the service); the tail of every log is printed when a wait fails.

The tests then talk HTTP only, and read the topics (`TopicLog`) to check the trail that
left each service.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer

from contracts.workdays import SHANGHAI
from devstack.common import free_ports
from devstack.topics import delete_topics, ensure_topics
from eventkit.auth import generate_private_key, public_pem
from eventkit.kafka_security import client_kwargs

from ...polling import eventually
from ...tokens import mint

DRILL_START = datetime(2026, 9, 29, 9, 30, tzinfo=SHANGHAI)
"""Where the services' clocks stand when the module starts (a Tuesday, a working day)."""

# Seeded units the scenarios use (routing's `seed_org`, reached intake through Kafka).
CITY = "ruian"
MAYU, MABEI = "ruian.mayu", "ruian.mayu.mabei"
DONGSHAN, BEIJI, SHANGBU = "ruian.dongshan", "ruian.dongshan.beiji", "ruian.dongshan.shangbu"
ANYANG, YUCAI = "ruian.anyang", "ruian.anyang.yucai"
TINGTIAN, DADIANXIA = "ruian.tingtian", "ruian.tingtian.dadianxia"
SEEDED_CENTERS = frozenset({CITY, MAYU, MABEI, DONGSHAN, BEIJI, SHANGBU, YUCAI, DADIANXIA})

Who = tuple[str, str, str | None, str | None]
"""(sub, role, org_id, tier) of a token."""


class TopicLog:
    """Every envelope of one topic from its beginning, collected in the background."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.envelopes: list[dict[str, Any]] = []
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            **client_kwargs(),
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"tail {self.topic}")

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            for records in batches.values():
                self.envelopes.extend(orjson.loads(r.value) for r in records)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    def of_case(self, case_id: str) -> list[dict[str, Any]]:
        """The case's envelopes in topic order (one case stays on one partition)."""
        return [e for e in self.envelopes if e["stream_id"] == case_id]

    async def wait_case(
        self, case_id: str, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 60
    ) -> list[dict[str, Any]]:
        """The case's envelopes (as `done` saw them), once `done` holds over them."""

        async def mine() -> list[dict[str, Any]]:
            return self.of_case(case_id)

        return await eventually(
            mine,
            done,
            what=f"{self.topic}: events of {case_id}",
            timeout=timeout,
            show=lambda es: [e["event_type"] for e in es],
        )

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], what: str, timeout: float = 60
    ) -> dict[str, Any]:
        """The first envelope of the topic that `match`es, once it has arrived."""

        async def first() -> dict[str, Any] | None:
            return next((e for e in self.envelopes if match(e)), None)

        found = await eventually(
            first,
            what=f"{self.topic}: {what}",
            timeout=timeout,
            show=lambda _: f"{len(self.envelopes)} envelopes, none matching",
        )
        assert found is not None
        return found


@dataclass
class Service:
    name: str
    port: int
    log_path: Path
    proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log, without the broker's per-message chatter."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        noise = ('"msg":"Received"', '"msg":"Processed"')
        kept = [line for line in text if not any(n in line for n in noise)]
        return "\n".join(kept[-lines:])


@dataclass
class Stack:
    """The running services, their clients, the module's topics and token minting."""

    bootstrap: str
    database_url: str
    topics: dict[str, str]
    services: dict[str, Service]
    offset: timedelta
    sms_file: Path
    private_key: Any
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    logs: dict[str, TopicLog] = field(default_factory=dict)

    # -- clocks and tokens ---------------------------------------------------------------------
    def now(self) -> datetime:
        """The services' (drill) clock."""
        return datetime.now(UTC) + self.offset

    def headers(self, who: Who, **extra: str) -> dict[str, str]:
        sub, role, org, tier = who
        token = mint(self.private_key, sub, role, org, tier)
        return {"Authorization": f"Bearer {token}", **extra}

    def resident(self, id_number: str) -> dict[str, str]:
        """A resident signed in with their real-name ID number (as 浙里办 accounts are)."""
        return self.headers((id_number, "resident", None, None))

    def inspector(self) -> dict[str, str]:
        return self.headers(("ruian.inspector1", "inspector", CITY, "city"))

    def admin(self) -> dict[str, str]:
        return self.headers(("admin.e2e", "admin", CITY, "city"))

    # -- HTTP ----------------------------------------------------------------------------------
    @property
    def intake(self) -> httpx.AsyncClient:
        return self.clients["intake"]

    @property
    def routing(self) -> httpx.AsyncClient:
        return self.clients["routing"]

    @property
    def notify(self) -> httpx.AsyncClient:
        return self.clients["notify"]

    async def post(
        self,
        client: httpx.AsyncClient,
        path: str,
        who: Who | dict[str, str],
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A POST with a fresh Idempotency-Key, as every client of these APIs should send."""
        headers = who if isinstance(who, dict) else self.headers(who)
        headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        return await client.post(path, headers=headers, json=body, params=params)

    async def intake_case(
        self,
        case_id: str,
        who: Who,
        until: Callable[[dict[str, Any]], object] = lambda _: True,
        timeout: float = 60,
    ) -> dict[str, Any]:
        """Intake's view of the case (data, progress at routing, trail), as it was when
        `until` held. `until` sees every intermediate view: `progress` is None until routing's
        first event of the case has reached intake, and its fields fill in one event at a
        time (`dig` reads them)."""

        async def view() -> dict[str, Any]:
            r = await self.intake.get(f"/v1/applications/{case_id}", headers=self.headers(who))
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            return body

        return await eventually(view, until, what=f"intake's view of {case_id}", timeout=timeout)

    async def routing_case(
        self,
        case_id: str,
        who: Who | None = None,
        until: Callable[[dict[str, Any]], object] = lambda _: True,
        timeout: float = 60,
    ) -> dict[str, Any]:
        """Routing's state and trail of the case once routing has it (404 before) and `until`
        holds, as it was then."""
        headers = self.headers(who) if who else self.inspector()

        async def detail() -> dict[str, Any] | None:
            r = await self.routing.get(f"/v1/cases/{case_id}", headers=headers)
            if r.status_code == 404:
                return None
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            return body

        found = await eventually(
            detail,
            lambda d: d is not None and until(d),
            what=f"routing's detail of {case_id}",
            timeout=timeout,
        )
        assert found is not None
        return found

    async def deliveries(
        self,
        case_id: str,
        until: Callable[[list[dict[str, Any]]], object],
        timeout: float = 60,
    ) -> list[dict[str, Any]]:
        """notify's deliveries of the case (inspector's view; 404 while notify knows no such
        case) once `until` holds, as they were then."""

        async def rows() -> list[dict[str, Any]] | None:
            r = await self.notify.get(
                "/v1/deliveries", params={"case_id": case_id}, headers=self.inspector()
            )
            if r.status_code == 404:
                return None
            assert r.status_code == 200, r.text
            got: list[dict[str, Any]] = r.json()["deliveries"]
            return got

        found = await eventually(
            rows,
            lambda ds: ds is not None and until(ds),
            what=f"notify's deliveries of {case_id}",
            timeout=timeout,
            show=lambda ds: ds and [(d["template"], d["channel"], d["status"]) for d in ds],
        )
        assert found is not None
        return found

    def sms_lines(self, delivery_id: str) -> list[dict[str, Any]]:
        if not self.sms_file.exists():
            return []
        lines = [orjson.loads(b) for b in self.sms_file.read_bytes().splitlines() if b.strip()]
        return [line for line in lines if line["delivery_id"] == delivery_id]


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The parent's environment minus every service/auth setting a developer may have
    exported (they would point the services elsewhere), plus ours."""
    prefixes = ("INTAKE_", "ROUTING_", "NOTIFY_", "AUDIT_", "AUTH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


async def _wait_ready(svc: Service, client: httpx.AsyncClient) -> None:
    async def probe() -> bool:
        assert svc.proc is not None
        if svc.proc.returncode is not None:
            raise AssertionError(f"{svc.name} exited at start:\n{svc.log_tail()}")
        try:
            return (await client.get("/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(probe, what=f"{svc.name} /readyz")


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


@asynccontextmanager
async def start_stack(
    infra: Any, workdir: Path, drill_start: datetime = DRILL_START
) -> AsyncIterator[Stack]:
    """The stack, its services' clocks standing at `drill_start` when it starts."""
    run = uuid.uuid4().hex[:8]
    topics = {name: f"lifecycle_{name}_{run}.events" for name in ("intake", "routing", "notify")}
    await ensure_topics(infra.bootstrap, list(topics.values()))
    key = generate_private_key("EdDSA")
    public_key_file = workdir / "jwt.pub.pem"
    public_key_file.write_text(public_pem(key))
    offset = drill_start - datetime.now(UTC)
    offset_days = str(offset.total_seconds() / 86400)
    sms_file = workdir / "sms.jsonl"
    names = ("intake", "routing", "notify")
    services = {
        name: Service(name, port, workdir / f"{name}.log")
        for name, port in zip(names, free_ports(len(names)), strict=True)
    }
    schemas = {name: f"lc_{name}_{run}" for name in services}
    common = {
        "PYTHONUNBUFFERED": "1",
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "AUTH_PUBLIC_KEY_FILE": str(public_key_file),
    }
    for name, svc in services.items():
        p = name.upper()
        common |= {
            f"{p}_HTTP_PORT": str(svc.port),
            f"{p}_DATABASE_URL": infra.database_url,
            f"{p}_DATABASE_SCHEMA": schemas[name],
            f"{p}_DB_POOL_MIN": "1",
            f"{p}_DB_POOL_MAX": "8",
            f"{p}_TOPIC_INTAKE": topics["intake"],
            f"{p}_TOPIC_ROUTING": topics["routing"],
            f"{p}_CONSUMER_GROUP": f"{name}-lifecycle-{run}",
        }
    env = _clean_env(
        common
        | {
            "BIANMIN_DEVELOPMENT": "1",  # drills and shifted clocks (eventkit.production)
            "INTAKE_VERIFICATION_SECRET": f"lifecycle-e2e-secret-{run}-0123456789",
            "INTAKE_CLOCK_OFFSET_DAYS": offset_days,
            "ROUTING_CLOCK_OFFSET_DAYS": offset_days,
            "ROUTING_DRILL_ENDPOINTS": "true",
            "NOTIFY_TOPIC_NOTIFY": topics["notify"],
            "NOTIFY_SMS_FILE": str(sms_file),
            "NOTIFY_QUIET_HOURS": "off",  # the wall clock's night must not defer the drill's SMS
            "NOTIFY_MAX_EVENT_AGE_HOURS": "0",  # the drill day lies weeks behind the wall clock
            "NOTIFY_DISPATCH_POLL_SECONDS": "0.2",
        }
    )
    commands = {
        "intake": [sys.executable, "-m", "intake"],
        "routing": [sys.executable, "-m", "routing"],
        "notify": [sys.executable, "-m", "notify"],
    }
    stack = Stack(
        bootstrap=infra.bootstrap,
        database_url=infra.database_url,
        topics=topics,
        services=services,
        offset=offset,
        sms_file=sms_file,
        private_key=key,
    )
    log_files = []
    try:
        for name, svc in services.items():
            out = svc.log_path.open("wb")
            log_files.append(out)
            svc.proc = await asyncio.create_subprocess_exec(
                *commands[name], env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
            stack.clients[name] = httpx.AsyncClient(base_url=svc.url, timeout=15)
        for name in ("intake", "routing"):
            stack.logs[name] = TopicLog(infra.bootstrap, topics[name])
            await stack.logs[name].start()
        await asyncio.gather(*(_wait_ready(s, stack.clients[n]) for n, s in services.items()))

        # the seeds: routing's org tree reaches intake's centers projection over Kafka, and
        # intake's catalog is published
        async def seeded() -> bool:
            centers = (await stack.intake.get("/v1/centers")).json()["items"]
            catalog = (await stack.intake.get("/v1/catalog")).json()["items"]
            return SEEDED_CENTERS <= {c["unit_id"] for c in centers} and any(
                i["code"] == "FP-002" for i in catalog
            )

        await eventually(seeded, what="the org tree in intake's centers and the catalog")
        yield stack
    except BaseException:
        for svc in services.values():
            print(f"----- {svc.name} log (tail) -----\n{svc.log_tail()}", file=sys.stderr)
        raise
    finally:
        await asyncio.gather(*(_stop(s) for s in services.values()))
        for log in stack.logs.values():
            await log.stop()
        for client in stack.clients.values():
            await client.aclose()
        for f in log_files:
            f.close()
        conn = await asyncpg.connect(infra.database_url)
        try:
            for schema in schemas.values():
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()
        await delete_topics(
            infra.bootstrap, [t for base in topics.values() for t in (base, f"{base}.dlq")]
        )
