"""The public side of intake: the resident status view and the published catalog, and the
admin's catalog changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from intake.seed_catalog import seed_items

from .support import AGENT_MABEI, OFFICER_MABEI, Harness, applicant, second_child

pytestmark = pytest.mark.integration

ADMIN_WHO = ("admin.1", "admin", "ruian", "city")


async def test_status_view_by_receipt_number_and_code(intake: Harness) -> None:
    r = await intake.submit(AGENT_MABEI, second_child())
    case = r.json()
    ok = await intake.client.get(
        "/v1/status", params={"receipt_no": case["receipt_no"], "code": case["verification_code"]}
    )
    assert ok.status_code == 200, ok.text
    view = ok.json()
    assert view["status"] == "accepted" and view["status_zh"] == "已受理，办理中"
    assert view["item_name_zh"] == "再生育(二胎)申请审批"
    assert view["promised_completion_date"] == case["promised_completion_date"]
    assert view["accepting_center_name_zh"] == "马北社区便民服务中心"
    assert view["applicant"] == "陈**"  # nothing personal beyond a masked name
    assert "id_number" not in str(view) and "13957712345" not in str(view)

    wrong_digit = "0" if case["verification_code"][0] != "0" else "1"
    wrong = await intake.client.get(
        "/v1/status",
        params={
            "receipt_no": case["receipt_no"],
            "code": wrong_digit + case["verification_code"][1:],
        },
    )
    unknown = await intake.client.get(
        "/v1/status", params={"receipt_no": "RA20260101ZZZZZZ", "code": "123456"}
    )
    # the same 404 whether the receipt exists or not
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    assert wrong.json()["detail"]["field"] == "code"

    nothing = await intake.client.get("/v1/status", params={"code": "123456"})
    assert nothing.status_code == 422


async def test_status_view_before_acceptance_lists_the_missing_materials(intake: Harness) -> None:
    r = await intake.submit(AGENT_MABEI, second_child(materials_provided=[]))
    case = r.json()
    view = await intake.client.get(
        "/v1/status", params={"case_id": case["case_id"], "code": case["verification_code"]}
    )
    assert view.status_code == 200, view.text
    assert view.json()["status"] == "awaiting_materials"
    assert view.json()["receipt_no"] is None
    assert len(view.json()["missing_materials"]) == 5


async def test_too_many_wrong_codes_stop_the_address_that_guessed(intake: Harness) -> None:
    """The guesser's address is stopped, right code or not (the resident elsewhere is not:
    test_access_holes)."""
    case = (await intake.submit(AGENT_MABEI, second_child())).json()
    receipt, code = case["receipt_no"], case["verification_code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(intake.settings.status_max_failures):
        r = await intake.client.get("/v1/status", params={"receipt_no": receipt, "code": wrong})
        assert r.status_code == 404
    locked = await intake.client.get("/v1/status", params={"receipt_no": receipt, "code": code})
    assert locked.status_code == 429
    assert "retry-after" in locked.headers
    # another receipt number is unaffected
    other = (await intake.submit(AGENT_MABEI, second_child())).json()
    fine = await intake.client.get(
        "/v1/status",
        params={"receipt_no": other["receipt_no"], "code": other["verification_code"]},
    )
    assert fine.status_code == 200


async def test_the_published_catalog_is_public(intake: Harness) -> None:
    r = await intake.client.get("/v1/catalog")
    assert r.status_code == 200
    items = {i["code"]: i for i in r.json()["items"]}
    assert set(items) == {i.code for i in seed_items()}
    assert {i["category"] for i in items.values()} == set(r.json()["categories"])
    fp = items["FP-002"]
    assert fp["deposit"]["amount_fen"] == 300_000 and fp["fee_free"] is True
    assert fp["promised_limit_days"] == 15
    assert [m["code"] for m in fp["materials"]][:2] == ["APPLICATION_FORM", "ID_CARD"]
    assert items["OT-001"]["fee"]["amount_fen"] == 1_000

    family = await intake.client.get("/v1/catalog", params={"category": "family_planning"})
    assert {i["code"] for i in family.json()["items"]} == {"FP-001", "FP-002", "FP-003"}
    one = await intake.client.get("/v1/catalog/CA-001")
    assert one.status_code == 200
    assert one.json()["item"]["name_zh"] == "老年优待证办理"
    assert [v["version"] for v in one.json()["versions"]] == [1]
    assert (await intake.client.get("/v1/catalog/XX-001")).status_code == 404
    assert (await intake.client.get("/v1/catalog/bogus")).status_code == 422
    # `at` is a day written as a date: a number (seconds since 1970?) is refused, naming it
    on_day = await intake.client.get("/v1/catalog", params={"at": "2026-12-01"})
    assert on_day.status_code == 200 and on_day.json()["at"].startswith("2026-12-01")
    for bad in ("-1.3967801265088982e-209", "1764547200", "1800-01-01"):
        for path in ("/v1/catalog", "/v1/catalog/CA-001"):
            r = await intake.client.get(path, params={"at": bad})
            assert r.status_code == 422 and r.json()["detail"]["field"] == "at", (path, bad)

    # seeded through the catalog decider: one event per item, published by the seed actor
    catalog = await intake.stream("catalog")
    assert len(catalog) >= len(seed_items())
    assert catalog[0]["event_type"] == "intake.catalog_item_published"
    assert catalog[0]["actor"]["id"] == "seed"


async def test_admin_publishes_a_new_version_and_retires_an_item(intake: Harness) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    current = (await intake.client.get("/v1/catalog/AG-002")).json()["item"]
    new = {
        k: v
        for k, v in current.items()
        if k not in ("category_name_zh", "fee_free", "deposit_fen", "version")
    }
    new["promised_limit_days"] = 3
    new["effective_from"] = today.isoformat()

    agent = await intake.client.post(
        "/v1/catalog/items", json=new, headers=intake.keys.headers(AGENT_MABEI)
    )
    assert agent.status_code == 403
    published = await intake.client.post(
        "/v1/catalog/items", json=new, headers=intake.keys.headers(ADMIN_WHO)
    )
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 2
    item = (await intake.client.get("/v1/catalog/AG-002")).json()
    assert item["item"]["version"] == 2 and item["item"]["promised_limit_days"] == 3
    assert [v["version"] for v in item["versions"]] == [1, 2]

    too_long = dict(new, promised_limit_days=99)
    refused = await intake.client.post(
        "/v1/catalog/items", json=too_long, headers=intake.keys.headers(ADMIN_WHO)
    )
    assert refused.status_code == 422
    assert refused.json()["detail"]["field"] == "item.promised_limit_days"

    retire = {"retired_from": today.isoformat(), "reason": "并入农村产权交易平台办理"}
    before_retiring = datetime.now(UTC)
    r = await intake.client.post(
        "/v1/catalog/items/AG-002/retire", json=retire, headers=intake.keys.headers(ADMIN_WHO)
    )
    assert r.status_code == 201, r.text
    again = await intake.client.post(
        "/v1/catalog/items/AG-002/retire", json=retire, headers=intake.keys.headers(ADMIN_WHO)
    )
    assert again.status_code == 409
    gone = await intake.client.get("/v1/catalog/AG-002")
    assert gone.json()["item"] is None
    assert "retired" in gone.json()["not_in_force_reason"]

    submit = await intake.submit(
        OFFICER_MABEI,
        {
            "item_code": "AG-002",
            "applicant": applicant(),
            "materials_provided": [],
        },
    )
    assert submit.status_code == 422
    assert submit.json()["detail"]["field"] == "item_code"
    assert "retired" in submit.json()["detail"]["reason"]
    events = await intake.stream("catalog")
    assert [e["event_type"] for e in events[-2:]] == [
        "intake.catalog_item_published",
        "intake.catalog_item_retired",
    ]
    assert events[-1]["actor"]["role"] == "admin"
    # stamped by the service's clock when it retired the item (a window, not a duration)
    retired_at = datetime.fromisoformat(events[-1]["occurred_at"])
    assert before_retiring <= retired_at <= datetime.now(UTC)
