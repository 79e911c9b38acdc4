"""The writer lease: a PostgreSQL session advisory lock, so one audit instance writes.

The lock is held by the appender's own dedicated connection, and every append transaction runs
on that connection: the process that writes is, by construction, the one holding the lease.
If the process dies (kill -9 included) its connection closes and PostgreSQL releases the lock;
a standby instance polling `try_acquire` takes over. The key is derived from the schema name,
so several logs in one database (tests, tiers) do not contend.
"""

from __future__ import annotations

import asyncpg


def lease_name(schema: str) -> str:
    return f"audit.writer:{schema}"


async def try_acquire(conn: asyncpg.Connection, schema: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", lease_name(schema)
        )
    )


async def release(conn: asyncpg.Connection, schema: str) -> None:
    await conn.fetchval("SELECT pg_advisory_unlock(hashtextextended($1, 0))", lease_name(schema))
