"""Receipt numbers and verification codes: deterministic, readable, secret-bound."""

from __future__ import annotations

import re
from datetime import date

import pytest

from intake.domain.receipts import receipt_number, verification_code, verify

from .builders import SECRET, case_id

pytestmark = pytest.mark.unit


def test_receipt_number_is_ra_date_and_six_unambiguous_characters() -> None:
    r = receipt_number(case_id(1), date(2026, 9, 21))
    assert re.fullmatch(r"RA20260921[0-9A-HJKMNP-TV-Z]{6}", r), r
    assert r == receipt_number(case_id(1), date(2026, 9, 21))
    assert r != receipt_number(case_id(2), date(2026, 9, 21))


def test_receipt_suffixes_rarely_collide() -> None:
    suffixes = {receipt_number(case_id(n), date(2026, 9, 21))[-6:] for n in range(5000)}
    assert len(suffixes) >= 4990


def test_verification_code_is_six_digits_bound_to_the_secret() -> None:
    code = verification_code(case_id(1), SECRET)
    assert re.fullmatch(r"\d{6}", code)
    assert code == verification_code(case_id(1), SECRET)
    assert code != verification_code(case_id(1), b"another-secret-0123456789")
    assert verify(case_id(1), f" {code} ", SECRET)
    wrong = "000000" if code != "000000" else "000001"
    assert not verify(case_id(1), wrong, SECRET)
