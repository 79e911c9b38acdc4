"""Issue 13 defect 7 at intake's edge: a receipt counted over 2027 (no official schedule yet) is
provisional in the resident's status view; when routing's routing.holiday_schedule_published
arrives, the open receipt is revised (intake.promised_date_revised, on intake's topic for
notify), the status view shows the firm date, and later receipts are counted by the schedule.

The 2027 notice here is MADE UP for the tests (chinesecalendar has no 2027 data).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import asyncpg
import pytest

from contracts.routing import HolidaySchedulePublished
from contracts.workdays import SHANGHAI
from devstack.topics import delete_topics, ensure_topics
from eventkit.testing import FrozenClock

from .support import (
    AGENT_MABEI,
    Harness,
    eventually,
    read_topic_until,
    routing_envelope,
    running_intake,
    second_child,
)

pytestmark = pytest.mark.integration

NOTICE = "国办发明电〔2026〕99号（测试用）"
CLOCK = FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture(scope="module")
async def intake(infra) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    """Intake on a clock the tests set (it starts on Mon 2 November 2026, when the catalog is
    seeded)."""
    tag = uuid.uuid4().hex[:10]
    schema = f"t_intake_{tag}"
    intake_topic, routing_topic = f"intake_{tag}.events", f"routing_{tag}.events"
    made = await ensure_topics(infra.bootstrap, [intake_topic, routing_topic], partitions=3)
    conn = await asyncpg.connect(infra.database_url)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    try:
        async with running_intake(
            infra.database_url,
            schema,
            infra.bootstrap,
            intake_topic,
            routing_topic,
            clock=CLOCK.now,
        ) as h:
            yield h
    finally:
        conn = await asyncpg.connect(infra.database_url)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
        await delete_topics(infra.bootstrap, made)


def published_2027() -> Any:
    evt = HolidaySchedulePublished(
        year=2027,
        notice_no=NOTICE,
        holidays=(date(2027, 1, 1), *(date(2027, 2, d) for d in range(5, 13))),
        makeup_workdays=(date(2027, 2, 20),),
        published_by="admin.ops",
    )
    return routing_envelope(evt, stream_id="org-ruian")


async def _submit(intake: Harness, when: datetime) -> dict[str, Any]:
    CLOCK.set(when)
    r = await intake.submit(AGENT_MABEI, second_child(), **{"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == "accepted"
    return body


async def _status(intake: Harness, case: dict[str, Any]) -> dict[str, Any]:
    r = await intake.client.get(
        "/v1/status", params={"receipt_no": case["receipt_no"], "code": case["verification_code"]}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_published_year_revises_the_open_receipt_and_the_status_view(
    intake: Harness,
) -> None:
    # given 二胎 (15 working days) accepted at 马北 on Wed 27 January 2027, and one accepted
    # on 2 November 2026 (due in 2026, nothing to revise)
    november = await _submit(intake, datetime(2026, 11, 2, 9, 30, tzinfo=SHANGHAI))
    spring = await _submit(intake, datetime(2027, 1, 27, 9, 30, tzinfo=SHANGHAI))
    assert spring["promised_completion_date"] == "2027-02-23"
    view = await _status(intake, spring)
    assert view["promised_date_provisional"] is True
    assert view["promised_date_provisional_years"] == [2027]
    assert "2027年" in view["promised_date_note_zh"]
    assert (await _status(intake, november))["promised_date_provisional"] is False

    # when routing's publication of 2027's schedule arrives
    await intake.publish_routing(published_2027())

    # then the open receipt is revised, with its reason, and the resident sees the firm date
    async def revised() -> list[dict[str, Any]]:
        trail = await intake.stream(spring["case_id"])
        return [e for e in trail if e["event_type"] == "intake.promised_date_revised"]

    (evt,) = await eventually(revised, what="intake.promised_date_revised on the open receipt")
    p = evt["payload"]
    assert (p["previous_date"], p["promised_completion_date"]) == ("2027-02-23", "2027-02-24")
    assert (p["reason"], p["year"], p["notice_no"], p["provisional_years"]) == (
        "holiday_schedule_published",
        2027,
        NOTICE,
        [],
    )
    view = await _status(intake, spring)
    assert view["promised_completion_date"] == "2027-02-24"
    assert (view["promised_date_provisional"], view["promised_date_note_zh"]) == (False, None)
    november_trail = await intake.stream(november["case_id"])
    assert "intake.promised_date_revised" not in {e["event_type"] for e in november_trail}

    # and the revision left intake for notify and audit
    await read_topic_until(
        intake.bootstrap,
        intake.intake_topic,
        lambda envs: any(e["event_type"] == "intake.promised_date_revised" for e in envs),
    )

    # and a receipt made now is counted by the published schedule
    later = await _submit(intake, datetime(2027, 1, 27, 11, 0, tzinfo=SHANGHAI))
    assert later["promised_completion_date"] == "2027-02-24"
    assert (await _status(intake, later))["promised_date_provisional"] is False
