"""Submitting, supplementing and withdrawing through intake's HTTP API (in-process app with its
lifespan, real PostgreSQL and Kafka): what is answered, what is stored, what is published."""

from __future__ import annotations

from typing import Any

import pytest

from .support import (
    ADMIN,
    AGENT_DONGSHAN,
    AGENT_MABEI,
    ID_BEIJI,
    INSPECTOR,
    OFFICER_MABEI,
    Harness,
    applicant,
    read_topic_until,
    second_child,
)

pytestmark = pytest.mark.integration


def types(envelopes: list[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in envelopes]


async def case_events_total(h: Harness) -> int:
    return await h.count("SELECT count(*) FROM events WHERE stream_id LIKE 'case-%'")


async def test_complete_application_is_accepted_with_receipt_and_published(intake: Harness) -> None:
    r = await intake.submit(AGENT_MABEI, second_child())
    assert r.status_code == 201, r.text
    body = r.json()
    case_id = body["case_id"]
    assert body["status"] == "accepted"
    assert body["receipt_no"].startswith("RA")
    assert len(body["verification_code"]) == 6
    assert body["promised_completion_date"] > body["accepted_on"]
    assert body["missing_materials"] == []
    assert [e["event_type"] for e in body["events"]] == [
        "intake.application_submitted",
        "intake.application_accepted",
    ]

    stored = await intake.stream(case_id)
    assert types(stored) == ["intake.application_submitted", "intake.application_accepted"]
    submitted = stored[0]
    assert submitted["actor"] == {
        "id": AGENT_MABEI[0],
        "role": "community_agent",
        "org_id": "ruian.mayu.mabei",
    }
    assert submitted["org_id"] == "ruian.mayu.mabei" and submitted["tier"] == "community"
    assert submitted["payload"]["accepting_staff_id"] == AGENT_MABEI[0]  # 首问责任人
    assert submitted["payload"]["channel"] == "window"
    assert submitted["payload"]["deposit_paid_fen"] == 300_000

    on_topic = await read_topic_until(
        intake.bootstrap,
        intake.intake_topic,
        lambda envs: len([e for e in envs if e["stream_id"] == case_id]) >= 2,
    )
    mine = [e for e in on_topic if e["stream_id"] == case_id]
    assert types(mine) == types(stored)
    assert [e["event_id"] for e in mine] == [e["event_id"] for e in stored]

    # the staff view (the accepting center) and the read model agree with the store
    got = await intake.client.get(
        f"/v1/applications/{case_id}", headers=intake.keys.headers(AGENT_MABEI)
    )
    assert got.status_code == 200, got.text
    app = got.json()["application"]
    assert app["status"] == "accepted" and app["receipt_no"] == body["receipt_no"]
    assert app["applicant"]["id_number"] == applicant()["id_number"]
    assert [t["event_type"] for t in got.json()["trail"]] == types(stored)


async def test_three_missing_materials_give_exactly_one_notice_listing_all_three(
    intake: Harness,
) -> None:
    provided = [
        m
        for m in second_child()["materials_provided"]
        if m["code"] not in ("MARRIAGE_CERT", "HOUSEHOLD_REG", "PHOTO_1IN")
    ]
    r = await intake.submit(AGENT_MABEI, second_child(materials_provided=provided))
    assert r.status_code == 201, r.text
    body = r.json()
    case_id = body["case_id"]
    assert body["status"] == "awaiting_materials"
    assert body["receipt_no"] is None
    assert [m["code"] for m in body["missing_materials"]] == [
        "MARRIAGE_CERT",
        "HOUSEHOLD_REG",
        "PHOTO_1IN",
    ]

    # two supplements at another center (location independence): the first leaves a gap,
    # which is listed again but is NOT a second notice; the second completes the case
    staff = intake.keys.headers(AGENT_DONGSHAN)
    s1 = await intake.client.post(
        f"/v1/applications/{case_id}/materials",
        json={
            "materials": [
                {"code": "MARRIAGE_CERT", "form": "copy"},
                {"code": "HOUSEHOLD_REG", "form": "copy"},
            ]
        },
        headers=staff,
    )
    assert s1.status_code == 200, s1.text
    assert s1.json()["status"] == "awaiting_materials"
    assert [m["code"] for m in s1.json()["missing_materials"]] == ["PHOTO_1IN"]
    s2 = await intake.client.post(
        f"/v1/applications/{case_id}/materials",
        json={"materials": [{"code": "PHOTO_1IN", "form": "original", "copies": 2}]},
        headers=staff,
    )
    assert s2.status_code == 200, s2.text
    assert s2.json()["status"] == "accepted" and s2.json()["receipt_no"]

    stored = await intake.stream(case_id)
    assert types(stored) == [
        "intake.application_submitted",
        "intake.materials_missing_notified",
        "intake.materials_supplemented",
        "intake.materials_supplemented",
        "intake.application_accepted",
    ]
    notice = stored[1]["payload"]
    assert [m["code"] for m in notice["missing"]] == ["MARRIAGE_CERT", "HOUSEHOLD_REG", "PHOTO_1IN"]
    assert {m["name_zh"] for m in notice["missing"]} == {
        "结婚证复印件",
        "户口簿复印件",
        "夫妻双方一寸近期免冠照片",
    }
    assert stored[2]["payload"]["received_center_id"] == "ruian.dongshan"
    # 首问责任: the accepting staff member stays the one who first took the case
    assert stored[4]["payload"]["accepting_staff_id"] == AGENT_MABEI[0]
    assert stored[4]["payload"]["accepted_by"] == AGENT_DONGSHAN[0]

    on_topic = await read_topic_until(
        intake.bootstrap,
        intake.intake_topic,
        lambda envs: any(
            e["stream_id"] == case_id and e["event_type"] == "intake.application_accepted"
            for e in envs
        ),
    )
    notices = [
        e
        for e in on_topic
        if e["stream_id"] == case_id and e["event_type"] == "intake.materials_missing_notified"
    ]
    assert len(notices) == 1
    assert [m["code"] for m in notices[0]["payload"]["missing"]] == [
        "MARRIAGE_CERT",
        "HOUSEHOLD_REG",
        "PHOTO_1IN",
    ]


async def test_withdrawal_before_decision_then_nothing_more(intake: Harness) -> None:
    r = await intake.submit(AGENT_MABEI, second_child(materials_provided=[]))
    case_id = r.json()["case_id"]
    resident = intake.keys.resident()
    w = await intake.client.post(
        f"/v1/applications/{case_id}/withdraw", json={"reason": "不办了"}, headers=resident
    )
    assert w.status_code == 200, w.text
    assert w.json()["status"] == "withdrawn"
    again = await intake.client.post(
        f"/v1/applications/{case_id}/withdraw", json={}, headers=resident
    )
    assert again.status_code == 409
    assert again.json()["detail"]["field"] == "status"
    late = await intake.client.post(
        f"/v1/applications/{case_id}/materials",
        json={"materials": [{"code": "ID_CARD", "form": "copy"}]},
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert late.status_code == 409
    stored = await intake.stream(case_id)
    assert types(stored)[-1] == "intake.application_withdrawn"
    assert stored[-1]["payload"]["deposit_held_fen"] == 300_000
    assert stored[-1]["actor"]["role"] == "resident"


OT001 = [
    {"code": "ID_CARD", "form": "original"},
    {"code": "PURCHASE_INVOICE", "form": "original"},
    {"code": "CERT_OF_CONFORMITY", "form": "original"},
    {"code": "VEHICLE", "form": "original"},
]


def ebike(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "item_code": "OT-001",
        "applicant": applicant(),
        "materials_provided": OT001,
        "fee_paid_fen": 1_000,
        "payment_receipt_no": "MB-FEE-0001",
    }
    body.update(overrides)
    return body


async def test_fee_other_than_the_published_standard_is_refused_unless_an_officer_overrides(
    intake: Harness,
) -> None:
    before = await case_events_total(intake)
    r = await intake.submit(AGENT_MABEI, ebike(fee_paid_fen=500))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["field"] == "fee_paid_fen"
    assert "1000 fen" in detail["reason"]

    # an agent cannot override; an officer can, with a reason, and the override is an event
    agent = await intake.submit(
        AGENT_MABEI, ebike(fee_paid_fen=500, fee_override={"reason": "低保户减半"})
    )
    assert agent.status_code == 403
    assert agent.json()["detail"]["field"] == "fee_override"
    assert await case_events_total(intake) == before

    ok = await intake.submit(
        OFFICER_MABEI, ebike(fee_paid_fen=500, fee_override={"reason": "低保户减半"})
    )
    assert ok.status_code == 201, ok.text
    stored = await intake.stream(ok.json()["case_id"])
    assert types(stored) == [
        "intake.application_submitted",
        "intake.fee_override_recorded",
        "intake.application_accepted",
    ]
    override = stored[1]["payload"]
    assert override["officer_id"] == OFFICER_MABEI[0]
    assert override["reason"] == "低保户减半"
    assert override["overridden_fields"] == ["fee_paid_fen"]


async def test_bad_input_names_the_field_and_changes_nothing(intake: Harness) -> None:
    before = await case_events_total(intake)

    unknown = await intake.submit(AGENT_MABEI, second_child(item_code="XX-999"))
    assert unknown.status_code == 422
    assert unknown.json()["detail"]["field"] == "item_code"
    assert "XX-999" in unknown.json()["detail"]["reason"]
    assert unknown.json()["detail"]["code"] == "unknown_item"  # for the portal's wording

    no_id = applicant()
    del no_id["id_number"]
    missing = await intake.submit(AGENT_MABEI, second_child(applicant=no_id))
    assert missing.status_code == 422
    assert missing.json()["detail"]["field"] == "applicant.id_number"
    assert missing.json()["detail"]["reason"] == "Field required"
    assert missing.json()["detail"]["code"] == "missing"  # pydantic's error type

    body = second_child()
    del body["item_code"]
    no_item = await intake.submit(AGENT_MABEI, body)
    assert no_item.json()["detail"]["field"] == "item_code"

    bad_check_digit = await intake.submit(
        AGENT_MABEI, second_child(applicant=applicant(id_number=ID_BEIJI[:-1] + "0"))
    )
    assert bad_check_digit.status_code == 422
    assert bad_check_digit.json()["detail"]["field"] == "applicant.id_number"
    assert "check digit" in bad_check_digit.json()["detail"]["reason"]
    assert bad_check_digit.json()["detail"]["code"] == "invalid_id_number"

    not_listed = await intake.submit(
        AGENT_MABEI,
        second_child(materials_provided=[{"code": "WATER_BILL", "form": "original"}]),
    )
    assert not_listed.status_code == 422
    assert not_listed.json()["detail"]["field"] == "materials_provided[0].code"
    assert not_listed.json()["detail"]["code"] == "material_not_in_list"

    extra = await intake.submit(AGENT_MABEI, second_child(colour="blue"))
    assert extra.status_code == 422
    assert extra.json()["detail"]["field"] == "colour"

    deposit = await intake.submit(AGENT_MABEI, second_child(deposit_paid_fen=0))
    assert deposit.status_code == 422
    assert deposit.json()["detail"]["field"] == "deposit_paid_fen"
    assert deposit.json()["detail"]["code"] == "fee_mismatch"

    nowhere = await intake.submit(
        ("staff.x", "community_agent", "ruian.nowhere", "community"), second_child()
    )
    assert nowhere.status_code == 422
    assert nowhere.json()["detail"]["field"] == "accepting_center_id"

    not_community = await intake.submit(
        AGENT_MABEI,
        second_child(applicant=applicant(registered_community_id="ruian.mayu")),
    )
    assert not_community.status_code == 422
    assert not_community.json()["detail"]["field"] == "applicant.registered_community_id"

    other_center = await intake.submit(
        AGENT_MABEI, second_child(accepting_center_id="ruian.dongshan")
    )
    assert other_center.status_code == 403
    assert other_center.json()["detail"]["field"] == "accepting_center_id"

    assert await case_events_total(intake) == before


async def test_roles_are_refused_with_a_reason_and_change_nothing(intake: Harness) -> None:
    before = await case_events_total(intake)
    for who in (INSPECTOR, ADMIN, ("head.mayu", "center_head", "ruian.mayu", "town")):
        r = await intake.submit(who, second_child())
        assert r.status_code == 403, who
        detail = r.json()["detail"]
        assert detail["role"] == who[1]
        assert "community_agent" in detail["reason"]
    anonymous = await intake.client.post("/v1/applications", json=second_child())
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    forged = await intake.client.post(
        "/v1/applications",
        json=second_child(),
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert forged.status_code == 401

    accepted = await intake.submit(AGENT_MABEI, second_child())
    case_id = accepted.json()["case_id"]
    resident_delivers = await intake.client.post(
        f"/v1/applications/{case_id}/delivery",
        json={"method": "picked_up"},
        headers=intake.keys.resident(),
    )
    assert resident_delivers.status_code == 403
    stranger = await intake.client.post(
        f"/v1/applications/{case_id}/withdraw", json={}, headers=intake.keys.resident(ID_BEIJI)
    )
    assert stranger.status_code == 403
    assert stranger.json()["detail"]["reason"] == "this application belongs to another resident"
    assert await case_events_total(intake) == before + 2  # only the accepted case


async def test_resident_submits_online_at_the_registered_community(intake: Harness) -> None:
    r = await intake.client.post(
        "/v1/applications",
        json=second_child(
            applicant=applicant(id_number=ID_BEIJI, registered_community_id="ruian.dongshan.beiji")
        ),
        headers=intake.keys.resident(ID_BEIJI),
    )
    assert r.status_code == 201, r.text
    stored = await intake.stream(r.json()["case_id"])
    payload = stored[0]["payload"]
    assert payload["channel"] == "online"
    assert payload["accepting_center_id"] == "ruian.dongshan.beiji"
    assert payload["accepting_staff_id"] is None
    window = await intake.client.post(
        "/v1/applications",
        json=second_child(channel="window"),
        headers=intake.keys.resident(),
    )
    assert window.status_code == 422
    assert window.json()["detail"]["field"] == "channel"
    mine = await intake.client.get("/v1/applications", headers=intake.keys.resident(ID_BEIJI))
    assert [i["case_id"] for i in mine.json()["items"]] == [r.json()["case_id"]]
