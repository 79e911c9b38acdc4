"""Intake reads its store through the one read path: a v1 event stored in intake's `events`
table is read as v2 by the case trail, by the submit's combined catalog-and-case read and by
the projection rebuild (the catalog view shares the same reader)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from eventkit.envelope import Envelope
from intake.domain.catalog import CATALOG_STREAM
from intake.projections import applications

from ..eventkit.factories import assert_v2, warning_v1
from .support import Harness

pytestmark = pytest.mark.integration


async def test_a_stored_v1_is_read_as_v2_by_every_intake_read(
    intake: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = intake.app.state.intake
    case_id = f"case-{uuid.uuid4().hex}"
    await core.store.append(case_id, 0, [warning_v1(case_id)])
    (raw,) = await intake.stream(case_id)
    assert raw["schema_version"] == 1  # stored as written
    assert core.catalog._reader is core.runtime.reader

    async with core.pool.acquire() as conn:
        (env,) = await core.load_case(conn, case_id)  # GET /v1/applications/{id}'s trail
        assert_v2(env)
        # the submit's one query: the catalog's catch-up and the case's stream
        read = await core.store.read_streams(
            {CATALOG_STREAM: core.catalog.version, case_id: 0}, conn=conn
        )
        assert_v2(read[case_id][0])
        folded: list[Envelope] = []

        async def record(_conn: Any, envs: Sequence[Envelope], _secret: bytes) -> None:
            folded.extend(e for e in envs if e.stream_id == case_id)

        monkeypatch.setattr(applications, "apply", record)
        tx = conn.transaction()
        await tx.start()
        try:
            await applications.rebuild(conn, core.secret, reader=core.runtime.reader)
        finally:
            await tx.rollback()
    (env,) = folded
    assert_v2(env)
