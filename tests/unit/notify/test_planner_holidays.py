"""Issue 13 defect 7 at notify: a receipt counted by a provisional calendar says so, and a
resident whose promised date moved when the year's holiday schedule was published is told
(intake.promised_date_revised); one whose date did not move hears nothing."""

from __future__ import annotations

from datetime import date

import pytest

from notify.domain import applicant_id

from . import factories as f
from .test_planner import given

pytestmark = pytest.mark.unit


def test_a_resident_whose_promised_date_moved_is_told_the_new_date_and_why() -> None:
    case = f.new_case_id()
    env = f.promised_date_revised(case, previous=date(2027, 2, 23), promised=date(2027, 2, 24))
    s = given().given_applicant(case).when(env)
    intents = s.plan.intents
    assert [i.channel for i in intents] == ["sms", "email", "webhook"]
    assert {i.template for i in intents} == {"resident_promised_date_revised"}
    assert {i.recipient_id for i in intents} == {applicant_id(case)}
    sms = intents[0].body
    assert "国务院办公厅公布的2027年节假日安排（国办发明电〔2026〕99号）" in sms
    assert "承诺办结日期由2027年2月23日调整为2027年2月24日。" in sms
    assert "预估" not in sms  # the new date is firm
    assert intents[1].subject == "【办结日期调整】再生育(二胎)申请审批（受理编号 RA20260302K3W9ZD）"


def test_a_date_still_counted_over_a_provisional_year_says_so() -> None:
    case = f.new_case_id()
    env = f.promised_date_revised(
        case, previous=date(2027, 12, 28), promised=date(2028, 1, 4), provisional_years=(2028,)
    )
    body = given().given_applicant(case).when(env).by_channel()["sms"].body  # type: ignore[attr-defined]
    assert "该日期仍按预估的2028年节假日安排计算" in body


def test_nobody_is_told_when_only_the_provisional_mark_was_lifted() -> None:
    case = f.new_case_id()
    env = f.promised_date_revised(case, previous=date(2027, 3, 1), promised=date(2027, 3, 1))
    assert given().given_applicant(case).when(env).plan.intents == ()


def test_a_provisional_receipt_says_the_date_may_move() -> None:
    case = f.new_case_id()
    env = f.accepted(case, promised=date(2027, 2, 23), provisional_years=(2027,))
    body = given().given_applicant(case).when(env).by_channel()["sms"].body  # type: ignore[attr-defined]
    assert "承诺办结日期 2027年2月23日（按预估的2027年节假日安排计算，" in body


def test_a_firm_receipt_says_nothing_about_the_calendar() -> None:
    case = f.new_case_id()
    env = f.accepted(case, provisional_years=())
    body = given().given_applicant(case).when(env).by_channel()["sms"].body  # type: ignore[attr-defined]
    assert "承诺办结日期 2026年3月23日。" in body and "预估" not in body
