"""notify as its own process on the real Kafka and PostgreSQL, with a real local SMTP
server, webhook receiver and SMS file: a case's life in messages, published outcomes, and
no second message after a restart that re-reads everything."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.verification import verification_code
from devstack.common import free_port
from eventkit.dlq import topic_partitions
from eventkit.envelope import Envelope
from eventkit.kafka_security import client_kwargs

from ...integration.eventkit_consumer.support import wait_all_committed
from ...integration.notify.receivers import SmtpReceiver, WebhookReceiver
from ...polling import eventually
from ...unit.notify import factories as f

pytestmark = pytest.mark.e2e

SECRET = "e2e-webhook-secret"


async def start_notify(env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "notify",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with httpx.AsyncClient(timeout=3) as client:

        async def ready() -> bool:
            if proc.returncode is not None:
                out = await proc.stdout.read() if proc.stdout else b""
                raise AssertionError(f"notify exited early: {out.decode()[-3000:]}")
            try:
                return (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, what="notify /readyz")
    return proc


async def stop(proc: asyncio.subprocess.Process) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, out.decode()[-3000:]
    return out.decode()


async def publish(bootstrap: str, topic: str, envs: list[Envelope]) -> None:
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **client_kwargs(), acks="all", enable_idempotence=True
    )
    await p.start()
    try:
        futs = [
            await p.send(topic, e.canonical(), key=e.stream_id.encode(), headers=e.headers())
            for e in envs
        ]
        await asyncio.gather(*futs)
    finally:
        await p.stop()


async def read_topic(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    parts = await topic_partitions(bootstrap, topic)
    assert parts, f"no topic {topic}"
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, **client_kwargs(), group_id=None, enable_auto_commit=False
    )
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        end = await c.end_offsets(tps)
        out: list[dict[str, Any]] = []
        async with asyncio.timeout(20):
            for tp in tps:
                while await c.position(tp) < end[tp]:
                    got = await c.getmany(tp, timeout_ms=500)
                    out.extend(orjson.loads(r.value) for r in got.get(tp, []) if r.offset < end[tp])
        return out
    finally:
        await c.stop()


async def test_a_cases_messages_exactly_once_across_a_restart(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    intake_t, routing_t, notify_t = await topics("intake", "routing", "notify")
    port = free_port()
    sms_file = tmp_path / "sms.jsonl"
    group = f"notify-e2e-{uuid.uuid4().hex[:8]}"
    async with SmtpReceiver() as smtp, WebhookReceiver() as hooks:
        env = dict(
            os.environ,
            PYTHONUNBUFFERED="1",
            KAFKA_BOOTSTRAP_SERVERS=infra.bootstrap,
            NOTIFY_HTTP_PORT=str(port),
            NOTIFY_DATABASE_URL=infra.database_url,
            NOTIFY_DATABASE_SCHEMA=pg_schema.schema,
            NOTIFY_TOPIC_INTAKE=intake_t,
            NOTIFY_TOPIC_ROUTING=routing_t,
            NOTIFY_TOPIC_NOTIFY=notify_t,
            NOTIFY_CONSUMER_GROUP=group,
            NOTIFY_SMTP_HOST="127.0.0.1",
            NOTIFY_SMTP_PORT=str(smtp.port),
            NOTIFY_SMTP_TIMEOUT_SECONDS="5",
            NOTIFY_RESIDENT_WEBHOOK_URL=hooks.url("/resident"),
            NOTIFY_STAFF_WEBHOOK_URL=hooks.url("/staff"),
            NOTIFY_WEBHOOK_SECRET=SECRET,
            NOTIFY_WEBHOOK_TIMEOUT_SECONDS="5",
            NOTIFY_SMS_FILE=str(sms_file),
            # intake's secret, shared: the receipt's verification code is derived at send time
            NOTIFY_VERIFICATION_SECRET="notify-e2e-verification-secret-0123",
            BIANMIN_DEVELOPMENT="1",  # no token issuer/audience here (eventkit.production)
            NOTIFY_QUIET_HOURS="off",  # the wall clock decides here; quiet hours have own tests
            NOTIFY_MAX_EVENT_AGE_HOURS="0",  # the factories' events are dated 2026-03-02
            NOTIFY_DISPATCH_POLL_SECONDS="0.2",
        )
        case = f.new_case_id()
        intake_events = [
            f.submitted(case),
            f.missing_notified(case),
            f.accepted(case),
            f.result_delivered(case),
        ]
        routing_events = [
            f.unit_registered("mayu", "马屿镇", parent=None),
            f.unit_registered(),
            f.staff_registered("officer.b", "陈明"),
            f.case_routed(case),
            f.case_assigned(case, "officer.b", as_role="B", a_reason="absent:leave"),
            f.result_returned(case),
        ]
        proc = await start_notify(env, port)
        try:
            await publish(infra.bootstrap, intake_t, intake_events)
            await publish(infra.bootstrap, routing_t, routing_events)
            # resident: 4 messages x (sms, email, webhook); staff: 1 webhook
            expected = 13

            async def all_published() -> bool:
                evs = await read_topic(infra.bootstrap, notify_t)
                return sum(e["event_type"] == "notify.delivered" for e in evs) >= expected

            await eventually(all_published, what="13 notify.delivered events on Kafka")
            out = await stop(proc)
            assert '"msg":"stopped"' in out

            subjects = sorted(m.subject.split("】")[0] + "】" for m in smtp.mails)
            assert subjects == ["【一次性告知】", "【办结通知】", "【受理通知】", "【服务评价】"]
            notice = next(m for m in smtp.mails if m.subject.startswith("【一次性告知】"))
            for name in ("再生育申请审批表", "结婚证复印件", "夫妻双方一寸近期免冠照片"):
                assert notice.text.count(name) == 1
            assert len(hooks.at("/resident")) == 4
            (assignment,) = hooks.at("/staff")
            assert "（B岗：A岗请假）" in assignment.json["text"]
            assert all(r.signature_ok(SECRET.encode()) for r in hooks.requests)
            lines = sms_file.read_bytes().splitlines()
            assert len(lines) == 4
            # the receipt carries the code notify derived (no event holds it), on every channel
            code = verification_code(case, b"notify-e2e-verification-secret-0123")
            receipt = next(m for m in smtp.mails if m.subject.startswith("【受理通知】"))
            assert f"查询码 {code} " in receipt.text
            assert sum(f"查询码 {code} " in ln.decode() for ln in lines) == 1

            # restart with the same database and group, and re-publish everything: the
            # inbox absorbs it and no one hears anything twice
            proc = await start_notify(env, port)
            await publish(infra.bootstrap, intake_t, intake_events)
            await publish(infra.bootstrap, routing_t, routing_events)
            marker = f.new_case_id()  # a fresh case after the duplicates, to know they passed
            await publish(infra.bootstrap, intake_t, [f.submitted(marker), f.accepted(marker)])

            async def marker_sent() -> bool:
                evs = await read_topic(infra.bootstrap, notify_t)
                return sum(e["stream_id"] == marker for e in evs) >= 3

            await eventually(marker_sent, what="the marker case's receipts")
            # the marker is on another partition than the copies (and not on routing's topic
            # at all): what shows that every copy was consumed is the group's commit at the
            # ends of both topics; and nothing is left to send that a copy could have planned
            for topic in (intake_t, routing_t):
                await wait_all_committed(infra.bootstrap, group, topic)
            conn = await pg_schema.connect()
            try:
                await eventually(
                    lambda: conn.fetchval(
                        "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')"
                    ),
                    lambda n: n == 0,
                    what="no delivery left to send",
                )
            finally:
                await conn.close()
            await stop(proc)
            assert len(smtp.mails) == 4 + 1
            assert len(hooks.requests) == 5 + 1
            assert len(sms_file.read_bytes().splitlines()) == 4 + 1
            published = await read_topic(infra.bootstrap, notify_t)
            mine = [e for e in published if e["stream_id"] == case]
            assert len(mine) == expected
            assert all(e["producer"]["service"] == "notify" for e in mine)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
