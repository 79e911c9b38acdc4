"""Routing reads its store through the one read path: a v1 event stored in routing's
`events` table is read as v2 by the case detail's trail, by a command's in-transaction load
and by the lock-then-org query (the org cache shares the runtime's reader)."""

from __future__ import annotations

import pytest

from routing.cases.service import _LOCK_THEN_ORG

from ..eventkit.factories import assert_v2, warning_v1
from .support import at, new_case_id, running_routing

pytestmark = pytest.mark.integration


async def test_a_stored_v1_is_read_as_v2_by_every_routing_read(infra, pg_schema, topics) -> None:  # type: ignore[no-untyped-def]
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 12, 7, 9, 0)) as rt:
        c = rt.app.state.routing
        case_id = new_case_id()
        await c.store.append(case_id, 0, [warning_v1(case_id)])
        assert c.org.reader is c.runtime.reader
        (env,) = await c.store.read_stream(case_id)  # GET /v1/cases/{id}
        assert_v2(env)
        async with c.pool.acquire() as conn, conn.transaction():
            (env,) = await c.store.read_stream(case_id, conn=conn)  # a command's load
            assert_v2(env)
            rows = await conn.fetch(_LOCK_THEN_ORG, case_id, case_id, 0)
            (env,) = c.org.reader.decode_rows(r[0] for r in rows)
            assert_v2(env)
