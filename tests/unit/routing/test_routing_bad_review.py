"""好差评: a bad review opens a follow-up for the accepting center's head, with a due time."""

from __future__ import annotations

import pytest

from contracts.intake import is_bad_review
from contracts.routing import BadReviewFollowUpAnswered, BadReviewFollowUpOpened, FollowUpOverdue
from eventkit.envelope import Actor
from routing.domain.case import (
    AnswerFollowUp,
    CheckDeadlines,
    DecideCase,
    RecordServiceEvaluation,
    ReturnResult,
)
from routing.domain.errors import InvalidValue, NotPermitted, UnknownReference, WrongState

from .support import CASE_ID, SYSTEM, at, decider, route, second_child, staff_actor

pytestmark = pytest.mark.unit

MAYU = {"case_id": CASE_ID, "org_id": "ruian.mayu", "tier": "town"}
HEAD = "ruian.mayu.mabei.head"
FOLLOWUP = f"{CASE_ID}.followup.1"


def finished() -> list:  # type: ignore[type-arg]
    history = route(second_child())
    officer = staff_actor("ruian.mayu.jsb.a")
    for cmd, now in (
        (DecideCase(case_id=CASE_ID, actor=officer, decision="approve"), at(2026, 10, 9)),
        (ReturnResult(case_id=CASE_ID, actor=officer), at(2026, 10, 9, 11)),
    ):
        history += decider().given(*history).when(cmd, now).then_events()
    return history


def rated(score: int, ref: str = "eval-1") -> RecordServiceEvaluation:
    return RecordServiceEvaluation(
        case_id=CASE_ID,
        actor=SYSTEM,
        evaluation_ref=ref,
        score=score,
        bad_review=is_bad_review(score),
        dimensions={"attitude": 1, "speed": 3},
        comment="等了很久 ",
    )


def test_a_bad_review_opens_a_follow_up_for_the_accepting_centers_head() -> None:
    # opened Monday 12 Oct 10:00; three working days later is Thursday 15 Oct, close 17:30
    decider().given(*finished()).when(rated(2), at(2026, 10, 12, 10)).then(
        BadReviewFollowUpOpened(
            **MAYU,
            followup_id=FOLLOWUP,
            evaluation_ref="eval-1",
            score=2,
            low_dimensions=("attitude",),
            comment="等了很久",
            center_id="ruian.mayu.mabei",
            assigned_to=HEAD,
            answer_due_at=at(2026, 10, 15, 17, 30),
            opened_by="system",
        )
    )


def test_a_fair_review_opens_nothing_and_an_evaluation_opens_one_follow_up_at_most() -> None:
    history = finished()
    decider().given(*history).when(rated(3), at(2026, 10, 12)).then()
    history += decider().given(*history).when(rated(1), at(2026, 10, 12)).then_events()
    decider().given(*history).when(rated(1), at(2026, 10, 12)).then()


def test_routing_follows_intakes_verdict_and_never_redraws_the_line() -> None:
    # given intake's event says whether a review is bad (`contracts.intake.is_bad_review`)
    history = finished()
    unflagged = rated(1).model_copy(update={"bad_review": False})
    # when a score intake did not flag arrives, then nothing opens
    decider().given(*history).when(unflagged, at(2026, 10, 12)).then()
    # and when intake flagged it, a follow-up opens whatever the score
    flagged = rated(3).model_copy(update={"bad_review": True})
    events = decider().given(*history).when(flagged, at(2026, 10, 12)).then_events()
    assert [type(e).__name__ for e in events] == ["BadReviewFollowUpOpened"]


def test_the_head_answers_on_time() -> None:
    history = finished()
    history += decider().given(*history).when(rated(1), at(2026, 10, 12, 10)).then_events()
    answer = AnswerFollowUp(
        case_id=CASE_ID,
        actor=staff_actor(HEAD),
        followup_id=FOLLOWUP,
        answer="已上门致歉并说明办理时限",
    )
    decider().given(*history).when(answer, at(2026, 10, 14, 9)).then(
        BadReviewFollowUpAnswered(
            **MAYU,
            followup_id=FOLLOWUP,
            answer="已上门致歉并说明办理时限",
            answered_by=HEAD,
            on_time=True,
        )
    )


def test_answers_come_from_the_head_once_and_not_blank() -> None:
    history = finished()
    history += decider().given(*history).when(rated(1), at(2026, 10, 12, 10)).then_events()
    base = {
        "case_id": CASE_ID,
        "actor": staff_actor(HEAD),
        "followup_id": FOLLOWUP,
        "answer": "已回访",
    }
    d = decider().given(*history)
    err = d.when(
        AnswerFollowUp(**{**base, "actor": staff_actor("ruian.mayu.mabei.agent1")}),
        at(2026, 10, 13),
    ).then_raises(NotPermitted)
    assert err.field == "actor"  # type: ignore[attr-defined]
    # a follow-up is the head's accountability: an admin does not answer in the head's place
    admin = Actor(id="admin.ops", role="admin", org_id="ruian")
    err = d.when(AnswerFollowUp(**{**base, "actor": admin}), at(2026, 10, 13)).then_raises(
        NotPermitted
    )
    assert err.field == "actor"  # type: ignore[attr-defined]
    d.when(AnswerFollowUp(**{**base, "answer": " "}), at(2026, 10, 13)).then_raises(InvalidValue)
    d.when(AnswerFollowUp(**{**base, "followup_id": "x"}), at(2026, 10, 13)).then_raises(
        UnknownReference
    )
    history += (
        decider().given(*history).when(AnswerFollowUp(**base), at(2026, 10, 13)).then_events()
    )
    decider().given(*history).when(AnswerFollowUp(**base), at(2026, 10, 13)).then_raises(WrongState)


def test_an_unanswered_follow_up_goes_overdue_once() -> None:
    history = finished()
    history += decider().given(*history).when(rated(1), at(2026, 10, 12, 10)).then_events()
    check = CheckDeadlines(case_id=CASE_ID, actor=SYSTEM)
    decider().given(*history).when(check, at(2026, 10, 15, 17)).then()
    overdue = (
        decider()
        .given(*history)
        .when(check, at(2026, 10, 15, 18))
        .then(
            FollowUpOverdue(
                **MAYU,
                followup_id=FOLLOWUP,
                assigned_to=HEAD,
                answer_due_at=at(2026, 10, 15, 17, 30),
                detected_by="system",
            )
        )
    )
    decider().given(*history, *overdue.produced).when(check, at(2026, 10, 20)).then()


def test_an_answered_follow_up_never_goes_overdue_and_a_late_answer_says_so() -> None:
    history = finished()
    history += decider().given(*history).when(rated(1), at(2026, 10, 12, 10)).then_events()
    answer = AnswerFollowUp(
        case_id=CASE_ID, actor=staff_actor(HEAD), followup_id=FOLLOWUP, answer="已整改"
    )
    (late,) = decider().given(*history).when(answer, at(2026, 10, 16)).then_events()
    assert not late.on_time
    decider().given(*history, late).when(
        CheckDeadlines(case_id=CASE_ID, actor=SYSTEM), at(2026, 10, 20)
    ).then()
