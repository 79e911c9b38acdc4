"""回避 (issue 15): intake compares keyed hashes of the applicant and of the staff member
acting on the case and records a finding that names no identity, once per staff and act."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.base import to_payload
from contracts.intake import ConflictOfInterestFound
from intake.domain import conflict

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
CASE = "case-" + "b" * 32


def check(applicant: dict, staff: dict, act: str = "assigned_to") -> conflict.CheckConflict:  # type: ignore[type-arg]
    return conflict.CheckConflict(CASE, "officer.7", act, applicant, staff)  # type: ignore[arg-type]


def test_the_same_id_number_or_household_is_a_finding_without_the_identity() -> None:
    state = conflict.initial_state()
    found = conflict.decide(
        check({"id_number": "h1", "household_no": "h2"}, {"household_no": "h2"}), state, NOW
    )
    assert found == [
        ConflictOfInterestFound(
            case_id=CASE,
            staff_id="officer.7",
            role_field="assigned_to",
            same=("household_no",),
            found_at=NOW,
        )
    ]
    payload = to_payload(found[0])
    assert set(payload) == {"case_id", "staff_id", "role_field", "same", "found_at"}
    assert "h1" not in str(payload) and "h2" not in str(payload)
    both = conflict.decide(
        check({"id_number": "h1", "household_no": "h2"}, {"id_number": "h1", "household_no": "h2"}),
        state,
        NOW,
    )
    assert both[0].same == ("id_number", "household_no")  # type: ignore[attr-defined]


def test_once_per_staff_member_and_act_and_nothing_when_different() -> None:
    state = conflict.initial_state()
    assert conflict.decide(check({"id_number": "h1"}, {"id_number": "h9"}), state, NOW) == []
    assert conflict.decide(check({}, {}), state, NOW) == []
    first = conflict.decide(check({"id_number": "h1"}, {"id_number": "h1"}), state, NOW)
    state = conflict.evolve(state, first[0])
    assert conflict.decide(check({"id_number": "h1"}, {"id_number": "h1"}), state, NOW) == []
    decided = conflict.decide(
        check({"id_number": "h1"}, {"id_number": "h1"}, "decided_by"), state, NOW
    )
    assert len(decided) == 1
