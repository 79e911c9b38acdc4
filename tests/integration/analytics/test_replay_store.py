"""Replaying from the services' PostgreSQL event stores gives the same analytics tables as
replaying the same history from Kafka or a file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from eventkit import migrate

from ...unit.analytics.support import replay_file, small_history, tables, write_ndjson
from .support import bianmin, to_store

pytestmark = pytest.mark.integration


async def test_three_stores_replay_to_the_same_tables(infra, pg_schema, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    history = small_history()
    schemas = [f"{pg_schema.schema}_{svc}" for svc in ("intake", "routing", "notify")]
    admin = await asyncpg.connect(infra.database_url)
    try:
        for schema, svc in zip(schemas, ("intake", "routing", "notify"), strict=True):
            await admin.execute(f'CREATE SCHEMA "{schema}"')
            pool = await asyncpg.create_pool(
                infra.database_url, min_size=1, max_size=4, server_settings={"search_path": schema}
            )
            try:
                async with pool.acquire() as c:
                    await migrate.apply(c, migrate.eventkit_migrations())
                events = history.of(svc)
                # four writers, each owning some streams, as a service's requests interleave:
                # the store's global order is not the order the events happened in
                lanes = [[e for e in events if hash(e.stream_id) % 4 == i] for i in range(4)]
                await asyncio.gather(*(to_store(pool, lane) for lane in lanes))
            finally:
                await pool.close()
        db = tmp_path / "stores.duckdb"
        args = [a for s in schemas for a in ("--from-store", f"{infra.database_url}#{s}")]
        r = await asyncio.to_thread(bianmin, "replay", "analytics", *args, "--db", str(db), "-q")
        assert r.returncode == 0, r.stderr
        reference = tmp_path / "file.duckdb"
        await asyncio.to_thread(
            replay_file, write_ndjson(tmp_path / "h.ndjson", history), reference
        )
        a, b = tables(db, skip=("replay_info",)), tables(reference, skip=("replay_info",))
        for t in a:
            assert a[t] == b[t], t
        r = await asyncio.to_thread(
            bianmin,
            "replay",
            "analytics",
            "--from-store",
            f"{infra.database_url}#nowhere",
            "--db",
            str(tmp_path / "x.duckdb"),
        )
        assert r.returncode == 2 and "no `events` table" in r.stderr
    finally:
        for schema in schemas:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
