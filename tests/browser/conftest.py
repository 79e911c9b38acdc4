"""Fixtures of the portal's browser tests: one real stack and one headless Chromium for the
whole session (Debian's `/usr/bin/chromium`, installed by `make browser`; Playwright for
Python drives it), a fresh browser context (cookies) per test.

`page` is a 1366x768 office monitor; `phone` a 390x844 phone. `shot(page, name)` saves a
screenshot under docs/screenshots/ (committed; the README shows them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest

from .stack import PortalStack, start_portal_stack

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
AXE = Path(__file__).resolve().parents[2] / "services/portal/node_modules/axe-core/axe.min.js"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
async def portal(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PortalStack]:
    async with start_portal_stack(infra, tmp_path_factory.mktemp("portal")) as s:
        yield s


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        # a missing /usr/bin/chromium fails here naming the path: `make browser` installs it
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def page(chromium: Any, portal: PortalStack) -> AsyncIterator[Any]:
    ctx = await chromium.new_context(
        base_url=portal.url, viewport={"width": 1366, "height": 768}, locale="zh-CN"
    )
    pg = await ctx.new_page()
    yield pg
    await ctx.close()


@pytest.fixture
async def phone(chromium: Any, portal: PortalStack) -> AsyncIterator[Any]:
    ctx = await chromium.new_context(
        base_url=portal.url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    pg = await ctx.new_page()
    yield pg
    await ctx.close()


async def shot(page: Any, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is (the npm package `make deps` installs)."""
    await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return list(result["violations"])


async def serious_violations(page: Any) -> list[tuple[str, str, str]]:
    """axe-core's serious and critical violations: (rule, impact, first targets)."""
    return [
        (v["id"], v["impact"], str([n["target"] for n in v["nodes"][:3]]))
        for v in await axe_violations(page)
        if v["impact"] in ("serious", "critical")
    ]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows the tail of the portal's and the services' logs."""
    report = yield
    s = getattr(item, "funcargs", {}).get("portal")
    if call.when == "call" and report.failed and isinstance(s, PortalStack):
        for svc in s.stack.services.values():
            report.sections.append((f"{svc.name} log (tail)", svc.log_tail(40)))
    return report
