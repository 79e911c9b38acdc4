"""The applicant on the wire (`contracts.intake.SealedApplicant`, issue 15): sealed per
subject and case, opened only with that subject's key; events written before sealing still
decode with their plain applicant."""

from __future__ import annotations

import pytest

from contracts.intake import Applicant, SealedApplicant, open_applicant, seal_applicant
from eventkit.personal_data import PersonalDataError, SubjectKey, new_data_key, new_subject_id

pytestmark = pytest.mark.unit

PLAIN = Applicant(
    name="陈小芳",
    id_number="330381199004151239",
    phone="13957712345",
    household_no="330381-MB-0421",
    registered_community_id="ruian.mayu.mabei",
    address="瑞安市马屿镇马北社区新街12号",
    email="chen@example.cn",
)


def _key() -> SubjectKey:
    return SubjectKey(new_subject_id(), new_data_key())


def test_sealed_applicant_round_trip_and_holds_nothing_in_the_clear() -> None:
    key = _key()
    sealed = seal_applicant(key, "case-1", PLAIN)
    wire = sealed.model_dump_json()
    for value in ("陈小芳", "330381199004151239", "13957712345", "330381-MB-0421", "新街"):
        assert value not in wire
    assert "chen@example.cn" not in wire
    assert sealed.subject_id == key.subject_id
    assert sealed.registered_community_id == "ruian.mayu.mabei"
    assert open_applicant(key, "case-1", SealedApplicant.model_validate_json(wire)) == PLAIN


def test_optional_fields_stay_absent() -> None:
    plain = PLAIN.model_copy(update={"household_no": None, "email": None})
    sealed = seal_applicant(_key(), "case-1", plain)
    assert sealed.household_no is None and sealed.email is None


def test_a_sealed_field_moved_to_another_case_or_person_does_not_open() -> None:
    key = _key()
    sealed = seal_applicant(key, "case-1", PLAIN)
    with pytest.raises(PersonalDataError):
        open_applicant(key, "case-2", sealed)
    with pytest.raises(PersonalDataError):
        open_applicant(_key(), "case-1", sealed)
    swapped = sealed.model_copy(update={"name": sealed.phone})
    with pytest.raises(PersonalDataError):
        open_applicant(key, "case-1", swapped)


def test_the_event_decodes_sealed_and_legacy_plain_applicants() -> None:
    from contracts.intake import ApplicationSubmitted

    field = ApplicationSubmitted.model_fields["applicant"]
    sealed = seal_applicant(_key(), "case-1", PLAIN).model_dump()
    from pydantic import TypeAdapter

    adapter: TypeAdapter[SealedApplicant | Applicant] = TypeAdapter(field.annotation)
    assert isinstance(adapter.validate_python(sealed), SealedApplicant)
    assert isinstance(adapter.validate_python(PLAIN.model_dump()), Applicant)
    with pytest.raises(ValueError):
        adapter.validate_python({**sealed, "name": "陈小芳"})  # a sealed event with a plain name
