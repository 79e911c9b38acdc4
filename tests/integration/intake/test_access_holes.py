"""The access holes of issue 12, closed at intake (in-process app, real PostgreSQL and Kafka).

Each test is the attack that got through, now refused with a reason and changing nothing,
next to the way that is meant to work."""

from __future__ import annotations

import pytest

from .support import AGENT_DONGSHAN, AGENT_MABEI, OFFICER_MABEI, Harness, second_child

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


async def test_the_accepting_staff_member_is_a_registered_staff_member_of_the_center(
    intake: Harness,
) -> None:
    """首问责任人 was just the token's sub: a name not in the org tree was recorded as
    accountable. Intake checks it against the staff directory routing publishes."""
    before = await case_events_total(intake)
    ghost = ("ghost.of.mabei", "community_agent", "ruian.mayu.mabei", "community")
    r = await intake.submit(ghost, second_child())
    assert r.status_code == 403, r.text
    assert r.json()["detail"]["field"] == "actor"
    assert "staff directory" in r.json()["detail"]["reason"]

    # a registered staff member of another center, claiming 马北 in the token
    elsewhere = (AGENT_DONGSHAN[0], "community_agent", "ruian.mayu.mabei", "community")
    r = await intake.submit(elsewhere, second_child())
    assert r.status_code == 403, r.text
    assert "ruian.dongshan" in r.json()["detail"]["reason"]

    # a role the directory does not give them (a window agent is no officer)
    as_officer = (AGENT_DONGSHAN[0], "officer", "ruian.dongshan", "town")
    r = await intake.submit(as_officer, second_child())
    assert r.status_code == 403, r.text
    assert r.json()["detail"]["field"] == "actor"

    # naming someone else as the responsible staff member: they must be staff of the center
    for named in ("nobody.in.the.tree", AGENT_DONGSHAN[0]):
        r = await intake.submit(AGENT_MABEI, second_child(accepting_staff_id=named))
        assert r.status_code == 403, r.text
        assert r.json()["detail"]["field"] == "accepting_staff_id"
    assert await case_events_total(intake) == before

    ok = await intake.submit(AGENT_MABEI, second_child(accepting_staff_id=OFFICER_MABEI[0]))
    assert ok.status_code == 201, ok.text
    stored = await intake.stream(ok.json()["case_id"])
    assert stored[0]["payload"]["accepting_staff_id"] == OFFICER_MABEI[0]
