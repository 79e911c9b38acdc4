"""Routing as its own process on the real Kafka and PostgreSQL: intake's acceptance arrives on
Kafka, the case is routed to the town office with B on duty (A on leave), decided, returned
down the tiers, escalated when late, and followed up after a bad review — every step an
event on the routing topic naming its actor. Then SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime, time, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts.workdays import SHANGHAI, add_working_days
from devstack.common import free_port
from eventkit.kafka_security import client_kwargs

from ...integration.routing.support import (
    Tokens,
    accepted,
    evaluated,
    new_case_id,
    of_case,
    read_topic_until,
)
from ...polling import eventually

pytestmark = pytest.mark.e2e

A, B = "ruian.mayu.jsb.a", "ruian.mayu.jsb.b"


async def test_routing_process_routes_decides_returns_and_escalates(
    infra, pg_schema, topics
) -> None:
    intake_topic, routing_topic = await topics("intake", "routing")
    tokens = Tokens()
    port = free_port()
    env = dict(
        os.environ,
        PYTHONUNBUFFERED="1",
        KAFKA_BOOTSTRAP_SERVERS=infra.bootstrap,
        ROUTING_HTTP_PORT=str(port),
        ROUTING_DATABASE_URL=infra.database_url,
        ROUTING_DATABASE_SCHEMA=pg_schema.schema,
        ROUTING_TOPIC_INTAKE=intake_topic,
        ROUTING_TOPIC_ROUTING=routing_topic,
        ROUTING_CONSUMER_GROUP=f"routing-{port}",
        ROUTING_AUTH_PUBLIC_KEY=tokens.public_pem(),
        ROUTING_DRILL_ENDPOINTS="true",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "routing",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:

            async def ready() -> bool:
                assert proc.returncode is None, "routing exited early"
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, what="routing /readyz")

            # A is on leave for a month from yesterday: B takes the new case
            now = datetime.now(SHANGHAI).replace(microsecond=0)
            r = await client.post(
                "/v1/org/absences",
                headers=tokens.admin(),
                json={
                    "absence_id": "abs-e2e-a",
                    "staff_id": A,
                    "starts_at": (now - timedelta(days=1)).isoformat(),
                    "ends_at": (now + timedelta(days=30)).isoformat(),
                    "kind": "leave",
                },
            )
            assert r.status_code == 200, r.text

            case_id = new_case_id()
            producer = AIOKafkaProducer(
                bootstrap_servers=infra.bootstrap,
                **client_kwargs(),
                acks="all",
                enable_idempotence=True,
            )
            await producer.start()
            try:
                acceptance = accepted(case_id, when=now)
                await producer.send_and_wait(
                    intake_topic,
                    acceptance.canonical(),
                    key=case_id.encode(),
                    headers=acceptance.headers(),
                )

                async def queue() -> list[dict]:
                    q = await client.get("/v1/queue", headers=tokens.staff(B))
                    assert q.status_code == 200, q.text
                    return list(q.json()["items"])

                items = await eventually(queue, what="the case in B's queue")
                assert [i["case_id"] for i in items] == [case_id]
                due_at = datetime.fromisoformat(items[0]["due_at"])

                r = await client.post(
                    f"/v1/cases/{case_id}/decision",
                    headers=tokens.staff(A),
                    json={"decision": "approve"},
                )
                assert r.status_code == 403 and r.json()["detail"]["field"] == "actor"

                # late: the drill (admin) runs the check five working days after the due date,
                # past both escalations (the second waits two working days) whatever holidays
                # follow the due date of a case accepted today (a week of calendar days was
                # not enough when the due date fell before National Day or Spring Festival)
                late_day = add_working_days(due_at.astimezone(SHANGHAI).date(), 5)
                late = datetime.combine(late_day, time(12), tzinfo=SHANGHAI)
                drill = await client.post(
                    "/v1/admin/clock/check-deadlines",
                    params={"now": late.isoformat()},
                    headers=tokens.admin(),
                )
                assert drill.status_code == 200, drill.text
                assert [e["event_type"] for e in drill.json()["events"]] == [
                    "routing.deadline_warning_issued",
                    "routing.case_overdue",
                    "routing.case_escalated",
                    "routing.case_escalated",
                ]

                r = await client.post(
                    f"/v1/cases/{case_id}/decision",
                    headers={**tokens.staff(B), "Idempotency-Key": f"decide-{case_id}"},
                    json={"decision": "approve", "reason": "符合条件"},
                )
                assert r.status_code == 200, r.text
                r = await client.post(f"/v1/cases/{case_id}/result-return", headers=tokens.staff(B))
                assert r.status_code == 200, r.text

                review = evaluated(case_id, 1, now)
                await producer.send_and_wait(
                    intake_topic,
                    review.canonical(),
                    key=case_id.encode(),
                    headers=review.headers(),
                )
            finally:
                await producer.stop()

            published = await read_topic_until(
                infra.bootstrap,
                routing_topic,
                lambda envs: any(
                    e["event_type"] == "routing.bad_review_followup_opened"
                    for e in of_case(envs, case_id)
                ),
            )
            trail = of_case(published, case_id)
            assert [e["event_type"] for e in trail] == [
                "routing.case_routed",
                "routing.case_handed_off",
                "routing.case_assigned",
                "routing.deadline_set",
                "routing.deadline_warning_issued",
                "routing.case_overdue",
                "routing.case_escalated",
                "routing.case_escalated",
                "routing.case_decided",
                "routing.result_returned",
                "routing.bad_review_followup_opened",
            ]
            assigned = trail[2]["payload"]
            assert (assigned["assigned_to"], assigned["as_role"]) == (B, "B")
            assert assigned["a_unavailable_reason"] == "absent:leave"
            assert trail[8]["actor"]["id"] == B
            assert trail[9]["payload"]["final"] is True
            assert trail[9]["payload"]["to_unit_id"] == "ruian.mayu.mabei"
            assert trail[10]["payload"]["assigned_to"] == "ruian.mayu.mabei.head"
            assert all(e["actor"]["id"] for e in trail)
            assert [e["stream_version"] for e in trail] == list(range(1, len(trail) + 1))

        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, out.decode()[-3000:]
        assert b'"msg":"stopped"' in out
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
