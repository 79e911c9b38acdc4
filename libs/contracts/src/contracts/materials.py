"""一次性告知: which materials are still missing — ONE rule for intake and the window.

Intake applies it at submission (the one-time notice) and at every supplement; the portal's
window screen applies the same function while the clerk ticks the checklist, so the notice
shown before submitting is exactly the one intake will send.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from .intake import MissingMaterial, ProvidedMaterial, RequiredMaterial
from .joint import JointMissing, MemberMissing


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


def shared_requirement(
    members: Sequence[Sequence[RequiredMaterial]], shared_codes: Iterable[str]
) -> tuple[RequiredMaterial, ...]:
    """联办: a shared material is asked once, as strictly as any member asks it (an
    original if one member wants the original, the largest number of copies), and may be
    supplied later only if every member allows it. Codes no member lists are skipped."""
    out: list[RequiredMaterial] = []
    for code in dict.fromkeys(shared_codes):
        asks = [m for materials in members for m in materials if m.code == code]
        if not asks:
            continue
        form: Literal["original", "copy"] = (
            "original" if any(a.form == "original" for a in asks) else "copy"
        )
        out.append(
            asks[0].model_copy(
                update={
                    "form": form,
                    "copies": max(a.copies for a in asks),
                    "may_supply_later": all(a.may_supply_later for a in asks),
                }
            )
        )
    return tuple(out)


def joint_missing_materials(
    members: Sequence[tuple[str, Sequence[RequiredMaterial]]],
    shared_codes: Iterable[str],
    shared_provided: Iterable[ProvidedMaterial],
    member_provided: Mapping[str, Iterable[ProvidedMaterial]],
) -> JointMissing:
    """The one notice of a joint intake (六证联办): the shared materials checked once against
    what was handed in once, each member's own materials against what was handed in for it
    (`missing_materials` for both, so the rule is the same as for a single item)."""
    shared = tuple(dict.fromkeys(shared_codes))
    return JointMissing(
        shared=missing_materials(
            shared_requirement([m for _, m in members], shared), shared_provided
        ),
        members=tuple(
            MemberMissing(
                item_code=code,
                missing=missing_materials(
                    [m for m in required if m.code not in shared],
                    member_provided.get(code, ()),
                ),
            )
            for code, required in members
        ),
    )
