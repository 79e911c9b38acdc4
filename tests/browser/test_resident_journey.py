"""A resident's journey in a real Chromium on a phone, against the real stack: the status by
receipt number and code, the correction (补正) the town office asked for, answered online
after signing in, and the rating at the full-screen window evaluator (服务评价器).

The staff's steps (the agent's intake at 马北, the town officer's correction request and
decision, the result's return and delivery) are made over the services' HTTP APIs here:
their own pages have their own tests.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from devstack.demo import id_number

from ..e2e.lifecycle.stack import MABEI, Who
from ..polling import dig, eventually
from .conftest import serious_violations, shot
from .stack import PortalStack

AGENT: Who = ("ruian.mayu.mabei.agent1", "community_agent", MABEI, "community")
FP002_ALL = [
    {"code": "APPLICATION_FORM", "form": "original"},
    {"code": "ID_CARD", "form": "copy", "copies": 2},
    {"code": "MARRIAGE_CERT", "form": "copy"},
    {"code": "HOUSEHOLD_REG", "form": "copy"},
    {"code": "PHOTO_1IN", "form": "original", "copies": 2},
]


async def _accepted_case(portal: PortalStack, name: str, serial: int) -> dict[str, Any]:
    s = portal.stack
    applicant = {
        "name": name,
        "id_number": id_number(date(1991, 3, 8), serial),
        "phone": f"139577{serial:05d}",
        "registered_community_id": MABEI,
        "address": "瑞安市马屿镇马北社区新街8号",
    }
    r = await s.post(
        s.intake,
        "/v1/applications",
        AGENT,
        {
            "item_code": "FP-002",
            "applicant": applicant,
            "materials_provided": FP002_ALL,
            "deposit_paid_fen": 300_000,
            "payment_receipt_no": f"MB-{serial}",
        },
    )
    assert r.status_code == 201, r.text
    receipt: dict[str, Any] = r.json()
    assert receipt["status"] == "accepted"
    receipt["applicant"] = applicant
    return receipt


def _officer(detail: dict[str, Any]) -> Who:
    st = detail["state"]
    return (st["assigned_to"], "officer", st["handling_unit_id"], st["handling_tier"])


async def test_status_then_correction_then_rating_at_the_evaluator(
    phone: Any, portal: PortalStack
) -> None:
    s = portal.stack
    receipt = await _accepted_case(portal, "林晓燕", random.randint(1000, 99999))
    case_id, code = receipt["case_id"], receipt["verification_code"]
    detail = await s.routing_case(case_id, AGENT, lambda d: dig(d, "state", "assigned_to"))
    officer = _officer(detail)
    asked = {"requested_materials": ["MARRIAGE_CERT"], "note": "结婚证复印件不清晰，请重新提供"}
    r = await s.post(s.routing, f"/v1/cases/{case_id}/correction-request", officer, asked)
    assert r.status_code == 200, r.text
    await s.intake_case(
        case_id, AGENT, lambda v: v["application"]["status"] == "correction_requested"
    )

    # the status, by receipt number and code, on the phone
    await phone.goto("/status")
    await phone.get_by_label("受理回执号").fill(receipt["receipt_no"])
    await phone.get_by_label("查询码").fill(code)
    await phone.get_by_role("button", name="查询").click()
    await phone.get_by_text("补正通知").wait_for()
    main = await phone.locator("main").inner_text()
    assert "待补正" in main and "结婚证复印件" in main and asked["note"] in main
    assert "林**" in main and "林晓燕" not in main  # the public view masks the name
    await shot(phone, "resident-status")
    assert await serious_violations(phone) == []

    # a wrong code: the error beside the field, what was typed kept
    await phone.goto("/status")
    await phone.get_by_label("受理回执号").fill(receipt["receipt_no"])
    await phone.get_by_label("查询码").fill("000000" if code != "000000" else "111111")
    await phone.get_by_role("button", name="查询").click()
    err = phone.locator("#e-code")
    await err.wait_for()
    assert "不匹配" in await err.inner_text()
    assert await phone.get_by_label("受理回执号").input_value() == receipt["receipt_no"]

    # answering the correction: sign in as the resident, then the correction form
    await phone.goto(f"/resident/cases/{case_id}/correction")
    await phone.wait_for_url(lambda url: "/signin?next=" in url)
    await phone.locator("#f-name").fill(receipt["applicant"]["name"])
    await phone.locator("#f-id_number").fill(receipt["applicant"]["id_number"])
    await phone.get_by_role("button", name="以群众身份登录").click()
    await phone.wait_for_url(f"**/resident/cases/{case_id}/correction")
    box = phone.get_by_label("结婚证复印件（复印件1份）")
    assert await box.is_checked()
    await phone.get_by_label("补正说明").fill("已重新复印结婚证，字迹清楚")
    await phone.get_by_role("button", name="提交补正").click()
    await phone.wait_for_url(lambda url: url.endswith(f"/resident/cases/{case_id}?done=correction"))
    assert "补正材料已提交" in await phone.locator("main").inner_text()
    await phone.goto("/resident")  # my cases
    row = phone.locator("tr", has=phone.get_by_role("link", name="再生育(二胎)申请审批"))
    assert receipt["receipt_no"] in await row.inner_text()
    await shot(phone, "resident-my-cases")
    routed = await s.routing_case(case_id, officer, lambda d: d["state"]["status"] == "open")
    assert "routing.correction_received" in [e["event_type"] for e in routed["trail"]]

    # the office decides, the result comes back to 马北 and is handed over
    r = await s.post(
        s.routing,
        f"/v1/cases/{case_id}/decision",
        officer,
        {"decision": "approve", "reason": "材料齐全，符合再生育条件"},
    )
    assert r.status_code == 200, r.text
    r = await s.post(s.routing, f"/v1/cases/{case_id}/result-return", officer)
    assert r.status_code == 200, r.text
    await s.intake_case(case_id, AGENT, lambda v: v["result_ready"])
    r = await s.post(
        s.intake, f"/v1/applications/{case_id}/delivery", AGENT, {"method": "picked_up"}
    )
    assert r.status_code == 200, r.text

    # the status, by the case link printed on the receipt (its QR code), shows the result
    # and where it was collected
    await phone.goto(f"/s/{receipt['receipt_no']}?c={code}")
    await phone.wait_for_url(lambda url: "/status?receipt_no=" in url)
    main = await phone.locator("main").inner_text()
    assert "结果已送达" in main and "准予" in main and "马北社区" in main

    # the rating, at the window evaluator the clerk turns toward the resident
    await phone.goto(f"/resident/cases/{case_id}/evaluator")
    await shot(phone, "resident-evaluator")
    assert await serious_violations(phone) == []
    await phone.get_by_role("button", name="提交评价").click()  # no score chosen
    err = phone.locator("#e-score")
    await err.wait_for()
    assert "请选择" in await err.inner_text()
    await phone.get_by_label("非常满意").check()
    await phone.get_by_label("意见和建议（选填）").fill("代办员很耐心，一次办好")
    sent = await phone.evaluate(
        "() => Object.fromEntries(new FormData(document.querySelector('main form')))"
    )
    await phone.get_by_role("button", name="提交评价").click()
    await phone.get_by_text("感谢您的评价").wait_for()
    assert "5分" in await phone.locator("main").inner_text()

    # the same form sent again (a double click, a page sent twice): one evaluation
    again = await phone.request.post(f"/resident/cases/{case_id}/rating", form=sent)
    assert again.status == 200 and "感谢您的评价" in await again.text()

    async def evaluated() -> list[dict[str, Any]]:
        view = await s.intake_case(case_id, AGENT)
        return [e for e in view["trail"] if e["event_type"] == "intake.service_evaluated"]

    events = await eventually(evaluated, what="the evaluation on intake's trail")
    assert len(events) == 1
    view = await s.intake_case(case_id, AGENT)
    assert view["application"]["evaluation_score"] == 5


async def test_the_one_time_notice_by_the_case_link_before_acceptance(
    phone: Any, portal: PortalStack
) -> None:
    """Handed in with materials missing, the case is not accepted yet and has no receipt
    number: the slip's case link (case id + code) shows the one-time notice, every missing
    material at once, with why (not provided, too few copies)."""
    s = portal.stack
    serial = random.randint(1000, 99999)
    r = await s.post(
        s.intake,
        "/v1/applications",
        AGENT,
        {
            "item_code": "FP-002",
            "applicant": {
                "name": "吴丽娜",
                "id_number": id_number(date(1993, 7, 1), serial),
                "phone": f"139577{serial:05d}",
                "registered_community_id": MABEI,
                "address": "瑞安市马屿镇马北社区新街5号",
            },
            "materials_provided": [
                {"code": "APPLICATION_FORM", "form": "original"},
                {"code": "ID_CARD", "form": "copy"},
            ],
            "deposit_paid_fen": 300_000,
            "payment_receipt_no": f"MB-{serial}",
        },
    )
    assert r.status_code == 201, r.text
    slip = r.json()
    assert slip["status"] == "awaiting_materials" and slip["receipt_no"] is None
    missing = {m["code"]: m for m in slip["missing_materials"]}
    await phone.goto(f"/s/{slip['case_id']}?c={slip['verification_code']}")
    notice = phone.locator("section", has=phone.get_by_role("heading", name="一次性告知"))
    text = await notice.inner_text()
    assert f"共{len(missing)}项" in text
    for m in missing.values():
        assert m["name_zh"] in text, m
    assert "份数不足" in text and "已交1份" in text  # ID_CARD: 1 of the 2 copies
    assert "未提供" in text
    assert "尚未受理" in await phone.locator("main").inner_text()
    await shot(phone, "resident-notice")
