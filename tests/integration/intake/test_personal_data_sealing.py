"""The applicant sealed per subject (issue 15), through intake's HTTP API on the real
PostgreSQL and Kafka: the stored and published event names the subject and carries no
personal field in the clear; intake's reads open it for those entitled, and record it."""

from __future__ import annotations

import orjson
import pytest

from eventkit.personal_data import is_sealed, is_subject_id

from .support import (
    AGENT_MABEI,
    ID_BEIJI,
    INSPECTOR,
    Harness,
    applicant,
    read_topic_until,
    second_child,
    valid_id,
)

pytestmark = pytest.mark.integration

NAME, PHONE, ADDRESS = "林秀英", "13857798765", "瑞安市马屿镇马北社区旧街7号"


async def test_the_event_carries_the_subject_and_sealed_fields_only(intake: Harness) -> None:
    id_number = valid_id("33038119660606606")
    person = applicant(name=NAME, id_number=id_number, phone=PHONE, address=ADDRESS)
    r = await intake.submit(AGENT_MABEI, second_child(applicant=person))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]

    stored = await intake.stream(case_id)
    sealed = stored[0]["payload"]["applicant"]
    assert is_subject_id(sealed["subject_id"])
    for f in ("name", "id_number", "phone", "household_no", "address"):
        assert is_sealed(sealed[f]), f
    assert sealed["registered_community_id"] == "ruian.mayu.mabei"  # not personal
    raw = orjson.dumps(stored).decode()
    for secret in (id_number, NAME, PHONE, ADDRESS, "330381-MB-0421"):
        assert secret not in raw

    published = await read_topic_until(
        intake.bootstrap,
        intake.intake_topic,
        lambda es: any(e["stream_id"] == case_id for e in es),
    )
    on_kafka = orjson.dumps(published).decode()
    assert case_id in on_kafka
    for secret in (id_number, NAME, PHONE):
        assert secret not in on_kafka

    # a second case of the same person: the same subject, a fresh ciphertext
    r2 = await intake.submit(AGENT_MABEI, second_child(applicant=person))
    again = (await intake.stream(r2.json()["case_id"]))[0]["payload"]["applicant"]
    assert again["subject_id"] == sealed["subject_id"]
    assert again["name"] != sealed["name"]


async def test_entitled_reads_open_the_applicant_and_are_recorded(intake: Harness) -> None:
    id_number = valid_id("33038119770707707")
    person = applicant(name=NAME, id_number=id_number, phone=PHONE)
    r = await intake.submit(AGENT_MABEI, second_child(applicant=person))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]

    got = await intake.client.get(
        f"/v1/applications/{case_id}", headers=intake.keys.headers(INSPECTOR)
    )
    assert got.status_code == 200, got.text
    shown = got.json()["application"]["applicant"]
    assert shown["name"] == NAME and shown["id_number"] == id_number
    assert shown["phone"] == PHONE
    subject = shown["subject_id"]

    # the resident, by the ID number their real-name token carries, sees their own case
    mine = await intake.client.get("/v1/applications", headers=intake.keys.resident(id_number))
    assert mine.status_code == 200, mine.text
    items = {i["case_id"]: i for i in mine.json()["items"]}
    assert items[case_id]["applicant_name"] == NAME
    other = await intake.client.get(
        f"/v1/applications/{case_id}", headers=intake.keys.resident(ID_BEIJI)
    )
    assert other.status_code == 403

    # a list without names (a head's figures) opens nothing and records no read
    unnamed = await intake.client.get(
        "/v1/applications", params={"names": "false"}, headers=intake.keys.headers(AGENT_MABEI)
    )
    assert unnamed.status_code == 200, unnamed.text
    row = {i["case_id"]: i for i in unnamed.json()["items"]}[case_id]
    assert row["applicant_name"] is None and row["item_code"] == "FP-002"
    assert NAME not in unnamed.text
    # the staff list shows the name too
    listed = await intake.client.get("/v1/applications", headers=intake.keys.headers(AGENT_MABEI))
    assert {i["case_id"]: i for i in listed.json()["items"]}[case_id]["applicant_name"] == NAME

    conn = await intake.connect()
    try:
        reads = await conn.fetch(
            "SELECT reader_id, reader_role, endpoint, case_id FROM personal_data_reads"
            " WHERE subject_id = $1 ORDER BY read_id",
            subject,
        )
        stored = await conn.fetchval(
            "SELECT applicant::text FROM applications WHERE case_id = $1", case_id
        )
    finally:
        await conn.close()
    seen = {(r["reader_id"], r["endpoint"]) for r in reads}
    assert (INSPECTOR[0], "GET /v1/applications/{case_id}") in seen
    assert (AGENT_MABEI[0], "GET /v1/applications") in seen
    # ... once: the list with names, not the one without
    listings = [r for r in reads if r["endpoint"] == "GET /v1/applications"]
    assert [r["reader_id"] for r in listings].count(AGENT_MABEI[0]) == 1
    assert all(r["case_id"] == case_id for r in reads)
    # intake's projection keeps the applicant sealed too
    assert NAME not in stored and id_number not in stored


async def test_the_window_finds_a_residents_cases_by_id_number_through_the_keyed_hash(
    intake: Harness,
) -> None:
    id_number = valid_id("33038119880808808")
    mine = set()
    for _ in range(2):
        r = await intake.submit(AGENT_MABEI, second_child(applicant=applicant(id_number=id_number)))
        assert r.status_code == 201, r.text
        mine.add(r.json()["case_id"])
    someone_else = await intake.submit(AGENT_MABEI, second_child())
    assert someone_else.status_code == 201

    found = await intake.client.get(
        "/v1/applications",
        params={"applicant_id_number": id_number.lower()},
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert found.status_code == 200, found.text
    assert {i["case_id"] for i in found.json()["items"]} == mine
    bad = await intake.client.get(
        "/v1/applications",
        params={"applicant_id_number": "not-an-id"},
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert bad.status_code == 422 and "applicant_id_number" in bad.text


async def test_notify_reads_the_contact_with_the_shared_secret_only(intake: Harness) -> None:
    id_number = valid_id("33038119990909909")
    r = await intake.submit(
        AGENT_MABEI, second_child(applicant=applicant(id_number=id_number, phone=PHONE))
    )
    case_id = r.json()["case_id"]
    url = f"/internal/v1/contacts/{case_id}"
    refused = await intake.client.get(url, headers={"X-Bianmin-Service-Secret": "guess"})
    assert refused.status_code == 403
    nothing = await intake.client.get(url, headers=intake.keys.headers(INSPECTOR))
    assert nothing.status_code == 403
    secret = intake.settings.contact_secret_bytes().decode()
    got = await intake.client.get(url, headers={"X-Bianmin-Service-Secret": secret})
    assert got.status_code == 200, got.text
    assert got.json()["phone"] == PHONE and got.json()["name"] == "陈小芳"
    assert (
        await intake.count(
            "SELECT count(*) FROM personal_data_reads WHERE case_id = $1 AND reader_id = 'notify'"
            " AND reader_role = 'service'",
            case_id,
        )
        == 1
    )
    # not a public operation
    spec = (await intake.client.get("/openapi.json")).json()
    assert not any(p.startswith("/internal") for p in spec["paths"])


async def test_a_joint_applicant_is_sealed_with_the_same_subject_and_opened_on_read(
    intake: Harness,
) -> None:
    """联办: `intake.joint_application_submitted` carries the applicant sealed, bound to the
    joint case, under the same subject as the person's single cases; the joint read opens
    it for those entitled and records the read."""
    from .test_joint_api import publish_bundles

    await publish_bundles(intake)
    id_number = valid_id("33038119880808808")
    person = applicant(name=NAME, id_number=id_number, phone=PHONE, address=ADDRESS)
    single = await intake.submit(AGENT_MABEI, second_child(applicant=person))
    subject = (await intake.stream(single.json()["case_id"]))[0]["payload"]["applicant"][
        "subject_id"
    ]
    r = await intake.client.post(
        "/v1/joint-applications",
        json={"bundle_code": "LB-001", "applicant": person},
        headers=intake.keys.headers(AGENT_MABEI),
    )
    assert r.status_code == 201, r.text
    joint_id = r.json()["joint_case_id"]
    stored = await intake.stream(joint_id)
    sealed = stored[0]["payload"]["applicant"]
    assert sealed["subject_id"] == subject
    for f in ("name", "id_number", "phone", "address"):
        assert is_sealed(sealed[f]), f
    for secret in (id_number, NAME, PHONE, ADDRESS):
        assert secret not in orjson.dumps(stored).decode()
    published = await read_topic_until(
        intake.bootstrap,
        intake.intake_topic,
        lambda es: any(e["stream_id"] == joint_id for e in es),
    )
    for secret in (id_number, NAME, PHONE):
        assert secret not in orjson.dumps(published).decode()

    got = await intake.client.get(
        f"/v1/joint-applications/{joint_id}", headers=intake.keys.headers(AGENT_MABEI)
    )
    assert got.status_code == 200, got.text
    shown = got.json()["applicant"]
    assert shown["subject_id"] == subject and shown["name"] == NAME
    assert shown["id_number"] == id_number
    # the resident (浙里办 token: ID number as a claim) reads their own joint case
    mine = await intake.client.get(
        f"/v1/joint-applications/{joint_id}", headers=intake.keys.resident(id_number)
    )
    assert mine.status_code == 200, mine.text
    reads = await intake.client.get(
        "/v1/personal-data/reads",
        params={"subject_id": subject},
        headers=intake.keys.headers(INSPECTOR),
    )
    assert reads.status_code == 200, reads.text
    endpoints = [i["endpoint"] for i in reads.json()["items"] if i["case_id"] == joint_id]
    assert endpoints.count("GET /v1/joint-applications/{joint_case_id}") == 2
