"""After acceptance: corrections, the decision, withdrawal, delivery, archive, evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.base import DomainEvent
from contracts.intake import (
    ApplicationWithdrawn,
    CaseArchived,
    CorrectionRequestReceived,
    CorrectionSupplied,
    DecisionReceived,
    ResultDelivered,
    ServiceEvaluated,
)
from intake.domain.application_commands import (
    ArchiveCase,
    DeliverResult,
    EvaluateService,
    RecordCorrectionRequested,
    RecordDecisionReceived,
    SupplyCorrection,
    WithdrawApplication,
)
from intake.domain.errors import AlreadyExists, InvalidField, WrongStatus

from .builders import (
    AGENT_MABEI,
    OFFICER,
    RESIDENT,
    ROUTING,
    at,
    case_decider,
    case_id,
    field_of,
    pm,
    submit,
)

pytestmark = pytest.mark.unit

CASE = case_id(1)
T0 = at(2026, 9, 21, 9)
T1 = at(2026, 9, 28, 10)
T2 = at(2026, 10, 9, 11)


def run(history: list[DomainEvent], command: Any, now: Any = T1) -> list[DomainEvent]:
    return [*history, *case_decider().given(*history).when(command, now).then_events()]


def status(history: list[DomainEvent]) -> str:
    return case_decider().given(*history).state.status


def accepted() -> list[DomainEvent]:
    return case_decider().given().when(submit(), T0).then_events()


def decision(kind: str = "approve", decision_id: str = "dec-1", reason: str | None = None) -> Any:
    return RecordDecisionReceived(
        case_id=CASE,
        decision_id=decision_id,
        decision=kind,
        reason=reason,
        decided_by=OFFICER.id,
        decided_at=T1,
        actor=ROUTING,
    )


def decided() -> list[DomainEvent]:
    return run(accepted(), decision())


def delivered() -> list[DomainEvent]:
    deliver = DeliverResult(
        case_id=CASE, method="picked_up", center_id="ruian.mayu.mabei", actor=AGENT_MABEI
    )
    return run(decided(), deliver, T2)


def withdraw() -> WithdrawApplication:
    return WithdrawApplication(
        case_id=CASE, reason="暂不生育", actor=RESIDENT, confirmation="resident"
    )


def evaluate(score: int = 5, **kw: Any) -> EvaluateService:
    return EvaluateService(case_id=CASE, score=score, actor=RESIDENT, **kw)


# -- withdrawal ------------------------------------------------------------------------------------
def test_withdrawal_before_the_decision_returns_the_deposit() -> None:
    (
        case_decider()
        .given(*accepted())
        .when(withdraw(), T1)
        .then(
            ApplicationWithdrawn(
                case_id=CASE,
                status_before="accepted",
                reason="暂不生育",
                deposit_held_fen=300_000,
                withdrawn_by=RESIDENT.id,
                confirmation="resident",
            )
        )
    )


def test_a_withdrawal_records_how_it_is_the_residents_act() -> None:
    """Staff never record a withdrawal "as the resident", nor a resident as staff: the event's
    confirmation matches who recorded it (the edge decides which staff may)."""
    for actor, confirmation in (
        (RESIDENT, "verification_code"),
        (RESIDENT, "accepting_center"),
        (AGENT_MABEI, "resident"),
    ):
        cmd = WithdrawApplication(case_id=CASE, actor=actor, confirmation=confirmation)
        err = case_decider().given(*accepted()).when(cmd, T1).then_raises(InvalidField)
        assert field_of(err) == "confirmation"
    for confirmation in ("verification_code", "accepting_center"):
        cmd = WithdrawApplication(case_id=CASE, actor=AGENT_MABEI, confirmation=confirmation)
        (event,) = case_decider().given(*accepted()).when(cmd, T1).then_events()
        assert isinstance(event, ApplicationWithdrawn)
        assert (event.confirmation, event.withdrawn_by) == (confirmation, AGENT_MABEI.id)


def test_withdrawal_after_the_decision_is_refused() -> None:
    err = case_decider().given(*decided()).when(withdraw(), T2)
    assert field_of(err.then_raises(WrongStatus, "decision (approve) was recorded")) == "status"


def test_withdrawing_twice_is_refused() -> None:
    history = run(accepted(), withdraw())
    case_decider().given(*history).when(withdraw(), T2).then_raises(
        WrongStatus, "already withdrawn"
    )


# -- decision --------------------------------------------------------------------------------------
def test_a_decision_is_recorded_once_and_redelivery_changes_nothing() -> None:
    case_decider().given(*accepted()).when(decision(), T1).then(
        DecisionReceived(
            case_id=CASE,
            decision_id="dec-1",
            decision="approve",
            reason=None,
            decided_by=OFFICER.id,
            decided_at=T1,
            recorded_by=ROUTING.id,
        )
    )
    case_decider().given(*decided()).when(decision(), T1).then()
    case_decider().given(*decided()).when(decision(decision_id="dec-2"), T1).then_raises(
        WrongStatus
    )


def test_a_refusal_states_its_reason() -> None:
    err = case_decider().given(*accepted()).when(decision("refuse"), T1)
    assert field_of(err.then_raises(InvalidField)) == "reason"
    events = (
        case_decider().given(*accepted()).when(decision("refuse", reason="不符合再生育条件"), T1)
    )
    assert events.then_state().decision.decision == "refuse"


def test_no_decision_on_a_case_still_awaiting_materials_or_withdrawn() -> None:
    waiting = case_decider().given().when(submit(materials_provided=()), T0).then_events()
    case_decider().given(*waiting).when(decision(), T1).then_raises(WrongStatus)
    case_decider().given(*run(accepted(), withdraw())).when(decision(), T1).then_raises(WrongStatus)


# -- correction (补正) -----------------------------------------------------------------------------
def correction_request(cid: str = "cor-1", codes: tuple[str, ...] = ("PHOTO_1IN",)) -> Any:
    return RecordCorrectionRequested(
        case_id=CASE,
        correction_id=cid,
        requested_materials=codes,
        note="照片不清晰，请重新提供",
        requested_by=OFFICER.id,
        actor=ROUTING,
    )


def supply(cid: str = "cor-1", codes: tuple[str, ...] = ("PHOTO_1IN",)) -> SupplyCorrection:
    return SupplyCorrection(
        case_id=CASE,
        correction_id=cid,
        materials=tuple(pm(c) for c in codes),
        received_center_id="ruian.mayu.mabei",
        actor=AGENT_MABEI,
    )


def test_a_correction_goes_back_and_forth_then_the_decision_comes() -> None:
    history = run(accepted(), correction_request())
    assert isinstance(history[-1], CorrectionRequestReceived)
    assert status(history) == "correction_requested"
    # The request delivered again is already recorded.
    case_decider().given(*history).when(correction_request(), T1).then()
    history = run(history, supply(), T2)
    assert history[-1] == CorrectionSupplied(
        case_id=CASE,
        correction_id="cor-1",
        materials=(pm("PHOTO_1IN"),),
        note=None,
        received_center_id="ruian.mayu.mabei",
        supplied_by=AGENT_MABEI.id,
    )
    assert status(history) == "accepted"
    history = run(history, correction_request("cor-2", ("MARRIAGE_CERT",)), T2)
    history = run(history, decision(), T2)  # the office may decide while a correction waits
    assert status(history) == "decided"


def test_a_correction_must_supply_what_was_asked() -> None:
    history = run(accepted(), correction_request(codes=("PHOTO_1IN", "MARRIAGE_CERT")))
    err = case_decider().given(*history).when(supply(codes=("PHOTO_1IN",)), T2)
    assert field_of(err.then_raises(InvalidField, "MARRIAGE_CERT")) == "materials"
    err = case_decider().given(*history).when(supply(cid="cor-9"), T2)
    assert field_of(err.then_raises(InvalidField)) == "correction_id"


def test_correction_rules() -> None:
    # the one contract of contracts.corrections: a code of another item is refused (422)
    err = case_decider().given(*accepted()).when(correction_request(codes=("VEHICLE",)), T1)
    assert field_of(err.then_raises(InvalidField)) == "requested_materials[0]"
    case_decider().given(*accepted()).when(supply(), T1).then_raises(WrongStatus, "no correction")
    case_decider().given(*decided()).when(correction_request(), T2).then_raises(WrongStatus)


# -- delivery and archive --------------------------------------------------------------------------
def test_delivering_before_a_decision_is_refused() -> None:
    deliver = DeliverResult(case_id=CASE, method="electronic", actor=AGENT_MABEI)
    err = case_decider().given(*accepted()).when(deliver, T1)
    assert field_of(err.then_raises(WrongStatus, "no decision to deliver")) == "status"


def test_the_result_comes_back_to_the_community_and_is_archived() -> None:
    history = delivered()
    assert history[-1] == ResultDelivered(
        case_id=CASE,
        decision="approve",
        method="picked_up",
        center_id="ruian.mayu.mabei",
        tracking_no=None,
        accepting_center_id="ruian.mayu.mabei",
        delivered_by=AGENT_MABEI.id,
    )
    archive = ArchiveCase(case_id=CASE, archive_no="MB-2026-FP-0088", actor=AGENT_MABEI)
    history = run(history, archive, T2)
    assert history[-1] == CaseArchived(
        case_id=CASE, decision="approve", archive_no="MB-2026-FP-0088", archived_by=AGENT_MABEI.id
    )
    case_decider().given(*history).when(archive, T2).then_raises(WrongStatus, "already archived")


def test_delivery_details_are_checked() -> None:
    mailed = DeliverResult(case_id=CASE, method="mailed", actor=AGENT_MABEI)
    err = case_decider().given(*decided()).when(mailed, T2)
    assert field_of(err.then_raises(InvalidField)) == "tracking_no"
    picked = DeliverResult(case_id=CASE, method="picked_up", actor=AGENT_MABEI)
    err = case_decider().given(*decided()).when(picked, T2)
    assert field_of(err.then_raises(InvalidField)) == "center_id"
    again = DeliverResult(case_id=CASE, method="electronic", actor=AGENT_MABEI)
    case_decider().given(*delivered()).when(again, T2).then_raises(WrongStatus, "already")


def test_archiving_before_delivery_is_refused() -> None:
    archive = ArchiveCase(case_id=CASE, actor=AGENT_MABEI)
    case_decider().given(*decided()).when(archive, T2).then_raises(WrongStatus, "after delivery")


# -- evaluation (好差评) ---------------------------------------------------------------------------
def test_evaluating_before_delivery_is_refused() -> None:
    err = case_decider().given(*decided()).when(evaluate(), T2)
    assert field_of(err.then_raises(WrongStatus, "after the result is delivered")) == "status"


def test_a_good_evaluation_after_delivery() -> None:
    case_decider().given(*delivered()).when(
        evaluate(5, dimensions={"attitude": 5, "efficiency": 4}, comment=" 很方便 "), T2
    ).then(
        ServiceEvaluated(
            case_id=CASE,
            score=5,
            dimensions={"attitude": 5, "efficiency": 4},
            comment="很方便",
            bad_review=False,
            accepting_center_id="ruian.mayu.mabei",
            accepting_staff_id=AGENT_MABEI.id,
            evaluated_by=RESIDENT.id,
        )
    )


@pytest.mark.parametrize(("score", "bad"), [(1, True), (2, True), (3, False)])
def test_scores_of_one_or_two_are_flagged_as_bad_reviews(score: int, bad: bool) -> None:
    (evt,) = case_decider().given(*delivered()).when(evaluate(score), T2).then_events()
    assert evt.bad_review is bad


def test_an_archived_case_may_still_be_evaluated_but_only_once() -> None:
    history = run(delivered(), ArchiveCase(case_id=CASE, actor=AGENT_MABEI), T2)
    history = run(history, evaluate(4), T2)
    err = case_decider().given(*history).when(evaluate(5), T2)
    assert field_of(err.then_raises(AlreadyExists, "once per case")) == "case_id"


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (evaluate(0), "score"),
        (evaluate(6), "score"),
        (evaluate(4, dimensions={"attitude": 7}), "dimensions.attitude"),
        (evaluate(4, dimensions={"speed": 3}), "dimensions.speed"),
        (evaluate(4, comment="好" * 501), "comment"),
    ],
)
def test_scores_outside_one_to_five_are_refused(command: EvaluateService, field: str) -> None:
    err = case_decider().given(*delivered()).when(command, T2)
    assert field_of(err.then_raises(InvalidField)) == field


def test_the_whole_trail_names_every_actor() -> None:
    history = run(delivered(), ArchiveCase(case_id=CASE, actor=AGENT_MABEI), T2)
    history = run(history, evaluate(5), T2)
    actor_fields = (
        "submitted_by",
        "accepted_by",
        "recorded_by",
        "delivered_by",
        "archived_by",
        "evaluated_by",
    )
    for evt in history:
        payload = evt.model_dump()
        assert any(payload.get(f) for f in actor_fields), evt.event_type
