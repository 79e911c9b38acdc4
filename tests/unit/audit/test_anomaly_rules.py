"""Each anomaly rule of the shipped rules.json, one by one, on synthetic case events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from audit.anomaly.engine import CaseEvent, EmptyContext, evaluate, in_force
from audit.anomaly.rules import load_rules

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = {r.id: r for r in load_rules().enabled()}


class Ctx(EmptyContext):
    def __init__(
        self,
        catalog: list[dict[str, Any]] | None = None,
        staff: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.catalog = catalog or []
        self.staff = staff or {}

    def catalog_in_force(self, code, at):  # type: ignore[no-untyped-def]
        return in_force(
            [c for c in self.catalog if c["code"] == code], at, "effective_from", "version"
        )

    def staff_identity(self, staff_id):  # type: ignore[no-untyped-def]
        return self.staff.get(staff_id, {})


class Case:
    def __init__(self) -> None:
        self.events: list[CaseEvent] = []

    def add(self, event_type: str, hours: float = 0, keyed=None, **payload: Any) -> Case:  # type: ignore[no-untyped-def]
        self.events.append(
            CaseEvent(
                len(self.events),
                event_type,
                T0 + timedelta(hours=hours),
                payload,
                keyed=keyed or {},
            )
        )
        return self


def run(rule_id: str, case: Case, ctx=None, now: datetime | None = None):  # type: ignore[no-untyped-def]
    return evaluate([RULES[rule_id]], case.events, ctx or Ctx(), now or T0 + timedelta(days=1))


def flagged(rule_id: str, case: Case, ctx=None, now=None) -> bool:  # type: ignore[no-untyped-def]
    ev = run(rule_id, case, ctx, now)
    assert all(f.rule_id == rule_id for f in ev.findings)
    return bool(ev.findings)


CATALOG = [
    {
        "code": "second_child",
        "version": 1,
        "effective_from": "2025-01-01",
        "fee": {"amount_fen": 0},
        "deposit": {"amount_fen": 100000},
    },
    {
        "code": "second_child",
        "version": 2,
        "effective_from": "2026-03-01",
        "fee": {"amount_fen": 0},
        "deposit": {"amount_fen": 50000},
    },
    {
        "code": "second_child",
        "version": 3,
        "effective_from": "2027-01-01",
        "fee": {"amount_fen": 0},
        "deposit": {"amount_fen": 0},
    },
]


def accepted(case: Case, fee: int = 0, deposit: int = 50000, **kw: Any) -> Case:
    return case.add(
        "intake.application_accepted",
        item_code="second_child",
        item_version=2,
        fee_charged_fen=fee,
        deposit_charged_fen=deposit,
        fee_standard_fen=0,
        deposit_standard_fen=50000,
        **kw,
    )


def test_fee_or_deposit_must_match_the_standard_in_force() -> None:
    ctx = Ctx(CATALOG)
    assert not flagged("fee_differs_from_standard", accepted(Case()), ctx)
    ev = run("fee_differs_from_standard", accepted(Case(), deposit=100000), ctx)
    (f,) = ev.findings
    assert f.details["differences"] == [
        {
            "amount": "deposit",
            "charged_fen": 100000,
            "standard_fen": 50000,
            "standard_from": "catalog",
        }
    ]
    assert f.details["catalog_version"] == 2  # v2 in force on 2026-03-02, not v1 nor v3
    assert flagged("fee_differs_from_standard", accepted(Case(), fee=2000), ctx)
    # unknown catalog: the event's own declared standard is the reference
    assert flagged("fee_differs_from_standard", accepted(Case(), fee=500), Ctx())
    assert not flagged("fee_differs_from_standard", accepted(Case()), Ctx())
    # the declared standard itself may be wrong: the catalog wins
    c = Case().add(
        "intake.application_accepted",
        item_code="second_child",
        fee_charged_fen=0,
        deposit_charged_fen=100000,
        deposit_standard_fen=100000,
    )
    assert flagged("fee_differs_from_standard", c, ctx)


def test_decision_must_be_by_the_current_assignee() -> None:
    c = Case().add("routing.case_assigned", assigned_to="off-a")
    assert not flagged(
        "decision_by_non_assignee",
        Case()
        .add("routing.case_assigned", assigned_to="off-a")
        .add("routing.case_decided", 1, decided_by="off-a"),
    )
    c.add("routing.case_decided", 1, decided_by="off-b")
    ev = run("decision_by_non_assignee", c)
    assert ev.findings[0].details == {"decided_by": "off-b", "assignee": "off-a"}
    assert ev.findings[0].evidence == (0, 1)
    # after a reassignment the new officer decides: fine; the old one: not
    r = (
        Case()
        .add("routing.case_assigned", assigned_to="off-a")
        .add("routing.case_reassigned", 1, to_officer="off-b")
    )
    assert not flagged(
        "decision_by_non_assignee",
        Case()
        .add("routing.case_assigned", assigned_to="off-a")
        .add("routing.case_reassigned", 1, to_officer="off-b")
        .add("routing.case_decided", 2, decided_by="off-b"),
    )
    assert flagged("decision_by_non_assignee", r.add("routing.case_decided", 2, decided_by="off-a"))
    # never assigned at all
    assert flagged("decision_by_non_assignee", Case().add("routing.case_decided", decided_by="x"))


def test_decision_without_acceptance() -> None:
    decided = lambda: Case().add("routing.case_decided", 1, decided_by="o")  # noqa: E731
    assert flagged("decision_without_acceptance", decided())
    assert not flagged(
        "decision_without_acceptance",
        accepted(Case()).add("routing.case_decided", 1, decided_by="o"),
    )
    # accepted only after the decision: still a decision without acceptance
    late = decided().add("intake.application_accepted", 2)
    assert flagged("decision_without_acceptance", late)


def test_case_overdue() -> None:
    due = (T0 + timedelta(days=5)).isoformat()
    base = lambda: Case().add("routing.deadline_set", due_at=due)  # noqa: E731
    # open, before the due time: not yet, but look again at the due time
    ev = run("case_overdue", base(), now=T0 + timedelta(days=1))
    assert not ev.findings and ev.next_check_at == T0 + timedelta(days=5)
    # open, past the due time
    assert flagged("case_overdue", base(), now=T0 + timedelta(days=6))
    # decided in time / late
    assert not flagged(
        "case_overdue", base().add("routing.case_decided", 24), now=T0 + timedelta(days=9)
    )
    assert flagged(
        "case_overdue", base().add("routing.case_decided", 24 * 6), now=T0 + timedelta(days=9)
    )
    # waiting for a correction (补正): the clock is stopped
    assert not flagged(
        "case_overdue", base().add("routing.correction_requested", 1), now=T0 + timedelta(days=9)
    )
    # the correction came back and the deadline was reset later
    later = (T0 + timedelta(days=12)).isoformat()
    c = base().add("routing.correction_requested", 1).add("routing.correction_received", 48)
    c.add("routing.deadline_set", 48, due_at=later)
    assert not flagged("case_overdue", c, now=T0 + timedelta(days=9))
    assert flagged("case_overdue", c, now=T0 + timedelta(days=13))
    # routing's own overdue event flags at once
    assert flagged("case_overdue", base().add("routing.case_overdue", 200), now=T0)


def test_reassigned_more_than_twice() -> None:
    c = Case().add("routing.case_assigned", assigned_to="a")
    for i in range(2):
        c.add("routing.case_reassigned", i + 1, to_officer=f"o{i}")
    assert not flagged("reassigned_too_often", c)
    c.add("routing.case_reassigned", 5, to_officer="o9")
    ev = run("reassigned_too_often", c)
    assert ev.findings[0].details == {"count": 3, "max": 2}
    assert len(ev.findings[0].evidence) == 3


def test_staff_handling_own_or_household_application() -> None:
    keyed = {
        "/payload/applicant/id_number": "hmac-id-1",
        "/payload/applicant/household_no": "hmac-hh-1",
    }
    staff = {
        "agent-self": {"id_number": "hmac-id-1", "household_no": "hmac-hh-9"},
        "off-family": {"id_number": "hmac-id-2", "household_no": "hmac-hh-1"},
        "off-other": {"id_number": "hmac-id-3", "household_no": "hmac-hh-3"},
    }
    ctx = Ctx(staff=staff)

    def case(agent: str, officer: str) -> Case:
        return (
            Case()
            .add("intake.application_submitted", keyed=keyed, accepting_staff_id=agent)
            .add("routing.case_assigned", 1, assigned_to=officer)
        )

    assert not flagged("staff_handles_own_or_household_case", case("agent-x", "off-other"), ctx)
    ev = run("staff_handles_own_or_household_case", case("agent-self", "off-other"), ctx)
    assert ev.findings[0].details == {
        "staff_id": "agent-self",
        "role_field": "accepting_staff_id",
        "same": ["id_number"],
    }
    ev = run("staff_handles_own_or_household_case", case("agent-x", "off-family"), ctx)
    assert ev.findings[0].details["same"] == ["household_no"]
    # an id number equal to someone's household number is not a match
    cross = {"agent-x": {"household_no": "hmac-id-1"}}
    assert not flagged(
        "staff_handles_own_or_household_case", case("agent-x", "o"), Ctx(staff=cross)
    )
    # personal data erased: no keyed hashes, nothing to compare, no finding
    c = Case().add("intake.application_submitted", accepting_staff_id="agent-self")
    assert not flagged("staff_handles_own_or_household_case", c, ctx)


def test_staff_handling_a_sealed_applicants_case_is_flagged_from_intakes_finding() -> None:
    """Sealed applicants (issue 15): the audit cannot hash what it cannot read; intake's
    `intake.conflict_of_interest_found` (no identity in it) is what flags the case."""
    sealed = {"subject_id": "subj-" + "1" * 32, "id_number": "pd1:AAAA", "name": "pd1:BBBB"}
    case = (
        Case()
        .add("intake.application_submitted", applicant=sealed, accepting_staff_id="agent.1")
        .add("routing.case_assigned", 1, assigned_to="officer.7")
    )
    staff = {"officer.7": {"id_number": "h1"}}
    assert not flagged("staff_handles_own_or_household_case", case, Ctx(staff=staff))
    case.add(
        "intake.conflict_of_interest_found",
        1.1,
        case_id="case-1",
        staff_id="officer.7",
        role_field="assigned_to",
        same=["id_number"],
    )
    ev = run("staff_handles_own_or_household_case", case, Ctx(staff=staff))
    assert len(ev.findings) == 1
    f = ev.findings[0]
    assert f.details == {
        "staff_id": "officer.7",
        "role_field": "assigned_to",
        "same": ["id_number"],
    }
    assert f.evidence == (2,)


def test_closed_without_delivery() -> None:
    assert flagged(
        "closed_without_delivery", Case().add("intake.case_archived", decision="approved")
    )
    assert not flagged(
        "closed_without_delivery",
        Case().add("intake.result_delivered").add("intake.case_archived", 1, decision="approved"),
    )
    assert not flagged(
        "closed_without_delivery",
        Case().add("intake.application_withdrawn").add("intake.case_archived", 1),
    )
    assert not flagged(
        "closed_without_delivery", Case().add("intake.case_archived", decision="withdrawn")
    )


def test_bad_review_without_follow_up_by_its_deadline() -> None:
    due = (T0 + timedelta(days=3)).isoformat()

    def bad() -> Case:
        return Case().add("intake.service_evaluated", score=1, bad_review=True)

    # a good review starts nothing
    assert not flagged(
        "bad_review_without_follow_up",
        Case().add("intake.service_evaluated", score=5, bad_review=False),
        now=T0 + timedelta(days=30),
    )
    # no follow-up at all: due 72 h after the review
    ev = run("bad_review_without_follow_up", bad(), now=T0 + timedelta(hours=10))
    assert not ev.findings and ev.next_check_at == T0 + timedelta(hours=72)
    assert flagged("bad_review_without_follow_up", bad(), now=T0 + timedelta(hours=73))
    # follow-up opened with its own due time, answered in time / late / not at all
    opened = lambda: bad().add("routing.bad_review_followup_opened", 1, answer_due_at=due)  # noqa: E731
    assert not flagged(
        "bad_review_without_follow_up",
        opened().add("routing.bad_review_followup_answered", 30),
        now=T0 + timedelta(days=9),
    )
    assert flagged(
        "bad_review_without_follow_up",
        opened().add("routing.bad_review_followup_answered", 80),
        now=T0 + timedelta(days=9),
    )
    assert flagged("bad_review_without_follow_up", opened(), now=T0 + timedelta(days=4))
    assert flagged(
        "bad_review_without_follow_up", bad().add("routing.followup_overdue", 80), now=T0
    )


def test_rules_file_is_data_and_validated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from pydantic import ValidationError

    p = tmp_path / "rules.json"
    p.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "id": "reassigned_at_all",
                        "kind": "count_exceeds",
                        "description": "any reassignment",
                        "event_types": ["routing.handed_to_someone_else"],
                        "max": 0,
                    }
                ]
            }
        )
    )
    from audit.anomaly.rules import load_rules as load

    (rule,) = load(p).enabled()
    c = Case().add("routing.handed_to_someone_else")
    assert evaluate([rule], c.events, Ctx(), T0).findings
    p.write_text(json.dumps({"rules": [{"id": "x", "kind": "no_such_kind", "description": ""}]}))
    with pytest.raises(ValidationError):
        load(p)


def test_an_event_from_a_producer_that_does_not_own_its_topic() -> None:
    def event(idx: int, topic: str, producer: str) -> CaseEvent:
        return CaseEvent(idx, "routing.case_decided", T0, {}, topic=topic, producer=producer)

    own = [event(0, "routing.events", "routing")]
    assert not run("event_from_foreign_producer", _case(own)).findings
    forged = [*own, event(1, "routing.events", "intake")]
    (finding,) = run("event_from_foreign_producer", _case(forged)).findings
    assert finding.evidence == (1,)
    assert finding.details == {"topic": "routing.events", "producer": "intake", "owner": "routing"}
    # a topic outside the contracts' table (a test's own) is not judged
    assert not run("event_from_foreign_producer", _case([event(0, "x.events", "t")])).findings


def _case(events: list[CaseEvent]) -> Case:
    c = Case()
    c.events = events
    return c


def test_a_situation_report_not_sent_up_by_its_deadline_is_an_anomaly() -> None:
    deadline = T0 + timedelta(days=2)

    def generated() -> Case:
        return Case().add(
            "audit.situation_report_generated",
            report_id="sitrep:ruian.anyang.yucai:weekly:2026-02-23",
            unit_id="ruian.anyang.yucai",
            deadline=deadline.isoformat(),
        )

    # pending before its deadline: nothing yet, looked at again at the deadline
    ev = run("situation_report_late", generated(), now=T0 + timedelta(days=1))
    assert not ev.findings and ev.next_check_at == deadline
    # sent up in time: never; sent up late: flagged with how late
    sent = generated().add("audit.situation_report_submitted", 30, late=False)
    assert not flagged("situation_report_late", sent, now=T0 + timedelta(days=30))
    (late,) = run(
        "situation_report_late",
        generated().add("audit.situation_report_submitted", 60, late=True),
        now=T0 + timedelta(days=30),
    ).findings
    assert late.details["late_by_hours"] == 12.0 and late.evidence == (0, 1)
    # still pending past the deadline (the scheduler's flag not seen yet): flagged
    assert flagged("situation_report_late", generated(), now=deadline + timedelta(hours=1))
    # the scheduler's own flag (a late or a missing report, made after its deadline) at once
    (finding,) = run(
        "situation_report_late",
        generated().add("audit.situation_report_late", 0),
        now=T0,
    ).findings
    assert finding.details["reported_by"] == "audit.situation_report_late"
    assert finding.evidence == (1,)
