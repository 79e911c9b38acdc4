"""The applicant's personal data on the wire (PIPL, issue 15): sealed per subject.

`intake.application_submitted` names the applicant by subject id (a random pseudonym,
`eventkit.personal_data`) and carries the personal fields sealed with that subject's data
key (`SealedApplicant`); intake alone holds the keys. Each field's associated data is
`(subject, case, "applicant.<field>")`: a sealed value copied into another case, person or
field does not open. Non-personal facts (item, centers, dates, money, materials, decisions,
ratings) stay in the clear, so routing, analytics and the reports need no key.

Events written before sealing carry the plain `Applicant`: `is_sealed_applicant` tells
the two apart; what is not covered for them is in docs/PERSONAL_DATA.md.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

SEALED_PATTERN = r"^pd1:[A-Za-z0-9_-]+$"
SUBJECT_PATTERN = r"^subj-[0-9a-f]{32}$"
Sealed = Annotated[str, StringConstraints(max_length=2048, pattern=SEALED_PATTERN)]
"""A personal field sealed with the subject's data key (`eventkit.personal_data.SEALED_PREFIX`)."""
SubjectId = Annotated[str, StringConstraints(pattern=SUBJECT_PATTERN)]

PERSONAL_FIELDS = ("name", "id_number", "phone", "household_no", "address", "email")
"""The applicant's fields that are personal data; `registered_community_id` is not (it is
where the case goes, shared by thousands)."""


def field_name(name: str) -> str:
    """The name a field is sealed under (part of its associated data)."""
    return f"applicant.{name}"


CONTACT_SECRET_HEADER = "X-Bianmin-Service-Secret"
DEV_CONTACT_SECRET = "bianmin-dev-only-contact-secret"
"""The public development value of the secret notify proves itself to intake with when it
asks for an applicant's contact (`INTAKE_CONTACT_SECRET`, `NOTIFY_INTAKE_CONTACT_SECRET`);
production refuses it."""
