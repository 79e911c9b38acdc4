"""服务承诺制 at the edge: a deadline across the 2026 National Day, then warning, overdue and
escalation in that order (drill endpoint and the background loop); corrections stop the
clock; a withdrawn case never goes late."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.workdays import working_days_between

from ...polling import eventually
from .support import (
    accepted,
    at,
    correction_supplied,
    new_case_id,
    running_routing,
    types_of,
    withdrawn,
)

pytestmark = pytest.mark.integration

OFFICER = "ruian.mayu.sbs.a"  # 社保所, A holder
DRILL = "/v1/admin/clock/check-deadlines"
NOTICES = (
    "routing.deadline_warning_issued",
    "routing.case_overdue",
    "routing.case_escalated",
)


def social_insurance(case_id: str):  # type: ignore[no-untyped-def]
    """社保 (5 working days) accepted at 马北社区 on Tuesday 29 September 2026, 09:30."""
    return accepted(case_id, code="LS-001")


async def test_national_day_deadline_then_warning_overdue_escalation_in_order(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        case_id = new_case_id()
        await rt.publish(social_insurance(case_id))
        detail = await rt.wait_case(case_id)
        # 9/30, (10/1-10/7 holiday), 10/8, 10/9, Saturday 10/10 worked, Monday 10/12
        assert detail["state"]["due_date"] == "2026-10-12"
        assert detail["state"]["due_at"] == "2026-10-12T17:30:00+08:00"  # close of business
        assert detail["state"]["assigned_to"] == OFFICER

        async def drill(when, headers=None):  # type: ignore[no-untyped-def]
            r = await rt.client.post(
                DRILL, params={"now": when.isoformat()}, headers=headers or rt.tokens.admin()
            )
            assert r.status_code == 200, r.text
            return [e["event_type"] for e in r.json()["events"] if e["case_id"] == case_id]

        r = await rt.client.post(
            DRILL, params={"now": at(2026, 10, 20).isoformat()}, headers=rt.tokens.staff(OFFICER)
        )
        assert r.status_code == 403  # admin only
        r = await rt.client.post(
            DRILL, params={"now": "2026-10-20T10:00:00"}, headers=rt.tokens.admin()
        )
        assert r.status_code == 422 and r.json()["detail"]["field"] == "now"  # needs an offset

        assert await drill(at(2026, 10, 9, 17)) == []  # two working days left
        assert await drill(at(2026, 10, 10, 9)) == ["routing.deadline_warning_issued"]
        assert await drill(at(2026, 10, 10, 15)) == []
        assert await drill(at(2026, 10, 12, 17, 0)) == []  # due today, not late yet
        assert await drill(at(2026, 10, 12, 17, 31)) == [
            "routing.case_overdue",
            "routing.case_escalated",
        ]
        assert await drill(at(2026, 10, 13, 9)) == []
        assert await drill(at(2026, 10, 14, 17, 31)) == ["routing.case_escalated"]
        assert await drill(at(2026, 10, 20, 9)) == []

        detail = (await rt.case(case_id)).json()
        notices = [e for e in detail["trail"] if e["event_type"] in NOTICES]
        assert [e["event_type"] for e in notices] == [
            "routing.deadline_warning_issued",
            "routing.case_overdue",
            "routing.case_escalated",
            "routing.case_escalated",
        ]
        assert [e["occurred_at"] for e in notices] == sorted(e["occurred_at"] for e in notices)
        first, second = (e["payload"] for e in notices[2:])
        assert (first["level"], first["escalated_to"]) == (1, "ruian.mayu.head")
        assert (second["level"], second["escalated_to"]) == (2, "ruian.head")
        assert all(e["actor"]["role"] == "admin" for e in notices)  # the drill names its admin
        assert detail["state"]["escalation_level"] == 2

        # the queue flags it; the town head (and the city head) see it among their units
        head = rt.tokens.staff("ruian.mayu.head", "center_head")
        late = (await rt.client.get("/v1/queue?overdue=true", headers=head)).json()["items"]
        assert [i["case_id"] for i in late] == [case_id]
        assert late[0]["overdue"] is True and late[0]["escalation_level"] == 2
        city = rt.tokens.staff("ruian.head", "center_head")
        seen = (await rt.client.get("/v1/queue?unit_id=ruian.mayu", headers=city)).json()
        assert [i["case_id"] for i in seen["items"]] == [case_id]
        # nothing left to check for it
        async with rt.app.state.runtime.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM case_deadlines") == 0


async def test_the_background_loop_issues_the_warning_when_its_clock_says_so(
    infra, pg_schema, topics
) -> None:
    async with running_routing(
        infra,
        pg_schema.schema,
        topics,
        now=at(2026, 9, 29, 9, 31),
        deadline_check_interval_seconds=0.2,
    ) as rt:
        case_id = new_case_id()
        await rt.publish(social_insurance(case_id))
        await rt.wait_case(case_id)
        checker = rt.app.state.deadlines
        rounds = checker.rounds

        async def two_more_rounds() -> bool:
            return bool(checker.rounds > rounds + 1)

        # the loop ran after the routing: nothing was due
        await eventually(two_more_rounds, what="two more rounds of the deadline loop")
        assert types_of((await rt.case(case_id)).json())[-1] == "routing.deadline_set"

        rt.clock.set(at(2026, 10, 10, 9))  # the adjusted working Saturday before the due day
        detail = await rt.wait_case(
            case_id, lambda d: "routing.deadline_warning_issued" in types_of(d)
        )
        warning = detail["trail"][-1]
        assert warning["actor"] == {"id": "routing", "role": "system", "org_id": None}
        assert warning["payload"]["working_days_left"] == 1


async def test_a_correction_stops_the_clock_and_a_withdrawal_ends_it(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        paused, gone = new_case_id(), new_case_id()
        await rt.publish(social_insurance(paused), social_insurance(gone))
        await rt.wait_case(paused)
        await rt.wait_case(gone)

        rt.clock.set(at(2026, 10, 9, 10))
        officer = rt.tokens.staff(OFFICER)
        r = await rt.post(
            f"/v1/cases/{paused}/correction-request", officer, {"requested_materials": []}
        )
        assert r.status_code == 422 and r.json()["detail"]["field"] == "requested_materials"
        r = await rt.post(
            f"/v1/cases/{paused}/correction-request",
            rt.tokens.staff("ruian.mayu.sbs.b"),
            {"requested_materials": ["HOUSEHOLD_REG"]},
        )
        assert r.status_code == 403 and r.json()["detail"]["field"] == "actor"
        # free text is not a material of the catalog (contracts.corrections): 422, the field
        r = await rt.post(
            f"/v1/cases/{paused}/correction-request",
            officer,
            {"requested_materials": ["HOUSEHOLD_REG", "参保登记表(签字)"]},
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"]["field"] == "requested_materials[1]"
        r = await rt.post(
            f"/v1/cases/{paused}/correction-request",
            officer,
            {"requested_materials": ["HOUSEHOLD_REG", "APPLICATION_FORM"], "note": "签名缺失"},
        )
        assert r.status_code == 200, r.text
        correction_id = r.json()["state"]["correction_id"]
        assert r.json()["state"]["status"] == "correction_pending"

        await rt.publish(withdrawn(gone, at(2026, 10, 9, 11)))
        await rt.wait_case(gone, lambda d: d["state"]["status"] == "withdrawn")

        # long after the original due time: nothing, the clocks stand still or are gone
        r = await rt.client.post(
            DRILL, params={"now": at(2026, 10, 13, 18).isoformat()}, headers=rt.tokens.admin()
        )
        assert r.json()["events"] == []

        supplied_at = at(2026, 10, 14, 10)
        await rt.publish(correction_supplied(paused, correction_id, supplied_at))
        detail = await rt.wait_case(paused, lambda d: d["state"]["status"] == "open")
        reset = detail["trail"][-1]
        assert reset["event_type"] == "routing.deadline_set"
        assert reset["payload"]["reason"] == "correction_supplied"
        # the working days in (request day, supply day] come off the clock: 10/10 (worked
        # Saturday), 10/12, 10/13, 10/14 -> due four working days after 10/12
        assert working_days_between(date(2026, 10, 9), date(2026, 10, 14)) == 4
        assert reset["payload"]["paused_working_days"] == 4
        assert detail["state"]["due_date"] == "2026-10-16"
        received = detail["trail"][-2]
        assert received["event_type"] == "routing.correction_received"
        assert received["causation_id"] is not None

        queue = (await rt.client.get("/v1/queue?status=withdrawn", headers=officer)).json()
        assert [i["case_id"] for i in queue["items"]] == [gone]
