"""服务承诺制: a deadline across the 2026 National Day; warning, overdue, escalation, in order."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.routing import (
    CaseAssigned,
    CaseEscalated,
    CaseOverdue,
    DeadlineSet,
    DeadlineWarningIssued,
)
from routing.domain.case import CheckDeadlines, DecideCase, RequestCorrection
from routing.domain.org_admin import AssignPost
from routing.domain.policy import DeadlinePolicy

from .support import (
    ADMIN,
    CASE_ID,
    SYSTEM,
    at,
    decider,
    fold,
    of_type,
    route,
    second_child,
    seeded_org,
    staff_actor,
    with_admin,
)

pytestmark = pytest.mark.unit

MAYU = {"case_id": CASE_ID, "org_id": "ruian.mayu", "tier": "town"}
OFFICER = "ruian.mayu.sbs.a"
B_HOLDER = "ruian.mayu.sbs.b"
HOLDERS = {"a_holder": OFFICER, "b_holder": B_HOLDER}
DUE_AT = at(2026, 10, 12, 17, 30)
CHECK = CheckDeadlines(case_id=CASE_ID, actor=SYSTEM)


def social_insurance(**kw: object) -> list:  # type: ignore[type-arg]
    """社保 (5 working days) accepted at 马北社区 on Tuesday 29 September 2026."""
    fields: dict[str, object] = {
        "item_code": "LS-001",
        "category": "labour_social_security",
        "promised_limit_days": 5,
    }
    fields.update(kw)
    return route(second_child(**fields))


def test_five_working_days_across_national_day_fall_due_on_12_october() -> None:
    (deadline,) = of_type(social_insurance(), DeadlineSet)
    # 9/30, (10/1-10/7 holiday), 10/8, 10/9, Saturday 10/10 worked, Monday 10/12
    assert deadline.due_date == date(2026, 10, 12)
    assert deadline.due_at == DUE_AT


def test_a_late_case_is_warned_then_overdue_then_escalated_each_once() -> None:
    history = social_insurance()
    produced = []
    checks = [
        at(2026, 10, 9, 17),  # nothing yet: two working days left
        at(2026, 10, 10, 9),  # the adjusted working Saturday is the last day before: warning
        at(2026, 10, 10, 15),  # nothing new
        at(2026, 10, 12, 17, 0),  # due today, not overdue yet
        at(2026, 10, 12, 17, 31),  # overdue, and escalated to the town center's head
        at(2026, 10, 13, 9),  # nothing new
        at(2026, 10, 14, 17, 31),  # two working days later: to the city center's head
        at(2026, 10, 20, 9),  # nothing left to say
    ]
    for now in checks:
        events = decider().given(*history).when(CHECK, now).then_events()
        produced.append(events)
        history += events
    assert [len(p) for p in produced] == [0, 1, 0, 0, 2, 0, 1, 0]
    assert produced[1] == [
        DeadlineWarningIssued(
            **MAYU,
            assigned_to=OFFICER,
            due_at=DUE_AT,
            working_days_left=1,
            issued_by="system",
            **HOLDERS,
        )
    ]
    assert produced[4] == [
        CaseOverdue(**MAYU, assigned_to=OFFICER, due_at=DUE_AT, detected_by="system", **HOLDERS),
        CaseEscalated(
            **MAYU,
            level=1,
            escalated_to="ruian.mayu.head",
            to_unit_id="ruian.mayu",
            assigned_to=OFFICER,
            due_at=DUE_AT,
            escalated_by="system",
            center_head="ruian.mayu.head",
        ),
    ]
    assert produced[6] == [
        CaseEscalated(
            **MAYU,
            level=2,
            escalated_to="ruian.head",
            to_unit_id="ruian",
            assigned_to=OFFICER,
            due_at=DUE_AT,
            escalated_by="system",
            center_head="ruian.mayu.head",
        )
    ]


def test_a_late_first_check_catches_up_in_order() -> None:
    events = decider().given(*social_insurance()).when(CHECK, at(2026, 10, 20)).then_events()
    assert [type(e).__name__ for e in events] == [
        "DeadlineWarningIssued",
        "CaseOverdue",
        "CaseEscalated",
        "CaseEscalated",
    ]
    assert [e.level for e in of_type(events, CaseEscalated)] == [1, 2]


def test_the_thresholds_follow_the_policy() -> None:
    policy = DeadlinePolicy(warning_working_days=2, first_escalation_delay_working_days=1)
    history = social_insurance()
    d = decider(policy=policy)
    assert d.given(*history).when(CHECK, at(2026, 10, 8, 23)).then_events() == []
    warned = d.given(*history).when(CHECK, at(2026, 10, 9, 0, 1)).then_events()
    assert [type(e) for e in warned] == [DeadlineWarningIssued]
    assert warned[0].working_days_left == 2
    overdue = d.given(*history, *warned).when(CHECK, at(2026, 10, 12, 18)).then_events()
    assert [type(e) for e in overdue] == [CaseOverdue]
    later = d.given(*history, *warned, *overdue).when(CHECK, at(2026, 10, 13, 18)).then_events()
    assert [(type(e), e.level) for e in later] == [(CaseEscalated, 1)]


def test_a_city_case_escalates_to_the_city_head_and_stops_there() -> None:
    history = route(
        second_child(
            item_code="CA-002",
            category="civil_affairs",
            handling_tier="city",
            promised_limit_days=5,
        )
    )
    events = decider().given(*history).when(CHECK, at(2026, 11, 30)).then_events()
    escalations = of_type(events, CaseEscalated)
    assert [(e.level, e.escalated_to) for e in escalations] == [(1, "ruian.head")]


def test_a_community_case_escalates_to_its_head_then_the_town() -> None:
    history = route(
        second_child(
            item_code="OT-002",
            category="other",
            handling_tier="community",
            case_type="same_day",
            promised_limit_days=0,
        )
    )
    events = decider().given(*history).when(CHECK, at(2026, 10, 20)).then_events()
    assert [(e.level, e.escalated_to) for e in of_type(events, CaseEscalated)] == [
        (1, "ruian.mayu.mabei.head"),
        (2, "ruian.mayu.head"),
    ]
    # the community's head, whose supervision did not suffice, still hears of level 2
    assert {e.center_head for e in of_type(events, CaseEscalated)} == {"ruian.mayu.mabei.head"}


def test_the_warning_and_the_overdue_name_the_posts_current_a_and_b_holders() -> None:
    """AB岗: both holders answer for the post's cases, so routing names them on the notices
    (notify tells both). The holders are the post's when the notice is issued: a post
    handed to others after the assignment is told to its new holders."""
    history = social_insurance()
    org = with_admin(
        seeded_org(),
        AssignPost(
            actor=ADMIN,
            post_id="ruian.mayu.sbs.post",
            unit_id="ruian.mayu",
            office_id="ruian.mayu.sbs",
            name_zh="劳动保障所(社保所)审批岗",
            categories=("labour_social_security",),
            a_holder=OFFICER,
            b_holder="ruian.mayu.mzb.b",
        ),
    )
    events = decider(org).given(*history).when(CHECK, at(2026, 10, 12, 17, 31)).then_events()
    (warning,) = of_type(events, DeadlineWarningIssued)
    (overdue,) = of_type(events, CaseOverdue)
    for notice in (warning, overdue):
        assert (notice.assigned_to, notice.a_holder, notice.b_holder) == (
            OFFICER,
            OFFICER,
            "ruian.mayu.mzb.b",
        )


def test_a_case_held_without_a_post_names_no_holders() -> None:
    """A case the center head took (no post covers it) has no A/B holders to name."""
    history = social_insurance()
    state = fold(history)
    no_post = [
        e.model_copy(update={"post_id": None}) if isinstance(e, CaseAssigned) else e
        for e in history
    ]
    assert state.post_id is not None and fold(no_post).post_id is None
    events = decider().given(*no_post).when(CHECK, at(2026, 10, 12, 17, 31)).then_events()
    for notice in (*of_type(events, DeadlineWarningIssued), *of_type(events, CaseOverdue)):
        assert (notice.a_holder, notice.b_holder) == (None, None)


def test_no_notices_while_the_clock_is_paused_or_after_the_decision() -> None:
    history = social_insurance()
    paused = (
        decider()
        .given(*history)
        .when(
            RequestCorrection(
                case_id=CASE_ID, actor=staff_actor(OFFICER), requested_materials=("ID_CARD",)
            ),
            at(2026, 9, 30),
        )
        .then_events()
    )
    decider().given(*history, *paused).when(CHECK, at(2026, 10, 20)).then()
    decided = (
        decider()
        .given(*history)
        .when(
            DecideCase(case_id=CASE_ID, actor=staff_actor(OFFICER), decision="approve"),
            at(2026, 10, 9),
        )
        .then_events()
    )
    decider().given(*history, *decided).when(CHECK, at(2026, 10, 20)).then()
