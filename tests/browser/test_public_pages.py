"""The public pages in a real Chromium against the real stack: the service guide, the
centers' record by name, the hall display rotating by itself, the audit log's checkpoint;
axe-core finds no serious or critical violation on any of them."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import axe_violations, shot
from .stack import PortalStack

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
