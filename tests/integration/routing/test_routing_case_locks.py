"""A case command takes the case's `case_deadlines` row first (the deadline loop's lock
order, 7ef2f76) and reads the case only once it holds it: a command that waited for a
deadline check decides on the events that check wrote, with no lost race to retry."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from eventkit.envelope import Actor
from routing.domain.case import CheckDeadlines, DecideCase

from ...polling import blocked_by
from .support import accepted, at, new_case_id, running_routing

pytestmark = pytest.mark.integration

OFFICER = Actor(id="ruian.mayu.sbs.a", role="officer", org_id="ruian.mayu")


async def test_a_command_waits_for_the_deadline_row_then_sees_what_the_check_wrote(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        case_id = new_case_id()
        await rt.publish(accepted(case_id, code="LS-001"))
        before = await rt.wait_case(case_id)
        cases = rt.app.state.cases
        pool = rt.app.state.runtime.pool
        other = await asyncpg.connect(
            infra.database_url, server_settings={"search_path": pg_schema.schema}
        )
        async with pool.acquire() as checking, pool.acquire() as deciding:
            check = checking.transaction()
            await check.start()
            # the deadline loop's transaction: the warning is due (one working day left)
            warned = await cases.handle_in(
                checking,
                CheckDeadlines(case_id=case_id, actor=Actor(id="routing", role="system")),
                now=at(2026, 10, 10, 9),
            )
            assert [e.event_type for e in warned.envelopes] == ["routing.deadline_warning_issued"]
            # the row lock is held by the check (taken with the org read, rows or none)
            with pytest.raises(asyncpg.LockNotAvailableError):
                await other.execute(
                    "SELECT 1 FROM case_deadlines WHERE case_id = $1 FOR UPDATE NOWAIT", case_id
                )

            async def decide() -> int:
                async with deciding.transaction():
                    out = await cases.handle_in(
                        deciding,
                        DecideCase(case_id=case_id, actor=OFFICER, decision="approve"),
                        now=at(2026, 10, 10, 9, 5),
                    )
                return out.version

            decision = asyncio.create_task(decide())
            # the decision has run into the check's row lock (not merely been given time)
            await blocked_by(
                other,
                checking.get_server_pid(),
                waiter_pid=deciding.get_server_pid(),
                what="the decision to wait for the deadline check's row lock",
            )
            assert not decision.done()
            await check.commit()
            # no ConcurrencyError: the command read the case after the check committed
            version = await asyncio.wait_for(decision, 60)
        await other.close()
        assert version == len(before["trail"]) + 2
        detail = (await rt.case(case_id)).json()
        assert [e["event_type"] for e in detail["trail"][-2:]] == [
            "routing.deadline_warning_issued",
            "routing.case_decided",
        ]
        # one correlation id for the whole case, the deadline check's and the decision's too
        assert len({e["correlation_id"] for e in detail["trail"]}) == 1
