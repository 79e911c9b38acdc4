"""event_from_foreign_producer on real PostgreSQL: an envelope on routing's topic that names
intake as its producer (issue 18, finding 1) is logged like everything that travelled, and
the projection and the anomaly runner flag its case; the owner's own events flag nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from audit.anomaly.rules import load_rules
from audit.anomaly.runner import AnomalyRunner
from audit.log.append import RawRecord, append_records
from audit.projector import project_batch
from eventkit.envelope import Producer
from eventkit.store import PostgresEventStore

from .support import builder, envelope

pytestmark = pytest.mark.integration


async def test_an_event_naming_a_producer_that_does_not_own_its_topic_is_flagged(
    audit_db, audit_conn
) -> None:  # type: ignore[no-untyped-def]
    honest = envelope("routing.case_routed", "case-honest", {"case_id": "case-honest"})
    decided = {"case_id": "case-forged", "decision": "refuse", "reason": "FORGED over Kafka"}
    forged = envelope("routing.case_decided", "case-forged", decided).model_copy(
        update={"producer": Producer(service="intake", instance="forger")}
    )
    records = [
        RawRecord("routing.events", 0, i, e.canonical(), e.headers())
        for i, e in enumerate([honest, forged])
    ]
    out = await append_records(audit_conn, builder(), records)
    assert out.appended == 2  # the log keeps what travelled
    rules = load_rules()
    await project_batch(audit_conn, rules)
    pool = await audit_db.pool()
    try:
        runner = AnomalyRunner(
            pool, PostgresEventStore(pool), rules, grace_seconds=0, instance="test"
        )
        # the projection marks cases dirty at the wall clock's now()
        await runner.sweep(now=datetime.now(UTC) + timedelta(minutes=1))
    finally:
        await pool.close()
    flags = await audit_conn.fetch("SELECT rule_id, stream_id, details FROM anomaly_flags")
    foreign = [f for f in flags if f["rule_id"] == "event_from_foreign_producer"]
    assert [f["stream_id"] for f in foreign] == ["case-forged"]
    assert orjson.loads(foreign[0]["details"])["details"] == {
        "topic": "routing.events",
        "producer": "intake",
        "owner": "routing",
    }
    events = await audit_conn.fetch(
        "SELECT stream_id FROM events WHERE event_type = 'audit.anomaly_flagged'"
    )
    assert "case-forged" in {e["stream_id"] for e in events}
