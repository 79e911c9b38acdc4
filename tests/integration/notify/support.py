"""Running notify in-process on the real Kafka and PostgreSQL, with a frozen clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from eventkit.envelope import Envelope
from eventkit.kafka_security import client_kwargs
from eventkit.testing import FrozenClock
from notify.bootstrap import build
from notify.delivery.dispatcher import Dispatcher
from notify.runtime import NotifyRuntime
from notify.settings import Settings

from ...polling import TIMEOUT, eventually
from ...unit.notify.factories import T0

SECRET = b"test-webhook-secret"


@dataclass
class Notify:
    app: FastAPI
    settings: Settings
    clock: FrozenClock
    intake_topic: str
    routing_topic: str
    notify_topic: str
    producer: AIOKafkaProducer
    sms_file: Path

    @property
    def ctx(self) -> NotifyRuntime:
        return self.app.state.notify  # type: ignore[no-any-return]

    @property
    def pool(self) -> asyncpg.Pool:
        pool = self.app.state.runtime.pool
        assert pool is not None
        return pool  # type: ignore[no-any-return]

    @property
    def dispatcher(self) -> Dispatcher:
        return self.app.state.dispatcher  # type: ignore[no-any-return]

    async def publish(
        self, envs: Sequence[Envelope], *, replay: bool = False, topic: str | None = None
    ) -> None:
        futs = []
        for e in envs:
            own = self.intake_topic if e.producer.service == "intake" else self.routing_topic
            t = topic or own
            headers = e.headers() + ([("bianmin-replay", b"1")] if replay else [])
            futs.append(
                await self.producer.send(
                    t, value=e.canonical(), key=e.stream_id.encode(), headers=headers
                )
            )
        await asyncio.gather(*futs)

    async def deliveries(self, case_id: str | None = None) -> list[asyncpg.Record]:
        if case_id is None:
            return list(await self.pool.fetch("SELECT * FROM deliveries ORDER BY created_at"))
        return list(
            await self.pool.fetch(
                "SELECT * FROM deliveries WHERE case_id = $1 ORDER BY template, channel", case_id
            )
        )

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        rows = await self.pool.fetch("SELECT envelope FROM events ORDER BY global_position")
        envs = [orjson.loads(r["envelope"]) for r in rows]
        return [e for e in envs if event_type is None or e["event_type"] == event_type]

    def sms_lines(self) -> list[dict[str, Any]]:
        if not self.sms_file.exists():
            return []
        return [orjson.loads(x) for x in self.sms_file.read_bytes().splitlines()]

    async def processed(self) -> int:
        c = self.app.state.intents_consumer
        return int(c.stats.processed + c.stats.duplicates)


VERIFICATION_SECRET = "notify-it-verification-secret-0123456789"
"""intake's secret of the residents' codes, which notify shares to fill in the receipt."""


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float = TIMEOUT, what: str = "a condition"
) -> None:
    await eventually(check, what=what, timeout=timeout)


async def wait_status(
    n: Notify, case_id: str, statuses: dict[str, int], timeout: float = TIMEOUT
) -> list[asyncpg.Record]:
    """The case's deliveries as they were once they had (at least) these counts per status."""

    def reached(rows: list[asyncpg.Record]) -> bool:
        have: dict[str, int] = {}
        for r in rows:
            have[r["status"]] = have.get(r["status"], 0) + 1
        return all(have.get(s, 0) >= c for s, c in statuses.items())

    return await eventually(
        lambda: n.deliveries(case_id),
        reached,
        what=f"deliveries of {case_id} to reach {statuses}",
        timeout=timeout,
        show=lambda rows: [(r["template"], r["channel"], r["status"]) for r in rows],
    )


@asynccontextmanager
async def running_notify(
    infra: Any,
    pg_schema: Any,
    topics: Any,
    tmp_path: Path,
    *,
    smtp_port: int | None = None,
    webhook_base: str | None = None,
    clock: FrozenClock | None = None,
    **settings: Any,
) -> AsyncIterator[Notify]:
    after_send = settings.pop("after_send", None)
    intake_t, routing_t, notify_t = await topics("intake", "routing", "notify")
    sms_file = tmp_path / "sms.jsonl"
    values: dict[str, Any] = {
        "database_url": infra.database_url,
        "database_schema": pg_schema.schema,
        "kafka_bootstrap_servers": infra.bootstrap,
        "topic_intake": intake_t,
        "topic_routing": routing_t,
        "topic_notify": notify_t,
        "consumer_group": f"notify-{uuid.uuid4().hex[:8]}",
        "sms_file": sms_file,
        "dispatch_poll_seconds": 0.05,
        "db_pool_min": 1,
        "verification_secret": VERIFICATION_SECRET,
    }
    if smtp_port is not None:
        values |= {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_timeout_seconds": 5}
    if webhook_base is not None:
        values |= {
            "resident_webhook_url": f"{webhook_base}/resident",
            "staff_webhook_url": f"{webhook_base}/staff",
            "webhook_secret": SECRET.decode(),
            "webhook_timeout_seconds": 5,
        }
    values |= settings
    s = Settings(**values)
    clock = clock or FrozenClock(T0)
    app = build(s, clock=clock.now, after_send=after_send)
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.bootstrap, **client_kwargs(), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        async with app.router.lifespan_context(app):
            yield Notify(app, s, clock, intake_t, routing_t, notify_t, producer, sms_file)
    finally:
        await producer.stop()
