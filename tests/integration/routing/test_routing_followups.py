"""好差评: a bad review from intake opens a follow-up for the accepting center's head, once;
the head answers it; an unanswered one goes overdue."""

from __future__ import annotations

import pytest

from ...polling import eventually
from .support import accepted, at, evaluated, new_case_id, running_routing, types_of

pytestmark = pytest.mark.integration

HEAD = "ruian.mayu.mabei.head"  # head of 马北社区, where the case was accepted
OPENED = "routing.bad_review_followup_opened"


async def test_a_bad_review_opens_one_followup_that_the_head_answers(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        case_id, good_case = new_case_id(), new_case_id()
        await rt.publish(accepted(case_id), accepted(good_case))
        await rt.wait_case(case_id)
        await rt.wait_case(good_case)

        rt.clock.set(at(2026, 10, 27, 10))
        review = evaluated(case_id, 2, at(2026, 10, 27, 9, 55))
        # the same review delivered twice, and a good review of another case
        await rt.publish(review, review, evaluated(good_case, 5, at(2026, 10, 27, 9, 56)))
        # all five records of the topic consumed (the copy and the good review too), so that
        # "once" and "none for the good one" are not read before they could be wrong
        stats = rt.app.state.intake_consumer.stats

        async def consumed() -> int:
            return int(stats.processed + stats.duplicates)

        await eventually(consumed, lambda n: n >= 5, what="the five records of the topic consumed")
        assert stats.duplicates >= 1  # the copy reached the inbox and was absorbed there
        detail = await rt.wait_case(case_id, lambda d: OPENED in types_of(d))
        opened = [e for e in detail["trail"] if e["event_type"] == OPENED]
        assert len(opened) == 1
        p = opened[0]["payload"]
        assert (p["assigned_to"], p["center_id"], p["score"]) == (HEAD, "ruian.mayu.mabei", 2)
        assert p["evaluation_ref"] == str(review.event_id)
        assert p["low_dimensions"] == ["attitude", "speed"]
        assert p["answer_due_at"] == "2026-10-30T17:30:00+08:00"  # 3 working days, COB
        assert opened[0]["causation_id"] == str(review.event_id)

        head = rt.tokens.staff(HEAD, "center_head")
        listed = (await rt.client.get("/v1/followups?answered=false", headers=head)).json()
        assert [f["followup_id"] for f in listed] == [p["followup_id"]]
        other_head = rt.tokens.staff("ruian.mayu.manan.head", "center_head")
        assert (await rt.client.get("/v1/followups", headers=other_head)).json() == []
        town_head = rt.tokens.staff("ruian.mayu.head", "center_head")
        assert len((await rt.client.get("/v1/followups", headers=town_head)).json()) == 1

        path = f"/v1/followups/{p['followup_id']}/answer"
        r = await rt.post(path, town_head, {"answer": "已了解"})
        assert r.status_code == 403 and r.json()["detail"]["field"] == "actor"
        r = await rt.post(path, rt.tokens.staff("ruian.mayu.jsb.a"), {"answer": "x"})
        assert r.status_code == 403  # officers do not answer follow-ups
        r = await rt.post(path, rt.tokens.admin(), {"answer": "管理员代答"})
        assert r.status_code == 403, r.text  # nor admins: the follow-up is the head's to answer
        assert r.json()["detail"]["reason"]
        r = await rt.post(path, head, {"answer": ""})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "answer"
        r = await rt.post(path, head, {"answer": "已电话回访申请人,说明办理进度并致歉"})
        assert r.status_code == 200, r.text
        assert [e["event_type"] for e in r.json()["events"]] == [
            "routing.bad_review_followup_answered"
        ]
        r = await rt.post(path, head, {"answer": "again"})
        assert r.status_code == 409 and r.json()["detail"]["field"] == "followup_id"
        r = await rt.post("/v1/followups/case-0.followup.1/answer", head, {"answer": "x"})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "followup_id"

        listed = (await rt.client.get("/v1/followups", headers=head)).json()
        assert listed[0]["answered"] is True and listed[0]["answered_on_time"] is True
        assert OPENED not in types_of((await rt.case(good_case)).json())


async def test_an_unanswered_followup_goes_overdue(infra, pg_schema, topics) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        case_id = new_case_id()
        await rt.publish(accepted(case_id))
        await rt.wait_case(case_id)
        # decided on time, so only the follow-up is left on the schedule
        rt.clock.set(at(2026, 10, 9, 10))
        r = await rt.post(
            f"/v1/cases/{case_id}/decision",
            rt.tokens.staff("ruian.mayu.jsb.a"),
            {"decision": "refuse", "reason": "不符合再生育条件"},
        )
        assert r.status_code == 200, r.text
        rt.clock.set(at(2026, 10, 12, 9))
        await rt.publish(evaluated(case_id, 1, at(2026, 10, 12, 9)))
        await rt.wait_case(case_id, lambda d: OPENED in types_of(d))

        r = await rt.client.post(
            "/v1/admin/clock/check-deadlines",
            params={"now": at(2026, 10, 15, 18).isoformat()},
            headers=rt.tokens.admin(),
        )
        assert [e["event_type"] for e in r.json()["events"]] == ["routing.followup_overdue"]
        head = rt.tokens.staff(HEAD, "center_head")
        listed = (await rt.client.get("/v1/followups", headers=head)).json()
        assert listed[0]["overdue"] is True and listed[0]["answered"] is False
