"""No event that cannot be published is stored, and one stored before that rule (as an old
database holds it) blocks the relay loudly instead of killing it: `/readyz` says where and
why, the relay keeps its lease and retries, and `outbox skip` lets every later event through
exactly once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from eventkit import outbox
from eventkit.cli import app as cli
from eventkit.limits import PRODUCER_MAX_REQUEST_BYTES, EventTooLarge
from eventkit.loops import Backoff
from eventkit.relay import OutboxRelay, RelaySettings
from eventkit.service import ServiceRuntime, create_app
from eventkit.settings import ServiceSettings
from eventkit.store import PostgresEventStore

from ...polling import eventually
from .factories import make_event
from .outbox_support import oversized, read_to_end, store_directly

pytestmark = pytest.mark.integration


async def test_the_store_refuses_an_event_too_large_to_publish_and_writes_nothing(
    eventkit_schema,
) -> None:
    pool = await eventkit_schema.pool()
    store = PostgresEventStore(pool)
    try:
        fine = make_event("unit-1", 1)
        huge = make_event("unit-1", 2, name_zh="长" * 100_000)
        # one append with a too-large event in it: refused whole, naming the field
        with pytest.raises(EventTooLarge) as info:
            await store.append("unit-1", 0, [fine, huge])
        assert info.value.field == "name_zh"
        assert info.value.size > info.value.limit == store.max_event_bytes
        # the optimistic path, and inside a caller's transaction that already wrote
        with pytest.raises(EventTooLarge):
            await store.append("unit-1", None, [huge])
        async with pool.acquire() as conn:
            with pytest.raises(EventTooLarge):
                async with conn.transaction():
                    await store.append("unit-1", 0, [fine], conn=conn)
                    await store.append("unit-1", 1, [huge], conn=conn)
            assert await conn.fetchval("SELECT count(*) FROM events") == 0
        # what fits is stored as before
        await store.append("unit-1", 0, [fine])
        assert [e.event_id for e in await store.read_stream("unit-1")] == [fine.event_id]
    finally:
        await pool.close()


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


async def test_a_blocked_relay_reports_holds_on_and_skip_lets_every_later_event_through_once(
    infra, pg_schema, topics
) -> None:
    (topic,) = await topics("blocked")
    settings = ServiceSettings(
        service_name="relaytest",
        database_url=infra.database_url,
        database_schema=pg_schema.schema,
        kafka_bootstrap_servers=infra.bootstrap,
        db_pool_min=1,
        db_pool_max=4,
    )
    runtime = ServiceRuntime(settings)
    runtime.enable_outbox(
        topic,
        RelaySettings(
            batch_size=4,  # several batches before and after the bad event
            blocked_backoff=Backoff(initial=0.05, maximum=0.2),
        ),
    )
    app = create_app(runtime, "relay test")
    db = ["--database-url", infra.database_url, "--schema", pg_schema.schema]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://t")
        store, relay = runtime.store, runtime.relay
        assert store is not None and relay is not None
        before = [make_event("case-a", i) for i in range(6)]
        await store.append("case-a", 0, before)
        await eventually(lambda: relay.published == 6, what="the first events published")

        # an event no producer can send, stored as a database from before the limit holds it
        conn = await pg_schema.connect()
        try:
            bad = oversized("unit-x")
            position = await store_directly(conn, bad, 1)
        finally:
            await conn.close()
        after = [make_event("case-b", i) for i in range(7)]
        await store.append("case-b", 0, after)

        # the relay is blocked there, says so, stays alive and keeps retrying with its lease
        await eventually(lambda: relay.blocked_attempts >= 3, what="three attempts at the event")
        assert relay.health.state == "blocked"
        assert relay.health.reason is not None
        assert relay.health.reason.startswith(f"blocked at position {position}: ")
        assert "MessageSizeTooLargeError" in relay.health.reason
        assert str(bad.event_id) in relay.health.reason
        assert relay.has_lease and relay.health.restarts == 0  # no crash loop
        assert relay.published == 6
        r = await client.get("/readyz")
        assert r.status_code == 503
        ready = r.json()
        print("\n/readyz while blocked:", json.dumps(ready, ensure_ascii=False))
        assert ready["checks"]["outbox_relay"] == relay.health.reason
        assert ready["checks"]["postgres"] == "ok" and ready["checks"]["kafka"] == "ok"

        # the operator's view: status (exit 1 while blocked) and the event with its sizes
        code, out = await asyncio.to_thread(_cli, "outbox", "status", *db, "--json")
        assert code == 1, out
        (st,) = json.loads(out)
        assert st["relay"] == "relaytest" and st["backlog"] == 8
        assert st["blocked"]["position"] == position
        assert st["blocked"]["event_id"] == str(bad.event_id)
        assert st["blocked"]["attempts"] >= 1
        code, out = await asyncio.to_thread(_cli, "outbox", "show", *db, "--json")
        assert code == 0, out
        shown = json.loads(out)
        assert shown["position"] == position and shown["publishable"] is False
        assert shown["record_bytes"] > PRODUCER_MAX_REQUEST_BYTES
        assert shown["largest_fields"][0]["field"] == "name_zh"
        # only the event the relay is blocked at may be skipped
        code, out = await asyncio.to_thread(
            _cli, "outbox", "skip", *db, "--position", str(position + 1), "--reason", "x"
        )
        assert code == 2 and f"that is position {position}" in out

        # the documented recovery
        code, out = await asyncio.to_thread(
            _cli,
            "outbox",
            "skip",
            *db,
            "--position",
            str(position),
            "--reason",
            "3 MB name_zh from before the size limit (issue 11)",
            "--by",
            "ops.li",
        )
        assert code == 0, out
        assert f"position {position}" in out
        await eventually(lambda: relay.published == 6 + 7, what="the later events published")
        assert relay.health.describe() == "ok"
        r = await client.get("/readyz")
        assert r.status_code == 200, r.text
        more = [make_event("case-b", i) for i in range(7, 10)]
        await store.append("case-b", 7, more)
        await eventually(lambda: relay.published == 6 + 7 + 3, what="events appended afterwards")
        code, out = await asyncio.to_thread(_cli, "outbox", "status", *db, "--json")
        assert code == 0, out
        (st,) = json.loads(out)
        assert (st["backlog"], st["blocked"], st["skipped"]) == (0, None, 1)
        await client.aclose()

    # downstream: every other event exactly once, the skipped one never
    records = await read_to_end(infra.bootstrap, topic)
    seen = Counter(orjson.loads(r.value)["event_id"] for r in records)
    expected = {str(e.event_id) for e in before + after + more}
    assert set(seen) == expected
    assert set(seen.values()) == {1}
    # the skip is on record, and the event is still in the append-only store
    conn = await pg_schema.connect()
    try:
        skip = await conn.fetchrow("SELECT * FROM outbox_skips")
        assert skip["global_position"] == position and skip["event_id"] == bad.event_id
        assert (skip["skipped_by"], skip["reason"]) == (
            "ops.li",
            "3 MB name_zh from before the size limit (issue 11)",
        )
        assert skip["skipped_at"] is not None
        assert (
            await conn.fetchval("SELECT count(*) FROM events WHERE event_id = $1", bad.event_id)
            == 1
        )
        assert await conn.fetchval("SELECT count(*) FROM outbox_blocked") == 0
    finally:
        await conn.close()


async def test_a_skip_recorded_while_the_relay_is_down_is_honoured_when_it_starts(
    infra, eventkit_schema, topics
) -> None:
    """`outbox skip` works on a stopped service too: the relay starts past the event."""
    (topic,) = await topics("skip_down")
    name = f"down{uuid.uuid4().hex[:6]}"
    conn = await eventkit_schema.connect()
    pool = await eventkit_schema.pool()
    try:
        store = PostgresEventStore(pool)
        first = [make_event("c", i) for i in range(3)]
        await store.append("c", 0, first)
        position = await store_directly(conn, oversized("u"), 1)
        later = [make_event("d", i) for i in range(3)]
        await store.append("d", 0, later)
        # nothing published yet: the next event is the first one, not the big one
        view = await outbox.show(conn, name)
        assert view is not None and view.raw.event_id == str(first[0].event_id)
        assert view.publishable
        with pytest.raises(outbox.OutboxError, match="only that one may be skipped"):
            await outbox.skip(conn, name, position, reason="too big", by="ops")
        relay = OutboxRelay(
            infra.database_url,
            infra.bootstrap,
            topic,
            name,
            schema=eventkit_schema.schema,
            settings=RelaySettings(blocked_backoff=Backoff(initial=5.0, maximum=5.0)),
        )
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            await eventually(lambda: relay.health.state == "blocked", what="the relay blocked")
        finally:
            stop.set()
            await task
        assert relay.published == 3
        done = await outbox.skip(conn, name, position, reason="too big", by="ops")
        assert done.position == position
        relay = OutboxRelay(
            infra.database_url, infra.bootstrap, topic, name, schema=eventkit_schema.schema
        )
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            await eventually(lambda: relay.published == 3, what="the later events published")
        finally:
            stop.set()
            await task
        assert relay.blocked_attempts == 0
    finally:
        await pool.close()
        await conn.close()
    records = await read_to_end(infra.bootstrap, topic)
    seen = Counter(orjson.loads(r.value)["event_id"] for r in records)
    assert set(seen) == {str(e.event_id) for e in first + later}
    assert set(seen.values()) == {1}
