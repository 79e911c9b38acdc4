"""The admin's 1,000,000-character unit name and the officer's 8,000-item correction request
of issue 11 once stored 3 MB and 1.6 MB events that stopped the relay. Three layers refuse
them now, each before anything is written: the body limit (413 before parsing), the field's
own maximum (422 naming the field, `contracts.limits`) and, behind both, eventkit's
append-time guard (413 naming the field; tests/unit/eventkit/test_size_at_every_edge.py)."""

from __future__ import annotations

import uuid

import pytest

from contracts.routing import ORG_STREAM_ID
from contracts.workdays import OfficeHours

from .support import accepted, at, new_case_id, running_routing, types_of

pytestmark = pytest.mark.integration

OFFICER = "ruian.mayu.sbs.a"  # 社保所, A holder of social insurance at 马屿


def unit_body(name_zh: str) -> dict:  # type: ignore[type-arg]
    return {
        "unit_id": "ruian.mayu.dayang",
        "name_zh": name_zh,
        "tier": "community",
        "kind": "社区",
        "parent_id": "ruian.mayu",
        "office_hours": OfficeHours.standard().model_dump(mode="json"),
        "service_lines": [{"line_id": "l01", "name_zh": "综合窗口", "categories": ["*"]}],
    }


async def _events(rt) -> int:  # type: ignore[no-untyped-def]
    pool = rt.app.state.routing.runtime.pool
    return int(await pool.fetchval("SELECT count(*) FROM events"))


async def test_a_million_character_unit_name_is_refused_naming_the_field_and_writes_nothing(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        admin = rt.tokens.admin()
        tree = (await rt.client.get("/v1/org/tree", headers=rt.tokens.inspector())).json()
        stored = await _events(rt)
        key = str(uuid.uuid4())

        # 1,000,000 Latin characters fit the 1 MiB body limit: the field's maximum answers
        r = await rt.post("/v1/org/units", admin, unit_body("L" * 1_000_000), key)
        assert r.status_code == 422, r.text[:500]
        assert r.json()["detail"]["field"] == "name_zh", r.text[:500]
        assert "64" in r.json()["detail"]["reason"]
        # 1,000,000 Chinese characters are a 3 MB body: refused before it is parsed
        r = await rt.post("/v1/org/units", admin, unit_body("长" * 1_000_000), key)
        assert r.status_code == 413, r.text[:500]
        assert r.json()["detail"]["field"] == "(body)"

        assert await _events(rt) == stored
        after = (await rt.client.get("/v1/org/tree", headers=rt.tokens.inspector())).json()
        assert after["org_version"] == tree["org_version"]
        # the refusals were not remembered under the key: the corrected request may reuse it
        r = await rt.post("/v1/org/units", admin, unit_body("大洋社区"), key)
        assert r.status_code == 200, r.text
        assert await _events(rt) == stored + len(r.json()["events"])
        pool = rt.app.state.routing.runtime.pool
        assert (
            await pool.fetchval(
                "SELECT max(stream_version) FROM events WHERE stream_id = $1", ORG_STREAM_ID
            )
            == r.json()["org_version"]
        )


async def test_an_8000_item_correction_request_is_refused_naming_the_field_and_changes_nothing(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        case_id = new_case_id()
        await rt.publish(accepted(case_id, code="LS-001"))
        detail = await rt.wait_case(case_id, lambda d: d["state"]["assigned_to"] == OFFICER)
        trail = types_of(detail)
        stored = await _events(rt)
        url = f"/v1/cases/{case_id}/correction-request"
        officer = rt.tokens.staff(OFFICER)

        # 8,000 short codes fit the body limit: the list's maximum (50) answers
        r = await rt.post(url, officer, {"requested_materials": [f"M{i}" for i in range(8000)]})
        assert r.status_code == 422, r.text[:500]
        assert r.json()["detail"]["field"] == "requested_materials", r.text[:500]
        # 8,000 items of 200 characters (4.8 MB): refused before the body is parsed
        items = [f"{i:05d}" + "材" * 195 for i in range(8000)]
        r = await rt.post(url, officer, {"requested_materials": items})
        assert r.status_code == 413, r.text[:500]

        assert await _events(rt) == stored
        after = (await rt.case(case_id)).json()
        assert types_of(after) == trail and after["state"]["status"] == detail["state"]["status"]
