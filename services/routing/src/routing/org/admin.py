"""Org administration at the edge: one admin command -> org events, appended atomically.

The tree is decided against the cached, caught-up `OrgState` (no re-fold of the whole org
stream per command) and appended at the version that state reflects: when another writer
(another instance, the seed) appended meanwhile, the append fails with `ConcurrencyError`
and the caller's transaction (the HTTP route's Idempotency-Key transaction) runs again, so
the command is decided again on the fresh tree.
"""

from __future__ import annotations

import uuid

import asyncpg

from contracts.base import payload_of, to_payload
from contracts.routing import ORG_STREAM_ID
from eventkit.aggregate import CommandRunner
from eventkit.envelope import Envelope

from ..domain.org_admin import OrgCommand, decide_org, evolve_org, initial_org_state
from ..domain.org_model import OrgState
from ..runtime import RoutingRuntime


def org_runner(ctx: RoutingRuntime) -> CommandRunner[OrgState, OrgCommand]:
    """Used for `wrap` only: envelopes naming the command's actor and this producer."""
    return CommandRunner(
        store=ctx.store,
        decide=decide_org,
        evolve=evolve_org,
        initial=initial_org_state,
        from_envelope=payload_of,
        to_payload=to_payload,
        producer=ctx.producer,
    )


class OrgAdmin:
    def __init__(self, ctx: RoutingRuntime) -> None:
        self.ctx = ctx

    async def decide_and_append(
        self, conn: asyncpg.Connection, command: OrgCommand
    ) -> tuple[list[Envelope], int]:
        """Inside the caller's transaction: the envelopes appended and the org version after
        them. Raises `DomainError` (nothing written) or `ConcurrencyError` (retry whole)."""
        state, version = await self.ctx.org.current(conn)
        now = self.ctx.clock()
        events = decide_org(command, state, now)
        envelopes = org_runner(self.ctx).wrap(
            ORG_STREAM_ID, events, actor=command.actor, now=now, correlation_id=uuid.uuid4()
        )
        if envelopes:
            await self.ctx.store.append(ORG_STREAM_ID, version, envelopes, conn=conn)
        return envelopes, version + len(envelopes)

    async def refresh(self) -> None:
        """Fold what was just committed, so the next command here sees it at once."""
        async with self.ctx.pool.acquire() as conn:
            await self.ctx.org.current(conn)
