"""The report's second-child case through routing: from intake's acceptance on Kafka to the
result back at the community, with every hand-off and actor on the trail; A/B posts."""

from __future__ import annotations

import uuid

import pytest

from .support import (
    accepted,
    at,
    catalog_published,
    new_case_id,
    of_case,
    read_topic_until,
    running_routing,
    types_of,
)

pytestmark = pytest.mark.integration

MABEI = "ruian.mayu.mabei"
MAYU = "ruian.mayu"
A, B = "ruian.mayu.jsb.a", "ruian.mayu.jsb.b"
AGENT = "ruian.mayu.mabei.agent1"


async def test_second_child_routed_assigned_decided_and_returned(infra, pg_schema, topics) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        case_id = new_case_id()
        await rt.publish(catalog_published("FP-002", at(2026, 9, 1)), accepted(case_id))
        detail = await rt.wait_case(case_id)

        state = detail["state"]
        assert state["status"] == "open"
        assert (state["handling_unit_id"], state["handling_office_id"]) == (MAYU, "ruian.mayu.jsb")
        assert state["route"] == [MABEI, MAYU]
        assert state["assigned_to"] == A and state["agent_id"] == AGENT
        assert types_of(detail) == [
            "routing.case_routed",
            "routing.case_handed_off",
            "routing.case_assigned",
            "routing.deadline_set",
        ]
        routed, hop, assigned, deadline = detail["trail"]
        assert routed["actor"]["role"] == "system" and routed["payload"]["routed_by"]
        assert (hop["payload"]["from_unit_id"], hop["payload"]["to_unit_id"]) == (MABEI, MAYU)
        assert hop["payload"]["direction"] == "up" and hop["payload"]["carried_by"] == AGENT
        assert assigned["payload"]["as_role"] == "A"
        assert assigned["payload"]["b_holder"] == B
        assert deadline["payload"]["due_date"] == "2026-10-26"  # 15 working days over National Day
        assert all(e["causation_id"] for e in detail["trail"])  # caused by intake's acceptance

        # the officer's queue, with the catalog's item name
        queue = (await rt.client.get(f"/v1/queue?assignee={A}", headers=rt.tokens.staff(A))).json()
        assert [i["case_id"] for i in queue["items"]] == [case_id]
        assert queue["items"][0]["item_name_zh"] == "再生育(二胎)申请审批"
        assert queue["items"][0]["overdue"] is False

        # someone else may not decide: 403 naming the actor, nothing written
        r = await rt.post(
            f"/v1/cases/{case_id}/decision", rt.tokens.staff(B), {"decision": "approve"}
        )
        assert r.status_code == 403 and r.json()["detail"]["field"] == "actor"
        assert A in r.json()["detail"]["reason"]
        # a refusal without reason is bad input
        r = await rt.post(
            f"/v1/cases/{case_id}/decision", rt.tokens.staff(A), {"decision": "refuse"}
        )
        assert r.status_code == 422 and r.json()["detail"]["field"] == "reason"
        r = await rt.post(f"/v1/cases/{case_id}/decision", rt.tokens.staff(A), {"decision": "ok"})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "decision"
        # inspectors change nothing
        r = await rt.post(
            f"/v1/cases/{case_id}/decision", rt.tokens.inspector(), {"decision": "approve"}
        )
        assert r.status_code == 403
        assert len((await rt.case(case_id)).json()["trail"]) == 4

        # the assignee decides; a retry with the same key returns the first result
        rt.clock.set(at(2026, 10, 9, 10))
        key = str(uuid.uuid4())
        body = {"decision": "approve", "reason": "材料齐全,符合再生育条件"}
        first = await rt.post(f"/v1/cases/{case_id}/decision", rt.tokens.staff(A), body, key)
        assert first.status_code == 200, first.text
        again = await rt.post(f"/v1/cases/{case_id}/decision", rt.tokens.staff(A), body, key)
        assert again.status_code == 200 and again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"
        other = await rt.post(
            f"/v1/cases/{case_id}/decision",
            rt.tokens.staff(A),
            {"decision": "refuse", "reason": "x"},
            key,
        )
        assert other.status_code == 422 and other.json()["detail"]["field"] == "Idempotency-Key"
        assert first.json()["state"]["status"] == "decided"
        assert [e["event_type"] for e in first.json()["events"]] == ["routing.case_decided"]

        # a second decision is the wrong state
        r = await rt.post(f"/v1/cases/{case_id}/decision", rt.tokens.staff(A), body)
        assert r.status_code == 409 and r.json()["detail"]["field"] == "case_id"

        # the result goes back down to the community
        r = await rt.post(f"/v1/cases/{case_id}/result-return", rt.tokens.staff(A))
        assert r.status_code == 200, r.text
        detail = (await rt.case(case_id)).json()
        assert detail["state"]["status"] == "result_returned"
        returned = [e for e in detail["trail"] if e["event_type"] == "routing.result_returned"]
        assert [(e["payload"]["from_unit_id"], e["payload"]["to_unit_id"]) for e in returned] == [
            (MAYU, MABEI)
        ]
        assert returned[-1]["payload"]["final"] is True
        assert returned[-1]["payload"]["carried_by"] == AGENT
        decided = next(e for e in detail["trail"] if e["event_type"] == "routing.case_decided")
        assert decided["actor"]["id"] == A and decided["payload"]["on_time"] is True
        # one correlation id for the whole case, continuing intake's
        assert len({e["correlation_id"] for e in detail["trail"]}) == 1

        # every event reached the routing topic (the relay), in order
        published = await read_topic_until(
            infra.bootstrap,
            rt.routing_topic,
            lambda envs: len(of_case(envs, case_id)) >= len(detail["trail"]),
        )
        assert [e["event_type"] for e in of_case(published, case_id)] == types_of(detail)
        assert any(e["event_type"] == "routing.org_unit_registered" for e in published)


async def test_b_is_assigned_when_a_is_absent_and_both_are_recorded(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        absence = {
            "absence_id": "abs-jsb-a-1",
            "staff_id": A,
            "starts_at": at(2026, 9, 28, 8).isoformat(),
            "ends_at": at(2026, 10, 9, 18).isoformat(),
            "kind": "training",
            "reason": "市级业务培训",
        }
        r = await rt.post("/v1/org/absences", rt.tokens.staff(A), absence)
        assert r.status_code == 403  # only admins maintain reference data
        key = str(uuid.uuid4())
        r = await rt.post("/v1/org/absences", rt.tokens.admin(), absence, key)
        assert r.status_code == 200, r.text
        assert [e["event_type"] for e in r.json()["events"]] == ["routing.staff_absence_recorded"]
        r2 = await rt.post("/v1/org/absences", rt.tokens.admin(), absence, key)
        assert r2.content == r.content  # replayed, not recorded twice
        r3 = await rt.post("/v1/org/absences", rt.tokens.admin(), absence)
        assert r3.status_code == 409 and r3.json()["detail"]["field"] == "absence_id"

        case_id = new_case_id()
        await rt.publish(accepted(case_id))
        detail = await rt.wait_case(case_id)
        assigned = next(e for e in detail["trail"] if e["event_type"] == "routing.case_assigned")
        p = assigned["payload"]
        assert (p["assigned_to"], p["as_role"]) == (B, "B")
        assert (p["a_holder"], p["a_unavailable_reason"]) == (A, "absent:training")
        assert p["b_holder"] == B and p["b_unavailable_reason"] is None

        queue_b = (await rt.client.get("/v1/queue", headers=rt.tokens.staff(B))).json()
        assert [i["case_id"] for i in queue_b["items"]] == [case_id]
        assert queue_b["items"][0]["assigned_to"] == B
        # A sees the office's queue too (same office), but the case is B's to decide
        r = await rt.post(
            f"/v1/cases/{case_id}/decision", rt.tokens.staff(A), {"decision": "approve"}
        )
        assert r.status_code == 403 and r.json()["detail"]["field"] == "actor"
        r = await rt.post(
            f"/v1/cases/{case_id}/decision", rt.tokens.staff(B), {"decision": "approve"}
        )
        assert r.status_code == 200, r.text

        # the org tree shows the absence to admins only
        tree = (
            await rt.client.get(f"/v1/org/tree?unit_id={MAYU}", headers=rt.tokens.admin())
        ).json()
        assert [a["absence_id"] for a in tree["units"][0]["absences"]] == ["abs-jsb-a-1"]
        tree = (
            await rt.client.get(f"/v1/org/tree?unit_id={MAYU}", headers=rt.tokens.staff(B))
        ).json()
        assert "absences" not in tree["units"][0]
        assert {c["unit_id"] for c in tree["units"][0]["children"]} >= {MABEI}
        # the town's head sees who is away and the kind, not the reason
        town_head = rt.tokens.staff("ruian.mayu.head", "center_head")
        tree = (await rt.client.get(f"/v1/org/tree?unit_id={MAYU}", headers=town_head)).json()
        [away] = tree["units"][0]["absences"]
        assert (away["staff_id"], away["kind"]) == (A, "training") and "reason" not in away
        mabei_head = rt.tokens.staff("ruian.mayu.mabei.head", "center_head")
        tree = (await rt.client.get(f"/v1/org/tree?unit_id={MAYU}", headers=mabei_head)).json()
        assert "absences" not in tree["units"][0]
