"""补正: what a correction request is — ONE contract for routing and intake.

The officer handling a case asks the applicant to correct or supply materials. The request
names materials of the case's catalog version by their codes (e.g. `MARRIAGE_CERT`: the
resident and the notice see the catalog's names) and may add a note saying what is wrong
("复印件不清晰，请重新提供"). Everything to correct is asked in one request (the spirit of
一次性告知).

Routing checks the officer's request with `correction_request` (a refusal names the field:
`requested_materials[i]` or `note`) before it pauses the clock; intake records the request
for the resident with the same function and the same material list (the catalog version
the case was accepted by travels with the acceptance and the route), so intake never skips
a request routing accepted, and the resident can always supply what the SMS asked for.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

NOTE_MAX = 500
"""The longest note, in characters."""


class CorrectionRequestRefused(ValueError):
    """A request outside the contract: the field at fault and why, in the centers' terms."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class CorrectionRequest:
    """A request that keeps the contract: codes trimmed, the note trimmed or None."""

    requested_materials: tuple[str, ...]
    note: str | None


def correction_request(
    requested_materials: Iterable[str], note: str | None, material_codes: Collection[str]
) -> CorrectionRequest:
    """The request, normalised, if it keeps the contract; else `CorrectionRequestRefused`.

    `material_codes` are the codes of the material list of the case's catalog version.
    Each requested code must be one of them, at most once; at least one is named; the note
    is optional and at most `NOTE_MAX` characters.
    """
    codes = tuple(c.strip() for c in requested_materials)
    if not codes:
        raise CorrectionRequestRefused(
            "requested_materials",
            "name at least one material of the item's list by its code; say what is wrong "
            "in the note",
        )
    for i, code in enumerate(codes):
        field = f"requested_materials[{i}]"
        if not code:
            raise CorrectionRequestRefused(field, "a material code cannot be blank")
        if code in codes[:i]:
            raise CorrectionRequestRefused(field, f"{code} is listed twice")
        if code not in material_codes:
            raise CorrectionRequestRefused(
                field,
                f"{code!r} is not a material of this case's catalog version "
                f"({', '.join(sorted(material_codes)) or 'no material list known'}); "
                "name the material by its code and put the details in the note",
            )
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX:
        raise CorrectionRequestRefused("note", f"at most {NOTE_MAX} characters")
    return CorrectionRequest(requested_materials=codes, note=text)
