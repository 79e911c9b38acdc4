"""Issue 4, "Must show": the case lifecycle across intake, routing and notify, each a separate
process on the real Kafka and PostgreSQL (`stack.py`), driven over HTTP only, with the trail
read back from the services and from their topics.

The module plays one drill day, Tuesday 29 September 2026 in Rui'an (see `stack.py`). The
deadline drill runs last: it checks every open case of the module as of a later instant.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from contracts.workdays import SHANGHAI
from devstack.demo import id_number

from ...polling import dig, eventually
from .stack import (
    BEIJI,
    CITY,
    DADIANXIA,
    DONGSHAN,
    MABEI,
    MAYU,
    SHANGBU,
    TINGTIAN,
    YUCAI,
    Stack,
    Who,
)

pytestmark = pytest.mark.e2e

FP002_ALL = [
    {"code": "APPLICATION_FORM", "form": "original"},
    {"code": "ID_CARD", "form": "copy", "copies": 2},
    {"code": "MARRIAGE_CERT", "form": "copy"},
    {"code": "HOUSEHOLD_REG", "form": "copy"},
    {"code": "PHOTO_1IN", "form": "original", "copies": 2},
]  # 二胎 FP-002; the sixth, CHILD_BIRTH_CERT, may be supplied later (容缺)
DEPOSIT_FP002 = 300_000  # fen: the published 再生育 deposit
NATIONAL_DAY_DUE = date(2026, 10, 26)
"""15 working days from Tue 29 Sep 2026: 30 Sep (1); 1-7 Oct are the holiday; 8, 9 and the
adjusted working Saturday 10 Oct (2-4); 12-16 (5-9); 19-23 (10-14); Mon 26 Oct (15). A count
of weekdays alone would say 20 Oct, calendar days 14 Oct."""


def staff(staff_id: str, role: str, unit: str, tier: str) -> Who:
    return (staff_id, role, unit, tier)


def applicant(name: str, born: date, serial: int, community: str, address: str) -> dict[str, Any]:
    return {
        "name": name,
        "id_number": id_number(born, serial),
        "phone": f"139577{serial:05d}",
        "registered_community_id": community,
        "address": address,
    }


def types(trail: list[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in trail]


def officer_token(detail: dict[str, Any]) -> Who:
    """The assigned officer's own token, found from routing's view of the case."""
    state = detail["state"]
    tier = state["handling_tier"]
    return staff(state["assigned_to"], "officer", state["handling_unit_id"], tier)


async def test_second_child_handed_in_once_at_mabei_decided_by_mayu_and_returned(
    stack: Stack,
) -> None:
    """The report's 二胎申请: documents and deposit handed in once at 马北社区; the agent
    carries it up to 马屿镇's family-planning office; the A post approves; the result comes
    back down to 马北; the agent delivers. Both trails name every hand-off and every actor,
    and match what each service published."""
    agent = staff("ruian.mayu.mabei.agent1", "community_agent", MABEI, "community")
    resident = applicant("陈小芳", date(1990, 4, 15), 124, MABEI, "瑞安市马屿镇马北社区新街12号")
    r = await stack.post(
        stack.intake,
        "/v1/applications",
        agent,
        {
            "item_code": "FP-002",
            "applicant": resident,
            "materials_provided": FP002_ALL,
            "deposit_paid_fen": DEPOSIT_FP002,
            "payment_receipt_no": "MB-2026-000123",
        },
    )
    assert r.status_code == 201, r.text
    receipt = r.json()
    case_id = receipt["case_id"]
    assert receipt["status"] == "accepted" and receipt["missing_materials"] == []
    assert receipt["receipt_no"] and receipt["verification_code"]
    assert receipt["promised_completion_date"] == NATIONAL_DAY_DUE.isoformat()

    # routing: the agent follows the case they carry (全程代理) to the town office
    detail = await stack.routing_case(case_id, agent, lambda d: dig(d, "state", "assigned_to"))
    state = detail["state"]
    assert (state["handling_unit_id"], state["handling_office_id"]) == (MAYU, f"{MAYU}.jsb")
    assert state["route"] == [MABEI, MAYU] and state["agent_id"] == agent[0]
    assert state["assigned_to"] == f"{MAYU}.jsb.a"  # the A post, on duty on a Tuesday morning
    officer = officer_token(detail)

    r = await stack.post(
        stack.routing,
        f"/v1/cases/{case_id}/decision",
        officer,
        {"decision": "approve", "reason": "材料齐全,符合再生育条件"},
    )
    assert r.status_code == 200, r.text
    r = await stack.post(stack.routing, f"/v1/cases/{case_id}/result-return", officer)
    assert r.status_code == 200, r.text

    # intake: the result is back at 马北, ready; the agent hands it over
    view = await stack.intake_case(
        case_id,
        agent,
        lambda v: v["result_ready"] and dig(v, "application", "status") == "decided",
    )
    assert view["progress"]["result_at_center_id"] == MABEI
    assert view["progress"]["assigned_to"] == officer[0]
    r = await stack.post(
        stack.intake, f"/v1/applications/{case_id}/delivery", agent, {"method": "picked_up"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "delivered"

    # the two trails, over HTTP
    view = await stack.intake_case(case_id, agent)
    intake_trail = view["trail"]
    assert types(intake_trail) == [
        "intake.application_submitted",
        "intake.application_accepted",
        "intake.decision_received",
        "intake.result_delivered",
    ]
    submitted, accepted, received, delivered = intake_trail
    for e in (submitted, accepted, delivered):  # first-inquiry responsible and agent
        assert (e["actor"]["id"], e["actor"]["role"], e["actor"]["org_id"]) == agent[:3]
    assert received["actor"] == {"id": "intake", "role": "system", "org_id": None}
    detail = await stack.routing_case(case_id, agent)
    routing_trail = detail["trail"]
    assert types(routing_trail) == [
        "routing.case_routed",
        "routing.case_handed_off",
        "routing.case_assigned",
        "routing.deadline_set",
        "routing.case_decided",
        "routing.result_returned",
    ]
    routed, up, assigned, deadline, decided, down = (e["payload"] for e in routing_trail)
    assert routed["base"] == "registered_community" and routed["agent_id"] == agent[0]
    assert (up["from_unit_id"], up["to_unit_id"], up["direction"]) == (MABEI, MAYU, "up")
    assert (up["from_tier"], up["to_tier"], up["carried_by"]) == ("community", "town", agent[0])
    assert up["to_office_id"] == f"{MAYU}.jsb"
    assert (assigned["assigned_to"], assigned["as_role"]) == (officer[0], "A")
    assert deadline["due_date"] == NATIONAL_DAY_DUE.isoformat()
    assert (decided["decided_by"], decided["decision"], decided["on_time"]) == (
        officer[0],
        "approve",
        True,
    )
    assert (down["from_unit_id"], down["to_unit_id"], down["final"]) == (MAYU, MABEI, True)
    assert (down["carried_by"], down["returned_by"]) == (agent[0], officer[0])
    assert routing_trail[4]["actor"]["id"] == routing_trail[5]["actor"]["id"] == officer[0]
    assert {e["actor"]["role"] for e in routing_trail[:4]} == {"system"}  # routed by routing
    assert all(e["actor"]["id"] for e in intake_trail + routing_trail)

    # ... and exactly what left each service on Kafka: same events, same order; routing's
    # continue the acceptance's correlation, caused by it; intake's record of the decision is
    # caused by routing's
    on_intake = await stack.logs["intake"].wait_case(case_id, lambda es: len(es) >= 4)
    on_routing = await stack.logs["routing"].wait_case(case_id, lambda es: len(es) >= 6)
    assert [e["event_id"] for e in on_intake] == [e["event_id"] for e in intake_trail]
    assert [e["event_id"] for e in on_routing] == [e["event_id"] for e in routing_trail]
    acceptance, decision = on_intake[1], on_routing[4]
    assert {e["correlation_id"] for e in on_routing} == {acceptance["correlation_id"]}
    assert {e["causation_id"] for e in on_routing[:4]} == {acceptance["event_id"]}
    assert on_intake[2]["causation_id"] == decision["event_id"]  # intake heard the decision
    paid = on_intake[1]["payload"]  # handed in once: the deposit was taken with the documents
    assert (paid["deposit_charged_fen"], paid["accepting_staff_id"]) == (DEPOSIT_FP002, agent[0])
    assert on_intake[2]["payload"]["decided_by"] == officer[0]

    # notify told the resident at each step, once: receipt, result ready, invitation to rate
    wanted = {"resident_receipt", "resident_result_ready", "resident_evaluation_invitation"}
    sent = await stack.deliveries(
        case_id,
        lambda ds: wanted <= {d["template"] for d in ds if d["status"] == "delivered"},
    )
    to_resident = [d for d in sent if d["recipient_kind"] == "resident"]
    assert sorted(d["template"] for d in to_resident) == sorted(wanted)
    assert {d["channel"] for d in to_resident} == {"sms"}


async def test_island_resident_hands_in_on_the_mainland_and_the_owning_office_gets_it(
    stack: Stack,
) -> None:
    """A 北麂 (island) resident hands in at the 东山街道 center. The case belongs to his
    community: an elderly card goes to 东山's civil-affairs office, and a house renovation,
    which the islands' delegation rule raises to the city, to the city's land office; its
    result comes back to the mainland center where he handed it in."""
    agent = staff("ruian.dongshan.agent1", "community_agent", DONGSHAN, "town")
    islander = applicant("池海生", date(1958, 3, 2), 321, BEIJI, "瑞安市东山街道北麂社区渔港路3号")
    elderly_card = {
        "item_code": "CA-001",
        "applicant": islander,
        "materials_provided": [
            {"code": "APPLICATION_FORM", "form": "original"},
            {"code": "ID_CARD", "form": "original"},
            {"code": "HOUSEHOLD_REG", "form": "original"},
            {"code": "PHOTO_1IN", "form": "original", "copies": 2},
        ],
    }
    renovation = {
        "item_code": "LC-001",
        "applicant": islander,
        "materials_provided": [
            {"code": "APPLICATION_FORM", "form": "original"},
            {"code": "ID_CARD", "form": "copy"},
            {"code": "HOUSEHOLD_REG", "form": "copy"},
            {"code": "LAND_USE_CERT", "form": "copy"},
            {"code": "VILLAGE_OPINION", "form": "original"},
        ],  # the building drawing may follow later (容缺)
    }
    cases = {}
    for body in (elderly_card, renovation):
        r = await stack.post(stack.intake, "/v1/applications", agent, body)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "accepted"
        cases[body["item_code"]] = r.json()["case_id"]

    card = (await stack.routing_case(cases["CA-001"], agent))["state"]
    assert (card["handling_unit_id"], card["handling_office_id"]) == (DONGSHAN, f"{DONGSHAN}.mzb")
    assert card["accepting_center_id"] == DONGSHAN and card["route"] == [DONGSHAN]

    detail = await stack.routing_case(cases["LC-001"], agent)
    house = detail["state"]
    assert (house["handling_tier"], house["handling_unit_id"]) == ("city", CITY)
    assert house["handling_office_id"] == f"{CITY}.gtsp"
    routed, hop = detail["trail"][0]["payload"], detail["trail"][1]["payload"]
    assert routed["base_unit_id"] == BEIJI and routed["base"] == "registered_community"
    assert (routed["catalog_tier"], routed["rule"]) == ("town", "delegation_rule:dr-beiji-lc001-up")
    assert (hop["from_unit_id"], hop["to_unit_id"], hop["carried_by"]) == (
        DONGSHAN,
        CITY,
        agent[0],
    )

    officer = officer_token(detail)
    r = await stack.post(
        stack.routing, f"/v1/cases/{cases['LC-001']}/decision", officer, {"decision": "approve"}
    )
    assert r.status_code == 200, r.text
    r = await stack.post(stack.routing, f"/v1/cases/{cases['LC-001']}/result-return", officer)
    assert r.status_code == 200, r.text
    view = await stack.intake_case(cases["LC-001"], agent, lambda v: v["result_ready"])
    assert view["progress"]["result_at_center_id"] == DONGSHAN
    assert view["progress"]["handling_office_id"] == f"{CITY}.gtsp"
    on_routing = await stack.logs["routing"].wait_case(
        cases["LC-001"], lambda es: "routing.result_returned" in types(es)
    )
    back = [e["payload"] for e in on_routing if e["event_type"] == "routing.result_returned"]
    assert [(b["from_unit_id"], b["to_unit_id"], b["final"]) for b in back] == [
        (CITY, DONGSHAN, True)
    ]


async def test_three_missing_materials_are_told_once_in_one_notice(stack: Stack) -> None:
    """一次性告知: an application missing three materials gets ONE notice naming all three;
    supplements that leave gaps never send a second one; the resident gets one message."""
    agent = staff("ruian.anyang.yucai.staff1", "community_agent", YUCAI, "community")
    resident = applicant("林晓燕", date(1992, 7, 8), 246, YUCAI, "瑞安市安阳街道育才社区万松路8号")
    r = await stack.post(
        stack.intake,
        "/v1/applications",
        agent,
        {
            "item_code": "FP-002",
            "applicant": resident,
            "materials_provided": FP002_ALL[:2],  # the form and the ID card copies only
            "deposit_paid_fen": DEPOSIT_FP002,
            "payment_receipt_no": "YC-2026-000777",
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    three = {"MARRIAGE_CERT", "HOUSEHOLD_REG", "PHOTO_1IN"}
    assert r.json()["status"] == "awaiting_materials"
    assert {m["code"] for m in r.json()["missing_materials"]} == three

    path = f"/v1/applications/{case_id}/materials"
    first = await stack.post(stack.intake, path, agent, {"materials": [FP002_ALL[2]]})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "awaiting_materials"
    assert {m["code"] for m in first.json()["missing_materials"]} == three - {"MARRIAGE_CERT"}
    last = await stack.post(stack.intake, path, agent, {"materials": FP002_ALL[3:]})
    assert last.status_code == 200, last.text
    assert last.json()["status"] == "accepted" and last.json()["receipt_no"]

    on_intake = await stack.logs["intake"].wait_case(
        case_id, lambda es: "intake.application_accepted" in types(es)
    )
    assert types(on_intake) == [
        "intake.application_submitted",
        "intake.materials_missing_notified",
        "intake.materials_supplemented",
        "intake.materials_supplemented",
        "intake.application_accepted",
    ]
    notice = on_intake[1]["payload"]
    assert {m["code"] for m in notice["missing"]} == three
    assert [sorted(m["code"] for m in e["payload"]["still_missing"]) for e in on_intake[2:4]] == [
        sorted(three - {"MARRIAGE_CERT"}),
        [],
    ]

    # notify: once the receipt (a later event of the same case) is planned, the notice
    # cannot be followed by another; exactly one message lists all three
    sent = await stack.deliveries(
        case_id,
        lambda ds: (
            {"resident_receipt", "resident_missing_materials"}
            <= {d["template"] for d in ds if d["status"] == "delivered"}
        ),
    )
    notices = [d for d in sent if d["template"] == "resident_missing_materials"]
    assert len(notices) == 1 and notices[0]["channel"] == "sms"
    (sms,) = stack.sms_lines(notices[0]["delivery_id"])
    for name in ("结婚证复印件", "户口簿复印件", "夫妻双方一寸近期免冠照片"):
        assert sms["text"].count(name) == 1, sms["text"]


async def test_b_post_takes_the_case_while_a_is_on_leave_and_both_are_recorded(
    stack: Stack,
) -> None:
    """AB岗: the admin records that 汀田街道's social-security A post holder is on leave;
    a 社保 case handed in at 大典下社区 is assigned to B, with A and the reason on the trail;
    A may not decide it, B does."""
    a_holder, b_holder = f"{TINGTIAN}.sbs.a", f"{TINGTIAN}.sbs.b"
    now = stack.now()
    r = await stack.post(
        stack.routing,
        "/v1/org/absences",
        stack.admin(),
        {
            "absence_id": "lifecycle-sbs-a-leave",
            "staff_id": a_holder,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=14)).isoformat(),
            "kind": "leave",
            "reason": "年休假",
        },
    )
    assert r.status_code == 200, r.text

    agent = staff("ruian.tingtian.dadianxia.agent1", "community_agent", DADIANXIA, "community")
    resident = applicant("郑志强", date(1975, 11, 3), 135, DADIANXIA, "瑞安市汀田街道大典下村5号")
    r = await stack.post(
        stack.intake,
        "/v1/applications",
        agent,
        {
            "item_code": "LS-001",
            "applicant": resident,
            "materials_provided": [
                {"code": "APPLICATION_FORM", "form": "original"},
                {"code": "ID_CARD", "form": "copy"},
                {"code": "HOUSEHOLD_REG", "form": "copy"},
                {"code": "PHOTO_1IN", "form": "original"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]

    detail = await stack.routing_case(case_id, until=lambda d: dig(d, "state", "assigned_to"))
    assert detail["state"]["handling_office_id"] == f"{TINGTIAN}.sbs"
    assigned = next(e for e in detail["trail"] if e["event_type"] == "routing.case_assigned")
    p = assigned["payload"]
    assert (p["assigned_to"], p["as_role"]) == (b_holder, "B")
    assert (p["a_holder"], p["a_unavailable_reason"]) == (a_holder, "absent:leave")
    assert (p["b_holder"], p["b_unavailable_reason"]) == (b_holder, None)
    assert p["post_id"] == f"{TINGTIAN}.sbs.post"

    a_token = staff(a_holder, "officer", TINGTIAN, "town")
    b_token = staff(b_holder, "officer", TINGTIAN, "town")
    queue = await stack.routing.get("/v1/queue", headers=stack.headers(b_token))
    assert case_id in [i["case_id"] for i in queue.json()["items"] if i["assigned_to"] == b_holder]
    r = await stack.post(
        stack.routing, f"/v1/cases/{case_id}/decision", a_token, {"decision": "approve"}
    )
    assert r.status_code == 403 and r.json()["detail"]["field"] == "actor"
    r = await stack.post(
        stack.routing, f"/v1/cases/{case_id}/decision", b_token, {"decision": "approve"}
    )
    assert r.status_code == 200, r.text

    # intake's projection names B (its `progress` is None until routing's first event of the
    # case has reached intake, then filled in one event at a time); the routing topic carries
    # the absence, recorded by the admin, and the assignment naming both holders, then B's
    # decision
    view = await stack.intake_case(case_id, agent, lambda v: dig(v, "progress", "assigned_to"))
    assert view["progress"]["assigned_to"] == b_holder
    absence = await stack.logs["routing"].wait_for(
        lambda e: (
            e["event_type"] == "routing.staff_absence_recorded"
            and e["payload"]["absence_id"] == "lifecycle-sbs-a-leave"
        ),
        "the absence",
    )
    assert (absence["actor"]["id"], absence["actor"]["role"]) == ("admin.e2e", "admin")
    on_routing = await stack.logs["routing"].wait_case(
        case_id, lambda es: "routing.case_decided" in types(es)
    )
    published = {e["event_type"]: e for e in on_routing}
    assert published["routing.case_assigned"]["event_id"] == assigned["event_id"]
    assert published["routing.case_decided"]["actor"]["id"] == b_holder


async def test_a_bad_review_opens_a_follow_up_for_the_center_head(stack: Stack) -> None:
    """好差评: an elderly card, handled at 育才社区 itself (authority delegated down to
    安阳's communities), delivered, then rated 1: routing opens a follow-up task for 育才's
    head, who answers it."""
    agent = staff("ruian.anyang.yucai.staff3", "community_agent", YUCAI, "community")
    elder = applicant("王阿婆", date(1949, 12, 1), 467, YUCAI, "瑞安市安阳街道育才社区育才路18号")
    r = await stack.post(
        stack.intake,
        "/v1/applications",
        agent,
        {
            "item_code": "CA-001",
            "applicant": elder,
            "materials_provided": [
                {"code": "APPLICATION_FORM", "form": "original"},
                {"code": "ID_CARD", "form": "original"},
                {"code": "HOUSEHOLD_REG", "form": "original"},
                {"code": "PHOTO_1IN", "form": "original", "copies": 2},
            ],
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]

    detail = await stack.routing_case(case_id, until=lambda d: dig(d, "state", "assigned_to"))
    state = detail["state"]
    assert (state["handling_tier"], state["handling_unit_id"]) == ("community", YUCAI)
    assert detail["trail"][0]["payload"]["rule"] == "delegation_rule:dr-anyang-ca001-down"
    officer = officer_token(detail)
    for path, body in (("decision", {"decision": "approve"}), ("result-return", None)):
        r = await stack.post(stack.routing, f"/v1/cases/{case_id}/{path}", officer, body)
        assert r.status_code == 200, r.text
    await stack.intake_case(case_id, agent, lambda v: v["result_ready"])
    r = await stack.post(
        stack.intake, f"/v1/applications/{case_id}/delivery", agent, {"method": "picked_up"}
    )
    assert r.status_code == 200, r.text

    r = await stack.post(
        stack.intake,
        f"/v1/applications/{case_id}/evaluation",
        stack.resident(elder["id_number"]),  # the resident herself, signed in
        {
            "score": 1,
            "dimensions": {"attitude": 1, "efficiency": 2},
            "comment": "窗口人员态度差,来回跑了两趟",
        },
    )
    assert r.status_code == 200, r.text

    head = staff(f"{YUCAI}.head", "center_head", YUCAI, "community")

    async def opened() -> list[dict[str, Any]]:
        got = await stack.routing.get("/v1/followups", headers=stack.headers(head))
        assert got.status_code == 200, got.text
        return [f for f in got.json() if f["case_id"] == case_id]

    (task,) = await eventually(opened, what="routing's follow-up of the bad review")
    assert (task["center_id"], task["assigned_to"], task["score"]) == (YUCAI, head[0], 1)
    assert task["answered"] is False and "attitude" in task["low_dimensions"]

    r = await stack.post(
        stack.routing,
        f"/v1/followups/{task['followup_id']}/answer",
        head,
        {"answer": "已上门致歉,窗口人员批评教育并调整岗位"},
    )
    assert r.status_code == 200, r.text
    assert types(r.json()["events"]) == ["routing.bad_review_followup_answered"]

    # the follow-up is caused by intake's evaluation event, as published
    on_intake = await stack.logs["intake"].wait_case(
        case_id, lambda es: "intake.service_evaluated" in types(es)
    )
    evaluation = next(e for e in on_intake if e["event_type"] == "intake.service_evaluated")
    assert evaluation["payload"]["bad_review"] is True
    assert evaluation["actor"]["role"] == "resident"
    on_routing = await stack.logs["routing"].wait_case(
        case_id, lambda es: "routing.bad_review_followup_answered" in types(es)
    )
    opened_evt = next(
        e for e in on_routing if e["event_type"] == "routing.bad_review_followup_opened"
    )
    assert opened_evt["causation_id"] == evaluation["event_id"]


async def test_a_correction_goes_from_the_officer_to_the_resident_and_the_clock_resumes(
    stack: Stack,
) -> None:
    """补正 end to end (issue 13, defect 1): the officer names the material by its catalog
    code and says what is wrong in the note (free text alone is refused, naming the field);
    intake records the request, the resident is told by SMS and sees it in the status view,
    supplies it at intake, and routing's clock runs again with the deadline set anew."""
    agent = staff("ruian.mayu.mabei.agent1", "community_agent", MABEI, "community")
    resident = applicant("林秀珍", date(1992, 7, 8), 146, MABEI, "瑞安市马屿镇马北社区和平路8号")
    r = await stack.post(
        stack.intake,
        "/v1/applications",
        agent,
        {
            "item_code": "FP-002",
            "applicant": resident,
            "materials_provided": FP002_ALL,
            "deposit_paid_fen": DEPOSIT_FP002,
            "payment_receipt_no": "MB-2026-000146",
        },
    )
    assert r.status_code == 201, r.text
    receipt = r.json()
    case_id = receipt["case_id"]
    detail = await stack.routing_case(case_id, agent, lambda d: dig(d, "state", "assigned_to"))
    officer = officer_token(detail)
    due_before = detail["state"]["due_date"]

    path = f"/v1/cases/{case_id}/correction-request"
    free_text = {"requested_materials": ["结婚证复印件不清晰，请重新提供"]}
    r = await stack.post(stack.routing, path, officer, free_text)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["field"] == "requested_materials[0]"
    asked = {"requested_materials": ["MARRIAGE_CERT"], "note": "结婚证复印件不清晰，请重新提供"}
    r = await stack.post(stack.routing, path, officer, asked)
    assert r.status_code == 200, r.text
    assert r.json()["state"]["status"] == "correction_pending"

    # intake recorded it: the resident's status view names the material and the note
    await stack.intake_case(
        case_id, agent, lambda v: v["application"]["status"] == "correction_requested"
    )
    status = await stack.intake.get(
        "/v1/status",
        params={"receipt_no": receipt["receipt_no"], "code": receipt["verification_code"]},
    )
    assert status.status_code == 200, status.text
    assert status.json()["correction"] == {
        "requested_materials": [{"code": "MARRIAGE_CERT", "name_zh": "结婚证复印件"}],
        "note": "结婚证复印件不清晰，请重新提供",
    }
    sent = await stack.deliveries(
        case_id,
        lambda ds: any(
            d["template"] == "resident_correction_request" and d["status"] == "delivered"
            for d in ds
        ),
    )
    assert any(d["recipient_kind"] == "resident" for d in sent)

    # the resident supplies it at intake (this answered 409 "no correction is pending")
    r = await stack.post(
        stack.intake,
        f"/v1/applications/{case_id}/correction",
        stack.resident(resident["id_number"]),
        {"materials": [{"code": "MARRIAGE_CERT", "form": "copy"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"

    # routing hears it: the pause ends, the clock runs again, the deadline is set anew
    detail = await stack.routing_case(case_id, officer, lambda d: d["state"]["status"] == "open")
    assert types(detail["trail"])[-3:] == [
        "routing.correction_requested",
        "routing.correction_received",
        "routing.deadline_set",
    ]
    received, reset = (e["payload"] for e in detail["trail"][-2:])
    assert received["correction_id"] == detail["trail"][-3]["payload"]["correction_id"]
    assert reset["reason"] == "correction_supplied"
    # asked and supplied on the same drill day: no working day came off the clock
    assert reset["paused_working_days"] == 0 and reset["due_date"] == due_before
    assert detail["state"]["paused_at"] is None


async def test_deadline_over_national_day_counts_working_days_then_warns_and_escalates(
    stack: Stack,
) -> None:
    """服务承诺制 over the 2026 National Day holiday: accepted on 29 September with 15 working
    days promised, the case is due 26 October (holiday and the adjusted working Saturday
    counted). Run as drills: nothing on 22 October; the warning on 23 October (one working
    day before); overdue and escalation to 东山's head after close of business on the 26th;
    the second escalation, to the city's head, two working days later. In that order."""
    agent = staff("ruian.dongshan.shangbu.agent1", "community_agent", SHANGBU, "community")
    resident = applicant("叶丽娟", date(1991, 2, 14), 358, SHANGBU, "瑞安市东山街道上埠村36号")
    r = await stack.post(
        stack.intake,
        "/v1/applications",
        agent,
        {
            "item_code": "FP-002",
            "applicant": resident,
            "materials_provided": FP002_ALL,
            "deposit_paid_fen": DEPOSIT_FP002,
            "payment_receipt_no": "SB-2026-000042",
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    assert r.json()["accepted_on"] == "2026-09-29"
    assert r.json()["promised_completion_date"] == NATIONAL_DAY_DUE.isoformat()

    detail = await stack.routing_case(case_id, until=lambda d: dig(d, "state", "due_at"))
    state = detail["state"]
    assert state["due_date"] == NATIONAL_DAY_DUE.isoformat()
    due_at = datetime.fromisoformat(state["due_at"])
    assert due_at.astimezone(SHANGHAI).date() == NATIONAL_DAY_DUE

    async def drill(at: datetime) -> list[str]:
        r = await stack.post(
            stack.routing,
            "/v1/admin/clock/check-deadlines",
            stack.admin(),
            params={"now": at.isoformat()},
        )
        assert r.status_code == 200, r.text
        return [e["event_type"] for e in r.json()["events"] if e["case_id"] == case_id]

    def local(d: date, hh: int, mm: int = 0) -> datetime:
        return datetime(d.year, d.month, d.day, hh, mm, tzinfo=SHANGHAI)

    assert await drill(local(date(2026, 10, 22), 12)) == []  # two working days left
    assert await drill(local(date(2026, 10, 23), 9)) == ["routing.deadline_warning_issued"]
    assert await drill(due_at + timedelta(minutes=1)) == [
        "routing.case_overdue",
        "routing.case_escalated",
    ]
    # the second escalation waits two more working days (27 and 28 October)
    assert await drill(local(date(2026, 10, 28), 12)) == []
    assert await drill(local(date(2026, 10, 29), 9)) == ["routing.case_escalated"]

    detail = await stack.routing_case(case_id)
    notices = [e for e in detail["trail"] if e["stream_version"] > 4]
    assert types(notices) == [
        "routing.deadline_warning_issued",
        "routing.case_overdue",
        "routing.case_escalated",
        "routing.case_escalated",
    ]
    warning, overdue, first, second = (e["payload"] for e in notices)
    assert warning["working_days_left"] == 1
    assert overdue["assigned_to"] == state["assigned_to"] == f"{DONGSHAN}.jsb.a"
    assert (first["level"], first["to_unit_id"], first["escalated_to"]) == (
        1,
        DONGSHAN,
        f"{DONGSHAN}.head",
    )
    assert (second["level"], second["to_unit_id"], second["escalated_to"]) == (
        2,
        CITY,
        f"{CITY}.head",
    )
    assert all(e["actor"]["id"] == "admin.e2e" for e in notices)  # drills name who ran them
    on_routing = await stack.logs["routing"].wait_case(case_id, lambda es: len(es) >= 8)
    assert types(on_routing)[4:] == types(notices)
    assert detail["state"]["overdue"] is True and detail["state"]["escalation_level"] == 2
