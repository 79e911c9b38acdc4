"""Issue 13 defect 7 across the services: an admin publishes 2027's holiday schedule through
routing's admin route; the open case due across Spring Festival 2027 is counted again by
routing (routing.deadline_recomputed) and by intake (intake.promised_date_revised), the
resident's status view stops calling the date provisional, and notify tells the resident the
new date by SMS.

intake, routing and notify run as separate processes on the real Kafka and PostgreSQL
(`stack.py`), their clocks at Wednesday 27 January 2027, 09:30 in Rui'an. The 2027 notice is
MADE UP for the test: chinesecalendar has no 2027 data, and neither does this repository.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts.workdays import SHANGHAI
from devstack.demo import id_number

from .stack import MABEI, MAYU, Stack, start_stack

pytestmark = pytest.mark.e2e

SPRING_2027 = datetime(2027, 1, 27, 9, 30, tzinfo=SHANGHAI)
NOTICE = "国办发明电〔2026〕99号（测试用）"
SCHEDULE = {
    "year": 2027,
    "notice_no": NOTICE,
    "holidays": [
        "2027-01-01",
        "2027-01-02",
        "2027-01-03",
        *(f"2027-02-{d:02d}" for d in range(5, 13)),  # Spring Festival: Fri 5 - Fri 12 Feb
    ],
    "makeup_workdays": ["2027-02-20"],  # a Saturday worked
}
FP002_ALL = [
    {"code": "APPLICATION_FORM", "form": "original"},
    {"code": "ID_CARD", "form": "copy", "copies": 2},
    {"code": "MARRIAGE_CERT", "form": "copy"},
    {"code": "HOUSEHOLD_REG", "form": "copy"},
    {"code": "PHOTO_1IN", "form": "original", "copies": 2},
]


@pytest.fixture(scope="module")
async def stack(infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:  # type: ignore[no-untyped-def]
    """The module's own stack: its clocks start on Wednesday 27 January 2027."""
    workdir: Path = tmp_path_factory.mktemp("holidays")
    async with start_stack(infra, workdir, drill_start=SPRING_2027) as s:
        yield s


def _revised(trail: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [e for e in trail if e["event_type"] == event_type]


async def test_publishing_2027_recomputes_the_spring_festival_case_and_tells_the_resident(
    stack: Stack,
) -> None:
    agent = ("ruian.mayu.mabei.agent1", "community_agent", MABEI, "community")
    admin = ("admin.e2e", "admin", "ruian", "city")
    # given 二胎 (15 working days) handed in complete at 马北 today, 27 January 2027
    resident = {
        "name": "陈小芳",
        "id_number": id_number(date(1990, 4, 15), 207),
        "phone": "13957700207",
        "registered_community_id": MABEI,
        "address": "瑞安市马屿镇马北社区新街12号",
    }
    r = await stack.post(
        stack.intake,
        "/v1/applications",
        agent,
        {
            "item_code": "FP-002",
            "applicant": resident,
            "materials_provided": FP002_ALL,
            "deposit_paid_fen": 300_000,
            "payment_receipt_no": "MB-2027-000001",
        },
    )
    assert r.status_code == 201, r.text
    receipt = r.json()
    case_id = receipt["case_id"]
    # counted by the provisional estimate (2027 has no official schedule yet)
    assert receipt["promised_completion_date"] == "2027-02-23"
    status = {"receipt_no": receipt["receipt_no"], "code": receipt["verification_code"]}
    view = (await stack.intake.get("/v1/status", params=status)).json()
    assert (view["promised_date_provisional"], view["promised_date_provisional_years"]) == (
        True,
        [2027],
    )
    routed = await stack.routing_case(case_id, agent, lambda d: d["state"]["due_date"])
    assert routed["state"]["handling_unit_id"] == MAYU
    assert (routed["state"]["due_date"], routed["state"]["provisional_years"]) == (
        "2027-02-23",
        [2027],
    )
    await stack.deliveries(case_id, lambda ds: any(d["template"] == "resident_receipt" for d in ds))

    # when the admin publishes 2027's schedule through routing's admin route
    r = await stack.post(stack.routing, "/v1/org/holiday-schedules", admin, SCHEDULE)
    assert r.status_code == 200, r.text
    assert [e["event_type"] for e in r.json()["events"]] == ["routing.holiday_schedule_published"]

    # then routing counts the open case again, with the reason and the notice
    detail = await stack.routing_case(
        case_id, agent, lambda d: bool(_revised(d["trail"], "routing.deadline_recomputed"))
    )
    (recount,) = _revised(detail["trail"], "routing.deadline_recomputed")
    p = recount["payload"]
    assert (p["previous_due_date"], p["due_date"], p["provisional_years"]) == (
        "2027-02-23",
        "2027-02-24",
        [],
    )
    assert (p["reason"], p["notices"]) == ("holiday_schedule_published", [NOTICE])
    assert detail["state"]["due_at"] == "2027-02-24T17:30:00+08:00"

    # and intake revises the receipt (on its topic, for notify and audit): the resident's
    # status view shows the firm date
    on_intake = await stack.logs["intake"].wait_case(
        case_id, lambda es: bool(_revised(es, "intake.promised_date_revised"))
    )
    (revision,) = _revised(on_intake, "intake.promised_date_revised")
    revised = revision["payload"]
    assert (revised["previous_date"], revised["promised_completion_date"]) == (
        "2027-02-23",
        "2027-02-24",
    )
    assert (revised["year"], revised["notice_no"]) == (2027, NOTICE)
    # (intake's staff view follows routing's recount of the deadline too)
    await stack.intake_case(
        case_id, agent, lambda v: v["progress"]["deadline_due_date"] == "2027-02-24"
    )
    view = (await stack.intake.get("/v1/status", params=status)).json()
    assert view["promised_completion_date"] == "2027-02-24"
    assert (view["promised_date_provisional"], view["promised_date_note_zh"]) == (False, None)

    # and notify tells the resident the new date, once, by SMS
    sent = await stack.deliveries(
        case_id,
        lambda ds: any(
            d["template"] == "resident_promised_date_revised" and d["status"] == "delivered"
            for d in ds
        ),
    )
    (told,) = [d for d in sent if d["template"] == "resident_promised_date_revised"]
    assert (told["recipient_kind"], told["channel"]) == ("resident", "sms")
    (sms,) = stack.sms_lines(told["delivery_id"])
    assert "承诺办结日期由2027年2月23日调整为2027年2月24日" in sms["text"], sms["text"]
    assert NOTICE in sms["text"]
