"""Development sign-in in the browser, as a seeded person (the portal's /signin page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


async def sign_in_staff(page: Any, key: str, then: str) -> None:
    """Pick the person `key` ("role|sub|org_id", the sign-in page's option value) and go to
    `then`, the way a person does: the sign-in page, the list, the button."""
    await page.goto(f"/signin?next={quote(then, safe='/')}")
    await page.select_option("#f-person", value=key)
    async with page.expect_navigation():
        await page.get_by_role("button", name="以此身份登录").first.click()
    if not page.url.split("?")[0].endswith(then):
        main = await page.locator("main").inner_text()
        raise AssertionError(f"signing in as {key} ended at {page.url}: {main[:500]}")


INSPECTOR = "inspector|ruian.inspector1|ruian"
ADMIN = "admin|admin.ops|ruian"
