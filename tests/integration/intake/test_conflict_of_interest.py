"""回避 with sealed applicants (issue 15), through intake's HTTP API and its routing consumer
on the real PostgreSQL and Kafka: an administrator registers staff identities as keyed
hashes; intake, which opens the sealed applicant, records `intake.conflict_of_interest_found`
(no identity in it) when such a staff member accepts the case or is assigned it, once per
staff member and act; a staff member who is not the applicant is no finding."""

from __future__ import annotations

import uuid

import orjson
import pytest

from ...polling import eventually
from .support import (
    ADMIN,
    AGENT_MABEI,
    INSPECTOR,
    OFFICER_MAYU,
    Harness,
    applicant,
    read_topic_until,
    second_child,
    valid_id,
)
from .test_joint_api import everything, publish_bundles
from .test_routing_events import assigned, decided, routed, wait_for_type

pytestmark = pytest.mark.integration

FOUND = "intake.conflict_of_interest_found"


def findings(stream: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return [e["payload"] for e in stream if e["event_type"] == FOUND]


async def test_staff_acting_on_their_own_or_households_case_is_found(intake: Harness) -> None:
    own_id = valid_id("33038119790909909")
    household = "330381-MB-7788"
    path = f"/v1/admin/staff/{AGENT_MABEI[0]}/identity"
    # only administrators, only staff the directory lists, something to register
    r = await intake.client.put(
        path, json={"id_number": own_id}, headers=intake.keys.headers(INSPECTOR)
    )
    assert r.status_code == 403
    r = await intake.client.put(
        "/v1/admin/staff/nobody.here/identity",
        json={"id_number": own_id},
        headers=intake.keys.headers(ADMIN),
    )
    assert r.status_code == 404 and r.json()["detail"]["field"] == "staff_id"
    r = await intake.client.put(path, json={}, headers=intake.keys.headers(ADMIN))
    assert r.status_code == 422
    r = await intake.client.put(
        path, json={"id_number": own_id}, headers=intake.keys.headers(ADMIN)
    )
    assert r.status_code == 200 and r.json() == {"staff_id": AGENT_MABEI[0], "kinds": ["id_number"]}
    r = await intake.client.put(
        f"/v1/admin/staff/{OFFICER_MAYU[0]}/identity",
        json={"household_no": household},
        headers=intake.keys.headers(ADMIN),
    )
    assert r.status_code == 200, r.text
    conn = await intake.connect()
    try:
        stored = orjson.dumps(
            [dict(r) for r in await conn.fetch("SELECT * FROM staff_identities")], default=str
        )
    finally:
        await conn.close()
    assert own_id.encode() not in stored and household.encode() not in stored

    # the agent hands in their own application: found at submission
    mine = applicant(name="黄志强", id_number=own_id, household_no=household)
    sub = await intake.submit(AGENT_MABEI, second_child(applicant=mine))
    assert sub.status_code == 201, sub.text
    case_id = sub.json()["case_id"]
    assert FOUND in [e["event_type"] for e in sub.json()["events"]]
    stream = await intake.stream(case_id)
    assert findings(stream) == [
        {
            "case_id": case_id,
            "staff_id": AGENT_MABEI[0],
            "role_field": "accepting_staff_id",
            "same": ["id_number"],
            "found_at": findings(stream)[0]["found_at"],
        }
    ]
    raw = orjson.dumps(stream).decode()
    assert own_id not in raw and household not in raw

    # the town officer of the same household is assigned it: found when routing's event comes
    await intake.publish_routing(routed(case_id), assigned(case_id))

    async def two() -> list[dict]:  # type: ignore[type-arg]
        return findings(await intake.stream(case_id))

    found = await eventually(two, lambda f: len(f) == 2, what="the assignment's finding")
    assert (found[1]["staff_id"], found[1]["role_field"], found[1]["same"]) == (
        OFFICER_MAYU[0],
        "assigned_to",
        ["household_no"],
    )
    # published for the audit, with no identity in it
    published = await read_topic_until(
        intake.bootstrap,
        intake.intake_topic,
        lambda es: sum(e["event_type"] == FOUND and e["stream_id"] == case_id for e in es) == 2,
    )
    on_kafka = orjson.dumps([e for e in published if e["event_type"] == FOUND]).decode()
    assert own_id not in on_kafka and household not in on_kafka

    # the same assignment again (redelivered as a new record) finds nothing new; the same
    # officer's decision is a finding of its own (in order: one case, one partition)
    await intake.publish_routing(assigned(case_id), decided(case_id))
    await wait_for_type(intake, case_id, "intake.decision_received")
    acts = [(f["staff_id"], f["role_field"]) for f in findings(await intake.stream(case_id))]
    assert acts == [
        (AGENT_MABEI[0], "accepting_staff_id"),
        (OFFICER_MAYU[0], "assigned_to"),
        (OFFICER_MAYU[0], "decided_by"),
    ]
    # another resident's case handed in by the same agent is no finding
    other = await intake.submit(
        AGENT_MABEI, second_child(applicant=applicant(household_no="330381-MB-0001"))
    )
    assert other.status_code == 201, other.text
    assert FOUND not in [e["event_type"] for e in other.json()["events"]]
    assert findings(await intake.stream(other.json()["case_id"])) == []


async def test_staff_accepting_or_handling_their_own_joint_case_is_found(intake: Harness) -> None:
    """联办: the joint application's applicant is sealed on the joint case, its members carry
    none; the accepting agent and a member's officer are compared with it all the same."""
    own_id = valid_id("33038119810808808")
    r = await intake.client.put(
        f"/v1/admin/staff/{AGENT_MABEI[0]}/identity",
        json={"id_number": own_id},
        headers=intake.keys.headers(ADMIN),
    )
    assert r.status_code == 200, r.text
    r = await intake.client.put(
        f"/v1/admin/staff/{OFFICER_MAYU[0]}/identity",
        json={"id_number": own_id},
        headers=intake.keys.headers(ADMIN),
    )
    assert r.status_code == 200, r.text
    await publish_bundles(intake)
    shared, own = everything("LB-001")
    r = await intake.client.post(
        "/v1/joint-applications",
        json={
            "bundle_code": "LB-001",
            "applicant": applicant(name="黄志强", id_number=own_id),
            "shared_provided": shared,
            "member_provided": own,
        },
        headers={**intake.keys.headers(AGENT_MABEI), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    joint_id = r.json()["joint_case_id"]
    assert r.json()["status"] == "accepted"
    assert FOUND in [e["event_type"] for e in r.json()["events"]]
    (at_intake,) = findings(await intake.stream(joint_id))
    assert (at_intake["case_id"], at_intake["staff_id"], at_intake["role_field"]) == (
        joint_id,
        AGENT_MABEI[0],
        "accepting_staff_id",
    )
    assert at_intake["same"] == ["id_number"]

    # a member handled at the town: its officer, assigned by routing, is the applicant too
    town_member = next(m["case_id"] for m in r.json()["members"] if m["handling_tier"] == "town")
    await intake.publish_routing(routed(town_member), assigned(town_member))

    async def member_findings() -> list[dict]:  # type: ignore[type-arg]
        return findings(await intake.stream(town_member))

    (on_member,) = await eventually(member_findings, lambda f: len(f) == 1, what="the finding")
    assert (on_member["staff_id"], on_member["role_field"]) == (OFFICER_MAYU[0], "assigned_to")
    published = await read_topic_until(
        intake.bootstrap,
        intake.intake_topic,
        lambda es: any(e["event_type"] == FOUND and e["stream_id"] == town_member for e in es),
    )
    assert own_id not in orjson.dumps(published).decode()
