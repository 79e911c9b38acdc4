"""Who sees and does what: queue scopes per role, reassignment by the head, tokens, and bad
input answered with the field and the reason (and nothing changed)."""

from __future__ import annotations

import pytest

from .support import accepted, at, new_case_id, running_routing, types_of

pytestmark = pytest.mark.integration

A = "ruian.mayu.jsb.a"


async def test_queue_scopes_reassignment_and_bad_input(infra, pg_schema, topics) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        mayu_case, island_case = new_case_id(), new_case_id()
        # the island case: a 北麂社区 resident hands in at the 东山街道 center
        await rt.publish(
            accepted(mayu_case),
            accepted(
                island_case,
                code="LS-001",
                community="ruian.dongshan.beiji",
                center="ruian.dongshan",
                staff="ruian.dongshan.agent1",
            ),
        )
        await rt.wait_case(mayu_case)
        island = (await rt.wait_case(island_case))["state"]
        assert (island["handling_unit_id"], island["handling_office_id"]) == (
            "ruian.dongshan",
            "ruian.dongshan.sbs",
        )

        def ids(r):  # type: ignore[no-untyped-def]
            assert r.status_code == 200, r.text
            return sorted(i["case_id"] for i in r.json()["items"])

        get = rt.client.get
        assert ids(await get("/v1/queue", headers=rt.tokens.inspector())) == sorted(
            [mayu_case, island_case]
        )
        assert ids(await get("/v1/queue", headers=rt.tokens.staff(A))) == [mayu_case]
        assert ids(await get("/v1/queue", headers=rt.tokens.staff("ruian.mayu.sbs.a"))) == []
        town_head = rt.tokens.staff("ruian.mayu.head", "center_head")
        assert ids(await get("/v1/queue", headers=town_head)) == [mayu_case]
        city_head = rt.tokens.staff("ruian.head", "center_head")
        assert ids(await get("/v1/queue", headers=city_head)) == sorted([mayu_case, island_case])
        community_head = rt.tokens.staff("ruian.mayu.mabei.head", "center_head")
        assert ids(await get("/v1/queue", headers=community_head)) == []
        carrier = rt.tokens.staff("ruian.mayu.mabei.agent1", "community_agent")
        assert ids(await get("/v1/queue", headers=carrier)) == [mayu_case]  # carried up by them
        assert (await rt.case(mayu_case, carrier)).status_code == 200
        assert ids(
            await get("/v1/queue?office_id=ruian.mayu.jsb&status=open", headers=town_head)
        ) == [mayu_case]
        assert ids(await get("/v1/queue?due_before=2026-10-27", headers=town_head)) == [mayu_case]
        assert ids(await get("/v1/queue?item_code=LS-001", headers=city_head)) == [island_case]
        assert ids(await get("/v1/queue?item_code=LS-002", headers=city_head)) == []
        assert ids(await get("/v1/queue?due_before=2026-10-26", headers=town_head)) == []

        r = await get("/v1/queue?office_id=ruian.dongshan.sbs", headers=town_head)
        assert r.status_code == 403 and r.json()["detail"]["field"] == "office_id"
        r = await get("/v1/queue?status=lost", headers=town_head)
        assert r.status_code == 422 and r.json()["detail"]["field"] == "status[0]"
        r = await get("/v1/queue?due_before=soon", headers=town_head)
        assert r.status_code == 422 and r.json()["detail"]["field"] == "due_before"
        r = await get("/v1/queue", headers=rt.tokens.admin())
        assert r.status_code == 403
        r = await get("/v1/queue")
        assert r.status_code == 401
        r = await get("/v1/queue", headers={"Authorization": "Bearer not-a-jwt"})
        assert r.status_code == 401

        r = await rt.case(island_case, rt.tokens.staff(A))
        assert r.status_code == 403 and r.json()["detail"]["field"] == "case_id"
        r = await rt.case(new_case_id())
        assert r.status_code == 404 and r.json()["detail"]["field"] == "case_id"
        r = await rt.client.get("/v1/cases/not-a-case", headers=rt.tokens.inspector())
        assert r.status_code == 422 and r.json()["detail"]["field"] == "case_id"

        # reassignment: the head of the handling center (or above), always with a reason
        path = f"/v1/cases/{mayu_case}/reassign"
        r = await rt.post(
            path, rt.tokens.staff(A), {"to_officer": "ruian.mayu.jsb.b", "reason": "x"}
        )
        assert r.status_code == 403  # officers do not reassign
        r = await rt.post(path, town_head, {"to_officer": "ruian.mayu.jsb.b", "reason": ""})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "reason"
        r = await rt.post(path, town_head, {"to_officer": "ruian.dongshan.sbs.a", "reason": "x"})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "to_officer"
        r = await rt.post(path, town_head, {"to_officer": "nobody", "reason": "x"})
        assert r.status_code == 404 and r.json()["detail"]["field"] == "to_officer"
        r = await rt.post(path, community_head, {"to_officer": "ruian.mayu.jsb.b", "reason": "x"})
        assert r.status_code == 403 and r.json()["detail"]["field"] == "actor"
        r = await rt.post(
            path, town_head, {"to_officer": "ruian.mayu.jsb.b", "reason": "A岗出差,转B岗办理"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"]["assigned_to"] == "ruian.mayu.jsb.b"
        assert ids(await get("/v1/queue?assignee=ruian.mayu.jsb.b", headers=town_head)) == [
            mayu_case
        ]
        # the case left A's hands: A may no longer decide
        r = await rt.post(
            f"/v1/cases/{mayu_case}/decision", rt.tokens.staff(A), {"decision": "approve"}
        )
        assert r.status_code == 403 and r.json()["detail"]["field"] == "actor"
        detail = (await rt.case(mayu_case)).json()
        assert types_of(detail)[-1] == "routing.case_reassigned"
        assert detail["trail"][-1]["actor"]["id"] == "ruian.mayu.head"

        # results cannot be returned before a decision; unknown cases are 404
        r = await rt.post(f"/v1/cases/{island_case}/result-return", rt.tokens.staff(A))
        assert r.status_code == 409 and r.json()["detail"]["field"] == "case_id"
        r = await rt.post(
            f"/v1/cases/{new_case_id()}/decision", rt.tokens.staff(A), {"decision": "approve"}
        )
        assert r.status_code == 404 and r.json()["detail"]["field"] == "case_id"
        r = await rt.post(
            f"/v1/cases/{mayu_case}/decision",
            rt.tokens.staff("ruian.mayu.jsb.b"),
            {"decision": "approve", "extra": 1},
        )
        assert r.status_code == 422 and r.json()["detail"]["field"] == "extra"
        r = await rt.post(
            f"/v1/cases/{mayu_case}/decision",
            {**rt.tokens.staff("ruian.mayu.jsb.b"), "Idempotency-Key": "has space"},
            {"decision": "approve"},
        )
        assert r.status_code == 422 and r.json()["detail"]["field"] == "Idempotency-Key"
        assert len((await rt.case(mayu_case)).json()["trail"]) == len(detail["trail"])
