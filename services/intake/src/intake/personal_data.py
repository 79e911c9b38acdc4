"""Intake's key store: residents' subjects and their wrapped data keys (issue 15).

Intake is the service the resident hands personal data to, so it alone holds the keys:
`subject_for` finds (or creates) the subject of an ID number through the keyed hash and
returns its unwrapped key, to seal the applicant before an event is written; `keys_of`
opens the keys of the subjects a read shows; `destroy` is the erasure (crypto-shredding).
Everything runs in the caller's transaction. The crypto is `eventkit.personal_data`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from contracts.intake import Applicant, SealedApplicant, open_applicant
from eventkit.personal_data import (
    KeyManager,
    SubjectKey,
    lookup_hash,
    new_data_key,
    new_subject_id,
)


@dataclass(frozen=True)
class ApplicantKeys:
    """What matches a resident's token to their cases: the keyed hash of the ID number under
    the lookup key (cases sealed per subject keep their subject's `lookup_hash` in
    `applicant_key`) or, for cases projected before sealing, the verification secret's."""

    secret: bytes
    lookup_key: bytes

    def hashes(self, id_number: str) -> list[str]:
        return [
            lookup_hash(id_number, self.lookup_key),
            legacy_applicant_key(id_number, self.secret),
        ]


_LEGACY_DOMAIN = b"bianmin.intake.applicant-key.v1:"


def legacy_applicant_key(id_number: str, secret: bytes) -> str:
    """The HMAC of an ID number that cases projected before sealing were matched by."""
    normalized = id_number.strip().upper().encode()
    return hmac.new(secret, _LEGACY_DOMAIN + normalized, hashlib.sha256).hexdigest()


class SubjectKeys:
    def __init__(self, keys: KeyManager, lookup_key: bytes) -> None:
        self._km = keys
        self.lookup_key = lookup_key

    def lookup(self, id_number: str) -> str:
        return lookup_hash(id_number, self.lookup_key)

    async def subject_for(self, conn: asyncpg.Connection, id_number: str) -> SubjectKey:
        """The subject of this ID number with its key, created on first sight. Two
        transactions creating the same subject at once: one insert wins, the other reads it."""
        h = self.lookup(id_number)
        row = await conn.fetchrow(
            "SELECT subject_id, wrapped_key FROM personal_data_subjects WHERE lookup_hash = $1",
            h,
        )
        if row is None:
            subject = new_subject_id()
            data_key = new_data_key()
            row = await conn.fetchrow(
                """
                INSERT INTO personal_data_subjects (subject_id, lookup_hash, key_id, wrapped_key)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (lookup_hash) DO UPDATE SET lookup_hash = EXCLUDED.lookup_hash
                RETURNING subject_id, wrapped_key
                """,
                subject,
                h,
                self._km.key_id,
                self._km.wrap(data_key, subject),
            )
            assert row is not None
        return SubjectKey(row["subject_id"], self._km.unwrap(row["wrapped_key"], row["subject_id"]))

    async def subject_of(self, conn: asyncpg.Connection, id_number: str) -> str | None:
        """The subject an ID number names, if intake holds one (the clerk's lookup)."""
        found: str | None = await conn.fetchval(
            "SELECT subject_id FROM personal_data_subjects WHERE lookup_hash = $1",
            self.lookup(id_number),
        )
        return found

    def identity_hash(self, kind: str, value: str) -> str:
        """Keyed hash of an identity of `kind` (id_number: the subject lookup's hash;
        household_no: the same key, its own domain), to compare staff with applicants."""
        if kind == "id_number":
            return self.lookup(value)
        return lookup_hash(f"{kind}:{value}", self.lookup_key)

    async def opened_applicant(
        self, conn: asyncpg.Connection, case_id: str, stored: Any
    ) -> Applicant | None:
        """A case's stored applicant in the clear (sealed: opened with its subject's key;
        projected before sealing: as it is); None once erased."""
        a = orjson.loads(stored) if isinstance(stored, str | bytes) else stored
        if not isinstance(a, dict) or a.get("erased"):
            return None
        if "subject_id" not in a:
            return Applicant.model_validate(a)
        sealed = SealedApplicant.model_validate(a)
        key = (await self.keys_of(conn, [sealed.subject_id])).get(sealed.subject_id)
        return None if key is None else open_applicant(key, case_id, sealed)

    async def keys_of(
        self, conn: asyncpg.Connection, subject_ids: Iterable[str]
    ) -> dict[str, SubjectKey | None]:
        """The keys of these subjects; None for a subject whose key was destroyed (or that
        intake never held)."""
        wanted = list(dict.fromkeys(s for s in subject_ids if s))
        out: dict[str, SubjectKey | None] = dict.fromkeys(wanted)
        if not wanted:
            return out
        rows = await conn.fetch(
            "SELECT subject_id, wrapped_key FROM personal_data_subjects"
            " WHERE subject_id = ANY($1::text[]) AND wrapped_key IS NOT NULL",
            wanted,
        )
        for r in rows:
            out[r["subject_id"]] = SubjectKey(
                r["subject_id"], self._km.unwrap(r["wrapped_key"], r["subject_id"])
            )
        return out

    async def destroy(self, conn: asyncpg.Connection, subject_id: str, now: datetime) -> bool:
        """Crypto-shred: the wrapped key and the lookup hash are gone. True if this call
        destroyed it (False: unknown, or destroyed before)."""
        done = await conn.fetchval(
            """
            UPDATE personal_data_subjects
               SET wrapped_key = NULL, lookup_hash = NULL, key_id = NULL, erased_at = $2
             WHERE subject_id = $1 AND wrapped_key IS NOT NULL
            RETURNING true
            """,
            subject_id,
            now,
        )
        return bool(done)
