"""Admin routes (staff identity, PIPL erasure) and the single-writer lease."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from audit.log.append import RawRecord, append_records
from audit.log.appender import Appender
from audit.log.integrity import check_full
from audit.log.leaf import keyed_hash

from ...polling import eventually
from .support import (
    HMAC_KEY,
    STAFF_ID_NUMBER,
    builder,
    envelope,
    make_keys,
    producer,
    publish,
    running_audit,
    settings_for,
    submitted,
    wait_for,
    wait_size,
)

pytestmark = pytest.mark.integration


async def test_staff_identity_and_erasure_are_admin_only_and_recorded(infra, pg_schema) -> None:
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, ["unused.events"], keys, run_writer=False)
    async with running_audit(settings, keys) as (_app, client):
        conn = await pg_schema.connect()
        try:
            e = submitted("case-1")
            await append_records(conn, builder(), [RawRecord("intake.events", 0, 0, e.canonical())])
            leaf_before = await conn.fetchval("SELECT leaf FROM leaves WHERE idx = 0")
            body = {"id_number": STAFF_ID_NUMBER.lower() + " ", "household_no": "HH-WANG"}
            path = "/v1/admin/staff/agent-wang/identity"
            for role in ("inspector", "officer"):
                r = await client.put(path, json=body, headers=keys.headers(role))
                assert r.status_code == 403
            r = await client.put(path, json=body, headers=keys.headers("admin", sub="adm-1"))
            assert r.status_code == 200, r.text
            keyed = orjson.loads(
                await conn.fetchval(
                    "SELECT keyed FROM staff_identity WHERE staff_id = $1", "agent-wang"
                )
            )
            # only keyed hashes are stored, normalized like the applicants'
            assert keyed == {
                "id_number": keyed_hash(HMAC_KEY, STAFF_ID_NUMBER),
                "household_no": keyed_hash(HMAC_KEY, "HH-WANG"),
            }
            # PIPL erasure: the personal data goes, the leaf stays, the log still verifies
            r = await client.delete(
                f"/v1/admin/personal-data/{e.event_id}", headers=keys.headers("inspector")
            )
            assert r.status_code == 403
            r = await client.delete(
                f"/v1/admin/personal-data/{e.event_id}", headers=keys.headers("admin", sub="adm-1")
            )
            assert r.status_code == 200 and r.json()["erased"] is True
            pd = await conn.fetchrow("SELECT * FROM personal_data WHERE idx = 0")
            assert pd["fields"] is None and pd["salt"] is None and pd["erased_at"] is not None
            assert await conn.fetchval("SELECT leaf FROM leaves WHERE idx = 0") == leaf_before
            assert (await check_full(conn)).ok
            r = await client.delete(
                f"/v1/admin/personal-data/{e.event_id}", headers=keys.headers("admin")
            )
            assert r.status_code == 404
            # both acts are audit events in the outbox, naming who did them
            rows = await conn.fetch(
                "SELECT envelope FROM events WHERE event_type IN "
                "('audit.staff_identity_set', 'audit.personal_data_erased')"
                " ORDER BY global_position"
            )
            docs = [orjson.loads(r["envelope"]) for r in rows]
            assert [d["event_type"] for d in docs] == [
                "audit.staff_identity_set",
                "audit.personal_data_erased",
            ]
            assert all(d["actor"]["id"] == "adm-1" for d in docs)
            assert b"330381" not in bytes(rows[0]["envelope"])  # no personal value in it
        finally:
            await conn.close()


async def test_only_the_lease_holder_appends_and_a_standby_takes_over(
    infra, pg_schema, topics
) -> None:
    (intake,) = await topics("intake")
    conn = await pg_schema.connect()
    from .support import migrate_audit

    await migrate_audit(conn)

    def appender() -> Appender:
        return Appender(
            dsn=infra.database_url,
            schema=pg_schema.schema,
            bootstrap=infra.bootstrap,
            topics=[intake, f"{intake}.dlq"],
            builder=builder(),
            poll_ms=50,
            lease_retry_seconds=0.1,
        )

    a, b = appender(), appender()
    ta, tb = asyncio.ensure_future(a.run()), asyncio.ensure_future(b.run())
    try:

        async def one_leader() -> bool:
            return a.stats.leader != b.stats.leader

        await wait_for(one_leader, what="one of the two appenders to take the lease")
        first, second, t_first = (a, b, ta) if a.stats.leader else (b, a, tb)

        async def appended(appender: Appender, n: int) -> None:
            # the stats count an append once its outcome is collected, after its commit:
            # the log's size can show it first
            async def count() -> int:
                return appender.stats.appended

            await eventually(count, lambda k: k >= n, what=f"{n} appends counted")

        async with producer(infra.bootstrap) as p:
            await publish(p, intake, [envelope("intake.x_done", f"c-{i}") for i in range(20)])
            await wait_size(conn, 20)
            await appended(first, 20)
            assert first.stats.appended == 20 and second.stats.appended == 0
            t_first.cancel()  # the leader goes away; its connection closes, the lock is freed

            async def took_over() -> bool:
                return second.stats.leader

            await wait_for(took_over, what="the standby to take the lease over")
            await publish(p, intake, [envelope("intake.x_done", f"d-{i}") for i in range(10)])
            await wait_size(conn, 30)
            await appended(second, 10)
        assert second.stats.appended == 10
        assert (await check_full(conn)).ok
        assert await conn.fetchval("SELECT count(DISTINCT event_id) FROM leaves") == 30
    finally:
        for t in (ta, tb):
            t.cancel()
        await asyncio.gather(ta, tb, return_exceptions=True)
        await conn.close()
