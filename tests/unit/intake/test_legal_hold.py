"""Legal holds as events (issue 15): placing and lifting are an inspector's acts, recorded
with who, when and why; a hold that is not there cannot be lifted; no reason, no act."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.intake import LegalHoldLifted, LegalHoldPlaced
from eventkit.envelope import Actor
from intake.domain import legal_hold
from intake.domain.errors import InvalidField, NotFound

pytestmark = pytest.mark.unit

CASE = "case-" + "a" * 32
INSPECTOR = Actor(id="ruian.inspector1", role="inspector", org_id="ruian")
NOW = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def test_a_hold_is_placed_and_lifted_with_who_when_and_why() -> None:
    state = legal_hold.initial_state()
    placed = legal_hold.decide(legal_hold.PlaceLegalHold(CASE, " 纪检监察 ", INSPECTOR), state, NOW)
    assert placed == [
        LegalHoldPlaced(case_id=CASE, reason="纪检监察", placed_by=INSPECTOR.id, placed_at=NOW)
    ]
    state = legal_hold.evolve(state, placed[0])
    assert state.held
    lifted = legal_hold.decide(legal_hold.LiftLegalHold(CASE, "结案", INSPECTOR), state, NOW)
    assert lifted == [
        LegalHoldLifted(case_id=CASE, reason="结案", lifted_by=INSPECTOR.id, lifted_at=NOW)
    ]
    assert not legal_hold.evolve(state, lifted[0]).held
    assert legal_hold.hold_stream(CASE) == "hold-" + "a" * 32


def test_a_hold_not_there_is_not_lifted_and_a_reason_is_required() -> None:
    with pytest.raises(NotFound) as nf:
        legal_hold.decide(
            legal_hold.LiftLegalHold(CASE, "结案", INSPECTOR), legal_hold.initial_state(), NOW
        )
    assert nf.value.field == "case_id"
    with pytest.raises(InvalidField) as bad:
        legal_hold.decide(
            legal_hold.PlaceLegalHold(CASE, "  ", INSPECTOR), legal_hold.initial_state(), NOW
        )
    assert bad.value.field == "reason"
