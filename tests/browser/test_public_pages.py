"""The public pages in a real Chromium against the real stack: the service guide, the
centers' record by name, the hall display rotating by itself, the audit log's checkpoint;
axe-core finds no serious or critical violation on any of them."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest

from devstack.demo import id_number

from ..e2e.lifecycle.stack import MABEI
from ..polling import eventually
from .conftest import axe_violations, shot
from .stack import PortalStack
from .test_resident_journey import FP002_ALL

PUBLIC_PAGES = [
    "/",
    "/guide",
    "/guide/FP-002",
    "/centers",
    "/centers/ruian.mayu",
    "/hall",
    "/transparency",
    "/status",
]


async def test_the_guide_lists_every_item_and_shows_one_in_full(
    page: Any, portal: PortalStack
) -> None:
    catalog = (await portal.stack.intake.get("/v1/catalog")).json()["items"]
    await page.goto("/guide")
    for item in catalog:
        assert await page.get_by_role("link", name=item["name_zh"]).count() == 1, item["code"]
    await page.get_by_role("link", name="再生育(二胎)申请审批").click()
    await page.wait_for_url("**/guide/FP-002")
    text = await page.locator("main").inner_text()
    for expected in (
        "夫妻双方居民身份证复印件",
        "复印件",
        "2份",
        "不收费",
        "保证金",
        "3000元",
        "30个工作日",
        "15个工作日",
        "乡镇（街道）便民服务中心审批决定",
        "可容缺后补",
    ):
        assert expected in text, expected
    await shot(page, "public-guide-item")


@pytest.mark.parametrize("path", PUBLIC_PAGES)
async def test_public_pages_have_no_serious_accessibility_violations(
    page: Any, portal: PortalStack, path: str
) -> None:
    r = await page.goto(path)
    assert r is not None and r.status == 200
    bad = [v for v in await axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert bad == [], [
        (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in bad
    ]


async def test_the_centers_show_this_months_cases_by_name(page: Any, portal: PortalStack) -> None:
    """A case accepted at 马北 today is counted on the board (projected from the audit log),
    and the portal shows it under the center's name, not its id."""
    s = portal.stack
    agent = ("ruian.mayu.mabei.agent1", "community_agent", MABEI, "community")
    r = await s.post(
        s.intake,
        "/v1/applications",
        agent,
        {
            "item_code": "FP-002",
            "applicant": {
                "name": "周海燕",
                "id_number": id_number(date(1992, 5, 6), random.randint(1000, 99999)),
                "phone": "13957700001",
                "registered_community_id": MABEI,
                "address": "瑞安市马屿镇马北社区新街3号",
            },
            "materials_provided": FP002_ALL,
            "deposit_paid_fen": 300_000,
            "payment_receipt_no": "MB-BOARD-1",
        },
    )
    assert r.status_code == 201, r.text

    async def counted() -> int:
        rows = (await portal.audit_client.get("/v1/board/centers")).json()["rows"]
        return sum(row["received"] for row in rows if row["id"] == MABEI)

    await eventually(counted, lambda n: n >= 1, what="马北 on the audit board")
    await page.goto("/centers")
    row = page.locator("tr", has=page.get_by_role("link", name="马北社区", exact=True))
    cells = await row.locator("td").all_inner_texts()
    assert int(cells[1]) >= 1, cells
    assert MABEI not in await page.locator("main").inner_text()  # names, never ids
    profile = (await s.intake.get(f"/v1/centers/{MABEI}")).json()
    assert profile["address_zh"] == "瑞安市马屿镇马北社区马北大道26号"  # seeded by routing
    assert profile["address_zh"] in await row.inner_text()  # where to hand in, in the list
    await shot(page, "public-centers")
    await row.get_by_role("link", name="马北社区").click()
    await page.wait_for_url(f"**/centers/{MABEI}")
    text = await page.locator("main").inner_text()
    assert "马北社区" in text and "本月受理" in text and "马屿镇" in text
    assert await page.locator("#center-address").inner_text() == profile["address_zh"]
    saturday = profile["office_hours"]["weekly"].get("5")
    hours = await page.locator("tr", has=page.get_by_role("rowheader", name="周六")).inner_text()
    if saturday:  # the seeded Saturday-morning hours, shown as opened and closed
        assert f"{saturday[0]['opens'][:5]}–{saturday[0]['closes'][:5]}" in hours
    else:
        assert "休息" in hours
    for line in profile["service_lines"]:
        assert line["name_zh"] in text, line
    assert profile["service_lines"], "the seeded community centers have service lines"
    await shot(page, "public-center")


async def test_the_home_page_on_a_phone(phone: Any, portal: PortalStack) -> None:
    await phone.goto("/")
    for link in ("办事指南", "办件查询", "便民服务中心", "公开验证"):
        assert await phone.get_by_role("link", name=link, exact=True).count() >= 1, link
    width = await phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    await shot(phone, "public-home-phone")


async def test_the_transparency_page_shows_the_latest_signed_checkpoint(
    page: Any, portal: PortalStack
) -> None:
    note = (await portal.audit_client.get("/v1/log/checkpoint")).text
    origin, size = note.split("\n")[:2]
    await page.goto("/transparency")
    shown = await page.locator("#checkpoint-note").inner_text()
    shown_origin, shown_size = shown.split("\n")[:2]
    assert shown_origin == origin and int(shown_size) >= int(size)
    keys = (await portal.audit_client.get("/v1/log/keys")).json()
    assert keys["log"]["verifier_key"] in await page.locator("main").inner_text()
    await shot(page, "public-transparency")


async def test_the_hall_display_rotates_and_refreshes_by_itself(
    page: Any, portal: PortalStack
) -> None:
    await page.goto("/hall?seconds=2")
    panel = page.locator("#hall-panel .hall-panel")
    assert await panel.get_attribute("data-panel") == "board"
    await shot(page, "public-hall", full_page=False)
    seen = ["board"]
    for expected in ("guide", "log", "board"):
        await page.locator(f'#hall-panel .hall-panel[data-panel="{expected}"]').wait_for(
            timeout=15_000
        )
        seen.append(expected)
    assert seen == ["board", "guide", "log", "board"]
    text = await page.locator("#hall-panel").inner_text()
    assert "各便民服务中心办件情况" in text
