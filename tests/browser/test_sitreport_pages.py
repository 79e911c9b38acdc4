"""情况报告 in a real Chromium against the real stack: the audit's scheduler has made the last
closed week's reports; 马北社区's head finds theirs on the portal, reads its figures, opens it
as PDF, adds a comment and sends it up; 马屿镇's head sees it among the reports sent up to the
town, with the comment; an inspector reads it and cannot send it. In Chinese, with no serious
accessibility violation."""

from __future__ import annotations

import re
from typing import Any

from ..polling import eventually
from .conftest import serious_violations, shot
from .signin import INSPECTOR, sign_in_staff
from .stack import PortalStack

MABEI, MAYU = "ruian.mayu.mabei", "ruian.mayu"
HEAD_MABEI = f"center_head|{MABEI}.head|{MABEI}"
HEAD_MAYU = f"center_head|{MAYU}.head|{MAYU}"
COMMENT = "本周办件平稳，无超期。"


async def _weekly_report(portal: PortalStack) -> dict[str, Any]:
    """马北社区's latest weekly report, once the scheduler has made it."""
    insp = portal.stack.headers(("ruian.inspector1", "inspector", "ruian", "city"))

    async def latest() -> dict[str, Any] | None:
        r = await portal.audit_client.get(
            "/v1/sitreports", params={"unit_id": MABEI, "period": "weekly"}, headers=insp
        )
        assert r.status_code == 200, r.text
        own = [x for x in r.json()["reports"] if x["unit_id"] == MABEI]
        return own[0] if own else None

    found: dict[str, Any] = await eventually(
        latest, timeout=180, what="马北社区's weekly situation report"
    )
    return found


async def test_a_head_sends_a_situation_report_up_and_the_town_and_inspector_read_it(
    page: Any, portal: PortalStack
) -> None:
    report = await _weekly_report(portal)
    rid = report["report_id"]

    await sign_in_staff(page, HEAD_MABEI, "/sitreports")
    assert "马北社区" in await page.locator("h1").inner_text()
    row = page.locator(f'#own-reports tr[data-report="{rid}"]')
    assert "待报送" in await row.inner_text()
    assert await serious_violations(page) == []
    await shot(page, "head-sitreports")

    await row.get_by_role("link", name=re.compile(report["first_day"])).click()
    await page.wait_for_url(f"**/sitreports/{rid}")
    figures = await page.locator("#figures").inner_text()
    assert f"登记受理（件）\t{report['figures']['received']}" in figures
    assert f"办结（件）\t{report['figures']['completed']}" in figures
    pdf = await page.request.get(f"/sitreports/{rid}/report.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert (await pdf.body()).startswith(b"%PDF-")
    html = await page.request.get(f"/sitreports/{rid}/report.html")
    assert html.status == 200 and "便民服务情况报告" in await html.text()

    await page.get_by_label("主任说明（可选）").fill(COMMENT)
    await page.get_by_role("button", name="报送").click()
    await page.wait_for_url(f"**/sitreports/{rid}?done=submit")
    assert "已报送" in await page.locator("#report-status").inner_text()
    assert COMMENT in await page.locator("#report-comment").inner_text()
    assert await page.get_by_role("button", name="报送").count() == 0, "sent once"
    assert await serious_violations(page) == []
    await shot(page, "head-sitreport")

    # the town's head: the report came up to 马屿镇, with the comment
    town = await page.context.browser.new_context(base_url=portal.url, locale="zh-CN")
    try:
        tp = await town.new_page()
        await sign_in_staff(tp, HEAD_MAYU, "/sitreports")
        below = tp.locator(f'#below-reports tr[data-report="{rid}"]')
        assert "已报送" in await below.inner_text()
        await below.get_by_role("link", name=re.compile(report["first_day"])).click()
        await tp.wait_for_url(f"**/sitreports/{rid}")
        assert COMMENT in await tp.locator("#report-comment").inner_text()
        assert await tp.get_by_role("button", name="报送").count() == 0
    finally:
        await town.close()

    # an inspector reads every center's reports, and sends none
    insp = await page.context.browser.new_context(base_url=portal.url, locale="zh-CN")
    try:
        ip = await insp.new_page()
        await sign_in_staff(ip, INSPECTOR, "/sitreports")
        await ip.goto(f"/sitreports?unit_id={MABEI}")
        assert await ip.locator(f'#own-reports tr[data-report="{rid}"]').count() == 1
        await ip.goto(f"/sitreports/{rid}")
        assert COMMENT in await ip.locator("#report-comment").inner_text()
        assert await ip.get_by_role("button", name="报送").count() == 0
    finally:
        await insp.close()
