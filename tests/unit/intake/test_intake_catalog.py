"""The service catalog: publishing versions, retiring items, and the version in force."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from contracts.intake import (
    CatalogItemPublished,
    CatalogItemRetired,
    CatalogItemVersion,
    DepositStandard,
    FeeStandard,
    RequiredMaterial,
)
from eventkit.testing import fold
from intake.domain import catalog
from intake.domain.catalog import PublishCatalogItem, RetireCatalogItem
from intake.domain.errors import (
    AlreadyExists,
    Conflict,
    InvalidField,
    UnknownItem,
    parse_command,
)

from .builders import ADMIN, at, catalog_decider, field_of

pytestmark = pytest.mark.unit


def elder_card(**overrides: object) -> CatalogItemVersion:
    data: dict[str, object] = {
        "code": "CA-001",
        "version": 1,
        "name_zh": "老年优待证办理",
        "category": "civil_affairs",
        "legal_basis": "《中华人民共和国老年人权益保障法》",
        "implementing_body": "瑞安市民政局",
        "handling_tier": "town",
        "case_type": "promised",
        "statutory_limit_days": 10,
        "promised_limit_days": 5,
        "materials": (
            RequiredMaterial(code="ID_CARD", name_zh="居民身份证", form="original"),
            RequiredMaterial(code="PHOTO_1IN", name_zh="一寸照片", form="original", copies=2),
        ),
        "result_type": "证件",
        "effective_from": date(2026, 1, 1),
    }
    data.update(overrides)
    return CatalogItemVersion.model_validate(data)


def published(item: CatalogItemVersion, when: object) -> CatalogItemPublished:
    return CatalogItemPublished(item=item, published_at=when, published_by=ADMIN.id)


V1 = elder_card()
V2 = elder_card(version=2, effective_from=date(2026, 10, 1), promised_limit_days=3)
V1_AT = at(2025, 12, 20)
V2_AT = at(2026, 9, 1)


def test_publishing_a_valid_item_emits_the_whole_version() -> None:
    now = at(2025, 12, 20)
    catalog_decider().given().when(PublishCatalogItem(item=V1, actor=ADMIN), now).then(
        published(V1, now)
    )


def test_a_newer_version_with_a_later_date_is_published() -> None:
    (
        catalog_decider()
        .given(published(V1, V1_AT))
        .when(PublishCatalogItem(item=V2, actor=ADMIN), V2_AT)
        .then(published(V2, V2_AT))
    )


def test_a_duplicate_version_number_is_refused() -> None:
    err = (
        catalog_decider()
        .given(published(V1, V1_AT))
        .when(
            PublishCatalogItem(item=elder_card(effective_from=date(2026, 2, 1)), actor=ADMIN), V2_AT
        )
        .then_raises(AlreadyExists, "version 1 of CA-001 exists")
    )
    assert field_of(err) == "item.version"


def test_a_lower_version_number_is_refused() -> None:
    (
        catalog_decider()
        .given(published(V1, V1_AT), published(V2, V2_AT))
        .when(PublishCatalogItem(item=elder_card(version=1), actor=ADMIN), V2_AT)
        .then_raises(AlreadyExists)
    )


def test_a_version_effective_before_the_current_one_is_refused() -> None:
    err = (
        catalog_decider()
        .given(published(V1, V1_AT), published(V2, V2_AT))
        .when(
            PublishCatalogItem(
                item=elder_card(version=3, effective_from=date(2026, 9, 15)), actor=ADMIN
            ),
            V2_AT,
        )
        .then_raises(InvalidField, "before version 2, in force from 2026-10-01")
    )
    assert field_of(err) == "item.effective_from"


def test_promised_limit_above_the_statutory_limit_is_refused() -> None:
    err = (
        catalog_decider()
        .given()
        .when(PublishCatalogItem(item=elder_card(promised_limit_days=12), actor=ADMIN), V1_AT)
        .then_raises(InvalidField, "exceeds the statutory 10")
    )
    assert field_of(err) == "item.promised_limit_days"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"case_type": "same_day"}, "item.promised_limit_days"),
        ({"promised_limit_days": 0}, "item.promised_limit_days"),
        ({"statutory_limit_days": -1}, "item.statutory_limit_days"),
        ({"code": "ca001"}, "item.code"),
        ({"version": 0}, "item.version"),
        ({"legal_basis": "  "}, "item.legal_basis"),
        ({"fee": FeeStandard(amount_fen=500)}, "item.fee.basis"),
        ({"fee": FeeStandard(amount_fen=-1, basis="x")}, "item.fee.amount_fen"),
        ({"deposit": DepositStandard(amount_fen=0, basis="x")}, "item.deposit.amount_fen"),
        (
            {
                "materials": (
                    RequiredMaterial(code="ID_CARD", name_zh="居民身份证", form="original"),
                    RequiredMaterial(code="ID_CARD", name_zh="身份证复印件", form="copy"),
                )
            },
            "item.materials[1].code",
        ),
        (
            {"materials": (RequiredMaterial(code="ID", name_zh="身份证", form="copy", copies=0),)},
            "item.materials[0].copies",
        ),
    ],
)
def test_invalid_items_are_refused_naming_the_field(overrides: dict, field: str) -> None:
    err = (
        catalog_decider()
        .given()
        .when(PublishCatalogItem(item=elder_card(**overrides), actor=ADMIN), V1_AT)
        .then_raises(InvalidField)
    )
    assert field_of(err) == field


def test_unknown_fields_are_refused_with_their_path() -> None:
    data = {"item": {**elder_card().model_dump(), "colour": "red"}, "actor": ADMIN.model_dump()}
    with pytest.raises(InvalidField) as info:
        parse_command(PublishCatalogItem, data)
    assert info.value.field == "item.colour"


def test_a_same_day_item_promises_zero_days() -> None:
    item = elder_card(case_type="same_day", statutory_limit_days=0, promised_limit_days=0)
    assert (
        catalog_decider()
        .given()
        .when(PublishCatalogItem(item=item, actor=ADMIN), V1_AT)
        .then_events()
    )


# -- the version in force --------------------------------------------------------------------------
def history() -> catalog.Catalog:
    return fold(
        catalog.evolve, catalog.initial_state(), [published(V1, V1_AT), published(V2, V2_AT)]
    )


def version_at(state: catalog.Catalog, when: datetime) -> int | None:
    found = state.version_in_force("CA-001", when)
    return found.version if found else None


def test_the_version_in_force_follows_the_local_date() -> None:
    state = history()
    assert version_at(state, at(2026, 9, 30, 23, 59)) == 1
    # 2026-10-01 00:10 in Shanghai is still 2026-09-30 in UTC: the local date decides.
    assert version_at(state, at(2026, 10, 1, 0, 10)) == 2


def test_nothing_is_in_force_before_the_first_effective_date() -> None:
    state = history()
    assert state.version_in_force("CA-001", at(2025, 12, 31)) is None
    assert "only from 2026-01-01" in state.why_not_in_force("CA-001", at(2025, 12, 31))


def test_a_version_applies_only_from_its_publication_even_if_dated_earlier() -> None:
    late = elder_card(version=1, effective_from=date(2026, 1, 1))
    state = fold(catalog.evolve, catalog.initial_state(), [published(late, at(2026, 3, 1))])
    assert state.version_in_force("CA-001", at(2026, 2, 1)) is None
    assert state.version_in_force("CA-001", at(2026, 3, 1, 11)) == late


def test_a_same_day_republication_does_not_rewrite_the_morning() -> None:
    v1 = elder_card(effective_from=date(2026, 5, 6))
    v2 = elder_card(version=2, effective_from=date(2026, 5, 6), promised_limit_days=4)
    events = [published(v1, at(2026, 5, 1)), published(v2, at(2026, 5, 6, 11))]
    state = fold(catalog.evolve, catalog.initial_state(), events)
    assert state.version_in_force("CA-001", at(2026, 5, 6, 10)) == v1
    assert state.version_in_force("CA-001", at(2026, 5, 6, 12)) == v2


# -- retirement ------------------------------------------------------------------------------------
def retire(code: str = "CA-001", on: date = date(2026, 12, 1)) -> RetireCatalogItem:
    return RetireCatalogItem(code=code, retired_from=on, reason="并入六证联办", actor=ADMIN)


def test_retiring_an_item_ends_it_from_its_date() -> None:
    now = at(2026, 11, 1)
    retired = CatalogItemRetired(
        code="CA-001",
        retired_from=date(2026, 12, 1),
        reason="并入六证联办",
        retired_at=now,
        retired_by=ADMIN.id,
    )
    catalog_decider().given(published(V1, V1_AT), published(V2, V2_AT)).when(retire(), now).then(
        retired
    )
    state = fold(catalog.evolve, history(), [retired])
    assert version_at(state, at(2026, 11, 30)) == 2
    assert state.version_in_force("CA-001", at(2026, 12, 1)) is None
    assert "retired from 2026-12-01" in state.why_not_in_force("CA-001", at(2026, 12, 2))
    assert [i.code for i in state.in_force(at(2026, 12, 2))] == []


def test_retiring_an_unknown_item_or_twice_is_refused() -> None:
    catalog_decider().given().when(retire("XX-999"), V2_AT).then_raises(UnknownItem)
    retired = CatalogItemRetired(
        code="CA-001",
        retired_from=date(2026, 12, 1),
        reason="x",
        retired_at=V2_AT,
        retired_by=ADMIN.id,
    )
    (
        catalog_decider()
        .given(published(V1, V1_AT), retired)
        .when(retire(), V2_AT)
        .then_raises(Conflict, "already retired")
    )


def test_retiring_before_the_current_version_is_refused() -> None:
    err = (
        catalog_decider()
        .given(published(V1, V1_AT), published(V2, V2_AT))
        .when(retire(on=date(2026, 9, 20)), V2_AT)
        .then_raises(InvalidField)
    )
    assert field_of(err) == "retired_from"


def test_a_retired_item_may_come_back_from_a_later_date() -> None:
    retired = CatalogItemRetired(
        code="CA-001",
        retired_from=date(2026, 3, 1),
        reason="x",
        retired_at=at(2026, 2, 1),
        retired_by=ADMIN.id,
    )
    given = catalog_decider().given(published(V1, V1_AT), retired)
    given.when(
        PublishCatalogItem(
            item=elder_card(version=2, effective_from=date(2026, 2, 15)), actor=ADMIN
        ),
        at(2026, 2, 2),
    ).then_raises(InvalidField, "retired from 2026-03-01")
    back = elder_card(version=2, effective_from=date(2026, 6, 1))
    state = (
        catalog_decider()
        .given(published(V1, V1_AT), retired)
        .when(PublishCatalogItem(item=back, actor=ADMIN), at(2026, 5, 1))
        .then_state()
    )
    assert state.version_in_force("CA-001", at(2026, 4, 1)) is None
    assert state.version_in_force("CA-001", at(2026, 6, 1)) == back
