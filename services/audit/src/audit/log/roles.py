"""Who may write what in the audit's own database (issue 18, finding 2).

The migrations run as the owner role (`AUDIT_MIGRATION_DATABASE_URL`); the service runs as a
role that owns nothing (`AUDIT_DATABASE_URL`). After every migration run the owner grants the
runtime role what it needs, and on the append-only tables only INSERT and SELECT: it cannot
UPDATE, DELETE or TRUNCATE them, and since it owns none of them the append-only triggers bind
it and it cannot `ALTER TABLE ... DISABLE TRIGGER` (nor, not being a superuser, set
`session_replication_role`). What a superuser or the owner can still do is caught outside the
database: published checkpoints (`audit.log.publish`), the checkpointer's refusal, the
integrity check and the witnesses.

At start the service checks its own role (`rewrite_powers`); a production start refuses a
role that could rewrite the log (`BIANMIN_DEVELOPMENT=1` turns that into a warning).
"""

from __future__ import annotations

import asyncpg

APPEND_ONLY = ("leaves", "nodes", "checkpoints", "cosignatures")
"""Tables the runtime role may only INSERT into and SELECT from."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def grant_runtime_role(conn: asyncpg.Connection, role: str) -> None:
    """On the owner's connection, after the migrations: everything on the schema's other
    tables, INSERT and SELECT only on the append-only ones. Nothing when the runtime role is
    the owner itself (a development set-up: `rewrite_powers` reports it)."""
    if role == await conn.fetchval("SELECT current_user"):
        return
    schema = await conn.fetchval("SELECT current_schema()")
    r, sch = _ident(role), _ident(schema)
    tables = ", ".join(_ident(t) for t in APPEND_ONLY)
    async with conn.transaction():
        await conn.execute(f"GRANT USAGE ON SCHEMA {sch} TO {r}")
        await conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {sch} TO {r}"
        )
        await conn.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {sch} TO {r}")
        await conn.execute(
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {tables} FROM {r}"
        )


async def rewrite_powers(conn: asyncpg.Connection) -> list[str]:
    """What the connected role could do to rewrite the log (empty: nothing)."""
    found: list[str] = []
    if await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
        found.append("the role is a superuser")
    rows = await conn.fetch(
        """SELECT c.relname,
                  pg_has_role(current_user, c.relowner, 'USAGE') AS owns,
                  has_table_privilege(c.oid, 'UPDATE') AS upd,
                  has_table_privilege(c.oid, 'DELETE') AS del,
                  has_table_privilege(c.oid, 'TRUNCATE') AS trunc
           FROM pg_class c
           WHERE c.relname = ANY($1::text[]) AND c.relkind = 'r'
             AND c.relnamespace = current_schema()::regnamespace
           ORDER BY c.relname""",
        list(APPEND_ONLY),
    )
    seen = {row["relname"] for row in rows}
    for name in APPEND_ONLY:
        if name not in seen:
            found.append(f"table {name} is not in the role's schema: its rights cannot be checked")
    for row in rows:
        if row["owns"]:
            found.append(f"the role owns {row['relname']} (its triggers do not bind the owner)")
        may = [p for p in ("upd", "del", "trunc") if row[p]]
        if may:
            names = {"upd": "UPDATE", "del": "DELETE", "trunc": "TRUNCATE"}
            found.append(f"the role may {'/'.join(names[p] for p in may)} {row['relname']}")
    return found
