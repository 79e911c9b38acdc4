"""A notice for several staff members through the real edge (Kafka, PostgreSQL, SMS file):
it waits until every one of them is known, then tells each exactly once (issue 13 #8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ...unit.notify import factories as f
from .support import running_notify, wait_status, wait_until

pytestmark = pytest.mark.integration


async def test_an_overdue_case_waits_for_both_holders_then_tells_each_once(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    async with running_notify(infra, pg_schema, topics, tmp_path) as n:
        case = f.new_case_id()
        overdue = f.case_overdue(case, "officer.a", a_holder="officer.a", b_holder="officer.b")
        await n.publish([f.submitted(case), f.accepted(case), overdue])
        await n.publish([f.staff_registered("officer.a", "李伟", phone="10057700001")])

        async def parked_on_b() -> bool:
            waiting = await n.pool.fetch("SELECT waiting_for FROM parked_events")
            return [r["waiting_for"] for r in waiting] == ["staff:officer.b"]

        # A is known now, B not yet: the notice waits (nobody is told half of it)
        await wait_until(parked_on_b, what="the overdue notice parked on officer.b")
        assert [r["template"] for r in await n.deliveries(case)] == ["resident_receipt"]

        await n.publish([f.staff_registered("officer.b", "陈明", phone="10057700002")])
        rows = await wait_status(n, case, {"delivered": 3})
        staff = [r for r in rows if r["recipient_kind"] == "staff"]
        assert sorted((r["recipient_id"], r["channel"], r["address"]) for r in staff) == [
            ("officer.a", "sms", "10057700001"),
            ("officer.b", "sms", "10057700002"),
        ]
        assert await n.pool.fetchval("SELECT count(*) FROM parked_events") == 0
        texts = {line["to"]: line["text"] for line in n.sms_lines()}
        assert "李伟，您好：您经办的案件" in texts["10057700001"]
        assert "陈明，您好：您所在岗位由李伟经办的案件" in texts["10057700002"]

        # the same event again (a redelivery): nobody is told twice
        before = await n.processed()
        await n.publish([overdue])

        async def absorbed() -> bool:
            return await n.processed() > before

        await wait_until(absorbed, what="the redelivered notice processed")
        assert len(await n.deliveries(case)) == len(rows)
        assert len(n.sms_lines()) == 3
