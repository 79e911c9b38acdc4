"""补正: a correction request stops the clock; the supply restarts it, deadline extended."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.routing import CorrectionReceived, CorrectionRequested, DeadlineSet
from contracts.workdays import Pause
from routing.domain.case import (
    CheckDeadlines,
    DecideCase,
    RecordCorrectionSupplied,
    RequestCorrection,
)
from routing.domain.errors import InvalidValue, NotPermitted, WrongState

from .support import (
    CASE_ID,
    SYSTEM,
    at,
    decider,
    fold,
    of_type,
    route,
    second_child,
    staff_actor,
)

pytestmark = pytest.mark.unit

MAYU = {"case_id": CASE_ID, "org_id": "ruian.mayu", "tier": "town"}
OFFICER = "ruian.mayu.sbs.a"
CORRECTION_ID = f"{CASE_ID}.correction.1"


def routed() -> list:  # type: ignore[type-arg]
    """社保, 5 working days, accepted Tuesday 29 September 2026: due 12 October."""
    return route(
        second_child(item_code="LS-001", category="labour_social_security", promised_limit_days=5)
    )


def ask(actor_id: str = OFFICER, *items: str) -> RequestCorrection:
    return RequestCorrection(
        case_id=CASE_ID,
        actor=staff_actor(actor_id),
        requested_materials=items or ("HOUSEHOLD_REG", "PHOTO_1IN"),
        note="照片需为白底",
    )


def supplied(correction_id: str = CORRECTION_ID) -> RecordCorrectionSupplied:
    return RecordCorrectionSupplied(case_id=CASE_ID, actor=SYSTEM, correction_id=correction_id)


def test_the_assigned_officer_requests_a_correction_and_the_clock_pauses() -> None:
    decider().given(*routed()).when(ask(), at(2026, 9, 30, 10)).then(
        CorrectionRequested(
            **MAYU,
            correction_id=CORRECTION_ID,
            requested_materials=("HOUSEHOLD_REG", "PHOTO_1IN"),
            note="照片需为白底",
            paused_at=at(2026, 9, 30, 10),
            requested_by=OFFICER,
        )
    )


def test_only_the_assignee_asks_and_the_list_is_clean() -> None:
    history = routed()
    err = (
        decider()
        .given(*history)
        .when(ask("ruian.mayu.sbs.b"), at(2026, 9, 30))
        .then_raises(NotPermitted)
    )
    assert err.field == "actor"  # type: ignore[attr-defined]
    # materials by their catalog codes (contracts.corrections), each once, none blank
    for items in (
        ("HOUSEHOLD_REG", " "),
        ("HOUSEHOLD_REG", "HOUSEHOLD_REG"),
        ("HOUSEHOLD_REG", "户口本"),
    ):
        err = (
            decider()
            .given(*history)
            .when(ask(OFFICER, *items), at(2026, 9, 30))
            .then_raises(InvalidValue)
        )
        assert err.field == "requested_materials[1]"  # type: ignore[attr-defined]


def test_the_supply_restarts_the_clock_and_extends_the_deadline_by_the_paused_days() -> None:
    history = routed()
    paused = decider().given(*history).when(ask(), at(2026, 9, 30, 10)).then_events()
    # paused (9/30, 10/9]: 10/8 and 10/9 are working days -> two days more: 10/12 -> 10/14
    decider().given(*history, *paused).when(supplied(), at(2026, 10, 9, 15)).then(
        CorrectionReceived(
            **MAYU,
            correction_id=CORRECTION_ID,
            paused_at=at(2026, 9, 30, 10),
            resumed_at=at(2026, 10, 9, 15),
            paused_working_days=2,
            recorded_by="system",
        ),
        DeadlineSet(
            **MAYU,
            accepted_at=at(2026, 9, 29, 9, 30),
            promised_limit_days=5,
            paused_working_days=2,
            due_date=date(2026, 10, 14),
            due_at=at(2026, 10, 14, 17, 30),
            reason="correction_supplied",
            set_by="system",
        ),
    )


def test_the_extended_deadline_governs_the_notices() -> None:
    history = routed()
    history += decider().given(*history).when(ask(), at(2026, 9, 30, 10)).then_events()
    # while paused, the original due time passes without a word
    decider().given(*history).when(
        CheckDeadlines(case_id=CASE_ID, actor=SYSTEM), at(2026, 10, 12, 18)
    ).then()
    history += decider().given(*history).when(supplied(), at(2026, 10, 9, 15)).then_events()
    check = CheckDeadlines(case_id=CASE_ID, actor=SYSTEM)
    events = decider().given(*history).when(check, at(2026, 10, 12, 18)).then_events()
    assert [type(e).__name__ for e in events] == []  # two working days left: no warning
    events = decider().given(*history).when(check, at(2026, 10, 13, 9)).then_events()
    assert [type(e).__name__ for e in events] == ["DeadlineWarningIssued"]
    events = decider().given(*history).when(check, at(2026, 10, 14, 17, 31)).then_events()
    assert [type(e).__name__ for e in events][:2] == ["DeadlineWarningIssued", "CaseOverdue"]


def test_several_corrections_add_up() -> None:
    history = routed()
    history += decider().given(*history).when(ask(), at(2026, 9, 29, 15)).then_events()
    history += decider().given(*history).when(supplied(), at(2026, 9, 30, 9)).then_events()
    history += decider().given(*history).when(ask(), at(2026, 10, 8, 9)).then_events()
    second = supplied(f"{CASE_ID}.correction.2")
    events = decider().given(*history).when(second, at(2026, 10, 9, 9)).then_events()
    (deadline,) = of_type(events, DeadlineSet)
    # 9/30 and 10/9 paused: 5 + 2 working days after 9/29
    assert (deadline.paused_working_days, deadline.due_date) == (2, date(2026, 10, 14))


def test_a_redelivered_or_foreign_supply_changes_nothing() -> None:
    history = routed()
    decider().given(*history).when(supplied(), at(2026, 10, 9)).then()
    history += decider().given(*history).when(ask(), at(2026, 9, 30)).then_events()
    decider().given(*history).when(supplied("other"), at(2026, 10, 9)).then()
    history += decider().given(*history).when(supplied(), at(2026, 10, 9)).then_events()
    decider().given(*history).when(supplied(), at(2026, 10, 9)).then()


def test_no_second_request_while_one_is_pending() -> None:
    history = routed()
    history += decider().given(*history).when(ask(), at(2026, 9, 30)).then_events()
    decider().given(*history).when(ask(), at(2026, 9, 30)).then_raises(WrongState)


def test_a_refusal_while_waiting_counts_the_open_pause() -> None:
    history = routed()
    history += decider().given(*history).when(ask(), at(2026, 9, 30, 10)).then_events()
    refuse = DecideCase(
        case_id=CASE_ID, actor=staff_actor(OFFICER), decision="refuse", reason="逾期未补正"
    )
    # the decision now closes the pause first (CorrectionClosed), then CaseDecided
    _closed, evt = decider().given(*history).when(refuse, at(2026, 10, 13, 10)).then_events()
    assert evt.on_time  # 10/8, 10/9, 10/10, 10/12, 10/13 paused: due moves past 10/13


@pytest.mark.parametrize(
    ("decision", "reason"), [("refuse", "逾期未补正"), ("approve", "材料已经部门共享核验")]
)
def test_a_decision_while_a_correction_is_pending_closes_the_pause(
    decision: str, reason: str
) -> None:
    """Given a correction pending since Wed 30 Sep 10:00, when the officer decides on Tue 13
    Oct 10:00 without it, then the trail closes the pause at the decision (five paused
    working days: 10/8, 10/9, 10/10, 10/12, 10/13) before the decision, and no pause stays
    open in the case."""
    history = routed()
    history += decider().given(*history).when(ask(), at(2026, 9, 30, 10)).then_events()
    decide = DecideCase(
        case_id=CASE_ID, actor=staff_actor(OFFICER), decision=decision, reason=reason
    )
    events = decider().given(*history).when(decide, at(2026, 10, 13, 10)).then_events()
    assert [type(e).__name__ for e in events] == ["CorrectionClosed", "CaseDecided"]
    closed, decided = events
    assert (closed.correction_id, closed.paused_at, closed.resumed_at) == (
        CORRECTION_ID,
        at(2026, 9, 30, 10),
        at(2026, 10, 13, 10),
    )
    assert (closed.paused_working_days, closed.closed_by) == (5, OFFICER)
    assert decided.on_time
    state = fold([*history, *events])
    assert (state.status, state.paused_at, state.correction_id) == ("decided", None, None)
    assert state.pauses == (Pause(paused_at=at(2026, 9, 30, 10), resumed_at=at(2026, 10, 13, 10)),)
