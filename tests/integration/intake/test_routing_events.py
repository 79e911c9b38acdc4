"""Routing's events reaching intake through Kafka: decisions, corrections, returned results,
and who may then read, deliver and evaluate the case."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from contracts.routing import (
    CaseAssigned,
    CaseDecided,
    CaseRouted,
    CorrectionRequested,
    OfficeHoursSet,
    ResultReturned,
    ServiceLine,
    ServiceLinesSet,
)
from contracts.workdays import (
    SHANGHAI,
    OfficeHours,
    OpenInterval,
    default_calendar,
    local_date,
    promised_deadline,
)
from eventkit.envelope import Actor, Envelope

from ...polling import eventually
from .support import (
    AGENT_DONGSHAN,
    AGENT_MABEI,
    HEAD_MAYU,
    ID_BEIJI,
    INSPECTOR,
    OFFICER_MAYU,
    Harness,
    org_unit_envelope,
    routing_envelope,
    second_child,
    staff_envelope,
)

pytestmark = pytest.mark.integration

OFFICER = Actor(id=OFFICER_MAYU[0], role="officer", org_id="ruian.mayu")
TOWN = {"org_id": "ruian.mayu", "tier": "town"}


def routed(case_id: str) -> Envelope:
    return routing_envelope(
        CaseRouted(
            case_id=case_id,
            item_code="FP-002",
            item_version=1,
            category="family_planning",
            case_type="promised",
            catalog_tier="town",
            handling_tier="town",
            handling_unit_id="ruian.mayu",
            handling_office_id="ruian.mayu.fp",
            rule="catalog_tier",
            base_unit_id="ruian.mayu.mabei",
            base="registered_community",
            accepting_center_id="ruian.mayu.mabei",
            accepting_staff_id=AGENT_MABEI[0],
            agent_id=AGENT_MABEI[0],
            route=("ruian.mayu.mabei", "ruian.mayu"),
            routed_by="routing",
            **TOWN,
        ),
        stream_id=case_id,
        **TOWN,
    )


def assigned(case_id: str) -> Envelope:
    return routing_envelope(
        CaseAssigned(
            case_id=case_id,
            office_id="ruian.mayu.fp",
            post_id="ruian.mayu.fp.post",
            assigned_to=OFFICER.id,
            as_role="A",
            a_holder=OFFICER.id,
            b_holder="officer.mayu.fp.b",
            availability_checked_at=datetime.now(UTC),
            assigned_by="routing",
            **TOWN,
        ),
        stream_id=case_id,
        **TOWN,
    )


def decided(case_id: str, decision: str = "approve", reason: str | None = None) -> Envelope:
    return routing_envelope(
        CaseDecided(
            case_id=case_id,
            decision_id=f"dec-{case_id[-8:]}",
            decision=decision,  # type: ignore[arg-type]
            reason=reason,
            decided_by=OFFICER.id,
            at_window=False,
            on_time=True,
            **TOWN,
        ),
        stream_id=case_id,
        actor=OFFICER,
        **TOWN,
    )


def correction(case_id: str) -> Envelope:
    return routing_envelope(
        CorrectionRequested(
            case_id=case_id,
            correction_id=f"corr-{case_id[-8:]}",
            requested_materials=("MARRIAGE_CERT",),
            note="结婚证复印件不清晰，请重新提供",
            paused_at=datetime.now(UTC),
            requested_by=OFFICER.id,
            **TOWN,
        ),
        stream_id=case_id,
        actor=OFFICER,
        **TOWN,
    )


def returned(case_id: str, hop: int, to_unit: str, final: bool) -> Envelope:
    return routing_envelope(
        ResultReturned(
            case_id=case_id,
            hop=hop,
            from_unit_id="ruian.mayu",
            to_unit_id=to_unit,
            decision="approve",
            carried_by=AGENT_MABEI[0],
            returned_by=OFFICER.id,
            final=final,
            **TOWN,
        ),
        stream_id=case_id,
        **TOWN,
    )


async def accepted_case(h: Harness) -> dict[str, Any]:
    r = await h.submit(AGENT_MABEI, second_child())
    assert r.status_code == 201, r.text
    return dict(r.json())


async def wait_for_type(h: Harness, case_id: str, event_type: str, n: int = 1) -> list[dict]:
    """The case's stream, as it was once `n` events of `event_type` were in it."""

    async def stream() -> list[dict]:
        return list(await h.stream(case_id))

    return await eventually(
        stream,
        lambda s: sum(e["event_type"] == event_type for e in s) >= n,
        what=f"{n} x {event_type} in {case_id}",
        show=lambda s: [e["event_type"] for e in s],
    )


async def test_decision_result_delivery_and_evaluation(intake: Harness) -> None:
    case = await accepted_case(intake)
    case_id = case["case_id"]
    decision = decided(case_id)
    # the decision is delivered twice (at-least-once Kafka): recorded once
    await intake.publish_routing(routed(case_id), assigned(case_id), decision, decision)
    stream = await wait_for_type(intake, case_id, "intake.decision_received")
    recorded = next(e for e in stream if e["event_type"] == "intake.decision_received")
    assert recorded["payload"]["decided_by"] == OFFICER.id
    assert recorded["payload"]["decision"] == "approve"
    assert recorded["actor"] == {"id": "intake", "role": "system", "org_id": None}
    assert recorded["causation_id"] == str(decision.event_id)
    assert recorded["correlation_id"] == str(decision.correlation_id)

    # decided: no more withdrawal
    w = await intake.client.post(
        f"/v1/applications/{case_id}/withdraw", json={}, headers=intake.keys.resident()
    )
    assert w.status_code == 409

    # the result comes back down; the last hop makes it ready at the accepting center
    await intake.publish_routing(
        returned(case_id, 1, "ruian.mayu", False), returned(case_id, 2, "ruian.mayu.mabei", True)
    )
    status_q = {"receipt_no": case["receipt_no"], "code": case["verification_code"]}

    async def status() -> dict:
        r = await intake.client.get("/v1/status", params=status_q)
        assert r.status_code == 200, r.text
        return dict(r.json())

    view = await eventually(status, lambda v: v["result_ready"], what="the result ready")
    assert view["status"] == "decided"
    assert view["result_at_center_name_zh"] == "马北社区便民服务中心"

    # evaluation opens only after delivery
    early = await intake.client.post(
        f"/v1/applications/{case_id}/evaluation", json={"score": 5}, headers=intake.keys.resident()
    )
    assert early.status_code == 409
    stranger_agent = await intake.client.post(
        f"/v1/applications/{case_id}/delivery",
        json={"method": "picked_up"},
        headers=intake.keys.headers(AGENT_DONGSHAN),
    )
    assert stranger_agent.status_code == 403
    d = await intake.client.post(
        f"/v1/applications/{case_id}/delivery",
        json={"method": "picked_up"},
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert d.status_code == 200, d.text
    assert d.json()["status"] == "delivered"
    other = await intake.client.post(
        f"/v1/applications/{case_id}/evaluation",
        json={"score": 1},
        headers=intake.keys.resident(ID_BEIJI),
    )
    assert other.status_code == 403
    bad_score = await intake.client.post(
        f"/v1/applications/{case_id}/evaluation", json={"score": 7}, headers=intake.keys.resident()
    )
    assert bad_score.status_code == 422 and bad_score.json()["detail"]["field"] == "score"
    e = await intake.client.post(
        f"/v1/applications/{case_id}/evaluation",
        json={"score": 2, "dimensions": {"efficiency": 1}, "comment": "等太久"},
        headers=intake.keys.resident(),
    )
    assert e.status_code == 200, e.text
    stream = await intake.stream(case_id)
    assert stream[-1]["event_type"] == "intake.service_evaluated"
    assert stream[-1]["payload"]["bad_review"] is True
    listed = await intake.client.get(
        "/v1/applications", headers=intake.keys.headers(HEAD_MAYU), params={"limit": 500}
    )
    mine = [i for i in listed.json()["items"] if i["case_id"] == case_id]
    assert [i["evaluation_score"] for i in mine] == [2]  # the head's dashboard rates by it
    archive = await intake.client.post(
        f"/v1/applications/{case_id}/archive",
        json={"archive_no": "MB-2026-A-001"},
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert archive.status_code == 200 and archive.json()["status"] == "archived"
    assert [e["event_type"] for e in await intake.stream(case_id)].count(
        "intake.decision_received"
    ) == 1

    # who reads the case: the accepting center, the handling office's officer, the town's
    # center head (a unit below), the resident, an inspector; not another center's agent
    url = f"/v1/applications/{case_id}"
    for who in (AGENT_MABEI, OFFICER_MAYU, HEAD_MAYU, INSPECTOR):
        r = await intake.client.get(url, headers=intake.keys.headers(who))
        assert r.status_code == 200, (who, r.text)
    own = await intake.client.get(url, headers=intake.keys.resident())
    assert own.status_code == 200
    body = own.json()
    assert body["progress"]["handling_office_id"] == "ruian.mayu.fp"
    assert body["progress"]["assigned_to"] == OFFICER.id
    assert body["application"]["status"] == "archived"
    assert [t["event_type"] for t in body["trail"]][-1] == "intake.case_archived"
    refused = await intake.client.get(url, headers=intake.keys.headers(AGENT_DONGSHAN))
    assert refused.status_code == 403
    assert "ruian.mayu.mabei" in refused.json()["detail"]["reason"]
    assert (await intake.client.get(url, headers=intake.keys.resident(ID_BEIJI))).status_code == 403


async def test_correction_requested_then_supplied(intake: Harness) -> None:
    case = await accepted_case(intake)
    case_id = case["case_id"]
    await intake.publish_routing(routed(case_id), correction(case_id))
    await wait_for_type(intake, case_id, "intake.correction_request_received")
    view = await intake.client.get(
        "/v1/status", params={"receipt_no": case["receipt_no"], "code": case["verification_code"]}
    )
    assert view.json()["status"] == "correction_requested"
    assert view.json()["correction"]["requested_materials"] == [
        {"code": "MARRIAGE_CERT", "name_zh": "结婚证复印件"}
    ]
    missing = await intake.client.post(
        f"/v1/applications/{case_id}/correction",
        json={"materials": [{"code": "ID_CARD", "form": "copy"}]},
        headers=intake.keys.resident(),
    )
    assert missing.status_code == 422
    assert missing.json()["detail"]["field"] == "materials"
    ok = await intake.client.post(
        f"/v1/applications/{case_id}/correction",
        json={"materials": [{"code": "MARRIAGE_CERT", "form": "copy"}]},
        headers=intake.keys.resident(),
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "accepted"
    stream = await intake.stream(case_id)
    assert stream[-1]["event_type"] == "intake.correction_supplied"
    assert stream[-1]["payload"]["correction_id"] == f"corr-{case_id[-8:]}"
    assert stream[-1]["payload"]["received_center_id"] == "ruian.mayu.mabei"


async def test_a_decision_for_a_withdrawn_case_is_skipped_not_dead_lettered(
    intake: Harness,
) -> None:
    case = await accepted_case(intake)
    case_id = case["case_id"]
    w = await intake.client.post(
        f"/v1/applications/{case_id}/withdraw", json={}, headers=intake.keys.resident()
    )
    assert w.status_code == 200
    late = decided(case_id, "refuse", "材料不全")
    # a marker after it on the same case (same partition): once it is applied, the decision
    # before it was processed too
    await intake.publish_routing(late, routed(case_id))

    async def progressed() -> bool:
        return bool(
            await intake.count("SELECT count(*) FROM case_progress WHERE case_id = $1", case_id)
        )

    await eventually(progressed, what="the marker after the late decision applied")
    kinds = [e["event_type"] for e in await intake.stream(case_id)]
    assert kinds[-1] == "intake.application_withdrawn"
    assert "intake.decision_received" not in kinds
    assert await intake.count("SELECT count(*) FROM inbox WHERE event_id = $1", late.event_id) == 1


async def test_staff_list_their_centers_cases(intake: Harness) -> None:
    case = await accepted_case(intake)
    mine = await intake.client.get(
        "/v1/applications", headers=intake.keys.headers(AGENT_MABEI), params={"limit": 500}
    )
    assert mine.status_code == 200
    assert case["case_id"] in {i["case_id"] for i in mine.json()["items"]}
    assert {i["accepting_center_id"] for i in mine.json()["items"]} == {"ruian.mayu.mabei"}
    head = await intake.client.get(
        "/v1/applications", headers=intake.keys.headers(HEAD_MAYU), params={"limit": 500}
    )
    assert case["case_id"] in {i["case_id"] for i in head.json()["items"]}
    other = await intake.client.get(
        "/v1/applications",
        headers=intake.keys.headers(AGENT_DONGSHAN),
        params={"center_id": "ruian.mayu.mabei"},
    )
    assert other.status_code == 403
    assert date.fromisoformat(case["accepted_on"])


async def test_the_read_model_rebuilt_from_the_store_is_the_same(intake: Harness) -> None:
    """`applications` is a pure projection of intake's streams: replaying them gives the same
    rows (run last in this module, after cases in every status were made)."""
    from intake.projections.applications import rebuild

    conn = await intake.connect()
    try:
        before = [dict(r) for r in await conn.fetch("SELECT * FROM applications ORDER BY case_id")]
        async with conn.transaction():
            applied = await rebuild(conn, intake.settings.secret(), batch=7)
            after = [
                dict(r) for r in await conn.fetch("SELECT * FROM applications ORDER BY case_id")
            ]
    finally:
        await conn.close()
    assert applied > len(before) > 0
    assert after == before


async def test_the_receipt_promises_by_the_accepting_centers_office_hours(
    intake: Harness,
) -> None:
    """The promised date on a receipt follows the hours routing publishes for the accepting
    center (routing.org_unit_registered, routing.office_hours_set): a 即办件 handed in after
    that center's close of business is promised for the next working day
    (contracts.workdays.promised_deadline, the rule routing's clock runs on)."""
    unit = "ruian.mayu.hourscheck"
    agent = ("staff.hourscheck.agent", "community_agent", unit, "community")
    await intake.publish_routing(
        org_unit_envelope(unit, "营业时间测试点", "community", "社区", "ruian.mayu"),
        staff_envelope(agent[0], unit, ("community_agent",)),
    )
    # open only 00:00-00:01 every day: any later hand-in is after closing
    closes_at_once = OfficeHours(
        weekly={wd: (OpenInterval(opens=time(0, 0), closes=time(0, 1)),) for wd in range(7)}
    )
    await intake.publish_routing(
        routing_envelope(
            OfficeHoursSet(unit_id=unit, office_hours=closes_at_once, set_by="admin.1"),
            stream_id="org-ruian",
            org_id=unit,
            tier="community",
        )
    )

    async def projected() -> bool:
        conn = await intake.connect()
        try:
            raw = await conn.fetchval("SELECT office_hours FROM centers WHERE unit_id = $1", unit)
        finally:
            await conn.close()
        return raw is not None and OfficeHours.model_validate_json(raw) == closes_at_once

    await eventually(projected, what=f"the office hours of {unit} in intake's centers")

    # "after closing" holds at any time of day but 00:00-00:01, and the promise must not
    # change its day between `before` and the service's clock: not around midnight, then
    def away_from_midnight() -> bool:
        t = datetime.now(SHANGHAI).time()
        return time(0, 2) <= t < time(23, 59)

    await eventually(
        away_from_midnight, what="the local clock away from 23:59-00:02", timeout=240, interval=1
    )
    before = datetime.now(UTC)
    r = await intake.submit(
        agent,
        second_child(
            item_code="OT-002",
            materials_provided=[{"code": "WATER_BILL", "form": "original"}],
            deposit_paid_fen=0,
            payment_receipt_no=None,
        ),
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "accepted"
    expected = promised_deadline(before, 0, closes_at_once, calendar=default_calendar()).due_date
    assert expected > local_date(before) and expected.isoformat() != r.json()["accepted_on"]
    assert r.json()["promised_completion_date"] == expected.isoformat()


async def test_a_centers_public_profile_follows_routings_service_lines(intake: Harness) -> None:
    """`GET /v1/centers/{unit_id}` (public: the portal's center page) tells a center's
    opening hours and service lines as routing publishes them (routing.org_unit_registered,
    routing.service_lines_set); an unknown center is a 404 naming the field."""
    unit = "ruian.mayu.linescheck"
    await intake.publish_routing(
        org_unit_envelope(unit, "窗口测试点", "community", "社区", "ruian.mayu")
    )
    lines = (
        ServiceLine(line_id="l01", name_zh="计划生育与流动人口", categories=("family_planning",)),
        ServiceLine(line_id="l02", name_zh="民政与残联", categories=("civil_affairs",)),
    )
    await intake.publish_routing(
        routing_envelope(
            ServiceLinesSet(unit_id=unit, service_lines=lines, set_by="admin.1"),
            stream_id="org-ruian",
            org_id=unit,
            tier="community",
        )
    )

    async def profile() -> dict[str, Any] | None:
        r = await intake.client.get(f"/v1/centers/{unit}")  # no token: public
        return r.json() if r.status_code == 200 else None

    got = await eventually(
        profile,
        lambda p: p is not None and p["service_lines"] is not None and len(p["service_lines"]) == 2,
        what=f"the service lines of {unit}",
    )
    assert got is not None
    assert [ln["name_zh"] for ln in got["service_lines"]] == ["计划生育与流动人口", "民政与残联"]
    assert (got["name_zh"], got["tier"], got["parent_id"]) == (
        "窗口测试点",
        "community",
        "ruian.mayu",
    )
    assert got["office_hours"] == OfficeHours.standard().model_dump(mode="json")
    r = await intake.client.get("/v1/centers/ruian.nowhere")
    assert r.status_code == 404 and r.json()["detail"]["field"] == "unit_id"


async def test_a_centers_address_follows_routing_and_an_old_event_has_none(
    intake: Harness,
) -> None:
    """`address_zh` of routing.org_unit_registered reaches the public profile and the list
    (where to hand in); a unit registered by an event without it has none."""
    with_address = "ruian.mayu.addresscheck"
    without = "ruian.mayu.noaddress"
    await intake.publish_routing(
        org_unit_envelope(
            with_address, "地址测试点", "community", "社区", "ruian.mayu", "瑞安市马屿镇测试路1号"
        )
    )
    old = org_unit_envelope(without, "旧事件测试点", "community", "社区", "ruian.mayu")
    payload = dict(old.payload)
    payload.pop("address_zh", None)  # written before the field existed
    await intake.publish_routing(old.model_copy(update={"payload": payload}))

    async def both() -> dict[str, Any]:
        out = {}
        for unit in (with_address, without):
            r = await intake.client.get(f"/v1/centers/{unit}")
            if r.status_code == 200:
                out[unit] = r.json()
        return out

    got = await eventually(both, lambda g: len(g) == 2, what="both test centers projected")
    assert got[with_address]["address_zh"] == "瑞安市马屿镇测试路1号"
    assert got[without]["address_zh"] is None
    listed = (await intake.client.get("/v1/centers", params={"parent_id": "ruian.mayu"})).json()
    by_id = {c["unit_id"]: c for c in listed["items"]}
    assert by_id[with_address]["address_zh"] == "瑞安市马屿镇测试路1号"
    assert by_id[without]["address_zh"] is None
