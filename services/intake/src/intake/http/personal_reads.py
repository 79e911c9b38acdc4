"""Opening applicants for a read, and recording that read (issue 15).

Intake's projection keeps the applicant as the event carries it: sealed per subject. A route
that shows personal data opens it here with the subject's key, and every subject shown is
recorded in `personal_data_reads` (who, whose, which case, which endpoint) in the same
connection. An applicant whose key was destroyed (erased) shows as `{"erased": true}`;
a case projected before sealing shows its plain applicant (it has no subject to record).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from contracts.intake import SealedApplicant, open_applicant
from eventkit.auth import Principal

from ..personal_data import SubjectKeys

ERASED: dict[str, Any] = {"erased": True}


async def open_applicants(
    conn: asyncpg.Connection,
    subjects: SubjectKeys,
    rows: Sequence[tuple[str, Any]],
) -> dict[str, dict[str, Any]]:
    """case_id -> the applicant in the clear (a dict as the API shows it), from
    (case_id, stored applicant json) pairs."""
    stored = {case_id: _loads(raw) for case_id, raw in rows}
    sealed = {
        case_id: SealedApplicant.model_validate(a)
        for case_id, a in stored.items()
        if isinstance(a, dict) and "subject_id" in a and not a.get("erased")
    }
    keys = await subjects.keys_of(conn, [s.subject_id for s in sealed.values()])
    out: dict[str, dict[str, Any]] = {}
    for case_id, a in stored.items():
        if case_id not in sealed:  # erased and scrubbed, or projected before sealing
            out[case_id] = a if isinstance(a, dict) else dict(ERASED)
            continue
        s = sealed[case_id]
        key = keys.get(s.subject_id)
        if key is None:
            out[case_id] = {**ERASED, "subject_id": s.subject_id}
            continue
        plain = open_applicant(key, case_id, s).model_dump(mode="json")
        out[case_id] = {"subject_id": s.subject_id, **plain}
    return out


Reader = tuple[str, str, str | None]
"""(reader id, role, org) of whoever was shown personal data."""


def reader_of(p: Principal) -> Reader:
    return (p.sub, p.role, p.org_id)


async def record_reads(
    conn: asyncpg.Connection,
    reader: Reader,
    endpoint: str,
    shown: dict[str, dict[str, Any]],
    now: datetime,
) -> None:
    """One row per (case, subject) whose data was shown in the clear."""
    rows = [
        (now, *reader, a["subject_id"], case_id, endpoint)
        for case_id, a in shown.items()
        if a.get("subject_id") and not a.get("erased")
    ]
    if rows:
        await conn.executemany(
            "INSERT INTO personal_data_reads (read_at, reader_id, reader_role, reader_org,"
            " subject_id, case_id, endpoint) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            rows,
        )


def _loads(raw: Any) -> Any:
    if raw is None:
        return None
    return orjson.loads(raw) if isinstance(raw, str | bytes) else raw
