"""一次性告知: which materials are still missing — ONE rule for intake and the window.

Intake applies it at submission (the one-time notice) and at every supplement; the portal's
window screen applies the same function while the clerk ticks the checklist, so the notice
shown before submitting is exactly the one intake will send.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from .intake import MissingMaterial, ProvidedMaterial, RequiredMaterial


def missing_materials(
    required: Iterable[RequiredMaterial], provided: Iterable[ProvidedMaterial]
) -> tuple[MissingMaterial, ...]:
    """Every gap at once, in the item's list order. Materials that may be supplied later
    (容缺) are never gaps; a copy where an original is required is one; so are fewer
    copies (份) than the catalog asks, counted over everything handed in so far (an
    original counts towards the copies of a material asked as a copy)."""
    counts: dict[tuple[str, str], int] = {}
    for p in provided:
        counts[(p.code, p.form)] = counts.get((p.code, p.form), 0) + p.copies
    gaps: list[MissingMaterial] = []
    for m in required:
        if m.may_supply_later:
            continue
        originals = counts.get((m.code, "original"), 0)
        given = originals if m.form == "original" else originals + counts.get((m.code, "copy"), 0)
        reason: Literal["not_provided", "original_required", "too_few_copies"]
        if not originals and not counts.get((m.code, "copy"), 0):
            reason = "not_provided"
        elif not given:
            reason = "original_required"
        elif given < m.copies:
            reason = "too_few_copies"
        else:
            continue
        gaps.append(
            MissingMaterial(
                code=m.code,
                name_zh=m.name_zh,
                form=m.form,
                copies=m.copies,
                reason=reason,
                copies_provided=given if reason == "too_few_copies" else 0,
            )
        )
    return tuple(gaps)
