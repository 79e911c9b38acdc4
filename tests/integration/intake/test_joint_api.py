"""联办 through intake's HTTP API (in-process app with its lifespan, real PostgreSQL and
Kafka): an admin publishes the bundles; one joint intake answers ONE notice or ONE receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from contracts.joint import JointResultReady, MemberOutcome
from intake.seed_catalog import seed_bundles, seed_items
from intake.seeding import seed_catalog_if_empty

from ...polling import eventually
from .support import (
    ADMIN,
    AGENT_DONGSHAN,
    AGENT_MABEI,
    Harness,
    applicant,
    read_topic_until,
    routing_envelope,
)

pytestmark = pytest.mark.integration


def today() -> Any:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


async def publish_bundles(intake: Harness) -> None:
    for bundle in seed_bundles(effective_from=today()):
        r = await intake.client.post(
            "/v1/catalog/bundles",
            json=bundle.model_dump(mode="json"),
            headers=intake.keys.headers(ADMIN),
        )
        if r.status_code == 422 and r.json()["detail"]["field"] == "bundle.version":
            continue  # published by an earlier test of this module
        assert r.status_code == 201, r.text


def everything(code: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    bundle = next(b for b in seed_bundles() if b.code == code)
    items = {i.code: i for i in seed_items()}
    shared: dict[str, dict[str, Any]] = {}
    own = []
    for member in bundle.members:
        mine = []
        for m in items[member].materials:
            if m.may_supply_later:
                continue
            given = {"code": m.code, "form": m.form, "copies": m.copies}
            if m.code in bundle.shared_materials:
                held = shared.setdefault(m.code, given)
                held["copies"] = max(held["copies"], m.copies)
                if m.form == "original":
                    held["form"] = "original"
            else:
                mine.append(given)
        own.append({"item_code": member, "provided": mine})
    return list(shared.values()), own


async def test_the_start_up_seed_publishes_the_bundles_once(intake: Harness) -> None:
    """Given intake started on an empty catalog, its seed published the items and then the
    two seeded bundles, each once, by the seed actor; when the seed runs again (a restart),
    then nothing new is written; the public catalog lists the bundles in force."""
    catalog = await intake.stream("catalog")
    seeded = [
        e["payload"]["bundle"]["code"]
        for e in catalog
        if e["event_type"] == "intake.joint_bundle_published" and e["actor"]["id"] == "seed"
    ]
    assert seeded == [b.code for b in seed_bundles()]
    first_bundle = next(
        i for i, e in enumerate(catalog) if e["event_type"] == "intake.joint_bundle_published"
    )
    assert all(e["event_type"] == "intake.catalog_item_published" for e in catalog[:first_bundle])
    assert await seed_catalog_if_empty(intake.app.state.intake) == 0
    assert len(await intake.stream("catalog")) == len(catalog)
    r = await intake.client.get("/v1/catalog")
    listed = {b["code"]: b for b in r.json()["bundles"]}
    assert {"LB-001", "LB-002"} <= set(listed)
    assert listed["LB-002"]["approval_order"] == "sequential"


async def test_an_admin_publishes_bundles_and_a_bad_one_is_refused(intake: Harness) -> None:
    await publish_bundles(intake)
    before = len(await intake.stream("catalog"))
    bad = seed_bundles(effective_from=today())[0].model_copy(
        update={"code": "LB-099", "shared_materials": ("VEHICLE",)}
    )
    r = await intake.client.post(
        "/v1/catalog/bundles", json=bad.model_dump(mode="json"), headers=intake.keys.headers(ADMIN)
    )
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "bundle.shared_materials[0]"
    assert len(await intake.stream("catalog")) == before  # nothing written
    r = await intake.client.post(
        "/v1/catalog/bundles",
        json=bad.model_dump(mode="json"),
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert r.status_code == 403


async def test_one_joint_intake_gives_one_notice_covering_every_member(intake: Harness) -> None:
    await publish_bundles(intake)
    r = await intake.client.post(
        "/v1/joint-applications",
        json={"bundle_code": "LB-001", "applicant": applicant()},
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "awaiting_materials"
    assert [s["code"] for s in body["missing"]["shared"]] == [
        "ID_CARD",
        "HOUSEHOLD_REG",
        "MARRIAGE_CERT",
        "CHILD_BIRTH_CERT",
    ]
    assert [m["item_code"] for m in body["missing"]["members"]] == [
        "FP-003",
        "OT-004",
        "LS-003",
        "FP-001",
    ]
    stored = await intake.stream(body["joint_case_id"])
    assert [e["event_type"] for e in stored] == [
        "intake.joint_application_submitted",
        "intake.joint_materials_missing_notified",
    ]
    assert stored[1]["org_id"] == "ruian.mayu.mabei"


async def test_a_complete_joint_intake_gets_one_receipt_published_once(intake: Harness) -> None:
    await publish_bundles(intake)
    shared, own = everything("LB-001")
    payload = {
        "bundle_code": "LB-001",
        "applicant": applicant(),
        "shared_provided": shared,
        "member_provided": own,
    }
    headers = {
        **intake.keys.headers(AGENT_MABEI),
        "Idempotency-Key": "5b0e7c1a-3d2f-4a6b-8c9d-0e1f2a3b4c5d",
    }
    r = await intake.client.post("/v1/joint-applications", json=payload, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "accepted" and body["receipt_no"].startswith("RA")
    assert {m["handling_tier"] for m in body["members"]} == {"community", "town"}
    again = await intake.client.post("/v1/joint-applications", json=payload, headers=headers)
    assert again.json()["joint_case_id"] == body["joint_case_id"]  # the same joint case

    joint_id = body["joint_case_id"]
    published = await read_topic_until(
        intake.bootstrap,
        intake.intake_topic,
        lambda envs: any(e["stream_id"] == joint_id for e in envs),
        what="the joint acceptance on intake's topic",
    )
    mine = [e for e in published if e["stream_id"] == joint_id]
    assert [e["event_type"] for e in mine] == [
        "intake.joint_application_submitted",
        "intake.joint_application_accepted",
    ]


async def test_a_resident_may_not_hand_in_a_bundle(intake: Harness) -> None:
    r = await intake.client.post(
        "/v1/joint-applications",
        json={"bundle_code": "LB-001", "applicant": applicant()},
        headers=intake.keys.resident(),
    )
    assert r.status_code == 403


async def joint_row(intake: Harness, joint_id: str) -> dict[str, Any] | None:
    conn = await intake.connect()
    try:
        row = await conn.fetchrow("SELECT * FROM joint_cases WHERE joint_case_id = $1", joint_id)
    finally:
        await conn.close()
    if row is None:
        return None
    out = dict(row)
    for k in ("missing", "members"):
        if isinstance(out[k], str):
            out[k] = orjson.loads(out[k])
    return out


async def test_the_one_joint_notice_is_answered_once_and_every_member_goes_on(
    intake: Harness,
) -> None:
    """Given a joint intake that got the one notice, when part comes back at another center,
    then it is recorded with what is still missing (no second notice); when the rest comes
    back, then one receipt names every member; a bad supplement changes nothing."""
    r = await intake.client.post(
        "/v1/joint-applications",
        json={"bundle_code": "LB-001", "applicant": applicant()},
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert r.status_code == 201, r.text
    joint_id = r.json()["joint_case_id"]
    assert (await joint_row(intake, joint_id) or {})["status"] == "awaiting_materials"
    shared, own = everything("LB-001")
    path = f"/v1/joint-applications/{joint_id}/materials"

    bad = await intake.client.post(
        path,
        json={"shared_supplied": [{"code": "VEHICLE", "form": "original"}]},
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "shared_supplied[0].code"
    assert len(await intake.stream(joint_id)) == 2  # nothing written

    part = await intake.client.post(  # at another center: any window takes materials in
        path, json={"shared_supplied": shared}, headers=intake.keys.headers(AGENT_DONGSHAN)
    )
    assert part.status_code == 200, part.text
    assert part.json()["status"] == "awaiting_materials"
    assert part.json()["missing"]["shared"] == []
    rest = await intake.client.post(
        path, json={"member_supplied": own}, headers=intake.keys.headers(AGENT_MABEI)
    )
    assert rest.status_code == 200, rest.text
    done = rest.json()
    assert done["status"] == "accepted" and done["receipt_no"].startswith("RA")
    assert [m["item_code"] for m in done["members"]] == ["FP-003", "OT-004", "LS-003", "FP-001"]
    types = [e["event_type"] for e in await intake.stream(joint_id)]
    assert types == [
        "intake.joint_application_submitted",
        "intake.joint_materials_missing_notified",  # the one notice, and only one
        "intake.joint_materials_supplemented",
        "intake.joint_materials_supplemented",
        "intake.joint_application_accepted",
    ]
    again = await intake.client.post(
        path, json={"member_supplied": own}, headers=intake.keys.headers(AGENT_MABEI)
    )
    assert again.status_code == 409  # accepted: no more supplements
    row = await joint_row(intake, joint_id)
    assert row is not None and row["status"] == "accepted" and row["missing"] is None
    missing = await intake.client.post(
        f"/v1/joint-applications/joint-{'0' * 32}/materials",
        json={"shared_supplied": shared},
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert missing.status_code == 404


async def test_intake_records_the_joint_result_routing_sends_back(intake: Harness) -> None:
    """Given an accepted joint case, when routing's joint result comes back, then intake
    records it on the joint case (intake.joint_result_recorded) and its joint_cases row holds
    each member's outcome and, with the final one, the result as ready."""
    shared, own = everything("LB-001")
    r = await intake.client.post(
        "/v1/joint-applications",
        json={
            "bundle_code": "LB-001",
            "applicant": applicant(),
            "shared_provided": shared,
            "member_provided": own,
        },
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert r.status_code == 201, r.text
    joint = r.json()
    members = joint["members"]
    outcomes = tuple(
        MemberOutcome(
            case_id=m["case_id"],
            item_code=m["item_code"],
            status="refused" if m["item_code"] == "OT-004" else "approved",
        )
        for m in members
    )
    await intake.publish_routing(
        routing_envelope(
            JointResultReady(
                joint_case_id=joint["joint_case_id"],
                outcomes=outcomes,
                final=True,
                accepting_center_id="ruian.mayu.mabei",
            ),
            stream_id=joint["joint_case_id"],
        )
    )

    async def recorded() -> dict[str, Any] | None:
        return await joint_row(intake, joint["joint_case_id"])

    row = await eventually(
        recorded, lambda r: r is not None and r["status"] == "result_ready", what="joint result"
    )
    assert row is not None and row["result_ready_at"] is not None
    stream = await intake.stream(joint["joint_case_id"])
    recorded_events = [e for e in stream if e["event_type"] == "intake.joint_result_recorded"]
    assert len(recorded_events) == 1 and recorded_events[0]["payload"]["final"] is True
    assert [(m["item_code"], m["status"]) for m in row["members"]] == [
        ("FP-003", "approved"),
        ("OT-004", "refused"),
        ("LS-003", "approved"),
        ("FP-001", "approved"),
    ]
    # the accepting center reads it, so does its resident; another center does not
    path = f"/v1/joint-applications/{joint['joint_case_id']}"
    seen = await intake.client.get(path, headers=intake.keys.headers(AGENT_MABEI))
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["status"] == "result_ready" and view["receipt_no"] == joint["receipt_no"]
    assert [m["status"] for m in view["members"]] == ["approved", "refused", "approved", "approved"]
    assert "applicant_key" not in view
    mine = await intake.client.get(path, headers=intake.keys.resident())
    assert mine.status_code == 200 and mine.json()["status"] == "result_ready"
    other = await intake.client.get(path, headers=intake.keys.headers(AGENT_DONGSHAN))
    assert other.status_code == 403

    # the resident collects the whole result once, at the accepting center (领取)
    elsewhere = await intake.client.post(
        f"{path}/delivery",
        json={"method": "picked_up"},
        headers=intake.keys.headers(AGENT_DONGSHAN),
    )
    assert elsewhere.status_code == 403
    handed = await intake.client.post(
        f"{path}/delivery", json={"method": "picked_up"}, headers=intake.keys.headers(AGENT_MABEI)
    )
    assert handed.status_code == 200, handed.text
    again = await intake.client.post(
        f"{path}/delivery", json={"method": "picked_up"}, headers=intake.keys.headers(AGENT_MABEI)
    )
    assert again.status_code == 409
    delivered = (await intake.client.get(path, headers=intake.keys.headers(AGENT_MABEI))).json()
    assert delivered["status"] == "delivered" and delivered["delivered_at"]
    stream = await intake.stream(joint["joint_case_id"])
    assert stream[-1]["event_type"] == "intake.joint_result_delivered"
