"""联办 at intake: bundles as catalog data, one joint intake, ONE one-time notice, one receipt."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from contracts.intake import MissingMaterial, RequiredMaterial
from contracts.joint import (
    JointApplicationAccepted,
    JointApplicationSubmitted,
    JointBundle,
    JointBundlePublished,
    JointMaterialsMissingNotified,
    MemberMaterials,
    member_case_id,
)
from contracts.materials import joint_missing_materials, shared_requirement
from contracts.workdays import OfficeHours, default_calendar, promised_deadline
from eventkit.testing import Decider, fold
from intake.domain import catalog
from intake.domain.errors import AlreadyExists, InvalidField, MaterialNotInList, UnknownItem
from intake.domain.joint_submission import (
    JointState,
    SubmitJointApplication,
    decide_submit_joint,
    evolve_joint,
)
from intake.seed_catalog import seed_bundle_commands, seed_bundles

from .builders import ADMIN, AGENT_MABEI, SEEDED, SEEDED_AT, applicant, at, context, item, pm

pytestmark = pytest.mark.unit

JOINT = "joint-" + "ab" * 16
NOW = at(2026, 9, 21)  # a Monday


def with_bundles() -> catalog.Catalog:
    state = SEEDED
    for cmd in seed_bundle_commands():
        state = fold(catalog.evolve, state, catalog.decide(cmd, state, SEEDED_AT))
    return state


CATALOG = with_bundles()


def joint_decider() -> Decider:
    return Decider(partial(decide_submit_joint, ctx=context(CATALOG)), evolve_joint, JointState)


def own_materials(bundle: str, code: str) -> MemberMaterials:
    shared = set(CATALOG.bundle_in_force(bundle, NOW).shared_materials)  # type: ignore[union-attr]
    return MemberMaterials(
        item_code=code,
        provided=tuple(
            pm(m.code, m.form, m.copies)
            for m in item(code).materials
            if m.code not in shared and not m.may_supply_later
        ),
    )


def shared_materials(bundle: str) -> tuple[Any, ...]:
    b = CATALOG.bundle_in_force(bundle, NOW)
    assert b is not None
    req = shared_requirement([item(c).materials for c in b.members], b.shared_materials)
    return tuple(pm(m.code, m.form, m.copies) for m in req)


def submit_joint(bundle: str = "LB-001", **overrides: Any) -> SubmitJointApplication:
    b = CATALOG.bundle_in_force(bundle, NOW)
    assert b is not None
    data: dict[str, Any] = {
        "joint_case_id": JOINT,
        "bundle_code": bundle,
        "applicant": applicant(),
        "shared_provided": shared_materials(bundle),
        "member_provided": tuple(own_materials(bundle, c) for c in b.members),
        "accepting_center_id": "ruian.mayu.mabei",
        "accepting_staff_id": AGENT_MABEI.id,
        "channel": "window",
        "actor": AGENT_MABEI,
    }
    data.update(overrides)
    return SubmitJointApplication(**data)


# -- the rule in contracts.materials ---------------------------------------------------------------
def rm(code: str, form: str = "copy", copies: int = 1, later: bool = False) -> RequiredMaterial:
    return RequiredMaterial.model_validate(
        {"code": code, "name_zh": code, "form": form, "copies": copies, "may_supply_later": later}
    )


def test_a_shared_material_is_asked_once_as_strictly_as_any_member_asks_it() -> None:
    a = (rm("ID_CARD", copies=2), rm("BIRTH", later=True))
    b = (rm("ID_CARD", "original"), rm("BIRTH"))
    merged = shared_requirement([a, b], ["ID_CARD", "BIRTH", "NOBODY"])
    assert [(m.code, m.form, m.copies, m.may_supply_later) for m in merged] == [
        ("ID_CARD", "original", 2, False),
        ("BIRTH", "copy", 1, False),
    ]


def test_the_joint_notice_counts_a_shared_material_once_and_each_members_own_apart() -> None:
    members = [
        ("AA-001", (rm("FORM", "original"), rm("ID_CARD"))),
        ("BB-001", (rm("FORM", "original"), rm("ID_CARD"), rm("PHOTO", "original"))),
    ]
    gaps = joint_missing_materials(
        members, ["ID_CARD"], shared_provided=(), member_provided={"AA-001": (pm("FORM"),)}
    )
    assert [g.code for g in gaps.shared] == ["ID_CARD"]
    assert [(m.item_code, [g.code for g in m.missing]) for m in gaps.members] == [
        ("AA-001", []),
        ("BB-001", ["FORM", "PHOTO"]),
    ]
    assert not gaps.complete


# -- bundles as catalog data -----------------------------------------------------------------------
def test_the_seeded_bundles_are_published_and_in_force() -> None:
    assert [b.code for b in CATALOG.bundles_in_force(NOW)] == ["LB-001", "LB-002"]
    tiers = {item(c).handling_tier for c in seed_bundles()[0].members}
    assert tiers == {"community", "town"}, "the birth bundle spans two tiers"


def bundle(**overrides: Any) -> JointBundle:
    data: dict[str, Any] = {
        "code": "LB-009",
        "version": 1,
        "name_zh": "测试联办",
        "members": ("FP-001", "FP-002"),
        "shared_materials": ("ID_CARD",),
        "effective_from": NOW.date(),
    }
    data.update(overrides)
    return JointBundle(**data)


def publish(b: JointBundle) -> list[Any]:
    return catalog.decide(catalog.PublishJointBundle(bundle=b, actor=ADMIN), CATALOG, NOW)


def test_given_items_in_force_when_a_bundle_is_published_then_one_event_carries_it() -> None:
    b = bundle()
    assert publish(b) == [JointBundlePublished(bundle=b, published_at=NOW, published_by=ADMIN.id)]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"members": ("FP-001", "XX-999")}, "bundle.members[1]"),
        ({"members": ("FP-001", "FP-001")}, "bundle.members[1]"),
        ({"shared_materials": ("VEHICLE",)}, "bundle.shared_materials[0]"),
        ({"code": "FP-001"}, "bundle.code"),
        ({"code": "LB-001"}, "bundle.version"),
    ],
)
def test_a_bad_bundle_is_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises((InvalidField, UnknownItem, catalog.Conflict)) as err:
        publish(bundle(**overrides))
    assert err.value.field == field


# -- one joint intake ------------------------------------------------------------------------------
def test_given_nothing_handed_in_when_a_bundle_is_submitted_then_one_notice_names_every_gap() -> (
    None
):
    events = (
        joint_decider()
        .given()
        .when(submit_joint(shared_provided=(), member_provided=()), NOW)
        .then_events()
    )
    assert len(events) == 2
    registered, notice = events
    assert isinstance(registered, JointApplicationSubmitted)
    assert registered.applicant.name == submit_joint().applicant.name
    assert [(m.item_code, m.item_name_zh) for m in registered.member_items] == [
        (c, item(c).name_zh) for c in ("FP-003", "OT-004", "LS-003", "FP-001")
    ]
    assert isinstance(notice, JointMaterialsMissingNotified)
    shared_codes = [g.code for g in notice.missing.shared]
    assert shared_codes == ["ID_CARD", "HOUSEHOLD_REG", "MARRIAGE_CERT", "CHILD_BIRTH_CERT"]
    # counted once: the strictest ask among the members (OT-004 wants the original)
    birth = next(g for g in notice.missing.shared if g.code == "CHILD_BIRTH_CERT")
    assert birth == MissingMaterial(
        code="CHILD_BIRTH_CERT",
        name_zh=birth.name_zh,
        form="original",
        copies=1,
        reason="not_provided",
    )
    own = {m.item_code: [g.code for g in m.missing] for m in notice.missing.members}
    assert own == {
        "FP-003": ["APPLICATION_FORM"],
        "OT-004": [],
        "LS-003": ["APPLICATION_FORM"],
        "FP-001": ["APPLICATION_FORM", "PHOTO_1IN"],
    }


def test_given_everything_when_a_bundle_is_submitted_then_one_receipt_with_the_latest_promise() -> (
    None
):
    events = joint_decider().given().when(submit_joint(), NOW).then_events()
    assert [type(e) for e in events] == [JointApplicationSubmitted, JointApplicationAccepted]
    accepted = events[1]
    assert isinstance(accepted, JointApplicationAccepted)
    assert accepted.receipt_no.startswith("RA20260921")
    assert [m.item_code for m in accepted.members] == ["FP-003", "OT-004", "LS-003", "FP-001"]
    assert [m.case_id for m in accepted.members] == [
        member_case_id(JOINT, c) for c in ("FP-003", "OT-004", "LS-003", "FP-001")
    ]
    assert {m.handling_tier for m in accepted.members} == {"community", "town"}
    longest = max(item(c).promised_limit_days for c in ("FP-003", "OT-004", "LS-003", "FP-001"))
    expected = promised_deadline(NOW, longest, OfficeHours.standard(), calendar=default_calendar())
    assert accepted.promised_completion_date == expected.due_date


def test_a_sequential_bundle_promises_the_members_one_after_another() -> None:
    events = joint_decider().given().when(submit_joint("LB-002"), NOW).then_events()
    accepted = events[-1]
    assert isinstance(accepted, JointApplicationAccepted)
    total = item("FL-001").promised_limit_days + item("OT-001").promised_limit_days
    expected = promised_deadline(NOW, total, OfficeHours.standard(), calendar=default_calendar())
    assert accepted.promised_completion_date == expected.due_date
    assert accepted.approval_order == "sequential" and accepted.on_refusal == "stop_others"


def test_given_a_notice_when_the_bundle_is_submitted_again_then_it_is_refused() -> None:
    scenario = joint_decider().given(
        *decide_submit_joint(submit_joint(member_provided=()), JointState(), NOW, context(CATALOG))
    )
    err = scenario.when(submit_joint(), NOW).then_raises(AlreadyExists)
    assert err.field == "joint_case_id"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"joint_case_id": "joint-1"}, "joint_case_id"),
        ({"bundle_code": "LB-404"}, "bundle_code"),
        ({"shared_provided": (pm("VEHICLE"),)}, "shared_provided[0].code"),
        (
            {"member_provided": (MemberMaterials(item_code="OT-001", provided=()),)},
            "member_provided[0].item_code",
        ),
        (
            {"member_provided": (MemberMaterials(item_code="OT-004", provided=(pm("ID_CARD"),)),)},
            "member_provided[0].provided[0].code",
        ),
        ({"accepting_staff_id": None}, "accepting_staff_id"),
    ],
)
def test_bad_joint_input_is_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises((InvalidField, UnknownItem, MaterialNotInList)) as err:
        decide_submit_joint(submit_joint(**overrides), JointState(), NOW, context(CATALOG))
    assert err.value.field == field
