"""联办补齐: the resident answers the ONE joint notice once, and every member goes on; and the
joint result as intake records it.

Given a joint intake that got the one notice, when the materials it named are brought back
(shared ones once, each member's own under it), then they are recorded with what is still
missing (never a second notice) and, when nothing is, the joint case is accepted in the
same step: one receipt with every member, promised from the acceptance."""

from __future__ import annotations

from functools import partial

import pytest

from contracts.joint import (
    JointApplicationAccepted,
    JointMaterialsMissingNotified,
    JointMaterialsSupplemented,
    JointResultDelivered,
    JointResultRecorded,
    MemberMaterials,
    MemberOutcome,
    member_case_id,
)
from contracts.workdays import OfficeHours, default_calendar, promised_deadline
from eventkit.envelope import Actor
from eventkit.testing import Decider
from intake.domain.errors import InvalidField, MaterialNotInList, UnknownItem, WrongStatus
from intake.domain.joint_result import (
    DeliverJointResult,
    RecordJointResult,
    decide_deliver_joint,
    decide_record_joint_result,
)
from intake.domain.joint_submission import JointState, decide_submit_joint, evolve_joint
from intake.domain.joint_supplement import SupplementJointMaterials, decide_supplement_joint

from .builders import AGENT_MABEI, at, context, item, pm
from .test_joint_intake import CATALOG, JOINT, NOW, own_materials, shared_materials, submit_joint

pytestmark = pytest.mark.unit

LATER = at(2026, 9, 24)  # the Thursday after: the resident comes back


def decider() -> Decider:
    return Decider(partial(decide_supplement_joint, ctx=context(CATALOG)), evolve_joint, JointState)


def noticed(bundle: str = "LB-001", **overrides: object) -> list[object]:
    """The joint case's history: handed in with gaps, the one notice."""
    events = decide_submit_joint(
        submit_joint(bundle, **overrides), JointState(), NOW, context(CATALOG)
    )
    assert isinstance(events[-1], JointMaterialsMissingNotified)
    return list(events)


def supplement(**overrides: object) -> SupplementJointMaterials:
    data: dict[str, object] = {
        "joint_case_id": JOINT,
        "received_center_id": "ruian.mayu",  # any window takes them in
        "actor": AGENT_MABEI,
    }
    data.update(overrides)
    return SupplementJointMaterials.model_validate(data)


def test_given_the_one_notice_when_everything_it_named_comes_back_then_every_member_goes_on() -> (
    None
):
    history = noticed(shared_provided=(), member_provided=())
    events = (
        decider()
        .given(*history)
        .when(
            supplement(
                shared_supplied=shared_materials("LB-001"),
                member_supplied=tuple(
                    own_materials("LB-001", c) for c in ("FP-003", "OT-004", "LS-003", "FP-001")
                ),
            ),
            LATER,
        )
        .then_events()
    )
    assert [type(e) for e in events] == [JointMaterialsSupplemented, JointApplicationAccepted]
    supplied, accepted = events
    assert isinstance(supplied, JointMaterialsSupplemented) and supplied.still_missing.complete
    assert isinstance(accepted, JointApplicationAccepted)
    # every member that waited for those materials goes on, each to its own office
    assert [m.item_code for m in accepted.members] == ["FP-003", "OT-004", "LS-003", "FP-001"]
    assert accepted.accepting_center_id == "ruian.mayu.mabei"  # where it was handed in
    # promised from the acceptance, by the latest member
    longest = max(item(c).promised_limit_days for c in ("FP-003", "OT-004", "LS-003", "FP-001"))
    due = promised_deadline(LATER, longest, OfficeHours.standard(), calendar=default_calendar())
    assert accepted.promised_completion_date == due.due_date


def test_given_the_one_notice_when_only_part_comes_back_then_no_second_notice() -> None:
    history = noticed(shared_provided=(), member_provided=())
    events = (
        decider()
        .given(*history)
        .when(supplement(shared_supplied=shared_materials("LB-001")), LATER)
        .then_events()
    )
    assert [type(e) for e in events] == [JointMaterialsSupplemented]  # recorded, not re-notified
    still = events[0].still_missing
    assert isinstance(events[0], JointMaterialsSupplemented)
    assert still.shared == ()  # the shared gaps are closed once for every member
    own = {m.item_code: [g.code for g in m.missing] for m in still.members}
    assert own["FP-001"] == ["APPLICATION_FORM", "PHOTO_1IN"]


def test_given_two_supplements_then_the_second_completes_what_the_first_left() -> None:
    history = noticed(shared_provided=())
    first = decide_supplement_joint(
        supplement(shared_supplied=shared_materials("LB-001")[:2]),
        _state(history),
        LATER,
        context(CATALOG),
    )
    events = (
        decider()
        .given(*history, *first)
        .when(supplement(shared_supplied=shared_materials("LB-001")[2:]), LATER)
        .then_events()
    )
    assert [type(e) for e in events] == [JointMaterialsSupplemented, JointApplicationAccepted]


def test_a_sequential_bundle_answered_once_goes_on_in_its_order() -> None:
    history = noticed("LB-002", shared_provided=())
    events = (
        decider()
        .given(*history)
        .when(supplement(shared_supplied=shared_materials("LB-002")), LATER)
        .then_events()
    )
    accepted = events[-1]
    assert isinstance(accepted, JointApplicationAccepted)
    assert accepted.approval_order == "sequential"
    assert [m.item_code for m in accepted.members] == ["FL-001", "OT-001"]


def test_given_an_accepted_joint_case_then_a_supplement_is_refused() -> None:
    accepted = decide_submit_joint(submit_joint(), JointState(), NOW, context(CATALOG))
    err = (
        decider()
        .given(*accepted)
        .when(supplement(shared_supplied=shared_materials("LB-001")), LATER)
        .then_raises(WrongStatus)
    )
    assert err.field == "status"  # type: ignore[attr-defined]


def test_given_no_joint_case_then_a_supplement_is_refused() -> None:
    err = decider().given().when(supplement(shared_supplied=(pm("ID_CARD"),)), LATER)
    assert err.then_raises(UnknownItem).field == "joint_case_id"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({}, "materials"),
        ({"shared_supplied": (pm("VEHICLE"),)}, "shared_supplied[0].code"),
        (
            {
                "member_supplied": (
                    MemberMaterials(item_code="OT-001", provided=(pm("APPLICATION_FORM"),)),
                )
            },
            "member_supplied[0].item_code",
        ),
    ],
)
def test_bad_supplement_is_refused_naming_the_field(
    overrides: dict[str, object], field: str
) -> None:
    history = noticed(shared_provided=())
    with pytest.raises((InvalidField, UnknownItem, MaterialNotInList)) as err:
        decide_supplement_joint(supplement(**overrides), _state(history), LATER, context(CATALOG))
    assert err.value.field == field


def _state(history: list[object]) -> JointState:
    state = JointState()
    for e in history:
        state = evolve_joint(state, e)  # type: ignore[arg-type]
    return state


# -- the joint result coming back (intake.joint_result_recorded) ---------------------------------
def record(final: bool, source: str = "evt-1") -> RecordJointResult:
    return RecordJointResult(
        joint_case_id=JOINT,
        outcomes=(
            MemberOutcome(
                case_id=member_case_id(JOINT, "FP-003"), item_code="FP-003", status="approved"
            ),
        ),
        final=final,
        source_event_id=source,
        actor=Actor(id="intake", role="system"),
    )


def result_decider() -> Decider:
    return Decider(decide_record_joint_result, evolve_joint, JointState)


def test_given_an_accepted_joint_case_when_routing_sends_its_result_then_intake_records_it() -> (
    None
):
    accepted = decide_submit_joint(submit_joint(), JointState(), NOW, context(CATALOG))
    events = result_decider().given(*accepted).when(record(True), LATER).then_events()
    assert [type(e) for e in events] == [JointResultRecorded]
    assert events[0].final is True  # type: ignore[attr-defined]
    state = _state([*accepted, *events])
    assert state.result_final
    # the same routing event again records nothing
    assert result_decider().given(*accepted, *events).when(record(True), LATER).then_events() == []


def test_a_joint_result_for_a_case_not_accepted_is_refused() -> None:
    noticed_only = noticed(shared_provided=())
    err = result_decider().given(*noticed_only).when(record(False), LATER)
    assert err.then_raises(WrongStatus).field == "status"  # type: ignore[attr-defined]
    assert result_decider().given().when(record(False), LATER).then_raises(UnknownItem)


def deliver(**overrides: object) -> DeliverJointResult:
    data: dict[str, object] = {
        "joint_case_id": JOINT,
        "method": "picked_up",
        "center_id": "ruian.mayu.mabei",
        "actor": AGENT_MABEI,
    }
    data.update(overrides)
    return DeliverJointResult.model_validate(data)


def delivery_decider() -> Decider:
    return Decider(decide_deliver_joint, evolve_joint, JointState)


def test_given_the_whole_result_when_the_resident_collects_it_then_it_is_delivered_once() -> None:
    accepted = decide_submit_joint(submit_joint(), JointState(), NOW, context(CATALOG))
    part = decide_record_joint_result(record(False, "evt-1"), _state(accepted), LATER)
    # a member's result alone is not the whole result: nothing to hand over yet
    err = delivery_decider().given(*accepted, *part).when(deliver(), LATER)
    assert err.then_raises(WrongStatus).field == "status"  # type: ignore[attr-defined]
    final = decide_record_joint_result(record(True, "evt-2"), _state([*accepted, *part]), LATER)
    history = [*accepted, *part, *final]
    events = delivery_decider().given(*history).when(deliver(), LATER).then_events()
    assert [type(e) for e in events] == [JointResultDelivered]
    assert events[0].accepting_center_id == "ruian.mayu.mabei"  # type: ignore[attr-defined]
    again = delivery_decider().given(*history, *events).when(deliver(), LATER)
    assert again.then_raises(WrongStatus).field == "status"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"center_id": None}, "center_id"), ({"method": "mailed", "center_id": None}, "tracking_no")],
)
def test_a_bad_joint_delivery_is_refused_naming_the_field(
    overrides: dict[str, object], field: str
) -> None:
    accepted = decide_submit_joint(submit_joint(), JointState(), NOW, context(CATALOG))
    final = decide_record_joint_result(record(True), _state(accepted), LATER)
    with pytest.raises(InvalidField) as err:
        decide_deliver_joint(deliver(**overrides), _state([*accepted, *final]), LATER)
    assert err.value.field == field
