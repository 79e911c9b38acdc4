"""Issue 13 #8, "Staff are told nothing": the officers and heads a late case concerns hear of
it, as separate processes on the real Kafka and PostgreSQL (`stack.py`), over HTTP only.

Under `make run` a case's assignment, warning, overdue and escalations made no staff
delivery at all: no seeded staff member had a contact. Here the seeded tree (routing's
`seed_org`, contacts included) reaches notify over Kafka like any admin change, and one
社保 case (LS-001, 5 working days) accepted at 上埠村 on the drill day runs late at 东山街道:
each notice reaches exactly the people it concerns, by SMS to their seeded work phone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from contracts.workdays import SHANGHAI
from devstack.demo import id_number

from ...polling import dig
from .stack import CITY, DONGSHAN, SHANGBU, Stack

pytestmark = pytest.mark.e2e

LS001_ALL = [
    {"code": "APPLICATION_FORM", "form": "original"},
    {"code": "ID_CARD", "form": "copy"},
    {"code": "HOUSEHOLD_REG", "form": "copy"},
    {"code": "PHOTO_1IN", "form": "original"},
]
DUE = date(2026, 10, 12)
"""5 working days from Tue 29 Sep 2026: 30 Sep, (1-7 Oct holiday), 8, 9, Sat 10 (worked), 12."""
A, B = f"{DONGSHAN}.sbs.a", f"{DONGSHAN}.sbs.b"  # 东山街道社保所's post (AB岗)
TOWN_HEAD, CITY_HEAD = f"{DONGSHAN}.head", f"{CITY}.head"
STAFF_TEMPLATES = {
    "staff_new_assignment",
    "staff_deadline_warning",
    "staff_overdue",
    "staff_escalation",
}


def local(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=SHANGHAI)


async def test_a_late_case_tells_its_officers_and_heads(stack: Stack) -> None:
    agent = ("ruian.dongshan.shangbu.agent1", "community_agent", SHANGBU, "community")
    r = await stack.post(
        stack.intake,
        "/v1/applications",
        agent,
        {
            "item_code": "LS-001",
            "applicant": {
                "name": "林晓东",
                "id_number": id_number(date(1968, 7, 3), 771),
                "phone": "13957700771",
                "registered_community_id": SHANGBU,
                "address": "瑞安市东山街道上埠村8号",
            },
            "materials_provided": LS001_ALL,
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    detail = await stack.routing_case(case_id, until=lambda d: dig(d, "state", "due_at"))
    state = detail["state"]
    assert (state["assigned_to"], state["due_date"]) == (A, DUE.isoformat())
    due_at = datetime.fromisoformat(state["due_at"])

    # the deadline drills: the warning on the adjusted working Saturday before the due day,
    # overdue and level 1 after the due time, level 2 two working days later
    async def drill(at: datetime) -> list[str]:
        r = await stack.post(
            stack.routing,
            "/v1/admin/clock/check-deadlines",
            stack.admin(),
            params={"now": at.isoformat()},
        )
        assert r.status_code == 200, r.text
        return [e["event_type"] for e in r.json()["events"] if e["case_id"] == case_id]

    assert await drill(local(date(2026, 10, 10), 9)) == ["routing.deadline_warning_issued"]
    assert await drill(due_at + timedelta(minutes=1)) == [
        "routing.case_overdue",
        "routing.case_escalated",
    ]
    assert await drill(local(date(2026, 10, 15), 9)) == ["routing.case_escalated"]

    trail = (await stack.routing_case(case_id))["trail"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in trail:
        by_type.setdefault(e["event_type"], []).append(e)
    (assigned,) = by_type["routing.case_assigned"]
    (warning,) = by_type["routing.deadline_warning_issued"]
    (overdue,) = by_type["routing.case_overdue"]
    first, second = by_type["routing.case_escalated"]
    expected = {
        (assigned["event_id"], "staff_new_assignment", A),
        (warning["event_id"], "staff_deadline_warning", A),
        (warning["event_id"], "staff_deadline_warning", B),
        (overdue["event_id"], "staff_overdue", A),
        (overdue["event_id"], "staff_overdue", B),
        (first["event_id"], "staff_escalation", TOWN_HEAD),
        (second["event_id"], "staff_escalation", CITY_HEAD),
        (second["event_id"], "staff_escalation", TOWN_HEAD),
    }

    def staff_sms(ds: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {
            (d["event_id"], d["template"], d["recipient_id"])
            for d in ds
            if d["recipient_kind"] == "staff" and d["channel"] == "sms"
        }

    sent = await stack.deliveries(
        case_id,
        lambda ds: staff_sms([d for d in ds if d["status"] == "delivered"]) >= expected,
        timeout=90,
    )
    staff = [d for d in sent if d["recipient_kind"] == "staff"]
    assert staff_sms(staff) == expected  # nobody else among the staff, nothing twice
    assert {d["template"] for d in staff} == STAFF_TEMPLATES
    assert {d["address"][:3] for d in staff} == {"100"}  # the seeded work phones (masked)

    # what the B holder read about the overdue case, as the SMS gateway got it
    (to_b,) = (d for d in staff if d["template"] == "staff_overdue" and d["recipient_id"] == B)
    (line,) = stack.sms_lines(to_b["delivery_id"])
    assert line["to"].startswith("100577")
    assert "您所在岗位由" in line["text"] and "请作为AB岗协助督促办理。" in line["text"]
