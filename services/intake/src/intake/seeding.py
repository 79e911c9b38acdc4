"""Publish the seeded catalog at start (`INTAKE_SEED_CATALOG`): the items when the catalog
stream is empty, then each seeded joint bundle (联办) the catalog does not hold yet.

The seed goes through the catalog decider like an admin's change, so every item and bundle
becomes an event (`CatalogItemPublished`, `JointBundlePublished`: validated, published to
Kafka, in the audit trail). All of it is one transaction under an advisory lock: two
instances starting together seed once, and a crash half-way seeds nothing. Bundles are
checked by code, so a catalog seeded before bundles existed gets them at its next start,
and one an admin already published (any version) is left as it is.
"""

from __future__ import annotations

import logging

from .domain.catalog import CATALOG_STREAM
from .domain.errors import DomainError
from .runtime import IntakeRuntime
from .seed_catalog import seed_bundle_commands, seed_commands

log = logging.getLogger("intake.seed")

_SEED_LOCK = 0x696E74616B65_01  # "intake" + 1


async def seed_catalog_if_empty(core: IntakeRuntime) -> int:
    """Returns the number of items and bundles published (0 when all were there)."""
    published = 0
    items = 0
    async with core.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SEED_LOCK)
        if not await core.store.stream_version(CATALOG_STREAM, conn=conn):
            for cmd in seed_commands():
                await core.handle_catalog(conn, cmd, actor=cmd.actor)
                items += 1
        held = await core.catalog.current(conn)
        bundles = 0
        for bundle_cmd in seed_bundle_commands():
            if bundle_cmd.bundle.code in held.bundles:
                continue
            try:
                await core.handle_catalog(conn, bundle_cmd, actor=bundle_cmd.actor)
            except DomainError as exc:
                # e.g. an admin retired a member item: that bundle is not seeded, intake starts
                log.warning(
                    "seeded bundle not published",
                    extra={
                        "bundle": bundle_cmd.bundle.code,
                        "field": exc.field,
                        "reason": exc.reason,
                    },
                )
                continue
            bundles += 1
        published = items + bundles
    if published:
        core.runtime.wake_relay()
        log.info("catalog seeded", extra={"items": items, "bundles": bundles})
    return published
