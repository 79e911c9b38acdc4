"""Org administration over HTTP: every change an event on the org stream (and the routing
topic), refusals naming the field; an acceptance for a center the tree lacks is kept and
routed once an admin adds it."""

from __future__ import annotations

import uuid

import pytest

from contracts.routing import ORG_STREAM_ID
from contracts.workdays import OfficeHours

from ...polling import eventually
from .support import accepted, at, new_case_id, read_topic_until, running_routing

pytestmark = pytest.mark.integration

NEW = "ruian.mayu.xinqiao"


def unit_body() -> dict:  # type: ignore[type-arg]
    return {
        "unit_id": NEW,
        "name_zh": "新桥社区",
        "tier": "community",
        "kind": "社区",
        "parent_id": "ruian.mayu",
        "address_zh": "瑞安市马屿镇新桥社区新桥路1号",
        "office_hours": OfficeHours.standard().model_dump(mode="json"),
        "service_lines": [
            {"line_id": "l01", "name_zh": "综合窗口", "categories": ["*"]},
        ],
    }


async def test_org_changes_are_events_and_unrouted_cases_wait_for_them(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        admin = rt.tokens.admin()
        tree = (await rt.client.get("/v1/org/tree", headers=rt.tokens.inspector())).json()
        seeded_version = tree["org_version"]
        assert [u["unit_id"] for u in tree["units"]] == ["ruian"]
        towns = tree["units"][0]["children"]
        assert len(towns) == 15
        assert tree["units"][0]["address_zh"]  # the seeded centers have their address
        assert {r["rule_id"] for r in tree["delegation_rules"]} >= {"dr-beiji-lc001-up"}

        # a case accepted at a center routing does not know yet
        case_id = new_case_id()
        await rt.publish(accepted(case_id, community=NEW, center=NEW, staff=None))

        async def kept() -> list:  # type: ignore[type-arg]
            r = await rt.client.get("/v1/admin/unrouted", headers=admin)
            assert r.status_code == 200, r.text
            return [u for u in r.json() if u["case_id"] == case_id]

        (unrouted,) = await eventually(kept, what=f"{case_id} kept as unrouted")
        assert unrouted["field"] == "accepting_center_id"
        r = await rt.post(f"/v1/admin/unrouted/{case_id}/retry", admin)
        assert r.status_code == 404 and r.json()["detail"]["field"] == "accepting_center_id"

        # bad input and refusals name the field; nothing is written
        r = await rt.post(
            "/v1/org/units", rt.tokens.staff("ruian.mayu.head", "center_head"), unit_body()
        )
        assert r.status_code == 403
        r = await rt.post("/v1/org/units", admin, {**unit_body(), "unit_id": "Bad Id"})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "unit_id"
        r = await rt.post("/v1/org/units", admin, {**unit_body(), "tier": "town"})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "kind"
        r = await rt.post("/v1/org/units", admin, {**unit_body(), "parent_id": "ruian.nowhere"})
        assert r.status_code == 404 and r.json()["detail"]["field"] == "parent_id"
        r = await rt.post("/v1/org/units", admin, {**unit_body(), "unit_id": "ruian.mayu.mabei"})
        assert r.status_code == 409 and r.json()["detail"]["field"] == "unit_id"

        key = str(uuid.uuid4())
        r = await rt.post("/v1/org/units", admin, unit_body(), key)
        assert r.status_code == 200, r.text
        assert r.json()["org_version"] == seeded_version + 1
        again = await rt.post("/v1/org/units", admin, unit_body(), key)
        assert again.content == r.content and again.headers["Idempotent-Replayed"] == "true"
        for path, body in (
            (
                "/v1/org/offices",
                {
                    "office_id": f"{NEW}.window",
                    "unit_id": NEW,
                    "name_zh": "便民服务窗口",
                    "categories": ["*"],
                },
            ),
            (
                "/v1/org/staff",
                {
                    "staff_id": f"{NEW}.head",
                    "name_zh": "周新桥",
                    "unit_id": NEW,
                    "roles": ["center_head", "officer"],
                },
            ),
            (
                "/v1/org/staff",
                {
                    "staff_id": f"{NEW}.agent1",
                    "name_zh": "林代办",
                    "unit_id": NEW,
                    "roles": ["community_agent", "officer"],
                    "office_id": f"{NEW}.window",
                },
            ),
            (
                "/v1/org/staff",
                {
                    "staff_id": f"{NEW}.agent2",
                    "name_zh": "陈代办",
                    "unit_id": NEW,
                    "roles": ["community_agent", "officer"],
                    "office_id": f"{NEW}.window",
                },
            ),
            (
                "/v1/org/posts",
                {
                    "post_id": f"{NEW}.window.post1",
                    "unit_id": NEW,
                    "office_id": f"{NEW}.window",
                    "name_zh": "综合岗",
                    "categories": ["*"],
                    "service_line_ids": ["l01"],
                    "a_holder": f"{NEW}.agent1",
                    "b_holder": f"{NEW}.agent2",
                },
            ),
            (
                "/v1/org/roster",
                {
                    "unit_id": NEW,
                    "entries": [
                        {
                            "staff_id": f"{NEW}.agent1",
                            "starts": "08:30",
                            "ends": "17:30",
                            "working_days": True,
                        },
                        {
                            "staff_id": f"{NEW}.agent2",
                            "starts": "08:30",
                            "ends": "17:30",
                            "working_days": True,
                        },
                    ],
                },
            ),
            (
                "/v1/org/delegations",
                {
                    "rule_id": "dr-xinqiao-fp002",
                    "item_code": "FP-002",
                    "area_unit_id": NEW,
                    "handling_tier": "city",
                    "direction": "up",
                    "effective_from": "2026-09-01",
                    "basis_zh": "试点:再生育审批上提至市级",
                },
            ),
        ):
            r = await rt.post(path, admin, body)
            assert r.status_code == 200, (path, r.text)
        r = await rt.post(
            "/v1/org/posts",
            admin,
            {
                "post_id": f"{NEW}.window.post2",
                "unit_id": NEW,
                "office_id": f"{NEW}.window",
                "name_zh": "x",
                "categories": ["*"],
                "a_holder": f"{NEW}.agent1",
                "b_holder": f"{NEW}.agent1",
            },
        )
        assert r.status_code == 422 and r.json()["detail"]["field"] == "b_holder"
        r = await rt.post(
            "/v1/org/roster",
            admin,
            {
                "unit_id": NEW,
                "entries": [
                    {
                        "staff_id": f"{NEW}.agent1",
                        "starts": "18:00",
                        "ends": "08:00",
                        "working_days": True,
                    }
                ],
            },
        )
        assert r.status_code == 422 and r.json()["detail"]["field"].startswith("entries[0]")

        # now the kept acceptance routes, under the new delegation rule
        r = await rt.post(f"/v1/admin/unrouted/{case_id}/retry", admin)
        assert r.status_code == 200, r.text
        state = r.json()["state"]
        assert (state["handling_unit_id"], state["handling_office_id"]) == ("ruian", "ruian.wjsp")
        assert state["route"] == [NEW, "ruian.mayu", "ruian"]
        assert (await rt.client.get("/v1/admin/unrouted", headers=admin)).json() == []
        detail = (await rt.case(case_id)).json()
        routed = detail["trail"][0]
        assert routed["payload"]["rule"] == "delegation_rule:dr-xinqiao-fp002"
        assert routed["actor"]["id"] == "admin.ops"
        assert routed["payload"]["agent_id"] == f"{NEW}.agent1"  # online: the center's agent

        sub = (await rt.client.get(f"/v1/org/tree?unit_id={NEW}", headers=admin)).json()
        (unit,) = sub["units"]
        assert unit["address_zh"] == "瑞安市马屿镇新桥社区新桥路1号"
        assert [p["post_id"] for p in unit["posts"]] == [f"{NEW}.window.post1"]
        assert [r["rule_id"] for r in sub["delegation_rules"]] == ["dr-xinqiao-fp002"]

        # the tree is events on the routing topic, the new unit included
        published = await read_topic_until(
            infra.bootstrap,
            rt.routing_topic,
            lambda envs: any(e["payload"].get("rule_id") == "dr-xinqiao-fp002" for e in envs),
        )
        org = [e for e in published if e["stream_id"] == ORG_STREAM_ID]
        assert [e["stream_version"] for e in org] == list(range(1, len(org) + 1))
        registered = [e for e in org if e["payload"].get("unit_id") == NEW]
        assert registered[0]["event_type"] == "routing.org_unit_registered"
        assert registered[0]["actor"]["id"] == "admin.ops"
