"""Org administration within limits (issue 12): a 1,000,000-character unit name was stored
(and its 3 MB event halted the relay); every name and list is bounded, naming the field."""

from __future__ import annotations

import pytest

from contracts.limits import MAX_PERSON_NAME, MAX_UNIT_NAME
from contracts.routing import ORG_STREAM_ID
from contracts.workdays import OfficeHours

from .support import at, running_routing

pytestmark = pytest.mark.integration


def unit_body(**overrides: object) -> dict[str, object]:
    return {
        "unit_id": "ruian.mayu.limits",
        "name_zh": "界限社区",
        "tier": "community",
        "kind": "社区",
        "parent_id": "ruian.mayu",
        "office_hours": OfficeHours.standard().model_dump(mode="json"),
        **overrides,
    }


async def test_names_and_lists_over_their_maximum_are_refused_naming_the_field(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        admin = rt.tokens.admin()
        conn = await pg_schema.connect()
        try:
            before = await conn.fetchval(
                "SELECT count(*) FROM events WHERE stream_id = $1", ORG_STREAM_ID
            )
            cases = [
                ("/v1/org/units", unit_body(name_zh="x" * 1_000_000), "name_zh"),
                ("/v1/org/units", unit_body(name_zh="界" * (MAX_UNIT_NAME + 1)), "name_zh"),
                ("/v1/org/units", unit_body(name_zh="界限\u0000社区"), "name_zh"),
                ("/v1/org/units", unit_body(name_zh="界限\n社区"), "name_zh"),
                (
                    "/v1/org/units",
                    unit_body(travel_minutes_to_parent=2**40),
                    "travel_minutes_to_parent",
                ),
                (
                    "/v1/org/staff",
                    {
                        "staff_id": "ruian.mayu.limits.x",
                        "name_zh": "张" * (MAX_PERSON_NAME + 1),
                        "unit_id": "ruian.mayu",
                        "roles": ["officer"],
                    },
                    "name_zh",
                ),
                (
                    "/v1/org/offices",
                    {
                        "office_id": "ruian.mayu.limits.o",
                        "unit_id": "ruian.mayu",
                        "name_zh": "窗口",
                        "categories": ["*"] * 21,
                    },
                    "categories",
                ),
            ]
            for path, body, field in cases:
                r = await rt.post(path, admin, body)
                assert r.status_code == 422, (field, r.status_code, r.text[:300])
                assert r.json()["detail"]["field"] == field, r.text[:300]
            after = await conn.fetchval(
                "SELECT count(*) FROM events WHERE stream_id = $1", ORG_STREAM_ID
            )
            assert after == before
            ok = await rt.post("/v1/org/units", admin, unit_body(name_zh="界" * MAX_UNIT_NAME))
            assert ok.status_code == 200, ok.text

            # the queue's offset goes to SQL as a bigint: 2^63 was a 500
            r = await rt.client.get(
                "/v1/queue", params={"offset": 2**63}, headers=rt.tokens.inspector()
            )
            assert r.status_code == 422 and r.json()["detail"]["field"] == "offset", r.text
        finally:
            await conn.close()
