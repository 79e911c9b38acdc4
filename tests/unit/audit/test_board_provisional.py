"""Issue 13 defect 7 on the public board and in the overdue rule: a promised date or an on-time
verdict counted by a provisional holiday estimate is marked so; the overdue rule follows the
deadline routing recounted when the year's schedule was published."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from audit.board.projection import facts

from .test_anomaly_rules import T0, Case, flagged

pytestmark = pytest.mark.unit


def doc(event_type: str, **payload: Any) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "occurred_at": "2027-01-27T01:30:00Z",
        "org_id": "ruian.mayu",
        "tier": "town",
        "payload": payload,
    }


def test_a_provisional_receipt_is_marked_on_the_board_until_it_is_revised() -> None:
    accepted = doc(
        "intake.application_accepted",
        item_code="FP-002",
        accepting_center_id="ruian.mayu.mabei",
        handling_tier="town",
        accepted_at="2027-01-27T01:30:00Z",
        provisional_years=[2027],
    )
    assert facts(accepted)["promise_provisional"] is True  # type: ignore[index]
    revised = doc("intake.promised_date_revised", provisional_years=[])
    assert facts(revised) == {"promise_provisional": False}


def test_an_on_time_verdict_over_a_provisional_year_is_marked() -> None:
    decided = doc("routing.case_decided", on_time=True, provisional_years=[2027])
    assert facts(decided)["on_time_provisional"] is True  # type: ignore[index]
    firm = doc("routing.case_decided", on_time=True, provisional_years=[])
    assert facts(firm)["on_time_provisional"] is False  # type: ignore[index]
    older = doc("routing.case_decided", on_time=True)  # a v1 decision did not say
    assert "on_time_provisional" not in facts(older)  # type: ignore[operator]


def test_the_overdue_rule_follows_a_recomputed_deadline() -> None:
    """Due on day 5 by the estimate; the published schedule moved it to day 7; decided on
    day 6: on time, and not overdue on day 6."""
    first = (T0 + timedelta(days=5)).isoformat()
    moved = (T0 + timedelta(days=7)).isoformat()
    case = Case().add("routing.deadline_set", due_at=first)
    case.add("routing.deadline_recomputed", 24, due_at=moved)
    assert not flagged("case_overdue", case, now=T0 + timedelta(days=6))
    assert flagged("case_overdue", case, now=T0 + timedelta(days=8))
    decided = Case().add("routing.deadline_set", due_at=first)
    decided.add("routing.deadline_recomputed", 24, due_at=moved)
    decided.add("routing.case_decided", 24 * 6)
    assert not flagged("case_overdue", decided, now=T0 + timedelta(days=9))
    # and a deadline set again after it (a correction supplied) wins over the recount
    later = (T0 + timedelta(days=12)).isoformat()
    reset = Case().add("routing.deadline_set", due_at=first)
    reset.add("routing.deadline_recomputed", 24, due_at=moved)
    reset.add("routing.deadline_set", 48, due_at=later)
    assert not flagged("case_overdue", reset, now=T0 + timedelta(days=9))
