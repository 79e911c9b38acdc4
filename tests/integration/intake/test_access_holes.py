"""The access holes of issue 12, closed at intake (in-process app, real PostgreSQL and Kafka).

Each test is the attack that got through, now refused with a reason and changing nothing,
next to the way that is meant to work."""

from __future__ import annotations

import pytest

from .support import AGENT_MABEI, Harness, second_child

pytestmark = pytest.mark.integration


async def case_events_total(h: Harness) -> int:
    return await h.count("SELECT count(*) FROM events WHERE stream_id LIKE 'case-%'")


async def test_a_staff_token_without_its_center_submits_nothing(intake: Harness) -> None:
    """A community_agent token with no org_id (nor tier), whose sub is no staff member,
    submitted at 马北 (201): a staff token must name its center and tier."""
    before = await case_events_total(intake)
    body = second_child(accepting_center_id="ruian.mayu.mabei")
    for org, tier in ((None, None), (None, "community"), ("ruian.mayu.mabei", None)):
        token = intake.keys.token("nobody.at.all", "community_agent", org, tier)
        r = await intake.client.post(
            "/v1/applications", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 401, (org, tier, r.text)
        missing = "org_id" if org is None else "tier"
        assert missing in r.json()["detail"]["reason"]
    assert await case_events_total(intake) == before
    assert (await intake.submit(AGENT_MABEI, body)).status_code == 201
