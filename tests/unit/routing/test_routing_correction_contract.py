"""补正, issue 13 defect 1: ONE contract for a correction request, in routing and intake.

A correction request names materials of the case's catalog version by their codes (e.g.
MARRIAGE_CERT) and may add a note ("复印件不清晰，请重新提供"). Routing takes it from the
officer (a 4xx naming the field when it is not one); intake records it for the resident.
Each request below goes through routing's decider and, when routing accepted it, through
intake's: intake never skips a request routing accepted (a skipped one strands the
resident: the SMS says 补正, intake answers "no correction is pending").
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts.routing import CorrectionRequested
from intake.domain.application_commands import RecordCorrectionRequested
from intake.domain.errors import DomainError as IntakeRefusal
from routing.domain.case import RequestCorrection
from routing.domain.errors import DomainError as RoutingRefusal

from ..intake.builders import ROUTING, case_decider, case_id, submit
from .support import at, decider, fold, route, second_child, staff_actor

pytestmark = pytest.mark.unit

CASE = case_id(1)  # the intake builders' 二胎 case (FP-002) handed in at 马北社区
OFFICER = "ruian.mayu.jsb.a"  # the A post of 马屿镇's family-planning office

REQUESTS: list[tuple[str, dict[str, Any], str | None]] = [
    # (what the officer sends, the request, the field a refusal names — None: accepted)
    ("codes of the item", {"requested_materials": ("MARRIAGE_CERT", "PHOTO_1IN")}, None),
    (
        "a code and a note",
        {"requested_materials": ("MARRIAGE_CERT",), "note": "结婚证复印件不清晰，请重新提供"},
        None,
    ),
    (
        "free text instead of a code",
        {"requested_materials": ("结婚证复印件不清晰，请重新提供",)},
        "requested_materials[0]",
    ),
    (
        "a code of another item",
        {"requested_materials": ("MARRIAGE_CERT", "LAND_USE_CERT")},
        "requested_materials[1]",
    ),
    ("a blank code", {"requested_materials": ("MARRIAGE_CERT", " ")}, "requested_materials[1]"),
    (
        "a code twice",
        {"requested_materials": ("MARRIAGE_CERT", "MARRIAGE_CERT")},
        "requested_materials[1]",
    ),
    (
        "a note far too long",
        {"requested_materials": ("MARRIAGE_CERT",), "note": "请" * 501},
        "note",
    ),
]


def routed() -> list:  # type: ignore[type-arg]
    """The 二胎 case as routing has it: at 马屿镇's family-planning office, A post."""
    return route(second_child(case_id=CASE))


def _routing(request: dict[str, Any]) -> list[Any] | RoutingRefusal:
    cmd = RequestCorrection(case_id=CASE, actor=staff_actor(OFFICER), **request)
    try:
        return list(decider().decide(cmd, fold(routed()), at(2026, 9, 30, 10)))
    except RoutingRefusal as refusal:
        return refusal


def _intake(asked: CorrectionRequested) -> list[Any] | IntakeRefusal:
    accepted = case_decider().given().when(submit(), at(2026, 9, 29, 9, 30)).then_events()
    cmd = RecordCorrectionRequested(
        case_id=CASE,
        correction_id=asked.correction_id,
        requested_materials=asked.requested_materials,
        note=asked.note,
        requested_by=asked.requested_by,
        actor=ROUTING,
    )
    state = fold_intake(accepted)
    try:
        return list(case_decider().decide(cmd, state, at(2026, 9, 30, 10, 1)))
    except IntakeRefusal as refusal:
        return refusal


def fold_intake(events: list[Any]) -> Any:
    from intake.domain.application import evolve, initial_state

    state = initial_state()
    for e in events:
        state = evolve(state, e)
    return state


@pytest.mark.parametrize(("name", "request_", "field"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_routing_and_intake_accept_exactly_the_same_correction_requests(
    name: str, request_: dict[str, Any], field: str | None
) -> None:
    answer = _routing(request_)
    if field is not None:
        assert isinstance(answer, RoutingRefusal), f"{name}: routing accepted {answer}"
        assert answer.field == field, name
        return
    assert not isinstance(answer, RoutingRefusal), f"{name}: routing refused: {answer}"
    (asked,) = answer
    recorded = _intake(asked)
    assert not isinstance(recorded, IntakeRefusal), f"{name}: intake skipped it: {recorded}"
    assert [type(e).__name__ for e in recorded] == ["CorrectionRequestReceived"]
