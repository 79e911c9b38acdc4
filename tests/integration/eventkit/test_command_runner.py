"""The command edge: decide on the stream's state, wrap with the actor, append; a lost race is
decided again on fresh state, so concurrent commands never double-apply."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from eventkit.aggregate import CommandRunner
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.store import PostgresEventStore

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)
CLERK = Actor(id="staff-7", role="officer", org_id="ruian.mayu")


@dataclass(frozen=True)
class Deposited:
    event_type: ClassVar[str] = "test.deposited"
    schema_version: ClassVar[int] = 1
    amount: int
    org_id: str = "ruian.mayu"
    tier: str = "town"


@dataclass(frozen=True)
class Deposit:
    amount: int


class Overdrawn(ValueError):
    pass


def decide(cmd: Deposit, balance: int, now: datetime) -> list[Deposited]:
    if cmd.amount == 0:
        return []
    if balance + cmd.amount < 0:
        raise Overdrawn("amount")
    return [Deposited(cmd.amount)]


def runner(store: PostgresEventStore) -> CommandRunner[int, Deposit]:
    return CommandRunner(
        store,
        decide,
        lambda s, e: s + e.amount,
        lambda: 0,
        from_envelope=lambda env: Deposited(**env.payload),
        to_payload=lambda e: {"amount": e.amount, "org_id": e.org_id, "tier": e.tier},
        producer=Producer(service="test", instance="t"),
    )


async def test_commands_wrap_actor_and_survive_races(eventkit_schema) -> None:
    pool = await eventkit_schema.pool(max_size=10)
    try:
        r = runner(PostgresEventStore(pool))
        out = await r.handle("acct-1", Deposit(5), actor=CLERK, now=NOW)
        (env,) = out.envelopes
        assert isinstance(env, Envelope) and env.actor == CLERK
        assert (env.org_id, env.tier, env.stream_version, out.state) == ("ruian.mayu", "town", 0, 5)
        # ten concurrent commands on one stream: each applied exactly once
        await asyncio.gather(
            *(r.handle("acct-1", Deposit(1), actor=CLERK, now=NOW) for _ in range(10))
        )
        assert await r.load("acct-1") == (15, 11)
        # a refused command writes nothing; a no-op command writes nothing
        with pytest.raises(Overdrawn):
            await r.handle("acct-1", Deposit(-100), actor=CLERK, now=NOW)
        assert (await r.handle("acct-1", Deposit(0), actor=CLERK, now=NOW)).envelopes == []
        assert await r.load("acct-1") == (15, 11)
        # inside a caller's transaction
        async with pool.acquire() as conn, conn.transaction():
            await r.handle("acct-1", Deposit(2), actor=CLERK, now=NOW, conn=conn)
        assert await r.load("acct-1") == (17, 12)
    finally:
        await pool.close()


async def test_a_stream_continues_its_correlation_and_a_caller_may_hand_in_the_stream(
    eventkit_schema,
) -> None:
    pool = await eventkit_schema.pool(max_size=4)
    try:
        r = runner(PostgresEventStore(pool))
        first = (await r.handle("acct-2", Deposit(5), actor=CLERK, now=NOW)).envelopes[0]
        # without continue_correlation every command starts a thread of its own
        other = (await r.handle("acct-2", Deposit(1), actor=CLERK, now=NOW)).envelopes[0]
        assert other.correlation_id != first.correlation_id
        async with pool.acquire() as conn, conn.transaction():
            out = await r.handle(
                "acct-2", Deposit(1), actor=CLERK, now=NOW, conn=conn, continue_correlation=True
            )
        assert out.envelopes[0].correlation_id == first.correlation_id
        out = await r.handle("acct-2", Deposit(1), actor=CLERK, now=NOW, continue_correlation=True)
        assert out.envelopes[0].correlation_id == first.correlation_id
        # a new stream has none to continue; a given correlation id always wins
        fresh = await r.handle(
            "acct-3", Deposit(1), actor=CLERK, now=NOW, continue_correlation=True
        )
        assert fresh.envelopes[0].correlation_id not in (None, first.correlation_id)
        given = fresh.envelopes[0].correlation_id
        out = await r.handle(
            "acct-2",
            Deposit(1),
            actor=CLERK,
            now=NOW,
            correlation_id=given,
            continue_correlation=True,
        )
        assert out.envelopes[0].correlation_id == given

        # the stream read by the caller in its transaction (here with other rows)
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT stream_id, envelope FROM events WHERE stream_id IN ('acct-2', 'acct-3')"
                " ORDER BY stream_id, stream_version"
            )
            stream = r.decode_rows(row[1] for row in rows if row[0] == "acct-2")
            out = await r.handle(
                "acct-2", Deposit(2), actor=CLERK, now=NOW, conn=conn, stream=stream
            )
            assert (out.state, out.version) == (11, 6)
        assert await r.load("acct-2") == (11, 6)
        with pytest.raises(ValueError):
            await r.handle("acct-2", Deposit(1), actor=CLERK, now=NOW, stream=stream)
    finally:
        await pool.close()
