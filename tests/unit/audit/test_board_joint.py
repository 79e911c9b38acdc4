"""联办 on the board and the timeline, the pure parts: which rows a joint case's events set,
and where each member stands."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from audit.board.projection import facts, joint_member_facts
from audit.inspector.queries import joint_members

pytestmark = pytest.mark.unit

JOINT = "joint-" + "ab" * 16


def accepted(order: str = "parallel") -> dict[str, Any]:
    return {
        "event_type": "intake.joint_application_accepted",
        "occurred_at": "2026-09-29T01:30:00+00:00",
        "status": "accepted",
        "payload": {
            "joint_case_id": JOINT,
            "bundle_code": "LB-002",
            "accepting_center_id": "c-mabei",
            "accepted_at": "2026-09-29T01:30:00+00:00",
            "promised_completion_date": "2026-10-20",
            "approval_order": order,
            "members": [
                {"case_id": "case-1", "item_code": "FL-001", "handling_tier": "town"},
                {"case_id": "case-2", "item_code": "OT-001", "handling_tier": "community"},
            ],
        },
    }


def test_the_joint_case_is_one_joint_row_at_its_accepting_center() -> None:
    row = facts(accepted())
    assert row is not None
    assert row["joint"] is True and row["item_code"] == "LB-002"
    assert row["accepting_center_id"] == "c-mabei"
    assert row["promised_date"] == date(2026, 10, 20)


def test_each_member_is_a_row_of_its_own_without_the_accepting_center() -> None:
    rows = dict(joint_member_facts(accepted()))
    assert set(rows) == {"case-1", "case-2"}
    assert rows["case-2"]["item_code"] == "OT-001"
    assert rows["case-2"]["joint_case_id"] == JOINT
    assert "accepting_center_id" not in rows["case-2"]  # counted once, by the joint row
    assert joint_member_facts({"event_type": "intake.application_accepted"}) == []


def test_only_the_final_joint_result_decides_the_joint_case() -> None:
    part = {
        "event_type": "routing.joint_result_ready",
        "occurred_at": "2026-10-09T01:00:00Z",
        "payload": {"final": False},
    }
    last = {**part, "payload": {"final": True}}
    assert facts(part) is None
    final = facts(last)
    assert final is not None and final["decided_at"].isoformat().startswith("2026-10-09")


def test_the_timeline_says_where_each_member_stands() -> None:
    events = [
        accepted("sequential"),
        {
            "event_type": "routing.joint_member_decided",
            "status": "accepted",
            "payload": {"case_id": "case-1", "decision": "approve"},
        },
    ]
    assert [(m["case_id"], m["status"]) for m in joint_members(events[:1])] == [
        ("case-1", "open"),
        ("case-2", "waiting"),
    ]
    events.append(
        {
            "event_type": "routing.joint_member_released",
            "status": "accepted",
            "payload": {"case_id": "case-2"},
        }
    )
    assert [m["status"] for m in joint_members(events)] == ["approved", "open"]
    events.append(
        {
            "event_type": "routing.joint_member_stopped",
            "status": "accepted",
            "payload": {"case_id": "case-2"},
        }
    )
    assert [m["status"] for m in joint_members(events)] == ["approved", "stopped"]
    assert (
        joint_members(
            [{"event_type": "intake.application_accepted", "status": "accepted", "payload": {}}]
        )
        == []
    )
