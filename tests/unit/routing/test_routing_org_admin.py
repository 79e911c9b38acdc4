"""Admin commands on the org tree: each accepted one is an event, bad ones name the field."""

from __future__ import annotations

from datetime import date, time

import pytest

from contracts.routing import (
    DelegationRuleSet,
    OrgUnitRegistered,
    OrgUnitReparented,
    RosterEntry,
    StaffAbsenceCancelled,
)
from contracts.workdays import OfficeHours
from eventkit.envelope import Actor
from eventkit.testing import Decider
from routing.domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidValue,
    NotPermitted,
    UnknownReference,
    WrongState,
)
from routing.domain.org_admin import (
    AssignPost,
    CancelStaffAbsence,
    RecordStaffAbsence,
    RegisterOffice,
    RegisterOrgUnit,
    RegisterStaff,
    ReparentOrgUnit,
    SetDelegationRule,
    SetDutyRoster,
    SetServiceLines,
    decide_org,
    evolve_org,
    initial_org_state,
)

from .support import ADMIN, SEED_NOW, at, seeded_org, with_admin

pytestmark = pytest.mark.unit

HOURS = OfficeHours.standard()
org_decider = Decider(decide_org, evolve_org, initial_org_state)


def unit(unit_id: str, tier: str, kind: str, parent: str | None, **kw: object) -> RegisterOrgUnit:
    return RegisterOrgUnit(
        actor=ADMIN,
        unit_id=unit_id,
        name_zh=unit_id,
        tier=tier,
        kind=kind,
        parent_id=parent,
        office_hours=HOURS,
        **kw,
    )


def seeded() -> Decider:
    """A decider whose `given()` starts from the seeded tree."""
    return Decider(decide_org, evolve_org, seeded_org)


def refusal(cmd: object, exc: type[DomainError], field: str) -> DomainError:
    err = seeded().given().when(cmd, SEED_NOW).then_raises(exc)
    assert isinstance(err, DomainError) and err.field == field, err
    return err


def test_registering_a_unit_emits_the_event_naming_the_admin() -> None:
    org_decider.given().when(unit("ruian", "city", "市中心", None), SEED_NOW).then(
        OrgUnitRegistered(
            unit_id="ruian",
            name_zh="ruian",
            tier="city",
            kind="市中心",
            parent_id=None,
            office_hours=HOURS,
            registered_by="admin.seed",
        )
    )


def test_only_admins_change_reference_data() -> None:
    officer = Actor(id="ruian.mayu.jsb.a", role="officer", org_id="ruian.mayu")
    cmd = unit("ruian.x", "town", "镇", "ruian").model_copy(update={"actor": officer})
    refusal(cmd, NotPermitted, "actor")


def test_duplicate_unit_ids_are_refused() -> None:
    refusal(unit("ruian.mayu", "town", "镇", "ruian"), AlreadyExists, "unit_id")


def test_unknown_parent_is_refused() -> None:
    refusal(
        unit("ruian.nowhere.x", "community", "社区", "ruian.nowhere"), UnknownReference, "parent_id"
    )


def test_a_community_must_sit_under_a_town_or_street() -> None:
    err = refusal(unit("ruian.x", "community", "社区", "ruian"), InvalidValue, "parent_id")
    assert "town" in err.reason
    refusal(unit("ruian.mayu.x", "town", "镇", "ruian.mayu"), InvalidValue, "parent_id")
    refusal(
        unit("ruian.mayu.mabei.x", "community", "社区", "ruian.mayu.mabei"),
        InvalidValue,
        "parent_id",
    )


def test_kind_must_match_tier_and_the_city_has_no_parent() -> None:
    refusal(unit("ruian.x", "town", "社区", "ruian"), InvalidValue, "kind")
    refusal(unit("wenzhou", "city", "市中心", "ruian"), InvalidValue, "parent_id")
    refusal(unit("ruian.mayu.x", "community", "村", None), InvalidValue, "parent_id")


def test_duplicate_service_lines_are_refused() -> None:
    from contracts.routing import ServiceLine

    line = ServiceLine(line_id="l1", name_zh="民政", categories=("civil_affairs",))
    cmd = unit("ruian.mayu.x", "community", "社区", "ruian.mayu", service_lines=(line, line))
    refusal(cmd, InvalidValue, "service_lines")


def test_reparenting_moves_a_community_and_refuses_cycles_and_tier_mismatch() -> None:
    cmd = ReparentOrgUnit(
        actor=ADMIN,
        unit_id="ruian.mayu.manan",
        new_parent_id="ruian.tangxia",
        reason="行政区划调整",
    )
    seeded().given().when(cmd, SEED_NOW).then(
        OrgUnitReparented(
            unit_id="ruian.mayu.manan",
            old_parent_id="ruian.mayu",
            new_parent_id="ruian.tangxia",
            reason="行政区划调整",
            reparented_by="admin.seed",
        )
    )
    cycle = ReparentOrgUnit(
        actor=ADMIN, unit_id="ruian.mayu", new_parent_id="ruian.mayu.mabei", reason="x"
    )
    assert "cycle" in refusal(cycle, InvalidValue, "new_parent_id").reason
    wrong_tier = ReparentOrgUnit(
        actor=ADMIN, unit_id="ruian.mayu.manan", new_parent_id="ruian", reason="x"
    )
    refusal(wrong_tier, InvalidValue, "new_parent_id")
    root = ReparentOrgUnit(actor=ADMIN, unit_id="ruian", new_parent_id="ruian.mayu", reason="x")
    refusal(root, InvalidValue, "unit_id")


def test_offices_need_a_known_unit_and_something_to_take() -> None:
    refusal(
        RegisterOffice(
            actor=ADMIN,
            office_id="x.jsb",
            unit_id="x",
            name_zh="计生办",
            categories=("family_planning",),
        ),
        UnknownReference,
        "unit_id",
    )
    refusal(
        RegisterOffice(actor=ADMIN, office_id="ruian.mayu.new", unit_id="ruian.mayu", name_zh="空"),
        InvalidValue,
        "categories",
    )
    refusal(
        RegisterOffice(
            actor=ADMIN,
            office_id="ruian.mayu.jsb",
            unit_id="ruian.mayu",
            name_zh="计生办",
            categories=("family_planning",),
        ),
        AlreadyExists,
        "office_id",
    )


def test_staff_must_be_new_and_their_office_in_their_unit() -> None:
    refusal(
        RegisterStaff(
            actor=ADMIN,
            staff_id="ruian.mayu.head",
            name_zh="x",
            roles=("officer",),
            unit_id="ruian.mayu",
        ),
        AlreadyExists,
        "staff_id",
    )
    refusal(
        RegisterStaff(
            actor=ADMIN,
            staff_id="ruian.mayu.new",
            name_zh="x",
            roles=("officer",),
            unit_id="ruian.mayu",
            office_id="ruian.tangxia.jsb",
        ),
        InvalidValue,
        "office_id",
    )
    refusal(
        RegisterStaff(
            actor=ADMIN,
            staff_id="ruian.mayu.new",
            name_zh="x",
            roles=("resident",),
            unit_id="ruian.mayu",
        ),
        InvalidValue,
        "roles",
    )


def post(**kw: object) -> AssignPost:
    fields: dict[str, object] = {
        "actor": ADMIN,
        "post_id": "ruian.mayu.jsb.post",
        "unit_id": "ruian.mayu",
        "office_id": "ruian.mayu.jsb",
        "name_zh": "计生审批岗",
        "categories": ("family_planning",),
        "a_holder": "ruian.mayu.jsb.b",
        "b_holder": "ruian.mayu.jsb.a",
    }
    fields.update(kw)
    return AssignPost(**fields)


def test_a_post_swaps_holders_and_needs_two_different_people_of_the_unit() -> None:
    org = with_admin(seeded_org(), post())
    assert org.posts["ruian.mayu.jsb.post"].a_holder == "ruian.mayu.jsb.b"
    refusal(post(b_holder="ruian.mayu.jsb.b"), InvalidValue, "b_holder")
    refusal(post(a_holder="ruian.tangxia.jsb.a"), InvalidValue, "a_holder")
    refusal(post(a_holder="nobody"), UnknownReference, "a_holder")
    refusal(post(office_id="ruian.tangxia.jsb"), InvalidValue, "office_id")
    refusal(post(service_line_ids=("zz",)), UnknownReference, "service_line_ids")


def test_a_line_still_run_by_a_post_cannot_be_dropped() -> None:
    cmd = SetServiceLines(actor=ADMIN, unit_id="ruian.mayu", service_lines=())
    refusal(cmd, InvalidValue, "service_lines")


def test_a_roster_names_only_staff_of_its_unit() -> None:
    entry = RosterEntry(
        staff_id="ruian.tangxia.jsb.a", starts=time(8, 30), ends=time(12), working_days=True
    )
    refusal(
        SetDutyRoster(actor=ADMIN, unit_id="ruian.mayu", entries=(entry,)),
        InvalidValue,
        "entries[0].staff_id",
    )


def test_absences_are_recorded_checked_and_cancelled_once() -> None:
    absence = RecordStaffAbsence(
        actor=ADMIN,
        absence_id="abs-1",
        staff_id="ruian.mayu.jsb.a",
        starts_at=at(2026, 9, 29, 8),
        ends_at=at(2026, 9, 30, 18),
        kind="leave",
    )
    org = with_admin(seeded_org(), absence)
    assert org.absence_at("ruian.mayu.jsb.a", at(2026, 9, 29, 10)) is not None
    refusal(absence.model_copy(update={"ends_at": at(2026, 9, 28)}), InvalidValue, "ends_at")
    refusal(absence.model_copy(update={"staff_id": "nobody"}), UnknownReference, "staff_id")
    cancel = CancelStaffAbsence(actor=ADMIN, absence_id="abs-1", reason="提前返岗")
    Decider(decide_org, evolve_org, lambda: org).given().when(cancel, SEED_NOW).then(
        StaffAbsenceCancelled(
            absence_id="abs-1",
            staff_id="ruian.mayu.jsb.a",
            reason="提前返岗",
            cancelled_by="admin.seed",
        )
    )
    after = with_admin(org, cancel)
    assert after.absence_at("ruian.mayu.jsb.a", at(2026, 9, 29, 10)) is None
    Decider(decide_org, evolve_org, lambda: after).given().when(cancel, SEED_NOW).then_raises(
        WrongState
    )


def test_delegation_rules_need_a_known_area_and_ordered_dates() -> None:
    rule = SetDelegationRule(
        actor=ADMIN,
        rule_id="dr-x",
        item_code="FP-002",
        area_unit_id="ruian.mayu",
        handling_tier="city",
        direction="up",
        effective_from=date(2026, 1, 1),
        basis_zh="试点",
    )
    seeded().given().when(rule, SEED_NOW).then(
        DelegationRuleSet(
            rule_id="dr-x",
            item_code="FP-002",
            area_unit_id="ruian.mayu",
            handling_tier="city",
            direction="up",
            effective_from=date(2026, 1, 1),
            basis_zh="试点",
            set_by="admin.seed",
        )
    )
    refusal(rule.model_copy(update={"area_unit_id": "nowhere"}), UnknownReference, "area_unit_id")
    refusal(
        rule.model_copy(update={"effective_to": date(2025, 12, 31)}), InvalidValue, "effective_to"
    )
