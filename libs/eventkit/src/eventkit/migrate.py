"""Ordered SQL migrations, tracked in a table, safe to run any number of times.

Each service applies eventkit's own files first, then its own `migrations/*.sql`, in name
order, each in its own transaction, under an advisory lock so two starting instances do not
race. A file that was applied and later edited is refused (its checksum changed): migrations
are append-only, like the events.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import asyncpg

LOCK_KEY = 0x62_69_61_6E_6D_69_6E  # "bianmin"


def eventkit_migrations() -> list[tuple[str, str]]:
    files = resources.files("eventkit") / "migrations"
    return sorted(
        (f"eventkit/{f.name}", f.read_text(encoding="utf-8"))
        for f in files.iterdir()
        if f.name.endswith(".sql")
    )


def directory_migrations(folder: Path, prefix: str) -> list[tuple[str, str]]:
    return sorted(
        (f"{prefix}/{p.name}", p.read_text(encoding="utf-8")) for p in folder.glob("*.sql")
    )


class MigrationError(RuntimeError):
    pass


async def apply(conn: asyncpg.Connection, migrations: list[tuple[str, str]]) -> list[str]:
    """Apply what is missing; return the names applied now."""
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               name text PRIMARY KEY, checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        done = {
            r["name"]: r["checksum"]
            for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")
        }
        for name, sql in migrations:
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if name in done:
                if done[name] != checksum:
                    raise MigrationError(
                        f"migration {name} was changed after it was applied; "
                        "add a new migration file instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                    name,
                    checksum,
                )
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    return applied
