"""CSV cells a spreadsheet will not run (issue 18 #6: CSV formula injection).

An inspector opens the export in Excel or WPS; a resident's comment `=HYPERLINK(...)` would
land there as a live formula. OWASP's rule: a text cell beginning with `=`, `+`, `-`, `@`, a
tab or a carriage return is prefixed with a single quote, which spreadsheets show as text.
The csv writer quotes separators and quotes; numbers are written as they are.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """`value` as a cell no spreadsheet evaluates (only text can carry a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
