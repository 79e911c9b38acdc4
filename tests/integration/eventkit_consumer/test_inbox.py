"""The inbox on the real PostgreSQL: a claim is taken once, inside the handler's transaction."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from eventkit import inbox

from ...polling import blocked_by

pytestmark = pytest.mark.integration


async def test_a_claim_is_fresh_once_per_consumer(eventkit_schema) -> None:
    conn = await eventkit_schema.connect()
    try:
        eid = uuid.uuid4()
        async with conn.transaction():
            assert await inbox.claim(conn, "a", eid) is True
        async with conn.transaction():
            assert await inbox.claim(conn, "a", eid) is False
            assert await inbox.claim(conn, "b", str(eid)) is True  # another consumer
        assert await inbox.processed(conn, "a", eid)
        assert not await inbox.processed(conn, "c", eid)
    finally:
        await conn.close()


async def test_a_rolled_back_claim_leaves_nothing(eventkit_schema) -> None:
    conn = await eventkit_schema.connect()
    try:
        eid = uuid.uuid4()
        with pytest.raises(RuntimeError, match="handler failed"):
            async with conn.transaction():
                assert await inbox.claim(conn, "a", eid)
                raise RuntimeError("handler failed")
        async with conn.transaction():
            assert await inbox.claim(conn, "a", eid) is True
    finally:
        await conn.close()


async def test_claims_outside_a_transaction_are_refused(eventkit_schema) -> None:
    conn = await eventkit_schema.connect()
    try:
        with pytest.raises(RuntimeError, match="inside the handler's transaction"):
            await inbox.claim(conn, "a", uuid.uuid4())
        with pytest.raises(RuntimeError, match="inside the handler's transaction"):
            await inbox.claim_many(conn, "a", [uuid.uuid4()])
    finally:
        await conn.close()


async def test_claim_many_returns_only_the_fresh_ids(eventkit_schema) -> None:
    conn = await eventkit_schema.connect()
    try:
        old, new1, new2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        async with conn.transaction():
            assert await inbox.claim_many(conn, "a", [old]) == {old}
        async with conn.transaction():
            fresh = await inbox.claim_many(conn, "a", [old, new1, new2, new1])
        assert fresh == {new1, new2}
        async with conn.transaction():
            assert await inbox.claim_many(conn, "a", []) == set()
    finally:
        await conn.close()


async def test_racing_claims_have_one_winner(eventkit_schema) -> None:
    """Two consumers on the same event (a rebalance overlap): the second waits, then loses."""
    c1, c2 = await eventkit_schema.connect(), await eventkit_schema.connect()
    try:
        eid = uuid.uuid4()
        tx1 = c1.transaction()
        await tx1.start()
        assert await inbox.claim(c1, "a", eid)

        async def second() -> bool:
            async with c2.transaction():
                return await inbox.claim(c2, "a", eid)

        racing = asyncio.create_task(second())
        watcher = await eventkit_schema.connect()
        try:  # blocked on the first transaction's row (not merely given time to get there)
            await blocked_by(
                watcher,
                c1.get_server_pid(),
                waiter_pid=c2.get_server_pid(),
                what="the second claim to wait for the first transaction's row",
            )
        finally:
            await watcher.close()
        assert not racing.done()
        await tx1.commit()
        assert await asyncio.wait_for(racing, 60) is False
    finally:
        await c1.close()
        await c2.close()
