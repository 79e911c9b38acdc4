"""Validation of the 18-character PRC resident identity number (GB 11643-1999).

Why here: a mistyped ID number sends a case to the wrong person's records, and the window
catches it at once by the check digit (ISO 7064 MOD 11-2) instead of the office days later.
"""

from __future__ import annotations

from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)


def check_digit(first17: str) -> str:
    """The 18th character for the given first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalize_id_number(value: str) -> str:
    """Trim and upper-case the check character (residents often type a lower-case x)."""
    return value.strip().upper()


def id_number_problem(value: str, today: date) -> str | None:
    """Why `value` is not a valid ID number, or None when it is (after normalizing)."""
    v = normalize_id_number(value)
    if len(v) != 18:
        return f"must be 18 characters, got {len(v)}"
    if not v[:17].isascii() or not v[:17].isdigit():
        return "the first 17 characters must be digits"
    if not (v[17].isdigit() or v[17] == "X"):
        return "the last character must be a digit or X"
    if int(v[:2]) not in _PROVINCES:
        return f"unknown province code {v[:2]}"
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return f"impossible birth date {v[6:14]}"
    if born.year < 1900 or born > today:
        return f"birth date {born.isoformat()} out of range"
    expected = check_digit(v[:17])
    if v[17] != expected:
        return f"check digit is {v[17]}, expected {expected}"
    return None
