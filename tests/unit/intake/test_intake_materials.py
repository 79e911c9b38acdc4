"""一次性告知 one-time notification: every gap in one notice, supplements until complete."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.intake import (
    ApplicationAccepted,
    ApplicationSubmitted,
    MaterialsMissingNotified,
    MaterialsSupplemented,
    MissingMaterial,
)
from intake.domain.application_commands import SupplementMaterials, WithdrawApplication
from intake.domain.errors import CaseNotFound, InvalidField, MaterialNotInList, WrongStatus

from .builders import (
    AGENT_YUCAI,
    all_materials,
    applicant,
    at,
    case_decider,
    case_id,
    field_of,
    item,
    pm,
    submit,
)

pytestmark = pytest.mark.unit

DAY1 = at(2026, 9, 21, 10)
DAY2 = at(2026, 9, 22, 15)
DAY3 = at(2026, 9, 24, 9, 30)

CASE = case_id(42)


def senior_card_with_only_the_id_card() -> object:
    """姚老伯 of 育才社区 brings only his ID card for the senior preferential card."""
    return submit(
        case_id=CASE,
        item_code="CA-001",
        applicant=applicant(registered_community_id="ruian.anyang.yucai", name="姚忠"),
        materials_provided=(pm("ID_CARD"),),
        accepting_center_id="ruian.anyang.yucai",
        accepting_staff_id=AGENT_YUCAI.id,
        deposit_paid_fen=0,
        payment_receipt_no=None,
        actor=AGENT_YUCAI,
    )


THREE_MISSING = (
    MissingMaterial(
        code="APPLICATION_FORM",
        name_zh="老年优待证申请表",
        form="original",
        copies=1,
        reason="not_provided",
    ),
    MissingMaterial(
        code="HOUSEHOLD_REG", name_zh="户口簿", form="original", copies=1, reason="not_provided"
    ),
    MissingMaterial(
        code="PHOTO_1IN",
        name_zh="一寸近期免冠照片",
        form="original",
        copies=2,
        reason="not_provided",
    ),
)


def supplement(*codes: str, center: str = "ruian.anyang.yucai") -> SupplementMaterials:
    """The materials, each in the number of copies the senior card's catalog entry asks."""
    copies = {m.code: m.copies for m in item("CA-001").materials}
    return SupplementMaterials(
        case_id=CASE,
        materials=tuple(pm(c, copies=copies.get(c, 1)) for c in codes),
        received_center_id=center,
        actor=AGENT_YUCAI,
    )


def test_three_missing_materials_get_exactly_one_notice_listing_all_three() -> None:
    events = case_decider().given().when(senior_card_with_only_the_id_card(), DAY1).then_events()
    assert [type(e) for e in events] == [ApplicationSubmitted, MaterialsMissingNotified]
    notice = events[1]
    assert notice == MaterialsMissingNotified(
        case_id=CASE,
        item_code="CA-001",
        item_version=1,
        item_name_zh="老年优待证办理",
        missing=THREE_MISSING,
        accepting_center_id="ruian.anyang.yucai",
        notified_by=AGENT_YUCAI.id,
    )


def test_two_supplements_complete_it_without_a_second_notice() -> None:
    scenario = case_decider().given()
    history = scenario.when(senior_card_with_only_the_id_card(), DAY1).then_events()

    first = case_decider().given(*history).when(supplement("APPLICATION_FORM"), DAY2)
    first_events = first.then_events()
    assert first_events == [
        MaterialsSupplemented(
            case_id=CASE,
            supplied=(pm("APPLICATION_FORM"),),
            still_missing=THREE_MISSING[1:],
            received_center_id="ruian.anyang.yucai",
            supplied_by=AGENT_YUCAI.id,
        )
    ]
    assert first.then_state().status == "awaiting_materials"

    second = (
        case_decider()
        .given(*history, *first_events)
        .when(supplement("HOUSEHOLD_REG", "PHOTO_1IN"), DAY3)
    )
    supplemented, accepted = second.then_events()
    assert isinstance(supplemented, MaterialsSupplemented) and supplemented.still_missing == ()
    assert isinstance(accepted, ApplicationAccepted)
    assert accepted.accepted_on == date(2026, 9, 24)
    assert accepted.accepting_staff_id == AGENT_YUCAI.id  # first-inquiry owner stays
    assert second.then_state().status == "accepted"

    all_events = [*history, *first_events, supplemented, accepted]
    notices = [e for e in all_events if isinstance(e, MaterialsMissingNotified)]
    assert len(notices) == 1


def test_a_supplement_may_be_handed_in_at_another_center() -> None:
    history = case_decider().given().when(senior_card_with_only_the_id_card(), DAY1).then_events()
    events = (
        case_decider()
        .given(*history)
        .when(
            supplement("APPLICATION_FORM", "HOUSEHOLD_REG", "PHOTO_1IN", center="ruian.anyang"),
            DAY2,
        )
        .then_events()
    )
    assert events[0].received_center_id == "ruian.anyang"
    assert events[1].accepting_center_id == "ruian.anyang.yucai"


def test_a_copy_where_an_original_is_required_is_a_gap() -> None:
    cmd = submit(
        case_id=CASE,
        item_code="CA-001",
        materials_provided=(
            *all_materials("CA-001", skip=("HOUSEHOLD_REG",)),
            pm("HOUSEHOLD_REG", "copy"),
        ),
        deposit_paid_fen=0,
    )
    notice = case_decider().given().when(cmd, DAY1).then_events()[1]
    assert isinstance(notice, MaterialsMissingNotified)
    assert [(m.code, m.reason) for m in notice.missing] == [("HOUSEHOLD_REG", "original_required")]


def test_materials_that_may_come_later_are_not_gaps() -> None:
    # The child's birth certificate of FP-002 is 容缺: accepted without it.
    assert "CHILD_BIRTH_CERT" not in {m.code for m in all_materials("FP-002")}
    events = case_decider().given().when(submit(), DAY1).then_events()
    assert isinstance(events[-1], ApplicationAccepted)


def test_a_supplement_outside_the_items_list_is_refused() -> None:
    history = case_decider().given().when(senior_card_with_only_the_id_card(), DAY1).then_events()
    err = case_decider().given(*history).when(supplement("MARRIAGE_CERT"), DAY2)
    assert field_of(err.then_raises(MaterialNotInList, "MARRIAGE_CERT")) == "materials[0].code"


def test_an_empty_supplement_is_refused() -> None:
    history = case_decider().given().when(senior_card_with_only_the_id_card(), DAY1).then_events()
    err = case_decider().given(*history).when(supplement(), DAY2)
    assert field_of(err.then_raises(InvalidField)) == "materials"


def test_supplementing_an_accepted_case_is_refused() -> None:
    history = case_decider().given().when(submit(case_id=CASE), DAY1).then_events()
    err = case_decider().given(*history).when(supplement("APPLICATION_FORM"), DAY2)
    assert field_of(err.then_raises(WrongStatus, "accepted")) == "status"


def test_supplementing_a_withdrawn_case_is_refused() -> None:
    history = case_decider().given().when(senior_card_with_only_the_id_card(), DAY1).then_events()
    withdraw = WithdrawApplication(
        case_id=CASE, reason="不办了", actor=AGENT_YUCAI, confirmation="accepting_center"
    )
    withdrawn = case_decider().given(*history).when(withdraw, DAY2).then_events()
    err = case_decider().given(*history, *withdrawn).when(supplement("APPLICATION_FORM"), DAY3)
    assert field_of(err.then_raises(WrongStatus, "withdrawn")) == "status"


def test_supplementing_an_unknown_case_is_refused() -> None:
    err = case_decider().given().when(supplement("APPLICATION_FORM"), DAY2)
    assert field_of(err.then_raises(CaseNotFound)) == "case_id"


def test_too_few_copies_are_a_gap_the_notice_names_with_the_shortfall() -> None:
    """The catalog asks FP-002 (二胎) for 2 copies of both spouses' ID cards and 2 photos;
    陈小芳 hands in 1 ID-card copy and 2 photos: the one-time notice names the ID card,
    2 asked, 1 given (not a silent acceptance)."""
    provided = [
        {"code": "APPLICATION_FORM", "form": "original"},
        {"code": "ID_CARD", "form": "copy"},
        {"code": "MARRIAGE_CERT", "form": "copy"},
        {"code": "HOUSEHOLD_REG", "form": "copy"},
        {"code": "PHOTO_1IN", "form": "original"},
        {"code": "PHOTO_1IN", "form": "original"},
    ]
    cmd = submit(materials_provided=tuple(pm(m["code"], m["form"]) for m in provided))
    events = case_decider().given().when(cmd, DAY1).then_events()
    assert [type(e).__name__ for e in events] == [
        "ApplicationSubmitted",
        "MaterialsMissingNotified",
    ]
    (gap,) = events[1].missing
    assert (gap.code, gap.reason, gap.copies, getattr(gap, "copies_provided", None)) == (
        "ID_CARD",
        "too_few_copies",
        2,
        1,
    )


def test_the_missing_copy_handed_in_later_completes_the_case() -> None:
    """The one ID-card copy short is supplemented: the case is accepted, no second notice."""
    short = tuple(
        pm(m.code, m.form, 1 if m.code == "ID_CARD" else m.copies)
        for m in item("FP-002").materials
        if not m.may_supply_later
    )
    history = case_decider().given().when(submit(materials_provided=short), DAY1).then_events()
    (gap,) = history[1].missing
    assert (gap.code, gap.reason, gap.copies, gap.copies_provided) == (
        "ID_CARD",
        "too_few_copies",
        2,
        1,
    )
    more = SupplementMaterials(
        case_id=history[0].case_id,
        materials=(pm("ID_CARD", "copy"),),
        received_center_id="ruian.mayu.mabei",
        actor=AGENT_YUCAI,
    )
    events = case_decider().given(*history).when(more, DAY2).then_events()
    assert [type(e).__name__ for e in events] == ["MaterialsSupplemented", "ApplicationAccepted"]
