"""The staff's pages in a real Chromium against the real stack (issue 14).

The islander's 二胎 case: a 北麂 (island) resident hands in a second-child application at the
东山街道 center on the mainland. The window clerk ticks the checklist with the marriage
certificate left out; the one-time notice names it before anything is submitted, and again
on the printed notice; the resident comes back with it (the supplement) and the case is
accepted with an A5 receipt carrying the QR code of the status page and the verification
code. 东山's family-planning officer finds it in the queue (A post, working days left),
approves it and returns the result; the clerk hands it over; the resident rates it at the
window evaluator — a bad review — and 东山's center head answers the follow-up.

Each person has their own browser context (cookies), as at their own desk. Screenshots of
the clerk's, officer's and head's main pages go to docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from typing import Any

import pytest
from playwright.async_api import expect

from contracts.workdays import SHANGHAI, subtract_working_days
from devstack.demo import id_number

from ..polling import eventually
from .conftest import shot
from .stack import PortalStack

DONGSHAN, BEIJI = "ruian.dongshan", "ruian.dongshan.beiji"
CLERK = f"community_agent|{DONGSHAN}.agent1|{DONGSHAN}"
HEAD = f"center_head|{DONGSHAN}.head|{DONGSHAN}"
FP002_TICKED = {  # everything but the marriage certificate (and the 容缺 birth certificate)
    "APPLICATION_FORM",
    "ID_CARD",
    "HOUSEHOLD_REG",
    "PHOTO_1IN",
}
SCAN = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CASE_URL = re.compile(r".*/clerk/cases/(case-[0-9a-f]{32})$")


@pytest.fixture
async def desk(chromium: Any, portal: PortalStack) -> AsyncIterator[Any]:
    """Opens a fresh 1366x768 browser context per person: `await desk()`."""
    contexts = []

    async def open_desk() -> Any:
        ctx = await chromium.new_context(
            base_url=portal.url, viewport={"width": 1366, "height": 768}, locale="zh-CN"
        )
        contexts.append(ctx)
        return await ctx.new_page()

    yield open_desk
    for ctx in contexts:
        await ctx.close()


async def sign_in_staff(page: Any, key: str, next_path: str) -> None:
    await page.goto(f"/signin?next={next_path}")
    await page.select_option("#f-person", key)
    await page.get_by_role("button", name="以此身份登录").click()
    await page.wait_for_url(f"**{next_path}")


async def sign_in_resident(page: Any, name: str, id_no: str, next_path: str) -> None:
    await page.goto(f"/signin?next={next_path}")
    form = page.locator("form", has=page.locator("input[name=kind][value=resident]"))
    await form.locator("#f-name").fill(name)
    await form.locator("#f-id_number").fill(id_no)
    await form.get_by_role("button", name="以群众身份登录").click()
    await page.wait_for_url(f"**{next_path}")


async def fits_the_window(page: Any) -> None:
    """No sideways scrolling at 1366 px: the window's office monitor."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page is {width} px wide"


async def open_intake(page: Any) -> None:
    await page.goto("/clerk/intake")
    await page.select_option("#f-item", "FP-002")
    await page.get_by_role("button", name="选择事项").click()
    await page.wait_for_url("**/clerk/intake?item=FP-002")


async def fill_applicant(page: Any, name: str, id_no: str) -> None:
    await page.fill("#f-name", name)
    await page.fill("#f-id_number", id_no)
    await page.fill("#f-phone", "13957700321")
    await page.select_option("#f-community", BEIJI)
    await page.fill("#f-address", "瑞安市东山街道北麂社区渔港路3号")


async def test_the_islanders_second_child_case_from_the_window_to_the_evaluator(
    desk: Any, portal: PortalStack
) -> None:
    stack = portal.stack
    islander, id_no = "池海燕", id_number(date(1991, 6, 8), 432)

    # -- the window: the checklist with the marriage certificate left out --------------------
    clerk = await desk()
    await sign_in_staff(clerk, CLERK, "/clerk")
    await open_intake(clerk)
    await fill_applicant(clerk, islander, id_no)
    for code in FP002_TICKED:
        await clerk.check(f"#m-{code}")
    notice = clerk.locator("#notice")
    # the one-time notice, live, before anything is submitted: exactly the one gap
    await expect(notice.locator("li")).to_have_count(1)
    assert await notice.locator("li").get_attribute("data-code") == "MARRIAGE_CERT"
    assert "结婚证" in await notice.inner_text()
    # the fee standard and the deposit beside what is paid
    text = await clerk.locator("main").inner_text()
    assert "不收费" in text and "3000元" in text
    assert "扫描件" in text  # the page says the scans are taken on the case page
    await clerk.fill("#f-deposit_paid", "3000")
    await clerk.fill("#f-payment_receipt_no", "DS-2026-000321")
    await fits_the_window(clerk)
    await clerk.evaluate("window.scrollTo(0, 0)")
    await shot(clerk, "clerk-intake", full_page=False)
    await clerk.get_by_role("button", name="提交受理").click()
    await clerk.wait_for_url(CASE_URL)
    m = CASE_URL.match(clerk.url)
    assert m is not None
    case_id = m.group(1)
    assert await clerk.locator("#case-status").inner_text() == "待补齐材料"
    gaps = clerk.locator(".notice-box li")
    assert [await li.get_attribute("data-code") for li in await gaps.all()] == ["MARRIAGE_CERT"]
    # intake sent that same notice, once
    view = await stack.intake_case(
        case_id, ("ruian.dongshan.agent1", "community_agent", DONGSHAN, "town")
    )
    assert [g["code"] for g in view["application"]["missing"]] == ["MARRIAGE_CERT"]
    assert [e["event_type"] for e in view["trail"]].count("intake.materials_missing_notified") == 1

    # -- the resident comes back with it: the supplement, accepted, the receipt --------------
    await clerk.check("#s-MARRIAGE_CERT")
    await clerk.get_by_role("button", name="登记补交材料").click()
    await clerk.wait_for_url(f"**/clerk/cases/{case_id}?done=supplement")
    assert await clerk.locator("#case-status").inner_text() == "已受理，办理中"
    # the scan of the marriage certificate, attached at the window
    await clerk.select_option("#doc-material", "MARRIAGE_CERT")
    await clerk.set_input_files(
        "#doc-file", {"name": "结婚证.pdf", "mimeType": "application/pdf", "buffer": SCAN}
    )
    await clerk.get_by_role("button", name="上传扫描件").click()
    await clerk.wait_for_url(f"**/clerk/cases/{case_id}?done=documents")
    assert "结婚证.pdf" in await clerk.locator("#documents").inner_text()
    await clerk.get_by_role("link", name="打印受理回执").click()
    await clerk.wait_for_url(f"**/clerk/cases/{case_id}/receipt")
    accepted = await stack.intake_case(
        case_id,
        ("ruian.dongshan.agent1", "community_agent", DONGSHAN, "town"),
        lambda v: v["application"]["receipt_no"],
    )
    receipt_no = accepted["application"]["receipt_no"]
    code = await clerk.locator("#verification-code").inner_text()
    assert re.fullmatch(r"[0-9]{6}", code)
    assert await clerk.locator(".qr svg").count() == 1
    assert receipt_no in await clerk.locator(".receipt").inner_text()
    # the QR code's link is the resident's status page: it opens with the receipt's code
    status_page = await desk()
    await status_page.goto(f"/s/{receipt_no}?c={code}")
    assert "已受理" in await status_page.locator("main").inner_text()
    await clerk.emulate_media(media="print")
    assert not await clerk.locator("header.top").is_visible()  # the A5 print layout
    await clerk.emulate_media(media="screen")
    await shot(clerk, "clerk-receipt", full_page=False)

    # -- the town officer: the queue, the case, the decision, the result's return ----------
    routed = await stack.routing_case(case_id, until=lambda d: d["state"]["assigned_to"])
    state = routed["state"]
    assert (state["handling_unit_id"], state["accepting_center_id"]) == (DONGSHAN, DONGSHAN)
    officer_id = state["assigned_to"]
    officer = await desk()
    await sign_in_staff(officer, f"officer|{officer_id}|{DONGSHAN}", "/officer")
    row = officer.locator(f"tr[data-case={case_id}]")
    await row.wait_for()
    row_text = await row.inner_text()
    assert "A岗" in row_text and "天" in row_text  # the post held and the countdown
    await officer.select_option("#f-item", "FP-002")
    await officer.get_by_role("button", name="筛选").click()
    await officer.wait_for_url("**/officer?item=FP-002**")
    await row.wait_for()
    # 服务条线: the case is queued on 计划生育办公室's line, not on 民政办's
    await officer.select_option("#f-line", label="民政办")
    await officer.get_by_role("button", name="筛选").click()
    await officer.wait_for_url("**&line=w02**")
    assert await row.count() == 0
    await officer.select_option("#f-line", label="计划生育办公室")
    await officer.get_by_role("button", name="筛选").click()
    await officer.wait_for_url("**&line=w01**")
    await row.wait_for()
    await fits_the_window(officer)
    await shot(officer, "officer-queue", full_page=False)
    await row.get_by_role("link", name="办理").click()
    await officer.wait_for_url(f"**/officer/cases/{case_id}")
    trail = await officer.locator("ol.trail").inner_text()
    assert "分派审批人员" in trail and "A岗" in trail and "计算承诺时限" in trail
    # the officer sees the scan and opens it: the same bytes, through the portal
    link = officer.locator("#documents a", has_text="结婚证.pdf")
    href = await link.get_attribute("href")
    assert href is not None
    got = await officer.request.get(href)
    assert got.status == 200 and await got.body() == SCAN
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")
    await officer.locator("input[name=decision][value=approve]").check()
    await officer.fill("#f-reason", "材料齐全，符合再生育条件")
    await officer.evaluate("window.scrollTo(0, 0)")
    await shot(officer, "officer-case", full_page=False)
    await officer.get_by_role("button", name="提交决定").click()
    await officer.wait_for_url(f"**/officer/cases/{case_id}?done=decision")
    await officer.get_by_role("button", name="送回结果").click()
    await officer.wait_for_url(f"**/officer/cases/{case_id}?done=return")
    assert await officer.locator("#case-status").inner_text() == "结果已送回"

    # -- the window hands the result over -----------------------------------------------------
    async def result_at_window() -> bool:
        await clerk.goto(f"/clerk/cases/{case_id}")
        return await clerk.get_by_role("button", name="确认送达").count() == 1

    await eventually(result_at_window, what="the result back at the 东山 window")
    await clerk.locator("input[name=method][value=picked_up]").check()
    await clerk.get_by_role("button", name="确认送达").click()
    await clerk.wait_for_url(f"**/clerk/cases/{case_id}?done=delivery")
    assert await clerk.locator("#case-status").inner_text() == "结果已送达"
    await clerk.goto("/clerk")
    await fits_the_window(clerk)
    await shot(clerk, "clerk-home", full_page=False)

    # -- the resident rates it at the window evaluator: a bad review --------------------------
    resident = await desk()
    evaluator = f"/resident/cases/{case_id}/evaluator"
    await sign_in_resident(resident, islander, id_no, evaluator)
    two = resident.locator("input[name=score][value='2']")
    await resident.locator(".stars label", has=two).click()  # the big button at the counter
    assert await two.is_checked()
    await resident.fill("#f-comment", "来回跑了两趟，等待时间太长")
    await resident.get_by_role("button", name="提交评价").click()
    await resident.get_by_role("heading", name="感谢您的评价").wait_for()

    # -- 东山's head answers the follow-up ------------------------------------------------------
    async def opened() -> list[dict[str, Any]]:
        r = await stack.routing.get(
            "/v1/followups",
            headers=stack.headers((f"{DONGSHAN}.head", "center_head", DONGSHAN, "town")),
        )
        assert r.status_code == 200, r.text
        return [f for f in r.json() if f["case_id"] == case_id]

    [followup] = await eventually(opened, what="the bad review's follow-up for 东山's head")
    head = await desk()
    await sign_in_staff(head, HEAD, "/head")
    row = head.locator(f"tr[data-followup='{followup['followup_id']}']")
    assert "来回跑了两趟" in await row.inner_text()
    await fits_the_window(head)
    await shot(head, "head-dashboard", full_page=False)
    await row.locator("textarea[name=answer]").fill("已电话回访，致歉并改为海岛居民预约办理")
    await row.get_by_role("button", name="回复").click()
    await head.wait_for_url("**/head?done=answer**")
    assert (
        "已回复"
        in await head.locator(f"tr[data-followup='{followup['followup_id']}']").inner_text()
    )
    [answered] = await opened()
    assert answered["answered"] and answered["answered_by"] == f"{DONGSHAN}.head"


async def test_the_window_form_keeps_what_was_typed_and_a_double_submit_makes_one_case(
    desk: Any, portal: PortalStack
) -> None:
    clerk = await desk()
    await sign_in_staff(clerk, CLERK, "/clerk")
    await open_intake(clerk)
    await fill_applicant(clerk, "池海生", "33038119580302321")  # 17 characters: one short
    await clerk.check("#m-APPLICATION_FORM")
    await clerk.get_by_role("button", name="提交受理").click()
    err = clerk.locator("#e-id_number")
    await err.wait_for()
    assert "18位" in await err.inner_text()
    assert await clerk.input_value("#f-name") == "池海生"  # the form keeps what was typed
    assert await clerk.is_checked("#m-APPLICATION_FORM")
    assert await clerk.input_value("#f-community") == BEIJI

    # 18 characters but a wrong check digit: the portal lets it through, intake refuses it
    # (invalid_id_number on applicant.id_number), and the refusal is shown in Chinese
    # beside the id field, with everything typed kept
    good = id_number(date(1958, 3, 2), 321)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    await clerk.fill("#f-id_number", bad)
    await clerk.get_by_role("button", name="提交受理").click()
    await clerk.locator("#e-id_number", has_text="身份证号码无效").wait_for()
    said = await clerk.locator("#e-id_number").inner_text()
    assert "校验码" in said and not re.search(r"[A-Za-z]{3,}", said), said
    assert await clerk.get_attribute("#f-id_number", "aria-invalid") == "true"
    assert await clerk.locator(".field.has-error").count() == 1  # beside that field only
    assert await clerk.input_value("#f-id_number") == bad
    assert await clerk.input_value("#f-name") == "池海生"
    assert await clerk.input_value("#f-address") == "瑞安市东山街道北麂社区渔港路3号"
    assert await clerk.is_checked("#m-APPLICATION_FORM")

    # the same page sent twice (a double click, a resubmitted page): one case
    await clerk.fill("#f-id_number", good)
    await clerk.fill("#f-deposit_paid", "3000")  # the published deposit, taken at the window
    await clerk.fill("#f-payment_receipt_no", "DS-2026-000322")
    fields = await clerk.eval_on_selector(
        "#intake-form",
        "f => Array.from(new FormData(f).entries())",
    )
    sent = [
        await clerk.request.post("/clerk/intake", form=dict(fields), max_redirects=0)
        for _ in range(2)
    ]
    assert [r.status for r in sent] == [303, 303], [
        re.findall(r'role="alert">([^<]*)<', await r.text()) for r in sent
    ]
    first, second = (r.headers["location"] for r in sent)
    assert first == second and CASE_URL.match("http://x" + first)
    agent = ("ruian.dongshan.agent1", "community_agent", DONGSHAN, "town")
    r = await portal.stack.intake.get(
        "/v1/applications", headers=portal.stack.headers(agent), params={"limit": 500}
    )
    mine = [c for c in r.json()["items"] if c["case_id"] == first.rsplit("/", 1)[1]]
    assert len(mine) == 1

    # the receipt reprinted after signing in again (the session that kept the verification
    # code is gone): the QR code of the status page is still printed, without the code
    case_id = first.rsplit("/", 1)[1]
    reprint = await desk()
    await sign_in_staff(reprint, CLERK, "/clerk")
    await reprint.goto(f"{first}/receipt")
    assert await reprint.locator(".qr svg").count() == 1
    await reprint.locator("#reprint-note").wait_for()
    link = await reprint.get_attribute(".qr", "data-link")
    assert link is not None and link.endswith(f"/s/{case_id}"), link
    await reprint.goto(link)  # where the QR code takes the resident: the form, filled in
    await reprint.wait_for_url("**/status?receipt_no=*")
    assert await reprint.input_value("#f-receipt_no") == case_id
    assert await reprint.locator(".err").count() == 0


async def test_the_head_sees_a_warned_case_and_gives_it_to_the_b_post(
    desk: Any, portal: PortalStack
) -> None:
    """A case nearing its promised date is warned (routing's deadline check, run as of one
    working day before it: the drill endpoint); 东山's head finds it on the dashboard and
    reassigns it to the post's B holder, with the reason on the trail."""
    stack = portal.stack
    agent = (f"{DONGSHAN}.agent1", "community_agent", DONGSHAN, "town")
    r = await stack.post(
        stack.intake,
        "/v1/applications",
        agent,
        {
            "item_code": "FP-002",
            "applicant": {
                "name": "池海波",
                "id_number": id_number(date(1990, 1, 9), 435),
                "phone": "13957700435",
                "registered_community_id": BEIJI,
                "address": "瑞安市东山街道北麂社区渔港路5号",
            },
            "materials_provided": [
                {"code": "APPLICATION_FORM", "form": "original"},
                {"code": "ID_CARD", "form": "copy", "copies": 2},
                {"code": "MARRIAGE_CERT", "form": "copy"},
                {"code": "HOUSEHOLD_REG", "form": "copy"},
                {"code": "PHOTO_1IN", "form": "original", "copies": 2},
            ],
            "deposit_paid_fen": 300_000,
            "payment_receipt_no": "DS-2026-000435",
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    state = (await stack.routing_case(case_id, until=lambda d: d["state"]["due_date"]))["state"]
    a_holder, b_holder = f"{DONGSHAN}.jsb.a", f"{DONGSHAN}.jsb.b"
    assert state["assigned_to"] == a_holder
    day_before = subtract_working_days(date.fromisoformat(state["due_date"]), 1)
    r = await stack.post(
        stack.routing,
        "/v1/admin/clock/check-deadlines",
        stack.admin(),
        params={"now": datetime.combine(day_before, time(9, 0), SHANGHAI).isoformat()},
    )
    assert r.status_code == 200, r.text
    assert {"case_id": case_id, "event_type": "routing.deadline_warning_issued"} in [
        {k: e[k] for k in ("case_id", "event_type")} for e in r.json()["events"]
    ]

    head = await desk()
    await sign_in_staff(head, HEAD, "/head")
    row = head.locator(f"tr.warned[data-case={case_id}]")
    assert "A岗" in await row.inner_text()
    await row.locator("select[name=to_officer]").select_option(b_holder)
    await row.locator("input[name=reason]").fill("A岗本周外出培训，改由B岗办理")
    await row.get_by_role("button", name="改派").click()
    await head.wait_for_url("**/head?done=reassign")
    detail = await stack.routing_case(
        case_id, until=lambda d: d["state"]["assigned_to"] == b_holder
    )
    last = detail["trail"][-1]
    assert last["event_type"] == "routing.case_reassigned"
    assert last["actor"]["id"] == f"{DONGSHAN}.head"
