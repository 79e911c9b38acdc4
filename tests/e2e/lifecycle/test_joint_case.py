"""联办 end to end (intake, routing and notify as separate processes on the real Kafka and
PostgreSQL): the start-up seed published the birth bundle; a joint intake with gaps gets ONE notice
covering every member; a complete one gets one receipt; its members are routed to the
community and the town and decided there; ONE joint result comes back when all are done:
the resident is told once, intake records it, and the resident collects it once."""

from __future__ import annotations

from typing import Any

import pytest

from intake.domain.id_number import check_digit
from intake.seed_catalog import seed_bundles, seed_items

from ...polling import eventually
from .stack import MABEI, Stack, Who

pytestmark = pytest.mark.e2e

AGENT: Who = ("ruian.mayu.mabei.agent1", "community_agent", MABEI, "community")


def applicant() -> dict[str, Any]:
    return {
        "name": "陈小芳",
        "id_number": "33038119900415123" + check_digit("33038119900415123"),
        "phone": "13957712345",
        "household_no": "330381-MB-0421",
        "registered_community_id": MABEI,
        "address": "瑞安市马屿镇马北社区新街12号",
    }


def everything(code: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    bundle = next(b for b in seed_bundles() if b.code == code)
    items = {i.code: i for i in seed_items()}
    shared: dict[str, dict[str, Any]] = {}
    own = []
    for member in bundle.members:
        mine = []
        for m in items[member].materials:
            if m.may_supply_later:
                continue
            given = {"code": m.code, "form": m.form, "copies": m.copies}
            if m.code in bundle.shared_materials:
                held = shared.setdefault(m.code, given)
                held["copies"] = max(held["copies"], m.copies)
                if m.form == "original":
                    held["form"] = "original"
            else:
                mine.append(given)
        own.append({"item_code": member, "provided": mine})
    return list(shared.values()), own


async def test_a_joint_case_one_notice_two_tiers_one_result(stack: Stack) -> None:
    # the start-up seed published the bundles: the public catalog lists them
    r = await stack.intake.get("/v1/catalog")
    assert r.status_code == 200, r.text
    assert {"LB-001", "LB-002"} <= {b["code"] for b in r.json()["bundles"]}

    # nothing handed in: ONE notice naming the shared gaps once and each member's own
    r = await stack.post(
        stack.intake,
        "/v1/joint-applications",
        AGENT,
        {"bundle_code": "LB-001", "applicant": applicant()},
    )
    assert r.status_code == 201, r.text
    notice = r.json()
    assert notice["status"] == "awaiting_materials"
    notified = await stack.logs["intake"].wait_case(
        notice["joint_case_id"], lambda es: len(es) >= 2
    )
    assert [e["event_type"] for e in notified] == [
        "intake.joint_application_submitted",
        "intake.joint_materials_missing_notified",
    ]
    assert len(notified[1]["payload"]["missing"]["members"]) == 4
    # the resident hears it once: one SMS for the whole bundle, not one per member
    told = await stack.deliveries(
        notice["joint_case_id"], lambda ds: any(d["status"] == "delivered" for d in ds)
    )
    assert [(d["template"], d["channel"]) for d in told] == [("resident_missing_materials", "sms")]

    # everything handed in once: one receipt, the latest member's promise
    shared, own = everything("LB-001")
    r = await stack.post(
        stack.intake,
        "/v1/joint-applications",
        AGENT,
        {
            "bundle_code": "LB-001",
            "applicant": applicant(),
            "shared_provided": shared,
            "member_provided": own,
        },
    )
    assert r.status_code == 201, r.text
    joint = r.json()
    assert joint["status"] == "accepted"
    joint_id = joint["joint_case_id"]

    # each member routed by routing to the office holding its authority, at two tiers
    tiers = set()
    dues = []
    for member in joint["members"]:
        detail = await stack.routing_case(member["case_id"])
        state = detail["state"]
        tiers.add(state["handling_tier"])
        dues.append(
            next(
                e["payload"]["due_date"]
                for e in detail["trail"]
                if e["event_type"] == "routing.deadline_set"
            )
        )
        officer: Who = (
            state["assigned_to"],
            "officer",
            state["handling_unit_id"],
            state["handling_tier"],
        )
        body = (
            {"decision": "refuse", "reason": "出生医学证明与户口簿信息不符"}
            if member["item_code"] == "OT-004"
            else {"decision": "approve"}
        )
        r = await stack.post(
            stack.routing, f"/v1/cases/{member['case_id']}/decision", officer, body
        )
        assert r.status_code == 200, r.text
    assert tiers == {"community", "town"}
    assert joint["promised_completion_date"] >= max(dues)

    # ONE result, when every member is done
    trail = await stack.logs["routing"].wait_case(
        joint_id,
        lambda es: any(e["event_type"] == "routing.joint_result_ready" for e in es),
    )
    results = [e for e in trail if e["event_type"] == "routing.joint_result_ready"]
    assert len(results) == 1 and results[0]["payload"]["final"] is True
    assert [(o["item_code"], o["status"]) for o in results[0]["payload"]["outcomes"]] == [
        ("FP-003", "approved"),
        ("OT-004", "refused"),
        ("LS-003", "approved"),
        ("FP-001", "approved"),
    ]

    # the resident had ONE receipt for the bundle; the result reaches them as ONE message
    # naming every member's outcome
    def sent(ds: list[dict[str, Any]], template: str) -> list[dict[str, Any]]:
        return [d for d in ds if d["template"] == template and d["status"] == "delivered"]

    told = await stack.deliveries(
        joint_id,
        lambda ds: sent(ds, "resident_joint_receipt") and sent(ds, "resident_joint_result_ready"),
    )
    receipts = [d for d in told if d["template"] == "resident_joint_receipt"]
    assert [d["channel"] for d in receipts] == ["sms"]
    (sms,) = stack.sms_lines(receipts[0]["delivery_id"])
    assert joint["receipt_no"] in sms["text"] and "已受理" in sms["text"]
    assert "包含以下4个事项" in sms["text"]
    results_told = [d for d in told if d["template"] == "resident_joint_result_ready"]
    assert [d["channel"] for d in results_told] == ["sms"]
    (sms,) = stack.sms_lines(results_told[0]["delivery_id"])
    assert "已全部办结" in sms["text"] and "不予办理" in sms["text"]

    # intake recorded the whole result; the resident collects it once at the accepting center
    async def at_intake() -> dict[str, Any]:
        r = await stack.intake.get(
            f"/v1/joint-applications/{joint_id}", headers=stack.headers(AGENT)
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    recorded = await eventually(
        at_intake, lambda v: v["status"] == "result_ready", what="the joint result at intake"
    )
    assert [m["status"] for m in recorded["members"]] == [
        "approved",
        "refused",
        "approved",
        "approved",
    ]
    r = await stack.post(
        stack.intake, f"/v1/joint-applications/{joint_id}/delivery", AGENT, {"method": "picked_up"}
    )
    assert r.status_code == 200, r.text
    assert (await at_intake())["status"] == "delivered"
