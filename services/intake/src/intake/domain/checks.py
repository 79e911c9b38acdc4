"""Field checks more than one use case makes (the case id, org ids, the applicant's phone,
materials named from the item's list): one definition, so a submission, a supplement, a
correction and a delivery refuse the same values the same way."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from contracts.intake import (
    ProvidedMaterial,
    RequiredMaterial,
)

from .errors import (
    InvalidField,
    MaterialNotInList,
)

CASE_ID = re.compile(r"^case-[0-9a-f]{32}$")


ORG_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


PHONE = re.compile(r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$")


def check_org(field: str, value: str) -> None:
    if not ORG_ID.match(value):
        raise InvalidField(field, f"{value!r} is not an org unit id such as 'ruian.dongshan'")


def check_materials_listed(
    field: str, provided: Sequence[ProvidedMaterial], listed: Iterable[RequiredMaterial]
) -> None:
    codes = {m.code for m in listed}
    for i, m in enumerate(provided):
        if m.code not in codes:
            raise MaterialNotInList(
                f"{field}[{i}].code",
                f"{m.code} is not in this item's material list ({', '.join(sorted(codes))})",
            )
