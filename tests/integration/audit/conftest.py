from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from .support import migrate_audit


@pytest.fixture
async def audit_db(pg_schema):  # type: ignore[no-untyped-def]
    """A fresh schema with eventkit's and the audit service's migrations applied."""
    conn = await pg_schema.connect()
    try:
        await migrate_audit(conn)
    finally:
        await conn.close()
    return pg_schema


@pytest.fixture
async def audit_conn(audit_db) -> AsyncIterator[asyncpg.Connection]:  # type: ignore[no-untyped-def]
    conn = await audit_db.connect()
    yield conn
    await conn.close()
