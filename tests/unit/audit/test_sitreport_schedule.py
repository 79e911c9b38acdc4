"""Situation reports: which are due when (the schedule) and the lateness rule, given/when/then."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from audit.sitreport.report import (
    CheckLate,
    Generate,
    Refused,
    ReportState,
    Submit,
    decide,
    evolve,
)
from audit.sitreport.schedule import (
    LOCAL,
    ScheduleConfig,
    Unit,
    closed_periods,
    deadline_of,
    due,
    period_of,
)
from contracts.sitreports import (
    ReportFigures,
    SituationReportGenerated,
    SituationReportLate,
    SituationReportSubmitted,
)

pytestmark = pytest.mark.unit

TREE = [
    Unit("ruian", "city", None),
    Unit("ruian.anyang", "town", "ruian"),
    Unit("ruian.anyang.yucai", "community", "ruian.anyang"),
    Unit("ruian.anyang.ximen", "community", "ruian.anyang"),
]
OCT = ScheduleConfig(start=date(2026, 10, 1), submit_days=2)
FIG = ReportFigures(
    received=3, accepted=3, completed=2, on_time=2, judged=2, first_time=3, corrected=0,
    refused=0, withdrawn=0, overdue=0, escalated=0, rated=1, satisfied=1, bad_reviews=0,
)  # fmt: skip


def local(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=LOCAL)


def test_periods_are_monday_weeks_and_calendar_months() -> None:
    assert period_of("weekly", date(2026, 10, 7)) == (date(2026, 10, 5), date(2026, 10, 11))
    assert period_of("monthly", date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
    # a week that began before the start is not reported; the first full one is
    assert closed_periods("weekly", date(2026, 10, 1), date(2026, 10, 13)) == [
        (date(2026, 10, 5), date(2026, 10, 11))
    ]


def test_nothing_is_due_before_a_period_closes() -> None:
    # given October 2026, when it is Sunday 11 Oct 23:59 local, then no week has closed yet
    assert due(local(2026, 10, 11, 23, 59), OCT, TREE, done=[]) == []


def test_a_closed_week_is_due_bottom_up_with_what_each_rolls_up() -> None:
    # when it is Monday 12 Oct just after midnight local
    got = due(local(2026, 10, 12, 0, 1), OCT, TREE, done=[])
    # then every unit's weekly report of 5-11 Oct, communities first, the city last
    assert [d.unit.unit_id for d in got] == [
        "ruian.anyang.ximen",
        "ruian.anyang.yucai",
        "ruian.anyang",
        "ruian",
    ]
    assert {(d.period, d.first, d.last) for d in got} == {
        ("weekly", date(2026, 10, 5), date(2026, 10, 11))
    }
    town = got[2]
    assert town.unit.parent_id == "ruian"
    assert town.rolls_up == (
        "sitrep:ruian.anyang.ximen:weekly:2026-10-05",
        "sitrep:ruian.anyang.yucai:weekly:2026-10-05",
    )
    assert got[3].rolls_up == ("sitrep:ruian.anyang:weekly:2026-10-05",)
    assert town.deadline == local(2026, 10, 14)


def test_a_generated_report_is_not_due_again_and_months_come_when_they_close() -> None:
    now = local(2026, 11, 1, 0, 5)
    first = due(now, OCT, TREE, done=[])
    assert sorted({(d.period, d.first.isoformat()) for d in first}) == [
        ("monthly", "2026-10-01"),
        ("weekly", "2026-10-05"),
        ("weekly", "2026-10-12"),
        ("weekly", "2026-10-19"),
    ]  # the week of 26 Oct - 1 Nov has not closed
    assert due(now, OCT, TREE, done=[d.report_id for d in first]) == []


def test_the_schedule_is_configurable() -> None:
    monthly_only = ScheduleConfig(periods=("monthly",), start=date(2026, 10, 1), submit_days=5)
    got = due(local(2026, 11, 2), monthly_only, TREE, done=[])
    assert {d.period for d in got} == {"monthly"}
    assert got[0].deadline == deadline_of(date(2026, 10, 31), 5) == local(2026, 11, 6)


def _generated(now: datetime) -> tuple[ReportState, list]:
    d = due(local(2026, 10, 12, 0, 1), OCT, TREE, done=[])[0]
    evs = decide(Generate(d, FIG, "ab" * 32), ReportState(), now)
    state = ReportState()
    for e in evs:
        state = evolve(state, e)
    return state, evs


def test_generate_once_pending_until_the_deadline() -> None:
    state, evs = _generated(local(2026, 10, 12, 0, 1))
    assert [type(e) for e in evs] == [SituationReportGenerated]
    assert state.status == "pending" and state.goes_to == "ruian.anyang"
    again = decide(
        Generate(due(local(2026, 10, 12, 1), OCT, TREE, [])[0], FIG, "x"),
        state,
        local(2026, 10, 12, 1),
    )
    assert again == []
    # when the lateness check runs before the deadline, then nothing
    assert decide(CheckLate(), state, local(2026, 10, 13, 23, 59)) == []


def test_a_report_pending_at_its_deadline_is_flagged_late_once() -> None:
    state, _ = _generated(local(2026, 10, 12, 0, 1))
    at = local(2026, 10, 14, 0, 0)
    evs = decide(CheckLate(), state, at)
    assert evs == [
        SituationReportLate(
            report_id="sitrep:ruian.anyang.ximen:weekly:2026-10-05",
            unit_id="ruian.anyang.ximen",
            goes_to="ruian.anyang",
            deadline=local(2026, 10, 14),
            flagged_at=at,
        )
    ]
    state = evolve(state, evs[0])
    assert decide(CheckLate(), state, at + timedelta(days=3)) == []
    # sent up afterwards it is still accepted, marked late
    sub = decide(Submit("迟报说明：系统维护。", "ximen-head"), state, at + timedelta(hours=2))
    assert isinstance(sub[0], SituationReportSubmitted) and sub[0].late is True


def test_a_head_comments_and_sends_it_up_in_time() -> None:
    state, _ = _generated(local(2026, 10, 12, 0, 1))
    now = datetime(2026, 10, 12, 3, 0, tzinfo=UTC)
    (sub,) = decide(Submit("  本周办件平稳。 ", "ximen-head"), state, now)
    assert isinstance(sub, SituationReportSubmitted)
    assert (sub.comment, sub.late, sub.submitted_by) == ("本周办件平稳。", False, "ximen-head")
    state = evolve(state, sub)
    assert state.status == "submitted"
    assert decide(CheckLate(), state, local(2026, 10, 20)) == []
    with pytest.raises(Refused) as e:
        decide(Submit("again", "ximen-head"), state, now)
    assert e.value.field == "report_id"


def test_a_too_long_comment_is_refused_naming_the_field() -> None:
    state, _ = _generated(local(2026, 10, 12, 0, 1))
    with pytest.raises(Refused) as e:
        decide(Submit("长" * 4001, "h"), state, local(2026, 10, 12, 9))
    assert e.value.field == "comment"


def test_a_report_generated_after_its_deadline_is_late_at_once() -> None:
    d = due(local(2026, 10, 20), OCT, TREE, done=[])[0]
    evs = decide(Generate(d, FIG, "ab" * 32), ReportState(), local(2026, 10, 20))
    assert [type(e) for e in evs] == [SituationReportGenerated, SituationReportLate]


def test_without_a_start_day_only_the_latest_closed_periods_are_due() -> None:
    # given a deployment with no start day, when it first runs on Wednesday 9 December 2026
    got = due(local(2026, 12, 9, 10), ScheduleConfig(start=None), TREE, done=[])
    # then the week of 30 Nov - 6 Dec and November, not a year of reports
    assert sorted({(d.period, d.first.isoformat()) for d in got}) == [
        ("monthly", "2026-11-01"),
        ("weekly", "2026-11-30"),
    ]
