"""One read-and-decode path: every read of the store hands out envelopes at their latest
schema version, decoded by the registry the store was built with.

A `routing.deadline_warning_issued` v1 (no `a_holder`/`b_holder`) is stored as it was
written; each read path of `eventkit.store` (and the command runner, which reads through it)
must return it as v2 with the two holders unknown (None), as a consumer of the topic does.
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts.base import payload_of
from contracts.upcasters import UPCASTERS
from eventkit.aggregate import CommandRunner
from eventkit.envelope import Actor, Producer
from eventkit.store import START, EventReader, PostgresEventStore

from .factories import T_READ as T0
from .factories import assert_v2, warning_v1

pytestmark = pytest.mark.integration


async def test_every_read_of_the_store_upcasts_a_stored_v1(eventkit_schema: Any) -> None:
    pool = await eventkit_schema.pool()
    try:
        raw_store = PostgresEventStore(pool)  # no registry: what was stored, as stored
        store = PostgresEventStore(pool, UPCASTERS)
        ids = [f"case-rp{i}" for i in range(10)]
        for sid in ids:
            await raw_store.append(sid, 0, [warning_v1(sid)])
        # stored as written: the rows are v1, nothing was rewritten
        (stored,) = await raw_store.read_stream(ids[0])
        assert stored.schema_version == 1 and "a_holder" not in stored.payload

        (env,) = await store.read_stream(ids[0])  # on the pool
        assert_v2(env)
        async with pool.acquire() as conn:
            (env,) = await store.read_stream(ids[0], conn=conn)  # in a caller's transaction
            assert_v2(env)
            assert await store.stream_version(ids[0], conn=conn) == 1
            # a few streams, each after its version (intake's submit): one OR query
            few = await store.read_streams({ids[0]: 0, ids[1]: 0, "case-none": 0}, conn=conn)
            assert few["case-none"] == [] and [len(few[s]) for s in ids[:2]] == [1, 1]
            for sid in ids[:2]:
                assert_v2(few[sid][0])
            # many streams read whole (analytics' switch): one = ANY query
            many = await store.reader.read_streams(conn, ids)
            assert list(many) == ids
            for sid in ids:
                assert_v2(many[sid][0])
            # a keyset page over a prefix (intake's projection rebuild)
            page = await store.reader.read_prefix(conn, "case-rp", limit=4)
            assert len(page) == 4 and page[0][0] < page[-1][0]
            for _, e in page:
                assert_v2(e)
            rest = await store.reader.read_prefix(conn, "case-rp", after_position=page[-1][0])
            assert len(rest) == 6
            # rows a caller's own query read (routing's lock-then-org query)
            rows = await conn.fetch("SELECT envelope FROM events WHERE stream_id = $1", ids[0])
            for e in store.reader.decode_rows(r[0] for r in rows):
                assert_v2(e)
            # a document that is not a whole envelope (audit's leaves): upcast, not validated
            doc = store.reader.decode_document(bytes(rows[0][0]))
            assert doc["schema_version"] == 2 and doc["payload"]["b_holder"] is None
        for stored_event in await store.read_all(START):
            assert_v2(stored_event.envelope)

        # the command runner reads through the store: on the pool and in a transaction
        runner: CommandRunner[list[int], Any] = CommandRunner(
            store,
            decide=lambda _cmd, _state, _now: [],
            evolve=lambda state, evt: [*state, evt.schema_version],
            initial=list,
            from_envelope=payload_of,
            to_payload=lambda e: e.model_dump(mode="json"),
            producer=Producer(service="test", instance="t"),
        )
        assert await runner.load(ids[0]) == ([2], 1)
        async with pool.acquire() as conn:
            assert (
                await runner.handle(
                    ids[0], object(), actor=Actor(id="x", role="officer"), now=T0, conn=conn
                )
            ).state == [2]
    finally:
        await pool.close()


def test_a_reader_without_a_registry_hands_out_what_was_stored() -> None:
    """The registry is what upcasts: the same bytes without one stay v1."""
    data = warning_v1("case-x").canonical()
    assert EventReader().decode(data).schema_version == 1
    assert_v2(EventReader(UPCASTERS).decode(data))
