"""Issue 18, finding 3: gaps in the log are not silent.

The finding: after `notify.events` was deleted and recreated, the appender took every offset
below its stored one as "stale" and logged nothing: 3 new events never reached the log while
`/integrity` said ok and `/readyz` ready. Here, with a real Kafka: a recreated topic and a
forward jump of offsets each halt the partition (alarm in `/readyz`, an ERROR log line, a
`log_gap` anomaly), nothing is appended or skipped past, and only an admin's decision --
itself logged -- resumes it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from devstack.topics import delete_topics, ensure_topics
from eventkit.kafka_security import client_kwargs

from ...polling import eventually
from .support import (
    envelope,
    make_keys,
    producer,
    publish,
    running_audit,
    settings_for,
    wait_size,
)

pytestmark = pytest.mark.integration


def _events(prefix: str, n: int) -> list[Any]:
    return [envelope("notify.message_sent", f"{prefix}-{i}", {"n": i}) for i in range(n)]


async def _logged(conn, events) -> int:  # type: ignore[no-untyped-def]
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT count(*) FROM leaves WHERE event_id = ANY($1::uuid[])",
        [e.event_id for e in events],
    )


async def _recreate(bootstrap: str, topic: str) -> None:
    await delete_topics(bootstrap, [topic])

    async def made() -> bool:
        try:
            await ensure_topics(bootstrap, [topic], partitions=1)
        except Exception:  # still being deleted
            return False
        return True

    await eventually(made, what=f"{topic} to be created again")


async def _halts(client, keys) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = await client.get("/v1/admin/log/halts", headers=keys.headers("admin"))
    return r.json().get("halts", []) if r.status_code == 200 else []


async def _resolve_all(client, keys, reason: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    decisions = []
    while halts := await _halts(client, keys):
        r = await client.post(
            f"/v1/admin/log/halts/{halts[0]['id']}/decision",
            json={"reason": reason},
            headers=keys.headers("admin", sub="ops-zhang"),
        )
        assert r.status_code == 200, r.text
        decisions.append(r.json())
    return decisions


async def test_a_recreated_topic_halts_appending_until_an_operator_decides(
    infra, pg_schema, topics
) -> None:
    notify_t, audit_t = await topics("notify", "audit", partitions=1)
    keys = make_keys()
    settings = settings_for(
        infra,
        pg_schema.schema,
        [notify_t, audit_t],
        keys,
        append_discovery_seconds=0.5,
        outbox_topic=audit_t,  # the audit's own events come back into the log
    )
    before, after = _events("old", 3), _events("new", 3)
    async with running_audit(settings, keys) as (_app, client):
        conn = await pg_schema.connect()
        try:
            async with producer(infra.bootstrap) as p:
                await publish(p, notify_t, before)
            await eventually(lambda: _logged(conn, before), lambda n: n == 3, what="3 events")
            size0 = await conn.fetchval("SELECT size FROM tree_state")

            await _recreate(infra.bootstrap, notify_t)
            async with producer(infra.bootstrap) as p:
                await publish(p, notify_t, after)

            halts = await eventually(
                lambda: _halts(client, keys), lambda h: bool(h), what="an append halt"
            )
            print("\nhalt:", json.dumps(halts, ensure_ascii=False, indent=1))
            ready = await eventually(
                lambda: client.get("/readyz"),
                lambda r: r.status_code == 503,
                what="/readyz to report the halt",
            )
            print("/readyz:", ready.status_code, ready.json()["checks"]["appender"])
            assert "appending halted" in ready.json()["checks"]["appender"]
            assert notify_t in ready.json()["checks"]["appender"]
            flags = await eventually(
                lambda: conn.fetch("SELECT details FROM anomaly_flags WHERE rule_id = 'log_gap'"),
                lambda rows: bool(rows),
                what="a log_gap anomaly",
            )
            print("anomaly:", flags[0]["details"])
            assert {h["kind"] for h in halts} <= {"topic_recreated", "offset_rewound"}
            # nothing of the new topic was appended, nothing skipped past
            assert await _logged(conn, after) == 0
            assert (
                await conn.fetchval(
                    "SELECT next_offset FROM consumer_offsets WHERE topic = $1", notify_t
                )
                == 3
            )
            assert (
                await conn.fetchval("SELECT count(*) FROM leaves WHERE topic = $1", notify_t) == 3
            )

            decisions = await _resolve_all(client, keys, "notify.events recreated on purpose")
            print("decisions:", json.dumps(decisions, ensure_ascii=False))
            assert decisions and decisions[0]["decided_by"] == "admin:ops-zhang"
            await eventually(lambda: _logged(conn, after), lambda n: n == 3, what="the new events")
            assert (await wait_size(conn, size0 + 3)) >= size0 + 3
            ready = await eventually(
                lambda: client.get("/readyz"), lambda r: r.status_code == 200, what="ready again"
            )
            # the decision itself is in the log
            logged = await eventually(
                lambda: conn.fetch(
                    "SELECT leaf FROM leaves WHERE event_type = 'audit.log_halt_resolved'"
                ),
                lambda rows: bool(rows),
                what="the operator's decision in the log",
            )
            doc = json.loads(bytes(logged[0]["leaf"]))
            assert doc["payload"]["decided_by"] == "admin:ops-zhang"
            assert doc["payload"]["reason"] == "notify.events recreated on purpose"
        finally:
            await conn.close()


async def test_a_forward_jump_of_offsets_halts_appending_until_an_operator_decides(
    infra, pg_schema, topics
) -> None:
    (notify_t,) = await topics("notify", partitions=1)
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [notify_t], keys, append_discovery_seconds=0.5)
    first, lost, later = _events("a", 2), _events("lost", 3), _events("b", 2)
    conn = await pg_schema.connect()
    try:
        async with running_audit(settings, keys):
            async with producer(infra.bootstrap) as p:
                await publish(p, notify_t, first)
            await eventually(lambda: _logged(conn, first), lambda n: n == 2, what="2 events")
        # while the audit is down: 3 more events, then deleted from Kafka before it reads
        # them (offsets 2..4 gone), then 2 more
        async with producer(infra.bootstrap) as p:
            await publish(p, notify_t, lost)
            await publish(p, notify_t, later)
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap, **client_kwargs())
        await admin.start()
        try:
            await admin.delete_records({TopicPartition(notify_t, 0): RecordsToDelete(5)})
        finally:
            await admin.close()
        async with running_audit(settings, keys) as (_app, client):
            halts = await eventually(
                lambda: _halts(client, keys), lambda h: bool(h), what="an append halt"
            )
            print("\nhalt:", halts[0]["kind"], halts[0]["detail"])
            assert halts[0]["kind"] == "offset_jump"
            assert (halts[0]["expected_offset"], halts[0]["found_offset"]) == (2, 5)
            r = await client.get("/readyz")
            assert r.status_code == 503 and "appending halted" in r.json()["checks"]["appender"]
            assert await _logged(conn, later) == 0
            await _resolve_all(client, keys, "records 2..4 were deleted from Kafka by mistake")
            await eventually(lambda: _logged(conn, later), lambda n: n == 2, what="later events")
            assert await _logged(conn, lost) == 0
    finally:
        await conn.close()
