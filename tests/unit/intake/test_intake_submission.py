"""Submitting an application: the catalog version in force, fees and deposits, channels,
the applicant, location independence, and acceptance with receipt and promised date."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from contracts.intake import (
    ApplicationAccepted,
    ApplicationSubmitted,
    CatalogItemPublished,
    FeeOverride,
    FeeOverrideRecorded,
    MaterialsMissingNotified,
)
from eventkit.testing import fold
from intake.domain import catalog
from intake.domain.errors import (
    AlreadyExists,
    FeeMismatch,
    InvalidField,
    ItemNotInForce,
    MaterialNotInList,
    UnknownItem,
)
from intake.domain.receipts import receipt_number, verification_code

from .builders import (
    AGENT_DONGSHAN,
    AGENT_MABEI,
    ID_BEIJI,
    RESIDENT,
    SECRET,
    SEEDED,
    all_materials,
    applicant,
    at,
    case_decider,
    case_id,
    context,
    field_of,
    item,
    pm,
    submit,
)

pytestmark = pytest.mark.unit

MONDAY = at(2026, 9, 21, 9, 5)


def test_second_child_application_from_mabei_with_deposit_is_accepted_at_once() -> None:
    """The seed's story: documents and deposit handed in once, at the community center."""
    fp = item("FP-002")
    cmd = submit()
    submitted = ApplicationSubmitted(
        case_id=case_id(1),
        item_code="FP-002",
        item_version=1,
        item_name_zh=fp.name_zh,
        category="family_planning",
        handling_tier="town",
        case_type="promised",
        statutory_limit_days=30,
        promised_limit_days=15,
        result_type="批复",
        agency_allowed=True,
        required_materials=fp.materials,
        applicant=applicant(),
        registered_community_id="ruian.mayu.mabei",
        materials_provided=all_materials("FP-002"),
        accepting_center_id="ruian.mayu.mabei",
        accepting_staff_id=AGENT_MABEI.id,
        channel="window",
        fee_standard_fen=0,
        fee_paid_fen=0,
        deposit_standard_fen=300_000,
        deposit_paid_fen=300_000,
        payment_receipt_no="MB-2026-000123",
        submitted_at=MONDAY,
        submitted_by=AGENT_MABEI.id,
    )
    accepted = ApplicationAccepted(
        case_id=case_id(1),
        receipt_no=receipt_number(case_id(1), date(2026, 9, 21)),
        item_code="FP-002",
        item_version=1,
        item_name_zh=fp.name_zh,
        category="family_planning",
        handling_tier="town",
        case_type="promised",
        statutory_limit_days=30,
        promised_limit_days=15,
        accepted_on=date(2026, 9, 21),
        # 15 working days after Monday 21 September 2026: Mid-Autumn (25 Sep) and National
        # Day (1-7 Oct) are off, Saturday 10 October is an adjusted working day
        promised_completion_date=date(2026, 10, 19),
        registered_community_id="ruian.mayu.mabei",
        accepting_center_id="ruian.mayu.mabei",
        accepting_staff_id=AGENT_MABEI.id,
        channel="window",
        fee_standard_fen=0,
        fee_charged_fen=0,
        deposit_standard_fen=300_000,
        deposit_charged_fen=300_000,
        fee_overridden=False,
        accepted_at=MONDAY,
        accepted_by=AGENT_MABEI.id,
        required_materials=fp.materials,
        provisional_years=(),  # 2026 is official (chinesecalendar)
    )
    state = case_decider().given().when(cmd, MONDAY).then(submitted, accepted).then_state()
    assert state.status == "accepted"
    assert accepted.receipt_no.startswith("RA20260921")


def test_the_island_resident_hands_in_at_the_mainland_street_center() -> None:
    """张老伯 of 北麂社区 does his social insurance at 东山街道: the case keeps his community."""
    cmd = submit(
        case_id=case_id(7),
        item_code="LS-001",
        applicant=applicant(
            name="张老伯",
            id_number=ID_BEIJI,
            registered_community_id="ruian.dongshan.beiji",
            address="瑞安市东山街道北麂社区",
        ),
        materials_provided=all_materials("LS-001"),
        accepting_center_id="ruian.dongshan",
        accepting_staff_id=AGENT_DONGSHAN.id,
        deposit_paid_fen=0,
        payment_receipt_no=None,
        actor=AGENT_DONGSHAN,
    )
    submitted, accepted = case_decider().given().when(cmd, MONDAY).then_events()
    assert isinstance(accepted, ApplicationAccepted)
    assert accepted.registered_community_id == "ruian.dongshan.beiji"
    assert accepted.accepting_center_id == "ruian.dongshan"

    assert accepted.accepting_staff_id == AGENT_DONGSHAN.id
    assert (accepted.handling_tier, accepted.category) == ("town", "labour_social_security")
    assert submitted.registered_community_id == "ruian.dongshan.beiji"


# -- fees and deposits (阳光运作) ------------------------------------------------------------------
def id_card_application(**overrides: object) -> object:
    data: dict[str, object] = {
        "item_code": "OT-003",
        "materials_provided": all_materials("OT-003"),
        "deposit_paid_fen": 0,
        "fee_paid_fen": 2_000,
        "payment_receipt_no": "PS-778",
    }
    data.update(overrides)
    return submit(**data)


def test_a_fee_other_than_the_published_standard_is_refused_naming_fee_paid_fen() -> None:
    err = (
        case_decider()
        .given()
        .when(id_card_application(fee_paid_fen=1_000), MONDAY)
        .then_raises(FeeMismatch, "paid 1000 fen; the published fee of OT-003 v1 is 2000 fen")
    )
    assert field_of(err) == "fee_paid_fen"


def test_an_officer_override_accepts_the_fee_and_is_itself_an_event() -> None:
    override = FeeOverride(officer_id="officer.mayu.a", reason="低保户减免工本费")
    events = (
        case_decider()
        .given()
        .when(id_card_application(fee_paid_fen=1_000, fee_override=override), MONDAY)
        .then_events()
    )
    assert [type(e) for e in events] == [
        ApplicationSubmitted,
        FeeOverrideRecorded,
        ApplicationAccepted,
    ]
    recorded = events[1]
    assert recorded == FeeOverrideRecorded(
        case_id=case_id(1),
        item_code="OT-003",
        item_version=1,
        overridden_fields=("fee_paid_fen",),
        fee_standard_fen=2_000,
        fee_paid_fen=1_000,
        deposit_standard_fen=0,
        deposit_paid_fen=0,
        officer_id="officer.mayu.a",
        reason="低保户减免工本费",
        recorded_by=AGENT_MABEI.id,
    )
    accepted = events[2]
    assert isinstance(accepted, ApplicationAccepted)
    assert (accepted.fee_charged_fen, accepted.fee_standard_fen, accepted.fee_overridden) == (
        1_000,
        2_000,
        True,
    )


def test_a_deposit_other_than_the_standard_is_refused_naming_deposit_paid_fen() -> None:
    err = (
        case_decider()
        .given()
        .when(submit(deposit_paid_fen=200_000), MONDAY)
        .then_raises(FeeMismatch, "published deposit of FP-002 v1 is 300000 fen")
    )
    assert field_of(err) == "deposit_paid_fen"


def test_an_override_without_reason_or_without_a_mismatch_is_refused() -> None:
    blank = FeeOverride(officer_id="officer.mayu.a", reason=" ")
    err = case_decider().given().when(submit(deposit_paid_fen=0, fee_override=blank), MONDAY)
    assert field_of(err.then_raises(InvalidField)) == "fee_override.reason"
    needless = FeeOverride(officer_id="officer.mayu.a", reason="照顾")
    err2 = case_decider().given().when(submit(fee_override=needless), MONDAY)
    assert field_of(err2.then_raises(InvalidField, "nothing to override")) == "fee_override"


def test_money_paid_needs_a_payment_receipt() -> None:
    err = case_decider().given().when(submit(payment_receipt_no=" "), MONDAY)
    assert field_of(err.then_raises(InvalidField)) == "payment_receipt_no"


def test_negative_amounts_are_refused() -> None:
    err = case_decider().given().when(submit(fee_paid_fen=-5), MONDAY)
    assert field_of(err.then_raises(InvalidField, "negative")) == "fee_paid_fen"


# -- catalog lookups -------------------------------------------------------------------------------
def test_an_unknown_item_code_is_refused() -> None:
    err = case_decider().given().when(submit(item_code="FP-999"), MONDAY)
    assert field_of(err.then_raises(UnknownItem, "FP-999")) == "item_code"


def test_an_item_not_yet_in_force_is_refused() -> None:
    err = case_decider().given().when(submit(), at(2025, 12, 31, 18))
    assert field_of(err.then_raises(ItemNotInForce, "only from 2026-01-01")) == "item_code"


def test_the_case_is_judged_by_the_version_in_force_when_submitted() -> None:
    """v2 of the senior card (effective 1 October) drops the photo and promises 3 days."""
    v1 = item("CA-001")
    v2 = v1.model_copy(
        update={
            "version": 2,
            "effective_from": date(2026, 10, 1),
            "promised_limit_days": 3,
            "materials": tuple(m for m in v1.materials if m.code != "PHOTO_1IN"),
        }
    )
    cat = fold(
        catalog.evolve,
        SEEDED,
        [CatalogItemPublished(item=v2, published_at=at(2026, 9, 1), published_by="admin.1")],
    )
    ctx = context(cat)
    without_photo = submit(
        item_code="CA-001",
        materials_provided=all_materials("CA-001", skip=("PHOTO_1IN",)),
        deposit_paid_fen=0,
        payment_receipt_no=None,
    )
    # The evening before: v1 applies, the photo is missing.
    before = case_decider(ctx).given().when(without_photo, at(2026, 9, 30, 23, 30)).then_events()
    assert before[0].item_version == 1
    assert isinstance(before[1], MaterialsMissingNotified)
    assert [m.code for m in before[1].missing] == ["PHOTO_1IN"]
    # Ten past midnight on 1 October (still 30 September in UTC): v2 applies, complete.
    after = case_decider(ctx).given().when(without_photo, at(2026, 10, 1, 0, 10)).then_events()
    assert after[0].item_version == 2
    assert isinstance(after[1], ApplicationAccepted)
    assert after[1].promised_limit_days == 3


def test_a_material_not_in_the_items_list_is_refused_naming_it() -> None:
    cmd = submit(materials_provided=(*all_materials("FP-002"), pm("RETIREMENT_CERT")))
    err = case_decider().given().when(cmd, MONDAY).then_raises(MaterialNotInList, "RETIREMENT_CERT")
    assert field_of(err) == "materials_provided[5].code"


# -- channels, staff, applicant --------------------------------------------------------------------
def test_an_item_without_agency_cannot_come_through_an_agent() -> None:
    cmd = id_card_application(channel="agent")
    err = case_decider().given().when(cmd, MONDAY).then_raises(InvalidField, "代办")
    assert field_of(err) == "channel"


def test_a_window_application_needs_its_first_inquiry_staff_member() -> None:
    err = case_decider().given().when(submit(accepting_staff_id=None), MONDAY)
    assert field_of(err.then_raises(InvalidField, "首问责任人")) == "accepting_staff_id"


def test_an_online_application_has_no_accepting_staff_member() -> None:
    cmd = submit(
        channel="online", accepting_staff_id=None, actor=RESIDENT, accepting_center_id="ruian"
    )
    accepted = case_decider().given().when(cmd, MONDAY).then_events()[-1]
    assert isinstance(accepted, ApplicationAccepted)
    assert accepted.accepting_staff_id is None and accepted.accepted_by == RESIDENT.id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": " "}, "applicant.name"),
        ({"phone": "12345"}, "applicant.phone"),
        ({"address": ""}, "applicant.address"),
        ({"registered_community_id": "北麂"}, "applicant.registered_community_id"),
    ],
)
def test_applicant_fields_are_checked(overrides: dict, field: str) -> None:
    err = case_decider().given().when(submit(applicant=applicant(**overrides)), MONDAY)
    assert field_of(err.then_raises(InvalidField)) == field


def test_a_bad_case_id_or_center_is_refused() -> None:
    err = case_decider().given().when(submit(case_id="case-123"), MONDAY)
    assert field_of(err.then_raises(InvalidField)) == "case_id"
    err = case_decider().given().when(submit(accepting_center_id="Mabei Center"), MONDAY)
    assert field_of(err.then_raises(InvalidField)) == "accepting_center_id"


def test_a_case_cannot_be_submitted_twice() -> None:
    history = case_decider().given().when(submit(), MONDAY).then_events()
    err = case_decider().given(*history).when(submit(), MONDAY)
    assert field_of(err.then_raises(AlreadyExists)) == "case_id"


def test_a_naive_clock_is_refused() -> None:
    case_decider().given().when(submit(), MONDAY.replace(tzinfo=None)).then_raises(
        ValueError, "naive"
    )


# -- promised completion date ----------------------------------------------------------------------
def _same_day(accepted_at: datetime) -> ApplicationAccepted:
    cmd = submit(
        item_code="OT-002",
        materials_provided=all_materials("OT-002"),
        deposit_paid_fen=0,
        payment_receipt_no=None,
    )
    accepted = case_decider().given().when(cmd, accepted_at).then_events()[-1]
    assert isinstance(accepted, ApplicationAccepted)
    assert accepted.case_type == "same_day"
    return accepted


def test_a_same_day_item_within_hours_is_promised_for_that_day() -> None:
    accepted = _same_day(at(2026, 9, 29, 10))
    assert accepted.promised_completion_date == accepted.accepted_on == date(2026, 9, 29)


def test_a_same_day_item_handed_in_on_saturday_is_promised_for_monday() -> None:
    """Saturday-morning extended hours serve residents but are not a working day: the 即办件
    may be done on the spot, and is promised for Monday, as routing's clock counts it."""
    accepted = _same_day(at(2026, 9, 26, 9))
    assert accepted.accepted_on == date(2026, 9, 26)
    assert accepted.promised_completion_date == date(2026, 9, 28)


def test_a_same_day_item_accepted_after_closing_is_promised_for_the_next_working_day() -> None:
    accepted = _same_day(at(2026, 12, 8, 19, 3))
    assert accepted.promised_completion_date == date(2026, 12, 9)


def test_the_statutory_calendar_counts_the_national_day_holiday() -> None:
    """`contracts.workdays` (adjusted working Saturday 10 October)."""
    cmd = submit(item_code="LS-002", materials_provided=all_materials("LS-002"), deposit_paid_fen=0)
    accepted = case_decider().given().when(cmd, at(2026, 9, 30, 16)).then_events()[-1]
    assert accepted.promised_completion_date == date(2026, 10, 10)


def test_the_context_refuses_a_short_secret() -> None:
    from intake.domain.application import IntakeContext

    with pytest.raises(ValueError, match="16 bytes"):
        IntakeContext(catalog=SEEDED, verification_secret=b"x")


def test_acceptance_carries_what_routing_needs_without_calling_back() -> None:
    accepted = case_decider().given().when(submit(), MONDAY).then_events()[-1]
    payload = accepted.model_dump(mode="json")
    for key in (
        "item_code",
        "item_version",
        "handling_tier",
        "category",
        "registered_community_id",
        "accepting_center_id",
        "accepting_staff_id",
        "promised_limit_days",
        "promised_completion_date",
        "case_type",
        "fee_charged_fen",
        "fee_standard_fen",
        "deposit_charged_fen",
        "deposit_standard_fen",
        "accepted_by",
    ):
        assert key in payload, key
    assert "applicant" not in payload  # personal data lives only in the registration event


def test_no_event_carries_the_residents_verification_code() -> None:
    """Issue 18 #5: events are kept for ever and read by many; the code is a secret."""
    cmd = submit(case_id=case_id(3), materials_provided=all_materials("FP-002"))
    events = case_decider().given().when(cmd, MONDAY).then_events()
    assert any(isinstance(e, ApplicationAccepted) for e in events)
    code = verification_code(case_id(3), SECRET)
    for e in events:
        payload = e.model_dump_json()
        assert "verification_code" not in payload
        assert code not in payload
