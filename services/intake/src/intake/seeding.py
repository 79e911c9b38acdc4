"""Publish the seeded catalog at start when the catalog stream is empty (`INTAKE_SEED_CATALOG`).

The seed goes through the catalog decider like an admin's change, so every item becomes a
`CatalogItemPublished` event (validated, published to Kafka, in the audit trail). All of it
is one transaction under an advisory lock: two instances starting together seed once, and a
crash half-way seeds nothing.
"""

from __future__ import annotations

import logging

from .domain.catalog import CATALOG_STREAM
from .runtime import IntakeRuntime
from .seed_catalog import seed_commands

log = logging.getLogger("intake.seed")

_SEED_LOCK = 0x696E74616B65_01  # "intake" + 1


async def seed_catalog_if_empty(core: IntakeRuntime) -> int:
    """Returns the number of items published (0 if the catalog already had events)."""
    async with core.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SEED_LOCK)
        if await core.store.stream_version(CATALOG_STREAM, conn=conn):
            return 0
        commands = seed_commands()
        for cmd in commands:
            await core.handle_catalog(conn, cmd, actor=cmd.actor)
    core.runtime.wake_relay()
    log.info("catalog seeded", extra={"items": len(commands)})
    return len(commands)
