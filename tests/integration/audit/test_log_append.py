"""The append transaction on real PostgreSQL: leaves, nodes, state, offsets, dedup, rejects."""

from __future__ import annotations

import base64

import orjson
import pytest

from audit.log.append import AppendPipeline, RawRecord, append_records
from audit.log.integrity import check_full
from audit.log.store import tree_state
from tlog.hashing import leaf_hash
from tlog.tree import MemoryTree

from .support import APPLICANT, builder, envelope, submitted

pytestmark = pytest.mark.integration


def rec(
    value: bytes | None, offset: int, topic: str = "intake.events", partition: int = 0, headers=()
) -> RawRecord:  # type: ignore[no-untyped-def]
    return RawRecord(topic, partition, offset, value, headers)


async def _leaves(conn):  # type: ignore[no-untyped-def]
    return await conn.fetch("SELECT * FROM leaves ORDER BY idx")


async def _assert_matches_memory(conn) -> MemoryTree:  # type: ignore[no-untyped-def]
    rows = await _leaves(conn)
    mem = MemoryTree(leaf_hash(bytes(r["leaf"])) for r in rows)
    st = await tree_state(conn)
    assert st.size == mem.size == len(rows)
    assert st.root == mem.root()
    nodes = {
        (r["level"], r["idx"]): bytes(r["hash"]) for r in await conn.fetch("SELECT * FROM nodes")
    }
    assert nodes == dict(mem.nodes)
    return mem


async def test_valid_events_become_redacted_leaves_with_personal_data_beside(audit_conn) -> None:
    b = builder()
    envs = [
        submitted("case-1"),
        envelope("routing.case_assigned", "case-1", {"assigned_to": "off-1"}),
    ]
    out = await append_records(audit_conn, b, [rec(e.canonical(), i) for i, e in enumerate(envs)])
    assert (out.size_before, out.size, out.appended, out.rejected) == (0, 2, 2, 0)
    rows = await _leaves(audit_conn)
    assert [r["event_id"] for r in rows] == [e.event_id for e in envs]
    assert all(r["status"] == "accepted" for r in rows)
    leaf0 = bytes(rows[0]["leaf"])
    for v in ("张三", "330381199001011234", "13800000000", "HH-001", "育才社区1号"):
        assert v.encode() not in leaf0
    doc = orjson.loads(leaf0)
    assert doc["payload"]["applicant"]["name"].startswith("sha256:")
    assert doc["payload"]["applicant"]["registered_community_id"] == "c-yucai"
    pd = await audit_conn.fetchrow("SELECT * FROM personal_data WHERE idx = 0")
    fields = orjson.loads(pd["fields"])
    assert fields["/payload/applicant/id_number"] == APPLICANT["id_number"]
    assert set(orjson.loads(pd["keyed"])) == {
        "/payload/applicant/id_number",
        "/payload/applicant/household_no",
    }
    # the query facets (item, staff, reasons) are projected later, off the append path
    from audit.anomaly.rules import load_rules
    from audit.projector import project_batch

    assert await project_batch(audit_conn, load_rules()) == 2
    facets = {r["idx"]: r for r in await audit_conn.fetch("SELECT * FROM leaf_facets")}
    assert facets[0]["item_code"] == "second_child"
    assert facets[1]["staff_ids"] == ["agent-1", "off-1"]
    await _assert_matches_memory(audit_conn)
    offs = await audit_conn.fetch("SELECT * FROM consumer_offsets")
    assert [(r["topic"], r["partition"], r["next_offset"]) for r in offs] == [
        ("intake.events", 0, 2)
    ]


async def test_invalid_input_is_recorded_as_rejected_with_its_reason(audit_conn) -> None:
    b = builder()
    good = envelope("intake.application_accepted", "case-9", {"reason": "ok"})
    bad_env = orjson.loads(good.canonical())
    del bad_env["actor"]
    bad_env["event_id"] = "not-a-uuid"
    with_float = orjson.loads(good.canonical())
    with_float["payload"] = {"fee": 1.5}
    dlq_headers = [
        ("dlq.reason", b"handler_failed"),
        ("dlq.consumer", b"notify"),
        ("dlq.error", b"ValueError: boom"),
    ]
    records = [
        rec(b"{not json", 0),
        rec(orjson.dumps(bad_env), 1),
        rec(orjson.dumps(with_float), 2),
        rec(None, 3),
        rec(orjson.dumps([1, 2]), 4),
        rec(submitted("case-7").canonical(), 0, topic="intake.events.dlq", headers=dlq_headers),
        rec(good.canonical(), 5),
    ]
    out = await append_records(audit_conn, b, records)
    assert (out.appended, out.rejected) == (7, 6)
    rows = await _leaves(audit_conn)
    reasons = [r["reject_reason"] for r in rows]
    assert reasons[0].startswith("malformed JSON")
    assert reasons[1].startswith("invalid envelope") and "actor" in reasons[1]
    assert "event_id" in reasons[1]
    assert "float" in reasons[2]
    assert reasons[3] == "empty record (no value)"
    assert reasons[4] == "not a JSON object"
    assert reasons[5] == "dead-lettered by notify: handler_failed: ValueError: boom"
    assert reasons[6] is None and rows[6]["status"] == "accepted"
    for r in rows[:6]:
        assert r["status"] == "rejected" and r["event_id"] is None
        doc = orjson.loads(bytes(r["leaf"]))
        assert doc["rejected"] is True
        assert doc["reason"] == r["reject_reason"]
        assert (doc["topic"], doc["partition"], doc["offset"]) == (
            r["topic"],
            r["partition"],
            r["offset"],
        )
    # the raw bytes are kept as evidence...
    assert base64.b64decode(orjson.loads(bytes(rows[0]["leaf"]))["raw_b64"]) == b"{not json"
    # ...but personal data never enters the tree, even through a rejected message
    dlq_leaf = orjson.loads(bytes(rows[5]["leaf"]))
    assert dlq_leaf["raw_redacted"] is True
    assert b"330381199001011234" not in base64.b64decode(dlq_leaf["raw_b64"])
    assert await audit_conn.fetchval("SELECT count(*) FROM personal_data WHERE idx = 5") == 1
    await _assert_matches_memory(audit_conn)


async def test_redelivery_is_deduplicated_and_a_conflicting_duplicate_is_kept(audit_conn) -> None:
    b = builder()
    e1 = submitted("case-1")
    e2 = envelope("routing.case_assigned", "case-1", {"assigned_to": "off-1"})
    await append_records(audit_conn, b, [rec(e1.canonical(), 0), rec(e2.canonical(), 1)])
    # the outbox relay is at-least-once: the same events arrive again (new salts are drawn,
    # yet they are recognised as the same), plus one in the same batch twice
    tampered = orjson.loads(e2.canonical())
    tampered["payload"]["assigned_to"] = "off-666"
    e3 = envelope("routing.case_decided", "case-1", {"decided_by": "off-1"})
    out = await append_records(
        audit_conn,
        b,
        [
            rec(e1.canonical(), 2),
            rec(e3.canonical(), 3),
            rec(e3.canonical(), 4),
            rec(orjson.dumps(tampered), 5),
        ],
    )
    assert (out.appended, out.duplicates, out.rejected) == (2, 2, 1)
    rows = await _leaves(audit_conn)
    assert len(rows) == 4
    assert rows[2]["event_id"] == e3.event_id
    assert rows[3]["status"] == "rejected"
    assert rows[3]["reject_reason"].startswith(f"conflicting duplicate: event_id {e2.event_id}")
    assert "leaf 1" in rows[3]["reject_reason"]
    await _assert_matches_memory(audit_conn)
    assert await audit_conn.fetchval("SELECT next_offset FROM consumer_offsets") == 6


async def test_records_below_the_stored_offset_are_never_appended_twice(audit_conn) -> None:
    b = builder()
    envs = [envelope("intake.x_happened", f"case-{i}") for i in range(5)]
    await append_records(audit_conn, b, [rec(e.canonical(), i) for i, e in enumerate(envs[:3])])
    # a stale consumer re-reads offsets 1..4 (e.g. a second appender that lost the lease)
    out = await append_records(
        audit_conn, b, [rec(e.canonical(), i) for i, e in enumerate(envs) if i >= 1]
    )
    assert (out.stale, out.appended, out.size) == (2, 2, 5)
    await _assert_matches_memory(audit_conn)


async def test_many_batches_equal_the_in_memory_tree_and_erasure_keeps_the_tree(
    audit_conn,
) -> None:
    b = builder()
    offset = 0
    for batch in (1, 2, 3, 7, 16, 1, 33, 100):
        records = []
        for _ in range(batch):
            # each partition's offsets follow on (a jump would halt it: audit.log.gaps)
            records.append(
                rec(submitted(f"case-{offset}").canonical(), offset // 3, partition=offset % 3)
            )
            offset += 1
        await append_records(audit_conn, b, records)
    mem = await _assert_matches_memory(audit_conn)
    assert mem.size == offset
    # PIPL erasure: the personal data goes, the leaves and the tree stay verifiable
    await audit_conn.execute(
        "UPDATE personal_data SET salt = NULL, fields = NULL, keyed = NULL, erased_at = now()"
    )
    report = await check_full(audit_conn)
    assert report.ok, report.problems
    # and updating a leaf is refused by the append-only trigger
    with pytest.raises(Exception, match="append-only"):
        await audit_conn.execute("UPDATE leaves SET leaf = 'x'::bytea WHERE idx = 0")


async def test_the_pipeline_builds_ahead_but_commits_in_order_and_a_failure_loses_nothing(
    audit_conn,
) -> None:
    """AppendPipeline (what the appender runs): batch N+1 is built while batch N commits.
    A transaction that fails surfaces at the next push/drain; the batches after it were not
    appended, and starting again from the stored offsets appends each record exactly once."""
    b = builder()
    records = [rec(submitted(f"case-{i}").canonical(), i // 2, partition=i % 2) for i in range(300)]
    batches = [records[i : i + 50] for i in range(0, 300, 50)]
    calls = 0

    async def fail_the_third(conn, outcome) -> None:  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("database went away")

    pipeline = AppendPipeline(audit_conn, b, before_commit=fail_the_third)
    outcomes = []
    with pytest.raises(RuntimeError, match="went away"):
        for batch in batches:
            outcomes.append(await pipeline.push(batch))
        outcomes.append(await pipeline.drain())
    await pipeline.abort()
    assert [o.size for o in outcomes if o is not None] == [50, 100]
    assert (await tree_state(audit_conn)).size == 100
    # start over as the appender does: from the stored offsets (stale records are skipped)
    pipeline = AppendPipeline(audit_conn, b)
    for batch in batches:
        await pipeline.push(batch)
    last = await pipeline.drain()
    assert last is not None and last.size == 300
    mem = await _assert_matches_memory(audit_conn)
    assert mem.size == 300
    assert await audit_conn.fetchval("SELECT count(DISTINCT event_id) FROM leaves") == 300
