"""PRC resident identity numbers: format, birth date and the ISO 7064 MOD 11-2 check digit."""

from __future__ import annotations

from datetime import date

import pytest

from intake.domain.errors import InvalidIdNumber

from .builders import applicant, at, case_decider, field_of, submit

pytestmark = pytest.mark.unit

TODAY = date(2026, 9, 21)


def problem(value: str) -> str | None:
    from intake.domain.id_number import id_number_problem

    return id_number_problem(value, TODAY)


@pytest.mark.parametrize(
    "good",
    ["11010519491231002X", "11010519491231002x", "330381199004151239", " 330381195603023214 "],
)
def test_valid_numbers_pass(good: str) -> None:
    assert problem(good) is None


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("110105194912310021", "check digit is 1, expected X"),
        ("330381199004151238", "expected 9"),
        ("33038119900415123", "must be 18 characters"),
        ("33038119900415123Y", "digit or X"),
        ("3303811990041512A9", "first 17"),
        ("990381199004151239", "unknown province code 99"),
        ("330381199002301239", "impossible birth date"),
        ("330381203001011239", "out of range"),
    ],
)
def test_invalid_numbers_say_why(bad: str, why: str) -> None:
    found = problem(bad)
    assert found is not None and why in found


def test_a_bad_checksum_is_refused_at_submission_naming_the_field() -> None:
    cmd = submit(applicant=applicant(id_number="330381199004151238"))
    err = case_decider().given().when(cmd, at(2026, 9, 21)).then_raises(InvalidIdNumber, "check")
    assert field_of(err) == "applicant.id_number"


def test_a_lower_case_x_is_normalized_in_the_registration() -> None:
    cmd = submit(applicant=applicant(id_number="11010519491231002x"))
    submitted = case_decider().given().when(cmd, at(2026, 9, 21)).then_events()[0]
    assert submitted.applicant.id_number == "11010519491231002X"
