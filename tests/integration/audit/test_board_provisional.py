"""Issue 13 defect 7 on the public board: how many on-time verdicts and open promised dates rest
on a provisional holiday estimate (a year whose official schedule was not yet published); the
average working days are counted by the schedules published in the log, and counted again when
one is. Fed through the real log from intake's and routing's topics. The 2027 notice is MADE UP
for the test (chinesecalendar has no 2027 data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from contracts.workdays import SHANGHAI

from .support import (
    envelope,
    make_keys,
    producer,
    publish,
    running_audit,
    settings_for,
    wait_for,
    wait_size,
)

pytestmark = pytest.mark.integration


def accepted(case: str, years: list[int]) -> Any:
    payload = {
        "case_id": case,
        "item_code": "FP-002",
        "accepting_center_id": "c-yucai",
        "handling_tier": "town",
        "accepted_at": "2027-01-27T01:30:00+00:00",
        "provisional_years": years,
    }
    return envelope("intake.application_accepted", case, payload, minutes=1)


async def test_the_board_says_which_figures_rest_on_a_provisional_calendar(
    infra, pg_schema, topics
) -> None:
    intake, routing = await topics("intake", "routing")
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [intake, routing], keys)
    town = {"org_id": "t-anyang", "tier": "town"}
    decided = envelope(
        "routing.case_decided",
        "case-p",
        {"case_id": "case-p", "on_time": True, "provisional_years": [2027]},
        actor="off-zhao",
        role="officer",
        at=datetime(2027, 2, 24, 10, 0, tzinfo=SHANGHAI),
        **town,
    )
    published = envelope(
        "routing.holiday_schedule_published",
        "org-ruian",
        {
            "year": 2027,
            "notice_no": "国办发明电〔2026〕99号（测试用）",
            "holidays": ["2027-01-01", *(f"2027-02-{d:02d}" for d in range(5, 13))],
            "makeup_workdays": ["2027-02-20"],
            "supersedes": None,
            "reason": None,
            "published_by": "admin.ops",
        },
        actor="admin.ops",
        role="admin",
        org_id=None,
        tier=None,
        at=datetime(2027, 2, 25, 9, 0, tzinfo=SHANGHAI),
    )
    revised = envelope(
        "intake.promised_date_revised",
        "case-q",
        {"case_id": "case-q", "provisional_years": []},
        actor="intake",
        role="system",
        minutes=30,
    )
    intake_events = [
        accepted("case-p", [2027]),  # decided on time, by the estimate
        accepted("case-q", [2027]),  # open, revised when 2027 was published: firm now
        accepted("case-r", [2027]),  # open, still provisional
        accepted("case-s", []),  # open, firm from the start
        revised,
    ]
    async with running_audit(settings, keys) as (_app, client), producer(infra.bootstrap) as p:
        conn = await pg_schema.connect()
        try:
            await publish(p, intake, intake_events)
            await publish(p, routing, [decided])
            await wait_size(conn, len(intake_events) + 1)

            async def board() -> dict[str, Any] | None:
                rows = (await client.get("/v1/board/centers")).json()["rows"]
                row: dict[str, Any] | None = next(
                    (r for r in rows if r["id"] == "c-yucai" and r["decided"] == 1), None
                )
                return row if row and row["received"] == 4 else None

            row = await wait_for(board, 30)
            assert (row["on_time"], row["on_time_provisional"]) == (1, 1)
            assert row["open_promises_provisional"] == 1
            # 27 Jan - 24 Feb 2027 by the estimate: 28, 29 Jan, 1-4 Feb, 11-12, 15-19, 22-24
            assert row["avg_working_days"] == 16.0

            # when 2027's schedule is published (5-12 Feb off, Saturday 20 Feb worked), the
            # board counts the decided case's working days again by it
            await publish(p, routing, [published])
            await wait_size(conn, len(intake_events) + 2)

            async def recounted() -> dict[str, Any] | None:
                found = await board()
                return found if found and found["avg_working_days"] == 15.0 else None

            await wait_for(recounted, 30)
        finally:
            await conn.close()
