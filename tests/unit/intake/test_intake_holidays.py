"""Issue 13 defect 7 at intake: the receipt's promised date is counted by the calendar intake
holds (the package's years plus the schedules routing published), marked provisional over a
year without an official schedule, and revised when that year's schedule arrives.

The 2027 notice here is MADE UP for the tests (see tests/unit/workdays/test_holiday_schedules).
"""

from __future__ import annotations

from datetime import date

import pytest

from contracts.holiday_schedules import calendar_with
from contracts.intake import ApplicationAccepted, PromisedDateRevised
from contracts.routing import HolidaySchedulePublished
from contracts.workdays import WorkingCalendar, default_calendar
from intake.domain.application_commands import (
    RecordCorrectionRequested,
    RecordDecisionReceived,
    RevisePromisedDate,
)

from .builders import ROUTING, at, case_decider, context, submit

pytestmark = pytest.mark.unit

NOTICE = "国办发明电〔2026〕99号（测试用）"
MABEI = "ruian.mayu.mabei"


def published() -> WorkingCalendar:
    return calendar_with(
        default_calendar(),
        HolidaySchedulePublished(
            year=2027,
            notice_no=NOTICE,
            holidays=(date(2027, 1, 1), *(date(2027, 2, d) for d in range(5, 13))),
            makeup_workdays=(date(2027, 2, 20),),
            published_by="admin.ops",
        ),
    )


def revise(case_id: str = "case-" + "0" * 31 + "1") -> RevisePromisedDate:
    return RevisePromisedDate(case_id=case_id, actor=ROUTING, year=2027, notice_no=NOTICE)


def accepted_before_publication() -> list:  # type: ignore[type-arg]
    """二胎 (15 working days) handed in complete at 马北社区 on Wed 27 January 2027."""
    return case_decider().given().when(submit(), at(2027, 1, 27, 9, 30)).then_events()


def test_a_receipt_over_a_year_without_a_schedule_is_provisional() -> None:
    accepted = accepted_before_publication()[-1]
    assert isinstance(accepted, ApplicationAccepted)
    assert accepted.promised_completion_date == date(2027, 2, 23)
    assert accepted.provisional_years == (2027,)


def test_a_receipt_after_publication_is_firm() -> None:
    events = case_decider(context(calendar=published())).given().when(submit(), at(2027, 1, 27))
    accepted = events.then_events()[-1]
    assert isinstance(accepted, ApplicationAccepted)
    assert (accepted.promised_completion_date, accepted.provisional_years) == (
        date(2027, 2, 24),
        (),
    )


def test_the_published_year_revises_the_promise_with_its_reason() -> None:
    """Given the provisional receipt, when 2027's schedule reaches intake, then
    intake.promised_date_revised moves it from 23 to 24 February, firm, naming the notice."""
    history = accepted_before_publication()
    when = (
        case_decider(context(calendar=published())).given(*history).when(revise(), at(2027, 1, 28))
    )
    (evt,) = when.then_events()
    assert evt == PromisedDateRevised(
        case_id=history[0].case_id,
        receipt_no=history[-1].receipt_no,
        previous_date=date(2027, 2, 23),
        promised_completion_date=date(2027, 2, 24),
        provisional_years=(),
        reason="holiday_schedule_published",
        year=2027,
        notice_no=NOTICE,
        accepting_center_id=MABEI,
        revised_by=ROUTING.id,
    )
    again = case_decider(context(calendar=published())).given(*history, evt)
    again.when(revise(), at(2027, 1, 29)).then()


def test_a_promise_the_year_does_not_change_is_left_alone() -> None:
    history = case_decider().given().when(submit(), at(2026, 11, 2)).then_events()
    case_decider(context(calendar=published())).given(*history).when(
        revise(), at(2027, 1, 28)
    ).then()


def test_a_decided_case_keeps_its_receipt() -> None:
    history = accepted_before_publication()
    decision = RecordDecisionReceived(
        case_id=history[0].case_id,
        actor=ROUTING,
        decision_id="d1",
        decision="approve",
        decided_by="ruian.mayu.jsb.a",
        decided_at=at(2027, 1, 28),
    )
    history += case_decider().given(*history).when(decision, at(2027, 1, 28)).then_events()
    case_decider(context(calendar=published())).given(*history).when(
        revise(), at(2027, 1, 29)
    ).then()


def test_a_case_awaiting_a_correction_is_revised_too() -> None:
    history = accepted_before_publication()
    ask = RecordCorrectionRequested(
        case_id=history[0].case_id,
        actor=ROUTING,
        correction_id="c1",
        requested_materials=("MARRIAGE_CERT",),
        requested_by="ruian.mayu.jsb.a",
    )
    history += case_decider().given(*history).when(ask, at(2027, 1, 28)).then_events()
    revised = (
        case_decider(context(calendar=published())).given(*history).when(revise(), at(2027, 1, 29))
    )
    (evt,) = revised.then_events()
    assert evt.promised_completion_date == date(2027, 2, 24)  # type: ignore[attr-defined]
    assert revised.then_state().status == "correction_requested"


def test_a_case_not_yet_accepted_has_no_promise_to_revise() -> None:
    incomplete = submit(materials_provided=())
    history = case_decider().given().when(incomplete, at(2027, 1, 27)).then_events()
    case_decider(context(calendar=published())).given(*history).when(
        revise(), at(2027, 1, 28)
    ).then()
