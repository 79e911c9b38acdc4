"""Issue 13 defect 7 at routing: the holiday schedule is reference data an admin publishes, the
deadline clock counts by it, a deadline over a year without one is provisional, and publishing
the year recomputes the open cases' deadlines.

The 2027 notice here is MADE UP for the tests (see tests/unit/workdays/test_holiday_schedules).
"""

from __future__ import annotations

from datetime import date

import pytest

from contracts.routing import (
    CaseDecided,
    DeadlineRecomputed,
    DeadlineSet,
    HolidaySchedulePublished,
)
from eventkit.envelope import Actor
from eventkit.testing import Decider
from routing.domain.case import (
    CheckDeadlines,
    DecideCase,
    RecomputeDeadline,
    RequestCorrection,
)
from routing.domain.errors import InvalidValue, NotPermitted, WrongState
from routing.domain.org_admin import PublishHolidaySchedule, decide_org, evolve_org
from routing.domain.org_model import OrgState
from routing.domain.policy import DeadlinePolicy

from .support import (
    ADMIN,
    CASE_ID,
    SYSTEM,
    at,
    decider,
    of_type,
    route,
    second_child,
    seeded_org,
    staff_actor,
    with_admin,
)

pytestmark = pytest.mark.unit

NOTICE = "国办发明电〔2026〕99号（测试用）"
HOLIDAYS = (
    date(2027, 1, 1),
    date(2027, 1, 2),
    date(2027, 1, 3),
    *(date(2027, 2, d) for d in range(5, 13)),
)
MAKEUP = (date(2027, 2, 20),)
OFFICER = "ruian.mayu.jsb.a"  # the A post of 马屿镇's family-planning office
RECOMPUTE = RecomputeDeadline(case_id=CASE_ID, actor=SYSTEM)


def publish(**kw: object) -> PublishHolidaySchedule:
    fields: dict[str, object] = {
        "actor": ADMIN,
        "year": 2027,
        "notice_no": NOTICE,
        "holidays": HOLIDAYS,
        "makeup_workdays": MAKEUP,
    }
    fields.update(kw)
    return PublishHolidaySchedule(**fields)  # type: ignore[arg-type]


def org_decider() -> Decider:
    return Decider(decide_org, evolve_org, seeded_org)


def published_org() -> OrgState:
    return with_admin(seeded_org(), publish(), now=at(2026, 12, 20))


def spring_festival_case() -> list:  # type: ignore[type-arg]
    """二胎 (15 working days) accepted at 马北社区 on Wednesday 27 January 2027, before 2027's
    schedule is published: counted by the provisional estimate."""
    return route(second_child(accepted_at=at(2027, 1, 27, 9, 30)))


# -- publishing --------------------------------------------------------------------------------
def test_an_admin_publishes_a_years_schedule_as_reference_data() -> None:
    """Given the seeded tree, when the admin publishes 2027's notice, then one
    routing.holiday_schedule_published names it, and the tree's calendar counts 2027 by it."""
    scenario = org_decider().given().when(publish(), at(2026, 12, 20))
    (evt,) = scenario.then_events()
    assert evt == HolidaySchedulePublished(
        year=2027,
        notice_no=NOTICE,
        holidays=HOLIDAYS,
        makeup_workdays=MAKEUP,
        published_by=ADMIN.id,
    )
    org = scenario.then_state()
    assert org.calendar.is_official(2027) and org.calendar.revision == 1
    assert org.calendar.is_working_day(date(2027, 2, 20))
    assert not org.calendar.is_working_day(date(2027, 2, 11))


def test_only_an_admin_publishes() -> None:
    officer = staff_actor(OFFICER)
    org_decider().given().when(publish(actor=officer), at(2026, 12, 20)).then_raises(NotPermitted)


def test_an_invalid_schedule_is_refused_naming_the_field() -> None:
    err = (
        org_decider()
        .given()
        .when(publish(makeup_workdays=(date(2027, 2, 22),)), at(2026, 12, 20))
        .then_raises(InvalidValue)
    )
    assert err.field == "makeup_workdays[0]"  # type: ignore[attr-defined]
    # the rule and its values, for a client to word it (the portal: in Chinese)
    assert err.code == "not_a_weekend"  # type: ignore[attr-defined]
    assert err.ctx == {"date": "2027-02-22", "weekday": "星期一"}  # type: ignore[attr-defined]


def test_the_same_schedule_again_changes_nothing() -> None:
    assert decide_org(publish(), published_org(), at(2026, 12, 21)) == []


def test_a_changed_year_is_a_conflict_unless_it_supersedes_with_a_reason() -> None:
    org = published_org()
    changed = publish(notice_no="国办发明电〔2027〕1号", makeup_workdays=())
    with pytest.raises(WrongState) as caught:
        decide_org(changed, org, at(2027, 1, 5))
    assert caught.value.field == "supersedes"
    superseding = publish(
        notice_no="国办发明电〔2027〕1号", makeup_workdays=(), supersedes=NOTICE, reason="更正"
    )
    (evt,) = decide_org(superseding, org, at(2027, 1, 5))
    assert isinstance(evt, HolidaySchedulePublished)
    assert (evt.supersedes, evt.reason) == (NOTICE, "更正")


# -- the deadline clock ------------------------------------------------------------------------
def test_a_deadline_over_a_year_without_a_schedule_is_provisional() -> None:
    """Given no 2027 schedule, when the case is routed, then it is due Tue 23 February by the
    estimate, and the deadline says 2027 is provisional."""
    (deadline,) = of_type(spring_festival_case(), DeadlineSet)
    assert (deadline.due_date, deadline.provisional_years) == (date(2027, 2, 23), (2027,))


def test_a_deadline_counted_after_publication_is_firm() -> None:
    events = route(second_child(accepted_at=at(2027, 1, 27, 9, 30)), org=published_org())
    (deadline,) = of_type(events, DeadlineSet)
    assert (deadline.due_date, deadline.provisional_years) == (date(2027, 2, 24), ())


def test_publishing_the_year_recomputes_an_open_deadline_with_the_reason() -> None:
    """Given the provisional case, when the schedule is published and the case's deadline is
    recomputed, then routing.deadline_recomputed moves it from 23 to 24 February (the estimate
    worked 11 and 12 February, the notice rests them and works Saturday 20), firm, naming the
    notice."""
    history = spring_festival_case()
    events = decider(published_org()).given(*history).when(RECOMPUTE, at(2026, 12, 20, 10))
    (evt,) = events.then_events()
    assert isinstance(evt, DeadlineRecomputed)
    assert (evt.previous_due_date, evt.due_date) == (date(2027, 2, 23), date(2027, 2, 24))
    assert (evt.previous_due_at, evt.due_at) == (at(2027, 2, 23, 17, 30), at(2027, 2, 24, 17, 30))
    assert evt.provisional_years == ()
    assert (evt.reason, evt.notices) == ("holiday_schedule_published", (NOTICE,))
    state = events.then_state()
    assert (state.due_date, state.provisional_years) == (date(2027, 2, 24), ())


def test_a_deadline_the_publication_does_not_change_is_left_alone() -> None:
    """A case due before 2027 is not recomputed (nothing to say); nor is one recomputed twice."""
    early = route(second_child(accepted_at=at(2026, 11, 2, 9, 30)))
    decider(published_org()).given(*early).when(RECOMPUTE, at(2026, 12, 20)).then()
    history = spring_festival_case()
    once = decider(published_org()).given(*history).when(RECOMPUTE, at(2026, 12, 20))
    again = once.then_events()
    decider(published_org()).given(*history, *again).when(RECOMPUTE, at(2026, 12, 21)).then()


def test_a_decided_case_keeps_the_deadline_it_was_judged_by() -> None:
    history = spring_festival_case()
    decision = DecideCase(case_id=CASE_ID, actor=staff_actor(OFFICER), decision="approve")
    decided = decider().given(*history).when(decision, at(2027, 1, 28, 10)).then_events()
    (verdict,) = of_type(decided, CaseDecided)
    assert (verdict.on_time, verdict.provisional_years) == (True, (2027,))
    decider(published_org()).given(*history, *decided).when(RECOMPUTE, at(2027, 1, 29)).then()


def test_a_pending_correction_keeps_its_pause_open_while_the_deadline_is_recomputed() -> None:
    history = spring_festival_case()
    ask = RequestCorrection(
        case_id=CASE_ID,
        actor=staff_actor(OFFICER),
        requested_materials=("MARRIAGE_CERT",),
    )
    history += decider().given(*history).when(ask, at(2027, 1, 28, 10)).then_events()
    events = decider(published_org()).given(*history).when(RECOMPUTE, at(2027, 1, 29))
    (evt,) = events.then_events()
    assert evt.due_date == date(2027, 2, 24)  # type: ignore[attr-defined]
    state = events.then_state()
    assert state.status == "correction_pending" and state.paused_at == at(2027, 1, 28, 10)


def test_the_warning_comes_by_the_published_calendar() -> None:
    """With the warning 3 working days ahead, a case due Wed 24 February 2027 is warned from
    00:00 of Saturday 20 February: by the notice a working day (the estimate says the 19th)."""
    history = spring_festival_case()
    org = published_org()
    history += decider(org).given(*history).when(RECOMPUTE, at(2026, 12, 20)).then_events()
    check = CheckDeadlines(case_id=CASE_ID, actor=SYSTEM)
    policy = DeadlinePolicy(warning_working_days=3)
    quiet = decider(org, policy).given(*history).when(check, at(2027, 2, 19, 23))
    assert quiet.then_events() == []
    due = decider(org, policy).given(*history).when(check, at(2027, 2, 20, 0, 1))
    (warning,) = due.then_events()
    assert warning.working_days_left == 3  # type: ignore[attr-defined]


def test_the_recompute_command_names_who_ran_it() -> None:
    history = spring_festival_case()
    admin = Actor(id="admin.ops", role="admin")
    (evt,) = (
        decider(published_org())
        .given(*history)
        .when(RecomputeDeadline(case_id=CASE_ID, actor=admin), at(2026, 12, 20))
        .then_events()
    )
    assert evt.recomputed_by == "admin.ops"  # type: ignore[attr-defined]
