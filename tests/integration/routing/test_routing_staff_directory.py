"""Issue 18 #6: a signed-in resident read the whole staff directory and rosters from the org
tree (401 names, who works when). Residents now see the centers, never the people."""

from __future__ import annotations

import orjson
import pytest

from .support import at, running_routing, seeded_tree

pytestmark = pytest.mark.integration

MAYU = "ruian.mayu"
PEOPLE = ("staff", "posts", "roster", "absences")


def _units(unit: dict) -> list[dict]:  # type: ignore[type-arg]
    return [unit, *(u for ch in unit["children"] for u in _units(ch))]


async def test_a_resident_sees_the_centers_but_no_staff_directory_or_rosters(
    infra, pg_schema, topics
) -> None:
    tree = seeded_tree()
    names = [s.name_zh for s in tree.staff.values()]
    assert len(names) > 100
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        resident = rt.tokens.headers("resident", "resident.330381199004151239")
        r = await rt.client.get("/v1/org/tree", headers=resident)
        assert r.status_code == 200, r.text
        units = [u for root in r.json()["units"] for u in _units(root)]
        assert len(units) == len(tree.units)
        assert all(u["office_hours"] for u in units)  # where to go, and when
        for u in units:
            assert not set(PEOPLE) & set(u), u["unit_id"]
        text = r.content.decode()
        assert not [n for n in names if n in text]
        assert not [sid for sid in tree.staff if f'"{sid}"' in text]

        r = await rt.client.get("/v1/org/staff", params={"unit_id": MAYU}, headers=resident)
        assert r.status_code == 403, r.text
        assert r.json()["detail"]["field"] == "role"

        # staff and inspectors still work with the directory
        for who in (rt.tokens.inspector(), rt.tokens.staff(next(iter(tree.staff)))):
            r = await rt.client.get("/v1/org/staff", params={"unit_id": MAYU}, headers=who)
            assert r.status_code == 200, r.text
            listed = {s["staff_id"] for u in r.json()["units"] for s in u["staff"]}
            assert listed and listed <= set(tree.staff)
            assert any(u["roster"] for u in r.json()["units"]) or any(
                u["posts"] for u in r.json()["units"]
            )
            r = await rt.client.get("/v1/org/tree", params={"unit_id": MAYU}, headers=who)
            assert orjson.loads(r.content)["units"][0]["staff"]
