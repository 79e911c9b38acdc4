"""Intake's key store on the real PostgreSQL (issue 15): one subject per ID number, found
again only through the keyed hash; the data key stored wrapped, never in the clear; an
erasure destroys it so nothing sealed with it opens again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventkit.personal_data import KeyDestroyed, is_subject_id, subject_key
from intake.runtime import IntakeRuntime

from .support import ID_BEIJI, Harness, valid_id

pytestmark = pytest.mark.integration


async def test_one_subject_per_id_number_and_the_key_is_stored_wrapped(intake: Harness) -> None:
    core: IntakeRuntime = intake.app.state.intake
    id_number = valid_id("33038119700101111")
    conn = await intake.connect()
    try:
        async with conn.transaction():
            first = await core.subjects.subject_for(conn, id_number)
        async with conn.transaction():
            again = await core.subjects.subject_for(conn, id_number.lower())
        assert is_subject_id(first.subject_id)
        assert again.subject_id == first.subject_id and again.data_key == first.data_key
        assert await core.subjects.subject_of(conn, id_number) == first.subject_id
        assert await core.subjects.subject_of(conn, ID_BEIJI) is None
        row = await conn.fetchrow(
            "SELECT * FROM personal_data_subjects WHERE subject_id = $1", first.subject_id
        )
        assert row is not None
        stored = " ".join(str(v) for v in row.values())
        assert id_number not in stored
        assert first.data_key not in bytes(row["wrapped_key"])
        sealed = first.seal("case-x", "applicant.id_number", id_number)
        keys = await core.subjects.keys_of(conn, [first.subject_id, "subj-unknown"])
        opened = keys[first.subject_id]
        assert opened is not None and opened.open("case-x", "applicant.id_number", sealed) == (
            id_number
        )
        assert keys["subj-unknown"] is None
    finally:
        await conn.close()


async def test_destroying_the_key_shreds_the_subject(intake: Harness) -> None:
    core: IntakeRuntime = intake.app.state.intake
    id_number = valid_id("33038119800202222")
    conn = await intake.connect()
    try:
        async with conn.transaction():
            key = await core.subjects.subject_for(conn, id_number)
            sealed = key.seal("case-y", "applicant.name", "王五")
        async with conn.transaction():
            assert await core.subjects.destroy(conn, key.subject_id, datetime.now(UTC))
        async with conn.transaction():
            assert not await core.subjects.destroy(conn, key.subject_id, datetime.now(UTC))
        assert (await core.subjects.keys_of(conn, [key.subject_id]))[key.subject_id] is None
        row = await conn.fetchrow(
            "SELECT wrapped_key, lookup_hash, erased_at FROM personal_data_subjects"
            " WHERE subject_id = $1",
            key.subject_id,
        )
        assert row is not None
        assert row["wrapped_key"] is None and row["lookup_hash"] is None
        assert row["erased_at"] is not None
        with pytest.raises(KeyDestroyed):
            subject_key(core.settings.key_manager(), key.subject_id, row["wrapped_key"])
        # the ID number no longer finds the erased subject; coming back makes a new one
        assert await core.subjects.subject_of(conn, id_number) is None
        async with conn.transaction():
            fresh = await core.subjects.subject_for(conn, id_number)
        assert fresh.subject_id != key.subject_id
        with pytest.raises(Exception, match="does not open"):
            fresh.open("case-y", "applicant.name", sealed)
    finally:
        await conn.close()
