"""Issue 18 #6: the public board ran a full aggregate per unauthenticated request. Now each
answer is computed once per signed checkpoint; a new checkpoint brings new figures."""

from __future__ import annotations

import asyncio

import pytest

from .support import (
    case_events,
    catalog_events,
    make_keys,
    producer,
    publish,
    running_audit,
    settings_for,
    staff_events,
    wait_checkpoint,
    wait_for,
    wait_size,
)

pytestmark = pytest.mark.integration


async def test_the_board_is_computed_once_per_checkpoint(infra, pg_schema, topics) -> None:
    intake, routing = await topics("intake", "routing")
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [intake, routing], keys)
    a_in, a_rt = case_events("case-a", dirty=False)
    b_in, b_rt = case_events("case-b", dirty=True)
    async with running_audit(settings, keys) as (app, client), producer(infra.bootstrap) as p:
        conn = await pg_schema.connect()

        async def settled(n: int) -> int:
            """The log at `n` leaves, signed and projected."""
            await wait_size(conn, n)
            size = await wait_checkpoint(conn, n)

            async def projected() -> bool:
                last = await conn.fetchval(
                    "SELECT last_idx FROM projection_state WHERE name = 'main'"
                )
                return last is not None and last >= size - 1

            await wait_for(projected, what=f"the board projected up to {size}")
            return size

        try:
            first = catalog_events() + staff_events() + a_in
            await publish(p, intake, catalog_events() + a_in)
            await publish(p, routing, staff_events() + a_rt)
            size = await settled(len(first) + len(a_rt))

            answers = await asyncio.gather(*(client.get("/v1/board/centers") for _ in range(20)))
            answers += [await client.get("/v1/board/centers") for _ in range(20)]
            assert {r.status_code for r in answers} == {200}
            assert len({r.content for r in answers}) == 1
            (row,) = answers[0].json()["rows"]
            assert (row["id"], row["received"]) == ("c-yucai", 1)
            cache = app.state.audit.board_cache
            assert cache.computed == 1  # 40 requests, one aggregate

            # a new checkpoint: new figures, computed once more
            await publish(p, intake, b_in)
            await publish(p, routing, b_rt)
            await settled(size + len(b_in) + len(b_rt))
            for _ in range(10):
                r = await client.get("/v1/board/centers")
                (row,) = r.json()["rows"]
                assert row["received"] == 2
            assert cache.computed == 2
        finally:
            await conn.close()
