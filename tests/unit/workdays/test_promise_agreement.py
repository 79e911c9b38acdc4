"""服务承诺制, issue 13 defect 2: intake's receipt and routing's clock make ONE promise.

A same-day item (即办件, 0 promised days) accepted after closing time or on a non-working day
is promised for the next working day's close of business: never overdue on acceptance. The
promised date intake prints on the receipt is the date routing's deadline clock runs on.
Both services' deciders are driven here with the same acceptance.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from contracts.intake import ApplicationAccepted
from contracts.routing import CaseEscalated, CaseOverdue, DeadlineSet
from routing.domain.case import CheckDeadlines

from ..intake.builders import all_materials, case_decider, context, submit
from ..routing.support import CASE_ID, SYSTEM, at, decider, of_type, route, second_child, seeded_org

pytestmark = pytest.mark.unit

MABEI = "ruian.mayu.mabei"  # a community center with Saturday-morning extended hours

# (name, accepted at, promised date, promised moment)
SCENARIOS = [
    (
        "after closing on a working day (Tue 19:03)",
        at(2026, 12, 8, 19, 3),
        date(2026, 12, 9),
        at(2026, 12, 9, 17, 30),
    ),
    (
        "on Saturday 2026-12-12, the center open for its extended morning",
        at(2026, 12, 12, 10, 0),
        date(2026, 12, 14),
        at(2026, 12, 14, 17, 30),
    ),
    (
        "on the eve of National Day after closing (Wed 30 Sep 19:03)",
        at(2026, 9, 30, 19, 3),
        date(2026, 10, 8),
        at(2026, 10, 8, 17, 30),
    ),
    (
        "within hours on a working day (Tue 10:00)",
        at(2026, 12, 8, 10, 0),
        date(2026, 12, 8),
        at(2026, 12, 8, 17, 30),
    ),
]


def _intake_acceptance(accepted_at: datetime) -> ApplicationAccepted:
    """Given the water bill (自来水缴费, a 即办件) handed in complete at 马北社区."""
    cmd = submit(
        item_code="OT-002",
        materials_provided=all_materials("OT-002"),
        deposit_paid_fen=0,
        payment_receipt_no=None,
    )
    hours = seeded_org().units[MABEI].office_hours
    accepted = case_decider(context(office_hours=hours)).given().when(cmd, accepted_at)
    last = accepted.then_events()[-1]
    assert isinstance(last, ApplicationAccepted)
    return last


def _routing_history(accepted_at: datetime) -> list:  # type: ignore[type-arg]
    return route(
        second_child(
            item_code="OT-002",
            category="other",
            handling_tier="community",
            case_type="same_day",
            promised_limit_days=0,
            accepted_at=accepted_at,
        )
    )


@pytest.mark.parametrize(("name", "accepted_at", "day", "moment"), SCENARIOS)
def test_a_same_day_item_is_promised_once_by_both_services(
    name: str, accepted_at: datetime, day: date, moment: datetime
) -> None:
    """Given a 即办件 accepted at 马北社区, when intake accepts it and routing routes it, then
    the receipt's promised date is routing's due date, and the moment is close of business."""
    receipt = _intake_acceptance(accepted_at)
    (deadline,) = of_type(_routing_history(accepted_at), DeadlineSet)
    assert (receipt.promised_completion_date, deadline.due_date, deadline.due_at) == (
        day,
        day,
        moment,
    ), name
    assert deadline.due_at > accepted_at, f"{name}: overdue on acceptance"


@pytest.mark.parametrize(("name", "accepted_at", "day", "moment"), SCENARIOS)
def test_no_overdue_or_escalation_right_after_acceptance(
    name: str, accepted_at: datetime, day: date, moment: datetime
) -> None:
    """Given the routed case, when the deadline scheduler looks 20 s later, then nothing is
    overdue and nobody is escalated to; one second after the promised moment it is overdue."""
    history = _routing_history(accepted_at)
    check = CheckDeadlines(case_id=CASE_ID, actor=SYSTEM)
    soon = decider().given(*history).when(check, accepted_at + timedelta(seconds=20))
    events = soon.then_events()
    assert of_type(events, CaseOverdue) == [] and of_type(events, CaseEscalated) == [], name
    late = decider().given(*history).when(check, moment + timedelta(seconds=1)).then_events()
    assert len(of_type(late, CaseOverdue)) == 1, name
