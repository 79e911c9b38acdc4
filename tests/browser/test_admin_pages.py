"""系统管理 in a real Chromium against the real stack: an admin publishes a year's holiday
schedule, records an absence and publishes a new catalog version through the forms; bad input
is shown beside its field in Chinese with what was typed kept (a date that is not a date,
checked by the page; a make-up working day on a weekday, refused by routing itself; a promise
above the statutory limit, refused by intake), and what was accepted is in the services' own
answers."""

from __future__ import annotations

from typing import Any

from .conftest import axe_violations, shot
from .signin import ADMIN, sign_in_staff
from .stack import PortalStack

YEAR = 2035  # far from the cases the other tests make: their deadlines do not move


async def _error_beside(page: Any, name: str) -> str:
    err = page.locator(f"#e-{name}")
    await err.wait_for()
    assert await page.locator(f"#f-{name}").get_attribute("aria-invalid") == "true"
    return str(await err.inner_text())


async def test_an_admin_publishes_a_holiday_schedule_and_records_an_absence(
    page: Any, portal: PortalStack
) -> None:
    stack = portal.stack
    await sign_in_staff(page, ADMIN, "/admin")
    assert await page.get_by_role("heading", name="系统管理", exact=True).count() == 1
    await shot(page, "admin-home")

    # -- the holiday schedule ------------------------------------------------------------------
    await page.goto("/admin/holidays")
    notice = f"国办发明电〔{YEAR - 1}〕9号"
    await page.get_by_label("年份").fill(str(YEAR))
    await page.get_by_label("通知文号").fill(notice)
    await page.get_by_label("放假日期").fill(f"{YEAR}-01-01, {YEAR}-02-30")
    await page.get_by_role("button", name="提交").click()
    err = await _error_beside(page, "holidays")
    assert "第2项" in err and f"{YEAR}-02-30" in err and "不是日期" in err
    assert await page.get_by_label("通知文号").input_value() == notice  # what was typed is kept

    await page.get_by_label("放假日期").fill(f"{YEAR}-01-01\n{YEAR}-02-07~{YEAR}-02-13")
    await page.get_by_label("调休上班日期").fill(f"{YEAR}-01-02")  # a Tuesday
    await page.get_by_role("button", name="提交").click()
    err = await _error_beside(page, "makeup_workdays")  # routing's refusal, beside the field
    assert err == f"第1项 {YEAR}-01-02 是星期二：调休上班日应为周六或周日", err  # in Chinese
    assert await page.get_by_label("放假日期").input_value() == (
        f"{YEAR}-01-01\n{YEAR}-02-07~{YEAR}-02-13"
    )

    await page.get_by_label("调休上班日期").fill(f"{YEAR}-02-03")  # a Saturday
    await page.get_by_role("button", name="提交").click()
    await page.get_by_role("status").filter(has_text="已生效").wait_for()
    published = (
        await stack.routing.get(
            "/v1/org/holiday-schedules", params={"year": YEAR}, headers=stack.admin()
        )
    ).json()["years"][0]
    assert published["notice_no"] == notice and published["official"] is True
    assert published["holidays"] == [f"{YEAR}-01-01"] + [f"{YEAR}-02-{d:02d}" for d in range(7, 14)]
    assert published["makeup_workdays"] == [f"{YEAR}-02-03"]
    assert notice in await page.locator("#h-now ~ table").inner_text()

    # -- an absence ------------------------------------------------------------------------------
    await page.goto("/admin/absences")
    absence_id = await page.get_by_label("登记编号").input_value()
    assert absence_id.startswith("abs-")
    options = page.locator("#f-staff_id option")
    staff_id = await options.nth(1).get_attribute("value")
    assert staff_id
    await page.select_option("#f-staff_id", value=staff_id)
    await page.select_option("#f-kind", value="training")
    await page.get_by_label("开始时间").fill(f"{YEAR}-03-05T08:30")
    await page.get_by_label("结束时间").fill(f"{YEAR}-03-01T17:30")
    await page.get_by_label("事由").fill("省级业务培训")
    await page.get_by_role("button", name="提交").click()
    assert "结束时间应晚于开始时间" in await _error_beside(page, "ends_at")
    assert await page.get_by_label("事由").input_value() == "省级业务培训"
    assert await page.locator("#f-staff_id").input_value() == staff_id

    await page.get_by_label("结束时间").fill(f"{YEAR}-03-07T17:30")
    await page.get_by_role("button", name="提交").click()
    await page.get_by_role("status").filter(has_text="已生效").wait_for()
    tree = (await stack.routing.get("/v1/org/tree", headers=stack.admin())).json()

    def absences(u: dict[str, Any]) -> list[dict[str, Any]]:
        mine = [a for a in u.get("absences", []) if a["absence_id"] == absence_id]
        return mine + [a for ch in u.get("children", []) for a in absences(ch)]

    found = [a for u in tree["units"] for a in absences(u)]
    assert len(found) == 1, found
    assert found[0]["staff_id"] == staff_id and found[0]["kind"] == "training"
    assert found[0]["starts_at"].startswith(f"{YEAR}-03-05T") and not found[0]["cancelled"]
    assert "省级业务培训" in await page.locator("#h-now ~ table").inner_text()
    await shot(page, "admin-absences")


async def test_an_admin_publishes_a_new_catalog_version_with_an_effective_date(
    page: Any, portal: PortalStack
) -> None:
    intake = portal.stack.intake
    code = "FP-002"
    before = (await intake.get(f"/v1/catalog/{code}")).json()
    item = before["item"]
    await sign_in_staff(page, ADMIN, "/admin/catalog")
    await page.select_option("#f-code", value=code)
    await page.get_by_label("事项名称").fill(item["name_zh"])
    await page.get_by_label("法定时限（工作日）").fill(str(item["statutory_limit_days"]))
    await page.get_by_label("承诺时限（工作日）").fill(str(item["statutory_limit_days"] + 1))
    await page.get_by_label("生效日期").fill(f"{YEAR}-01-01")
    await page.get_by_role("button", name="提交").click()
    err = await _error_beside(page, "promised_limit_days")  # intake's own rule
    statutory = item["statutory_limit_days"]
    assert err == f"承诺时限{statutory + 1}个工作日超过法定时限{statutory}个工作日", err
    assert await page.get_by_label("生效日期").input_value() == f"{YEAR}-01-01"

    await page.get_by_label("承诺时限（工作日）").fill(str(item["promised_limit_days"]))
    await page.get_by_role("button", name="提交").click()
    await page.get_by_role("status").filter(has_text="已发布").wait_for()
    after = (await intake.get(f"/v1/catalog/{code}")).json()
    assert len(after["versions"]) == len(before["versions"]) + 1
    newest = after["versions"][-1]
    assert newest["effective_from"] == f"{YEAR}-01-01"
    assert newest["item"]["materials"] == item["materials"]  # carried over as it was
    assert after["item"]["version"] == item["version"]  # today's version is still in force


async def test_the_admin_pages_have_no_serious_accessibility_violations(
    page: Any, portal: PortalStack
) -> None:
    await sign_in_staff(page, ADMIN, "/admin")
    for path in ("/admin", "/admin/holidays", "/admin/absences", "/admin/roster", "/admin/units"):
        r = await page.goto(path)
        assert r is not None and r.status == 200, path
        bad = [v for v in await axe_violations(page) if v["impact"] in ("serious", "critical")]
        assert bad == [], (path, [(v["id"], v["help"], v["nodes"][0]["target"]) for v in bad])


async def test_an_admin_registers_a_village_a_staff_member_a_duty_and_a_delegation(
    page: Any, portal: PortalStack
) -> None:
    stack = portal.stack
    tree = (await stack.routing.get("/v1/org/tree", headers=stack.admin())).json()

    def towns(u: dict[str, Any]) -> list[dict[str, Any]]:
        mine = [u] if u["tier"] == "town" else []
        return mine + [t for ch in u.get("children", []) for t in towns(ch)]

    town = next(t for u in tree["units"] for t in towns(u))
    village_id = f"{town['unit_id']}.portaltest"
    staff_id = f"{village_id}.officer1"
    await sign_in_staff(page, ADMIN, "/admin/units")

    await page.get_by_label("中心编号").fill(village_id)
    await page.get_by_label("名称").fill("门户测试村便民服务中心")
    await page.select_option("#f-tier", value="community")
    await page.select_option("#f-kind", value="村")
    await page.select_option("#f-parent_id", value=town["unit_id"])
    await page.get_by_label("周六办公时间").fill("08:30-11:30")
    await page.get_by_role("button", name="提交").click()
    await page.get_by_role("status").filter(has_text="已生效").wait_for()

    await page.goto("/admin/staff")
    await page.get_by_label("人员编号").fill(staff_id)
    await page.get_by_label("姓名").fill("周测试")
    await page.get_by_label("审批人员").check()
    await page.select_option("#f-unit_id", value=village_id)
    await page.get_by_label("工作手机").fill("13800000000")
    await page.get_by_role("button", name="提交").click()
    await page.get_by_role("status").filter(has_text="已生效").wait_for()

    await page.goto("/admin/roster")
    await page.select_option("#f-unit_id", value=village_id)
    await page.select_option("#f-staff_id", value=staff_id)
    await page.get_by_label("上岗时间").fill("08:30")
    await page.get_by_label("下岗时间").fill("11:30")
    await page.get_by_label("周六").check()
    await page.get_by_label("起始日期").fill(f"{YEAR}-01-01")
    await page.get_by_role("button", name="提交").click()
    await page.get_by_role("status").filter(has_text="已生效").wait_for()

    await page.goto("/admin/delegations")
    rule_id = await page.get_by_label("规则编号").input_value()
    await page.select_option("#f-item_code", value="FP-002")
    await page.select_option("#f-area_unit_id", value=village_id)
    await page.select_option("#f-handling_tier", value="town")
    await page.select_option("#f-direction", value="up")
    await page.get_by_label("生效日期").fill(f"{YEAR}-01-01")
    await page.get_by_label("依据").fill("瑞政办〔2034〕1号")
    await page.get_by_role("button", name="提交").click()
    await page.get_by_role("status").filter(has_text="已生效").wait_for()

    after = (
        await stack.routing.get(
            "/v1/org/tree", params={"unit_id": village_id}, headers=stack.admin()
        )
    ).json()
    village = after["units"][0]
    assert village["parent_id"] == town["unit_id"] and village["tier"] == "community"
    assert village["office_hours"]["weekly"]["5"] == [{"opens": "08:30:00", "closes": "11:30:00"}]
    assert [(s["staff_id"], s["roles"]) for s in village["staff"]] == [(staff_id, ["officer"])]
    assert [(e["staff_id"], e["weekdays"], e["valid_from"]) for e in village["roster"]] == [
        (staff_id, [5], f"{YEAR}-01-01")
    ]
    rules = [r for r in after["delegation_rules"] if r["rule_id"] == rule_id]
    assert rules and rules[0]["direction"] == "up" and rules[0]["handling_tier"] == "town"
