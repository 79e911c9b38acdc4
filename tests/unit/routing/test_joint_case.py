"""联办 on routing's side: members routed where their authority sits, the joint rule for
decisions (release, stop, continue) and the result once or member by member."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from contracts.joint import (
    JointApplicationAccepted,
    JointMember,
    JointMemberDecided,
    JointMemberReleased,
    JointMemberStopped,
    JointResultReady,
    MemberOutcome,
    member_case_id,
)
from contracts.routing import CaseRouted, DeadlineSet
from eventkit.testing import Decider
from routing.domain.errors import UnknownReference, WrongState
from routing.domain.joint_case import (
    JointCaseState,
    RecordMemberDecision,
    decide_member_decision,
    evolve_joint_case,
    initial_joint_state,
    member_routes,
)

from .support import SYSTEM, at, of_type, route

pytestmark = pytest.mark.unit

JOINT = "joint-" + "cd" * 16
ACCEPTED_AT = at(2026, 9, 29, 9, 30)


def accepted(bundle: str = "LB-001", **overrides: Any) -> JointApplicationAccepted:
    from intake.seed_catalog import seed_bundles, seed_items

    b = next(x for x in seed_bundles() if x.code == bundle)
    items = {i.code: i for i in seed_items()}
    data: dict[str, Any] = {
        "joint_case_id": JOINT,
        "receipt_no": "RA20260929ABCDEF",
        "bundle_code": b.code,
        "bundle_version": b.version,
        "bundle_name_zh": b.name_zh,
        "members": tuple(
            JointMember(
                case_id=member_case_id(JOINT, c),
                item_code=c,
                item_version=1,
                item_name_zh=items[c].name_zh,
                category=items[c].category,
                handling_tier=items[c].handling_tier,
                case_type=items[c].case_type,
                promised_limit_days=items[c].promised_limit_days,
                material_codes=tuple(m.code for m in items[c].materials),
            )
            for c in b.members
        ),
        "approval_order": b.approval_order,
        "on_refusal": b.on_refusal,
        "result_return": b.result_return,
        "accepted_on": date(2026, 9, 29),
        "promised_completion_date": date(2026, 10, 13),
        "registered_community_id": "ruian.mayu.mabei",
        "accepting_center_id": "ruian.mayu.mabei",
        "accepting_staff_id": "ruian.mayu.mabei.agent1",
        "accepted_at": ACCEPTED_AT,
        "accepted_by": "ruian.mayu.mabei.agent1",
    }
    data.update(overrides)
    return JointApplicationAccepted(**data)


def joint() -> Decider:
    return Decider(decide_member_decision, evolve_joint_case, initial_joint_state)


def member(code: str) -> str:
    return member_case_id(JOINT, code)


def decided(code: str, decision: str = "approve") -> RecordMemberDecision:
    return RecordMemberDecision.model_validate(
        {"joint_case_id": JOINT, "case_id": member(code), "decision": decision, "actor": SYSTEM}
    )


NOW = at(2026, 10, 8)


# -- routing the members ---------------------------------------------------------------------------
def test_each_member_goes_to_the_office_that_holds_its_authority_at_its_own_tier() -> None:
    routed = {}
    for cmd in member_routes(accepted(), SYSTEM):
        (r,) = of_type(route(cmd), CaseRouted)
        routed[r.item_code] = (r.handling_tier, r.handling_unit_id)
    assert routed == {
        "FP-003": ("community", "ruian.mayu.mabei"),
        "OT-004": ("town", "ruian.mayu"),
        "LS-003": ("town", "ruian.mayu"),
        "FP-001": ("town", "ruian.mayu"),
    }


def test_the_joint_promise_is_the_latest_members_deadline() -> None:
    from contracts.joint import joint_promise
    from contracts.workdays import OfficeHours, default_calendar

    acc = accepted()
    dues = [of_type(route(cmd), DeadlineSet)[0].due_date for cmd in member_routes(acc, SYSTEM)]
    promise = joint_promise(
        ACCEPTED_AT,
        [m.promised_limit_days for m in acc.members],
        "parallel",
        OfficeHours.standard(),
        calendar=default_calendar(),
    )
    assert promise.due_date == max(dues)


# -- parallel, continue, one result (LB-001) -------------------------------------------------------
def test_given_a_parallel_bundle_when_one_member_is_refused_then_the_others_go_on() -> None:
    events = joint().given(accepted()).when(decided("OT-004", "refuse"), NOW).then_events()
    assert events == [
        JointMemberDecided(
            joint_case_id=JOINT, case_id=member("OT-004"), item_code="OT-004", decision="refuse"
        )
    ]


def test_given_all_but_one_decided_when_the_last_is_decided_then_one_result_goes_back() -> None:
    given: list[Any] = [accepted()]
    st = JointCaseState()
    for e in given:
        st = evolve_joint_case(st, e)
    for code, d in (("FP-003", "approve"), ("OT-004", "refuse"), ("LS-003", "approve")):
        for e in decide_member_decision(decided(code, d), st, NOW):
            assert not isinstance(e, JointResultReady), "no result before every member is done"
            given.append(e)
            st = evolve_joint_case(st, e)
    events = joint().given(*given).when(decided("FP-001"), NOW).then_events()
    results = of_type(events, JointResultReady)
    assert len(results) == 1 and results[0].final
    assert [(o.item_code, o.status) for o in results[0].outcomes] == [
        ("FP-003", "approved"),
        ("OT-004", "refused"),
        ("LS-003", "approved"),
        ("FP-001", "approved"),
    ]


# -- sequential, stop, member by member (LB-002) ---------------------------------------------------
def test_given_a_sequential_bundle_when_the_second_is_decided_first_then_it_is_refused() -> None:
    err = joint().given(accepted("LB-002")).when(decided("OT-001"), NOW).then_raises(WrongState)
    assert err.field == "case_id"  # type: ignore[attr-defined]


def test_given_a_sequential_bundle_when_the_first_is_approved_then_the_next_is_released() -> None:
    events = joint().given(accepted("LB-002")).when(decided("FL-001"), NOW).then_events()
    assert of_type(events, JointMemberReleased) == [
        JointMemberReleased(
            joint_case_id=JOINT,
            case_id=member("OT-001"),
            item_code="OT-001",
            after_case_id=member("FL-001"),
        )
    ]
    (result,) = of_type(events, JointResultReady)
    assert not result.final
    assert result.outcomes == (
        MemberOutcome(case_id=member("FL-001"), item_code="FL-001", status="approved"),
    )


def test_given_stop_others_when_the_first_is_refused_then_the_rest_stop_and_all_is_final() -> None:
    events = joint().given(accepted("LB-002")).when(decided("FL-001", "refuse"), NOW).then_events()
    assert of_type(events, JointMemberStopped) == [
        JointMemberStopped(
            joint_case_id=JOINT,
            case_id=member("OT-001"),
            item_code="OT-001",
            refused_case_id=member("FL-001"),
        )
    ]
    (result,) = of_type(events, JointResultReady)
    assert result.final
    assert [(o.item_code, o.status) for o in result.outcomes] == [
        ("FL-001", "refused"),
        ("OT-001", "stopped"),
    ]


def test_a_decision_heard_twice_changes_nothing() -> None:
    first = decide_member_decision(
        decided("FL-001"), evolve_joint_case(JointCaseState(), accepted("LB-002")), NOW
    )
    joint().given(accepted("LB-002"), *first).when(decided("FL-001"), NOW).then()


def test_a_case_that_is_not_a_member_is_refused_naming_it() -> None:
    cmd = RecordMemberDecision(
        joint_case_id=JOINT, case_id="case-" + "9" * 32, decision="approve", actor=SYSTEM
    )
    err = joint().given(accepted()).when(cmd, NOW).then_raises(UnknownReference)
    assert err.field == "case_id"  # type: ignore[attr-defined]
