"""Blue/green rebuild of intake's `applications` projection from intake's real event store.

The live table is written the way intake writes it (the projection's `apply` inside the
append transaction); the rebuild must restore it exactly, serve the old version while the new
one builds, take in what is written meanwhile, and touch nothing else.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import date
from typing import Any

import asyncpg
import pytest

from analytics.errors import BadInput, ReplayFailed
from analytics.progress import Progress
from analytics.projections import rebuild
from analytics.spool import PAUSE_ENV
from bianmin_tools.projections import resolve
from bianmin_tools.simulate import GeneratorConfig, generate
from eventkit import migrate
from intake.bootstrap import MIGRATIONS
from intake.projections import applications
from intake.settings import DEV_VERIFICATION_SECRET

from ...polling import TIMEOUT, eventually
from ...unit.analytics.support import small_history
from .support import bianmin, to_store

pytestmark = pytest.mark.integration

SECRET = DEV_VERIFICATION_SECRET.encode()  # what intake's settings give without the env var


async def _project(conn: asyncpg.Connection, envs: list[Any]) -> None:
    await applications.apply(conn, envs, SECRET)


@pytest.fixture
async def intake_db(pg_schema):  # type: ignore[no-untyped-def]
    """An intake database: migrated, with the small history's intake events appended and
    projected the way the service does it."""
    conn = await pg_schema.connect()
    await migrate.apply(
        conn, migrate.eventkit_migrations() + migrate.directory_migrations(MIGRATIONS, "intake")
    )
    pool = await pg_schema.pool()
    await to_store(pool, small_history().of("intake"), on_append=_project)
    yield pg_schema, conn, pool
    await pool.close()
    for suffix in ("_bianmin_next", "_bianmin_prev"):
        await conn.execute(f'DROP SCHEMA IF EXISTS "{pg_schema.schema}{suffix}" CASCADE')
    await conn.close()


async def _rows(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await conn.fetch("SELECT * FROM applications ORDER BY case_id")]


async def _other_tables(conn: asyncpg.Connection) -> dict[str, str]:
    """A fingerprint of every other table of the schema (events, idempotency, inbox...)."""
    names = [
        r[0]
        for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename <> 'applications' ORDER BY 1"
        )
    ]
    out = {}
    for n in names:
        out[n] = await conn.fetchval(
            f"SELECT count(*)::text || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            f' FROM "{n}" t'
        )
    return out


def _spec(pg_schema):  # type: ignore[no-untyped-def]
    return resolve("intake", "applications", pg_schema.database_url, pg_schema.schema)


async def _rebuild(pg_schema, **kw):  # type: ignore[no-untyped-def]
    with Progress(quiet=True) as progress:
        return await rebuild(_spec(pg_schema), progress=progress, **kw)


async def _fresh_fold(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
    """What intake's own `rebuild()` makes of the store (in a transaction rolled back)."""
    tr = conn.transaction()
    await tr.start()
    try:
        await applications.rebuild(conn, SECRET)
        return await _rows(conn)
    finally:
        await tr.rollback()


async def test_a_dropped_projection_is_restored_exactly(intake_db) -> None:  # type: ignore[no-untyped-def]
    pg_schema, conn, _ = intake_db
    live = await _rows(conn)
    assert len(live) == small_history().cases
    others = await _other_tables(conn)
    await conn.execute("DELETE FROM applications")  # the projection is gone
    result = await _rebuild(pg_schema)
    assert result.switched and result.rows == len(live)
    assert await _rows(conn) == live  # every column of every row, as intake wrote it
    assert await _other_tables(conn) == others  # nothing else was touched: no event, no inbox
    # the replaced version is kept for a rollback, the build schema is gone
    prev = await conn.fetchval(
        f'SELECT count(*) FROM "{pg_schema.schema}_bianmin_prev".applications'
    )
    assert prev == 0
    assert not await conn.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname = $1", pg_schema.schema + "_bianmin_next"
    )


async def test_the_old_version_serves_while_the_new_one_builds_and_writes_are_not_lost(
    intake_db,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pg_schema, conn, pool = intake_db
    await conn.execute(
        "UPDATE applications SET status = 'garbled' WHERE case_id IN"
        " (SELECT case_id FROM applications ORDER BY case_id LIMIT 20)"
    )
    damaged = await _rows(conn)
    # --no-switch: green is built beside blue; blue is untouched and still answers
    built = await _rebuild(pg_schema, switch=False)
    assert not built.switched and built.schema.endswith("_bianmin_next")
    assert await _rows(conn) == damaged
    # now with the service writing new cases and reading all along
    more = [
        e
        for e in generate(
            GeneratorConfig(start=date(2026, 10, 19), end=date(2026, 10, 21), scale=0.05, seed=9)
        ).of("intake")
        if e.stream_id.startswith("case-")
    ]
    started, done = asyncio.Event(), asyncio.Event()
    seen: list[int] = []

    during: list[str] = []

    async def writer() -> None:
        await to_store(pool, more[:20], on_append=_project)
        started.set()
        rest = iter(more[20:])
        for e in rest:  # one command at a time, for as long as the rebuild runs
            await to_store(pool, [e], on_append=_project)
            during.append(e.stream_id)
            if done.is_set():
                break
            await asyncio.sleep(0.002)
        await to_store(pool, list(rest), on_append=_project)

    async def reader() -> None:
        async with pool.acquire() as c:
            while not done.is_set():
                seen.append(await c.fetchval("SELECT count(*) FROM applications"))
                await asyncio.sleep(0.005)

    # The fold stands still after its first page (the rebuild's tests-only pause point) until
    # the service has written and read meanwhile: "while the rebuild runs" is then a fact,
    # not a bet on which of the two is faster.
    folding, go_on = asyncio.Event(), asyncio.Event()

    async def hold(events: int, mark: list[int | None]) -> None:
        if not folding.is_set():
            folding.set()
            await go_on.wait()

    monkeypatch.setattr("analytics.projections.pause_if_asked", hold)
    w = asyncio.create_task(writer())
    r = asyncio.create_task(reader())
    await started.wait()
    rebuilding = asyncio.create_task(_rebuild(pg_schema, batch=50))
    await asyncio.wait_for(folding.wait(), TIMEOUT)
    wrote, read = len(during), len(seen)

    async def meanwhile() -> tuple[int, int]:
        assert not rebuilding.done(), rebuilding
        return len(during) - wrote, len(seen) - read

    await eventually(
        meanwhile,
        lambda n: n[0] >= 6 and n[1] >= 4,
        what="6 writes and 4 reads while the fold stands still (writes, reads)",
    )
    go_on.set()
    result = await rebuilding
    done.set()
    await asyncio.gather(w, r)
    assert result.switched
    assert len(during) > 5  # the service wrote while the rebuild was running
    assert seen == sorted(seen) and len(seen) > 3  # always served, never went backwards
    final = await _rows(conn)
    assert final == await _fresh_fold(conn)  # exactly the fold of the whole store
    statuses = {row[1] for row in final}
    assert "garbled" not in statuses
    cases = {e.stream_id for e in more}
    assert cases <= {row[0] for row in final}


async def test_refusals(intake_db) -> None:  # type: ignore[no-untyped-def]
    pg_schema, conn, _ = intake_db
    with pytest.raises(BadInput, match="unknown service 'audit'"):
        resolve("audit", "applications", None, None)
    with pytest.raises(BadInput, match="no projection 'receipts'"):
        resolve("intake", "receipts", None, None)
    # a rebuild already running holds the lock: a second one is refused
    other = await pg_schema.connect()
    try:
        await other.execute(
            "SELECT pg_advisory_lock(hashtextextended($1, 0))",
            f"bianmin-replay:{pg_schema.schema}.applications",
        )
        with pytest.raises(ReplayFailed, match="another rebuild"):
            await _rebuild(pg_schema)
    finally:
        await other.close()
    await conn.execute("DROP TABLE applications")
    with pytest.raises(BadInput, match="start intake once"):
        await _rebuild(pg_schema)


async def test_from_the_command_line(intake_db) -> None:  # type: ignore[no-untyped-def]
    pg_schema, conn, _ = intake_db
    live = await _rows(conn)
    await conn.execute("TRUNCATE applications")
    args = ["--dsn", pg_schema.database_url, "--schema", pg_schema.schema, "-q"]
    r = await asyncio.to_thread(
        bianmin, "replay", "projection", "--service", "intake", "--name", "applications", *args
    )
    assert r.returncode == 0, r.stderr
    assert "switched in" in r.stdout
    assert await _rows(conn) == live
    r = await asyncio.to_thread(
        bianmin, "replay", "projection", "--service", "intake", "--name", "nope", *args
    )
    assert r.returncode == 2 and "--name" in r.stderr


async def test_a_killed_rebuild_leaves_the_serving_table_untouched_and_can_restart(
    intake_db,  # type: ignore[no-untyped-def]
) -> None:
    pg_schema, conn, _ = intake_db
    await conn.execute(
        "DELETE FROM applications WHERE case_id IN"
        " (SELECT case_id FROM applications ORDER BY case_id LIMIT 30)"
    )
    serving = await _rows(conn)
    args = [
        "replay",
        "projection",
        "--service",
        "intake",
        "--name",
        "applications",
        "--dsn",
        pg_schema.database_url,
        "--schema",
        pg_schema.schema,
        "-q",
    ]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bianmin_tools",
        *args,
        env={**os.environ, PAUSE_ENV: "1000"},
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = await proc.stderr.readline()  # half-way through the fold
    assert b"paused after" in line, line
    green = await conn.fetchval(
        f'SELECT count(*) FROM "{pg_schema.schema}_bianmin_next".applications'
    )
    assert green > 0  # the new version was being built...
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert await _rows(conn) == serving  # ...and the old one served on, untouched
    r = await asyncio.to_thread(bianmin, *args)  # restart: the lock died with the session
    assert r.returncode == 0, r.stderr
    assert await _rows(conn) == await _fresh_fold(conn)
    assert len(await _rows(conn)) == len(serving) + 30
