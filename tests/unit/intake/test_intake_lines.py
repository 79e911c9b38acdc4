"""Service lines (服务条线) at intake: each case belongs to one line of the accepting center,
decided once at submission by `contracts.routing.line_for` and carried to acceptance; the
events still read without it (older events) and round-trip with it."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.base import model_for, to_payload
from contracts.intake import ApplicationAccepted, ApplicationSubmitted, MaterialsMissingNotified
from intake.domain.application import IntakeContext
from intake.domain.application_commands import SupplementMaterials
from routing.seed_org import COMMUNITY_LINES, YUCAI_LINES

from .builders import (
    AGENT_YUCAI,
    SECRET,
    SEEDED,
    all_materials,
    applicant,
    at,
    case_decider,
    case_id,
    submit,
)

pytestmark = pytest.mark.unit

MONDAY = at(2026, 9, 21, 9, 5)
YUCAI = "ruian.anyang.yucai"


def ctx_with(lines: tuple[Any, ...]) -> IntakeContext:
    return IntakeContext(
        catalog=SEEDED,
        verification_secret=SECRET,
        service_lines=tuple(line.model_dump(mode="json") for line in lines),
    )


def at_yucai(code: str, **more: Any):  # type: ignore[no-untyped-def]
    fields: dict[str, Any] = {
        "item_code": code,
        "applicant": applicant(registered_community_id=YUCAI, address="瑞安市安阳街道育才路1号"),
        "materials_provided": all_materials(code),
        "accepting_center_id": YUCAI,
        "accepting_staff_id": AGENT_YUCAI.id,
        "deposit_paid_fen": 0,
        "payment_receipt_no": None,
        "actor": AGENT_YUCAI,
    }
    return submit(**(fields | more))


def test_a_senior_card_at_yucai_belongs_to_the_seniors_line_from_submission_to_acceptance() -> None:
    """Given 育才's twelve lines, when a complete 老年优待证 is handed in, then submission and
    acceptance both say line l04 (老年人服务), not l03 (民政服务) of the same category."""
    events = case_decider(ctx_with(YUCAI_LINES)).given().when(at_yucai("CA-001"), MONDAY)
    produced = events.then_events()
    sub = next(e for e in produced if isinstance(e, ApplicationSubmitted))
    acc = next(e for e in produced if isinstance(e, ApplicationAccepted))
    assert (sub.line_id, acc.line_id) == ("l04", "l04")


def test_a_low_income_allowance_goes_to_the_general_civil_affairs_line() -> None:
    produced = case_decider(ctx_with(YUCAI_LINES)).given().when(at_yucai("CA-002"), MONDAY)
    sub = next(e for e in produced.then_events() if isinstance(e, ApplicationSubmitted))
    assert sub.line_id == "l03"


def test_the_same_item_at_a_center_with_six_lines_is_on_that_centers_line() -> None:
    produced = case_decider(ctx_with(COMMUNITY_LINES)).given().when(at_yucai("CA-001"), MONDAY)
    sub = next(e for e in produced.then_events() if isinstance(e, ApplicationSubmitted))
    assert sub.line_id == "l02"  # 民政与残联


def test_a_center_with_no_lines_records_no_line() -> None:
    produced = case_decider(ctx_with(())).given().when(at_yucai("CA-001"), MONDAY)
    assert all(
        e.line_id is None
        for e in produced.then_events()
        if isinstance(e, ApplicationSubmitted | ApplicationAccepted)
    )


def test_a_case_accepted_after_a_supplement_keeps_the_line_of_its_submission() -> None:
    """Given a submission with a gap (line decided then), when the material is supplemented,
    then the acceptance carries the submission's line, whatever the context says now."""
    full = all_materials("CA-001")
    first = (
        case_decider(ctx_with(YUCAI_LINES))
        .given()
        .when(at_yucai("CA-001", materials_provided=full[1:]), MONDAY)
    )
    history = first.then_events()
    assert any(isinstance(e, MaterialsMissingNotified) for e in history)
    supplement = SupplementMaterials(
        case_id=case_id(1), materials=full[:1], received_center_id=YUCAI, actor=AGENT_YUCAI
    )
    later = case_decider(ctx_with(())).given(*history).when(supplement, MONDAY).then_events()
    acc = next(e for e in later if isinstance(e, ApplicationAccepted))
    assert acc.line_id == "l04"


def test_the_line_round_trips_and_events_without_it_still_read() -> None:
    produced = case_decider(ctx_with(YUCAI_LINES)).given().when(at_yucai("CA-001"), MONDAY)
    for evt in produced.then_events():
        payload = to_payload(evt)
        model = model_for(evt.event_type)
        assert model.model_validate(payload) == evt
        if isinstance(evt, ApplicationSubmitted | ApplicationAccepted):
            assert payload["line_id"] == "l04"
            older = {k: v for k, v in payload.items() if k != "line_id"}
            assert type(evt).model_validate(older).line_id is None
