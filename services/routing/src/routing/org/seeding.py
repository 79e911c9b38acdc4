"""Seed Rui'an's org tree when the org stream is empty (`ROUTING_SEED_ORG`).

The seed is not a database load: each command of `seed_org_commands()` goes through the
org decider like an admin's, and the resulting events are appended to the org stream in
one append at version 0 — so the tree is published on the routing topic like any change,
and other services project it from there. Two instances starting together both try; the
expected version lets exactly one win and the other simply loads what was written.
"""

from __future__ import annotations

import logging
import uuid

from contracts.routing import ORG_STREAM_ID
from eventkit.envelope import Envelope
from eventkit.store import ConcurrencyError

from ..domain.org_admin import decide_org, evolve_org, initial_org_state
from ..runtime import RoutingRuntime
from ..seed_org import seed_org_commands
from .admin import org_runner

log = logging.getLogger("routing.seed")


async def seed_org_if_empty(ctx: RoutingRuntime) -> int:
    """Append the seed when the org stream is empty; the number of events appended."""
    async with ctx.pool.acquire() as conn:
        _, version = await ctx.org.current(conn)
    if version > 0:
        return 0
    now = ctx.clock()
    runner = org_runner(ctx)
    correlation = uuid.uuid4()
    state = initial_org_state()
    envelopes: list[Envelope] = []
    for command in seed_org_commands():
        events = decide_org(command, state, now)
        for evt in events:
            state = evolve_org(state, evt)
        envelopes += runner.wrap(
            ORG_STREAM_ID, events, actor=command.actor, now=now, correlation_id=correlation
        )
    try:
        await ctx.store.append(ORG_STREAM_ID, 0, envelopes)
    except ConcurrencyError:
        log.info("org stream seeded meanwhile by another instance")
        return 0
    log.info("org tree seeded", extra={"events": len(envelopes)})
    return len(envelopes)
