"""Erasing one resident (PIPL, issue 15) with the four services in-process on the real Kafka
and PostgreSQL (`tests/integration/access/stack.py`).

The must-show: after the erasure, the raw bytes of every topic from offset 0, a `pg_dump` of
every service's schema, the analytics store built from the topics and the services' logs
hold none of the person's ID number, name or phone; the audit log still verifies (the
erasure's inclusion proof, a consistency proof from the tree signed before it, the full
integrity check); the case's non-personal facts still appear in the analytics store and in
the center's situation report (情况报告). Before it: notify sent the receipt to the phone
(asked of intake), and a legal hold refused the erasure with a 409.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import duckdb
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from analytics.report import render
from analytics.report.data import load
from audit.sitreport.generate import build_store, open_store
from eventkit.kafka_security import client_kwargs
from intake.seed_catalog import seed_bundles
from tlog.hashing import leaf_hash
from tlog.proofs import verify_consistency, verify_inclusion

from ...polling import eventually
from ..access.stack import Stack, running_stack
from ..access.test_access_matrix import PEOPLE
from ..intake.support import applicant, second_child, valid_id

pytestmark = pytest.mark.integration

NAME = "欧阳晓岚"
ID_NUMBER = valid_id("33038119850505505")
PHONE = "13605771234"
ADDRESS = "瑞安市马屿镇马北社区学府路88号"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
BASIS = "《个人信息保护法》第四十七条：处理目的已实现，本人申请删除"


@pytest.fixture(scope="module")
async def st(  # type: ignore[no-untyped-def]
    infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with running_stack(infra, Path(tmp_path_factory.mktemp("erasure"))) as s:
        yield s


def h(st: Stack, who: str) -> dict[str, str]:
    return st.headers(PEOPLE[who])


def needles() -> dict[str, list[bytes]]:
    """Each secret as text and as the hex pg_dump writes bytea in."""
    out = {}
    for v in (ID_NUMBER, NAME, PHONE):
        raw = v.encode()
        out[v] = [raw, raw.hex().encode()]
    return out


def found_in(blob: bytes) -> list[str]:
    return [v for v, forms in needles().items() if any(f in blob for f in forms)]


async def topic_bytes(bootstrap: str, topics: list[str]) -> bytes:
    """Every record's key, value and headers, from offset 0 to the end, of each topic."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, **client_kwargs(), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    out = bytearray()
    try:
        parts = []
        for t in topics:
            for p in consumer.partitions_for_topic(t) or await _partitions(consumer, t):
                parts.append(TopicPartition(t, p))
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        for tp in parts:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                for rec in batch.get(tp, []):
                    out += rec.key or b""
                    out += rec.value or b""
                    for k, v in rec.headers or ():
                        out += k.encode() + (v or b"")
    finally:
        await consumer.stop()
    return bytes(out)


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


def pg_dump(database_url: str, schema: str) -> bytes:
    u = urlparse(database_url)
    env = {"PGPASSWORD": u.password or ""}
    r = subprocess.run(
        [
            "pg_dump",
            "-h",
            u.hostname or "127.0.0.1",
            "-p",
            str(u.port or 5432),
            "-U",
            u.username or "postgres",
            "-n",
            schema,
            "--no-owner",
            u.path.lstrip("/"),
        ],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr.decode()
    assert f"CREATE TABLE {schema}.events".encode() in r.stdout  # it dumped the event store
    return r.stdout


async def test_one_erasure_reaches_every_copy_and_the_log_still_verifies(
    st: Stack, infra: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    person = applicant(name=NAME, id_number=ID_NUMBER, phone=PHONE, address=ADDRESS)
    r = await st.clients["intake"].post(
        "/v1/applications", json=second_child(applicant=person), headers=h(st, "agent")
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    up = await st.clients["intake"].post(
        f"/v1/applications/{case_id}/documents",
        params={"material_code": "ID_CARD"},
        files=[("file", ("id-card.pdf", PDF + case_id.encode(), "application/pdf"))],
        headers=h(st, "agent"),
    )
    assert up.status_code < 300, up.text
    # the resident hands in a second case online, with 浙里办's token (a pseudonymous account
    # as `sub`, the ID number in the `id_number` claim, `tests/tokens.py`): intake acts for
    # them under their subject, neither the account nor the number
    resident = (ID_NUMBER, "resident", None, None)
    online = await st.clients["intake"].post(
        "/v1/applications", json=second_child(applicant=person), headers=st.headers(resident)
    )
    assert online.status_code == 201, online.text
    online_id = online.json()["case_id"]
    mine = await st.clients["intake"].get(
        f"/v1/applications/{online_id}", headers=st.headers(resident)
    )
    assert mine.status_code == 200, mine.text
    subject = mine.json()["application"]["applicant"]["subject_id"]
    assert mine.json()["application"]["submitted_by"] == subject
    assert [e["actor"]["id"] for e in mine.json()["trail"]] == [subject, subject]
    # and a joint application (联办) at the window: its applicant sealed under the same subject
    for bundle in seed_bundles(effective_from=datetime.now(ZoneInfo("Asia/Shanghai")).date()):
        pub = await st.clients["intake"].post(
            "/v1/catalog/bundles", json=bundle.model_dump(mode="json"), headers=h(st, "admin")
        )
        assert pub.status_code in (201, 422), pub.text
    joint = await st.clients["intake"].post(
        "/v1/joint-applications",
        json={"bundle_code": "LB-001", "applicant": person},
        headers=h(st, "agent"),
    )
    assert joint.status_code == 201, joint.text
    joint_id = joint.json()["joint_case_id"]
    joint_view = await st.clients["intake"].get(
        f"/v1/joint-applications/{joint_id}", headers=h(st, "agent")
    )
    assert joint_view.json()["applicant"]["subject_id"] == subject
    assert joint_view.json()["applicant"]["phone"] == PHONE

    # notify asked intake for the contact and planned the receipt to the phone (this stack
    # gives notify no verification secret, so the receipt itself then fails: not our concern)
    async def receipt() -> Any:
        return await st.fetchval(
            "notify",
            "SELECT address FROM deliveries WHERE case_id = $1 AND recipient_kind = 'resident'"
            " AND template = 'resident_receipt'",
            case_id,
        )

    assert await eventually(receipt, what="the receipt planned") == PHONE
    # the contact read is on the record, for inspectors only
    reads = await st.clients["intake"].get(
        "/v1/personal-data/reads", params={"case_id": case_id}, headers=h(st, "inspector")
    )
    assert reads.status_code == 200, reads.text
    seen = {(r["reader_id"], r["reader_role"], r["endpoint"]) for r in reads.json()["items"]}
    assert ("notify", "service", "GET /internal/v1/contacts/{case_id}") in seen
    assert all(r["subject_id"].startswith("subj-") for r in reads.json()["items"])
    denied = await st.clients["intake"].get(
        "/v1/personal-data/reads", params={"case_id": case_id}, headers=h(st, "agent")
    )
    assert denied.status_code == 403
    # the search below finds what is there: notify's records hold the phone until the erasure
    assert PHONE in found_in(pg_dump(infra.database_url, st.schemas["notify"]))

    # the audit has the case in its log before the erasure
    async def logged(event_id: str) -> Any:
        r = await st.clients["audit"].get(
            "/v1/log/proof/inclusion", params={"event_id": event_id}, headers=h(st, "inspector")
        )
        return r.json() if r.status_code == 200 else None

    submitted_id = r.json()["events"][0]["event_id"]
    await eventually(lambda: logged(submitted_id), what="the submission in the audit log")
    # the signed tree before the erasure: the one after must extend it (consistency proof)
    before = await eventually(lambda: _checkpoint(st), what="a signed checkpoint")

    # a legal hold refuses the erasure whole, naming the case
    held = await st.clients["intake"].put(
        f"/v1/applications/{case_id}/legal-hold",
        json={"reason": "纪检监察 2026-17"},
        headers=h(st, "inspector"),
    )
    assert held.status_code == 200, held.text
    erase = {"id_number": ID_NUMBER, "legal_basis": BASIS}
    refused = await st.clients["intake"].post(
        "/v1/admin/personal-data/erasures", json=erase, headers=h(st, "admin")
    )
    assert refused.status_code == 409, refused.text
    assert case_id in refused.text and "legal hold" in refused.text
    core = st.apps["intake"].state.intake
    conn = await st.connect("intake")
    try:
        assert await core.subjects.subject_of(conn, ID_NUMBER) is not None  # nothing erased
    finally:
        await conn.close()
    not_admin = await st.clients["intake"].post(
        "/v1/admin/personal-data/erasures", json=erase, headers=h(st, "inspector")
    )
    assert not_admin.status_code == 403
    unsaid = await st.clients["intake"].delete(
        f"/v1/applications/{case_id}/legal-hold", headers=h(st, "inspector")
    )
    assert unsaid.status_code == 422 and unsaid.json()["detail"]["field"] == "reason"
    released = await st.clients["intake"].delete(
        f"/v1/applications/{case_id}/legal-hold",
        params={"reason": "纪检监察 2026-17 已结案"},
        headers=h(st, "inspector"),
    )
    assert released.status_code == 200, released.text
    # placing and lifting the hold are on the audit trail: who, when, why
    for ref, kind, why in (
        (held.json()["event_id"], b"intake.legal_hold_placed", "纪检监察 2026-17"),
        (released.json()["event_id"], b"intake.legal_hold_lifted", "纪检监察 2026-17 已结案"),
    ):
        proof = await eventually(lambda ref=ref: logged(ref), what=f"{kind!r} in the audit log")
        leaf = base64.b64decode(proof["leaf"])
        assert kind in leaf and why.encode() in leaf and PEOPLE["inspector"][0].encode() in leaf

    done = await st.clients["intake"].post(
        "/v1/admin/personal-data/erasures", json=erase, headers=h(st, "admin")
    )
    assert done.status_code == 201, done.text
    result = done.json()
    assert result["case_ids"] == [*sorted([case_id, online_id]), joint_id]
    assert result["subject_id"] == subject and result["documents_erased"] == 1
    erasure_event = result["events"][0]["event_id"]
    again = await st.clients["intake"].post(
        "/v1/admin/personal-data/erasures", json=erase, headers=h(st, "admin")
    )
    assert again.status_code == 404  # nobody left under that ID number

    # intake: the applicant is gone, the case's facts stay
    got = await st.clients["intake"].get(f"/v1/applications/{case_id}", headers=h(st, "inspector"))
    app = got.json()["application"]
    assert app["applicant"]["erased"] is True and "name" not in app["applicant"]
    assert app["item_code"] == "FP-002" and app["status"] == "accepted"
    joint_gone = await st.clients["intake"].get(
        f"/v1/joint-applications/{joint_id}", headers=h(st, "agent")
    )
    assert joint_gone.json()["applicant"] == {"erased": True, "subject_id": subject}
    assert joint_gone.json()["bundle_code"] == "LB-001"  # the joint case's facts stay
    gone = await st.clients["intake"].get(
        f"/v1/applications/{case_id}/documents", headers=h(st, "agent")
    )
    assert all(d["erased"] for d in gone.json()["documents"])

    # notify scrubbed its delivery records when the erasure event reached it (deliveries
    # planned later, from routing's events, never had the name or phone to begin with)
    async def scrubbed() -> bool:
        conn = await st.connect("notify")
        try:
            erased = await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE case_id = $1 AND body = '(erased)'",
                case_id,
            )
            holding = await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE case_id = $1 AND"
                " (address || subject || body || data::text || coalesce(last_error, ''))"
                " ~ $2",
                case_id,
                "|".join((NAME, PHONE, ID_NUMBER)),
            )
        finally:
            await conn.close()
        return int(erased) >= 1 and int(holding) == 0  # at least the receipt planned before

    await eventually(scrubbed, what="notify's deliveries scrubbed")

    # the audit logged the erasure (who, when, the legal basis) and the log verifies: the
    # erasure's inclusion proof against the signed checkpoint's root, and the whole log
    proof, root = await eventually(
        lambda: _proven(st, erasure_event), what="the erasure under a checkpoint"
    )
    leaf = base64.b64decode(proof["leaf"])
    assert b"intake.personal_data_erased" in leaf and BASIS.encode() in leaf
    assert PEOPLE["admin"][0].encode() in leaf
    verify_inclusion(
        leaf_hash(leaf),
        proof["leaf_index"],
        proof["tree_size"],
        [base64.b64decode(x) for x in proof["proof"]],
        root,
    )
    size1, root1 = before
    size2 = proof["tree_size"]
    consistency = await st.clients["audit"].get(
        "/v1/log/proof/consistency", params={"first": size1, "second": size2}
    )
    assert consistency.status_code == 200, consistency.text
    assert size2 > size1  # the erasure came after
    verify_consistency(
        size1,
        size2,
        [base64.b64decode(x) for x in consistency.json()["proof"]],
        root1,
        root,
    )
    full = await st.clients["audit"].get(
        "/v1/log/integrity", params={"mode": "full"}, headers=h(st, "inspector")
    )
    assert full.json()["ok"], full.text

    # the must-show: no plaintext anywhere
    topics = [
        st.settings["intake"].topic_intake,
        st.settings["routing"].topic_routing,
        st.settings["notify"].topic_notify,
    ]
    on_kafka = await topic_bytes(infra.bootstrap, topics)
    assert case_id.encode() in on_kafka  # the search sees the case's records
    assert joint_id.encode() in on_kafka  # and the joint case's
    assert found_in(on_kafka) == []
    for service, schema in st.schemas.items():
        dump = pg_dump(infra.database_url, schema)
        assert found_in(dump) == [], service

    db = tmp_path / "analytics.duckdb"
    built = subprocess.run(  # noqa: ASYNC221 (the operator's CLI, as an operator runs it)
        [
            sys.executable,
            "-m",
            "bianmin_tools",
            "replay",
            "analytics",
            "--bootstrap",
            infra.bootstrap,
            "--topic",
            ",".join(topics),
            "--db",
            str(db),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert found_in(db.read_bytes()) == []
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        everything = "".join(
            str(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables
        ).encode()
        facts = con.execute(
            "SELECT item_code, accepting_center_id FROM cases WHERE case_id = ?", [case_id]
        ).fetchall()
    finally:
        con.close()
    assert found_in(everything) == []
    assert facts == [("FP-002", "ruian.mayu.mabei")]  # the non-personal facts stay

    # the situation report (情况报告) of the accepting center, built as the audit's scheduler
    # builds it (its store replayed from the audit log, its figures and document): the cases
    # still count, and nothing of the person is in the store or the document
    work = tmp_path / "sitreport"
    store = await build_store(infra.database_url, st.schemas["audit"], work)
    con = open_store(store)
    try:
        (day,) = con.execute(  # the stack's clock: the day the case was handed in
            "SELECT submitted_date FROM cases WHERE case_id = ?", [case_id]
        ).fetchone() or (None,)
        assert day is not None, "the case is in the situation report's store"
        data = load(con, "ruian.mayu.mabei", day, day)
        html, _md = render(data, {})
    finally:
        con.close()
    assert int(data.kpis["received"]) == 2  # the window's case and the online one
    assert int(data.kpis["joint_received"]) == 1
    assert found_in(store.read_bytes()) == [] and found_in(html.encode()) == []

    logs = caplog.text.encode()
    assert case_id.encode() in logs  # the search sees the services' log lines of this case
    assert found_in(logs) == []


async def _checkpoint(st: Stack) -> tuple[int, bytes] | None:
    """(size, root hash) of the latest signed checkpoint (C2SP note: origin, size, root)."""
    lines = (await st.clients["audit"].get("/v1/log/checkpoint")).text.splitlines()
    if len(lines) < 3:
        return None
    return int(lines[1]), base64.b64decode(lines[2])


async def _proven(st: Stack, event_id: str) -> tuple[dict[str, Any], bytes] | None:
    """The event's inclusion proof in the latest signed checkpoint, with that checkpoint's
    root, once the checkpoint covers it."""
    signed = await _checkpoint(st)
    if signed is None:
        return None
    size, root = signed
    r = await st.clients["audit"].get(
        "/v1/log/proof/inclusion",
        params={"event_id": event_id, "tree_size": size},
        headers=h(st, "inspector"),
    )
    if r.status_code != 200:
        return None
    return r.json(), root
