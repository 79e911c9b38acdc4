"""Issue 13 defect 7 at routing's edge: an admin publishes 2027's holiday schedule; the open case
due across Spring Festival 2027 is counted again (routing.deadline_recomputed, on the topic for
intake, notify and audit); the publication is validated and never changes a year silently; a
publication whose pass did not run (a crash) is finished by the deadline loop's next round.

The 2027 notice here is MADE UP for the tests (chinesecalendar has no 2027 data).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from eventkit.envelope import Actor
from routing.domain.org_admin import PublishHolidaySchedule

from .support import (
    accepted,
    at,
    new_case_id,
    of_case,
    read_topic_until,
    running_routing,
    types_of,
)

pytestmark = pytest.mark.integration

NOTICE = "国办发明电〔2026〕99号（测试用）"
SCHEDULE: dict[str, Any] = {
    "year": 2027,
    "notice_no": NOTICE,
    "holidays": [
        "2027-01-01",
        "2027-01-02",
        "2027-01-03",
        *(f"2027-02-{d:02d}" for d in range(5, 13)),
    ],
    "makeup_workdays": ["2027-02-20"],
}
PATH = "/v1/org/holiday-schedules"
DRILL = "/v1/admin/clock/check-deadlines"


def key() -> str:
    return str(uuid.uuid4())


def recomputed(detail: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in detail["trail"] if e["event_type"] == "routing.deadline_recomputed"]


async def test_publishing_2027_recomputes_the_open_case_due_across_spring_festival(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2027, 1, 27, 9, 31)) as rt:
        # given 二胎 (15 working days) accepted at 马北 on Wed 27 January 2027, and a case due
        # before 2027 (accepted 2 November 2026) that the publication does not touch
        spring, november = new_case_id(), new_case_id()
        await rt.publish(
            accepted(spring, when=at(2027, 1, 27, 9, 30)),
            accepted(november, when=at(2026, 11, 2, 9, 30)),
        )
        before = await rt.wait_case(spring)
        assert before["state"]["due_date"] == "2027-02-23"  # by the provisional estimate
        assert before["state"]["provisional_years"] == [2027]
        assert (await rt.wait_case(november))["state"]["provisional_years"] == []
        shown = await rt.client.get(PATH, params={"year": 2027}, headers=rt.tokens.admin())
        assert shown.status_code == 200, shown.text
        assert shown.json()["years"][0]["official"] is False

        # when the admin publishes 2027's notice
        r = await rt.post(PATH, rt.tokens.admin(), SCHEDULE, key=key())
        assert r.status_code == 200, r.text
        assert [e["event_type"] for e in r.json()["events"]] == [
            "routing.holiday_schedule_published"
        ]

        # then the case is counted again, firm, with the reason and the notice
        after = await rt.wait_case(spring, lambda d: bool(recomputed(d)))
        (evt,) = recomputed(after)
        p = evt["payload"]
        assert (p["previous_due_date"], p["due_date"]) == ("2027-02-23", "2027-02-24")
        assert (p["reason"], p["notices"], p["provisional_years"]) == (
            "holiday_schedule_published",
            [NOTICE],
            [],
        )
        assert after["state"]["due_date"] == "2027-02-24"
        assert after["state"]["due_at"] == "2027-02-24T17:30:00+08:00"
        assert after["state"]["provisional_years"] == []
        assert recomputed((await rt.case(november)).json()) == []
        queue = await rt.client.get("/v1/queue", headers=rt.tokens.inspector())
        assert queue.status_code == 200, queue.text
        row = next(i for i in queue.json()["items"] if i["case_id"] == spring)
        assert (row["due_date"], row["provisional_years"]) == ("2027-02-24", [])

        # and the event left routing for intake, notify and audit
        out = await read_topic_until(
            infra.bootstrap,
            rt.routing_topic,
            lambda envs: any(
                e["event_type"] == "routing.deadline_recomputed" for e in of_case(envs, spring)
            ),
        )
        assert any(e["event_type"] == "routing.holiday_schedule_published" for e in out)
        shown = await rt.client.get(PATH, params={"year": 2027}, headers=rt.tokens.admin())
        year = shown.json()["years"][0]
        assert (year["official"], year["notice_no"]) == (True, NOTICE)


async def test_a_publication_is_validated_and_never_changes_a_year_silently(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 12, 20)) as rt:
        officer = rt.tokens.staff("ruian.mayu.jsb.a")
        assert (await rt.post(PATH, officer, SCHEDULE, key=key())).status_code == 403
        weekday = {**SCHEDULE, "makeup_workdays": ["2027-02-22"]}
        r = await rt.post(PATH, rt.tokens.admin(), weekday, key=key())
        assert r.status_code == 422 and r.json()["detail"]["field"] == "makeup_workdays[0]"
        next_year = {**SCHEDULE, "holidays": [*SCHEDULE["holidays"], "2028-01-01"]}
        r = await rt.post(PATH, rt.tokens.admin(), next_year, key=key())
        assert r.status_code == 422 and r.json()["detail"]["field"] == "holidays[11]"
        r = await rt.post(PATH, rt.tokens.admin(), {**SCHEDULE, "holidays": []}, key=key())
        assert r.status_code == 422 and r.json()["detail"]["field"] == "holidays"

        assert (await rt.post(PATH, rt.tokens.admin(), SCHEDULE, key=key())).status_code == 200
        same = await rt.post(PATH, rt.tokens.admin(), SCHEDULE, key=key())
        assert same.status_code == 200 and same.json()["events"] == []  # already in force

        changed = {**SCHEDULE, "notice_no": "国办发明电〔2027〕1号", "makeup_workdays": []}
        r = await rt.post(PATH, rt.tokens.admin(), changed, key=key())
        assert r.status_code == 409 and r.json()["detail"]["field"] == "supersedes"
        assert NOTICE in r.json()["detail"]["reason"]
        superseding = {**changed, "supersedes": NOTICE, "reason": "国务院办公厅更正通知"}
        r = await rt.post(PATH, rt.tokens.admin(), superseding, key=key())
        assert r.status_code == 200, r.text
        shown = await rt.client.get(PATH, headers=rt.tokens.inspector())
        years = {y["year"]: y for y in shown.json()["years"]}
        assert shown.json()["revision"] == 2
        assert years[2027]["notice_no"] == "国办发明电〔2027〕1号"
        assert years[2027]["makeup_workdays"] == []


async def test_the_deadline_loop_finishes_a_publication_whose_pass_never_ran(
    infra, pg_schema, topics
) -> None:
    """Given the schedule committed by the org admin but no recompute pass after it (as if the
    process had died right after the commit), when the deadline loop's next round runs (the
    drill runs one round), then the open case is counted again."""
    async with running_routing(infra, pg_schema.schema, topics, now=at(2027, 1, 27, 9, 31)) as rt:
        case_id = new_case_id()
        await rt.publish(accepted(case_id, when=at(2027, 1, 27, 9, 30)))
        await rt.wait_case(case_id)
        c = rt.app.state.routing
        command = PublishHolidaySchedule(actor=Actor(id="admin.ops", role="admin"), **SCHEDULE)
        async with c.pool.acquire() as conn, conn.transaction():
            await rt.app.state.org_admin.decide_and_append(conn, command)
        assert recomputed((await rt.case(case_id)).json()) == []

        r = await rt.client.post(
            DRILL, params={"now": at(2027, 1, 27, 10).isoformat()}, headers=rt.tokens.admin()
        )
        assert r.status_code == 200, r.text
        assert [e["event_type"] for e in r.json()["events"] if e["case_id"] == case_id] == [
            "routing.deadline_recomputed"
        ]
        detail = (await rt.case(case_id)).json()
        assert detail["state"]["due_date"] == "2027-02-24"
        assert types_of(detail)[-1] == "routing.deadline_recomputed"
        again = await rt.client.post(
            DRILL, params={"now": at(2027, 1, 27, 10, 5).isoformat()}, headers=rt.tokens.admin()
        )
        assert [e for e in again.json()["events"] if e["case_id"] == case_id] == []
