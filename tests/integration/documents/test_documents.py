"""Documents end to end on the real PostgreSQL and Kafka, with the four services in-process
(`tests/integration/access/stack.py`): upload -> `intake.document_attached` with the hash ->
the audit's Merkle leaf holds the hash -> download by who may read, refused to others; type and
size refusals change nothing; photo metadata stripped; erasure keeps the hash; a 20 MB upload
streams (the process's traced allocations stay far below the file's size)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import socket
import sys
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from PIL import Image

from contracts.limits import MAX_DOCUMENT_BYTES
from intake.documents.s3 import S3DocumentStore, blob_key
from tlog.hashing import leaf_hash

from ...polling import eventually
from ..access.stack import Stack, running_stack
from ..access.test_access_matrix import PEOPLE
from ..intake.support import second_child

pytestmark = pytest.mark.integration

MABEI = "ruian.mayu.mabei"
BUCKET = "city-documents"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@asynccontextmanager
async def s3_server() -> AsyncIterator[str]:
    """A real S3-compatible HTTP server (moto's, from PyPI) on a free port; its endpoint."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Path(sys.executable).with_name("moto_server")
    proc = await asyncio.create_subprocess_exec(
        str(server),
        "-H",
        "127.0.0.1",
        "-p",
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:

        async def up() -> bool:
            try:
                async with httpx.AsyncClient() as c:
                    return (await c.get(endpoint + "/")).status_code < 500
            except httpx.TransportError:
                return False

        await eventually(up, what="the S3 server to answer")
        session = get_session()
        async with session.create_client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ) as s3:
            await s3.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        proc.terminate()
        await proc.wait()


@pytest.fixture(scope="module", params=["postgres", "s3"])
async def st(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with AsyncExitStack() as stack:
        extra: dict[str, Any] = {"document_store": request.param}
        if request.param == "s3":
            endpoint = await stack.enter_async_context(s3_server())
            extra |= {
                "s3_endpoint_url": endpoint,
                "s3_bucket": BUCKET,
                "s3_access_key_id": "test",
                "s3_secret_access_key": "test",
            }
        workdir = Path(tmp_path_factory.mktemp("documents"))
        yield await stack.enter_async_context(running_stack(infra, workdir, extra))


def h(st: Stack, who: str) -> dict[str, str]:
    return st.headers(PEOPLE[who])


async def new_case(st: Stack) -> str:
    r = await st.clients["intake"].post(
        "/v1/applications", json=second_child(), headers=h(st, "agent")
    )
    assert r.status_code < 300, r.text
    case_id: str = r.json()["case_id"]
    return case_id


async def upload(
    st: Stack, case_id: str, files: list[Any], who: str = "agent", material: str = "ID_CARD"
) -> Any:
    return await st.clients["intake"].post(
        f"/v1/applications/{case_id}/documents",
        params={"material_code": material},
        files=files,
        headers=h(st, who),
        timeout=120,
    )


async def document_events(st: Stack, case_id: str) -> list[dict[str, Any]]:
    conn = await st.connect("intake")
    try:
        rows = await conn.fetch(
            "SELECT envelope FROM events WHERE stream_id = $1 ORDER BY stream_version", case_id
        )
    finally:
        await conn.close()
    envs = [orjson.loads(r["envelope"]) for r in rows]
    return [e for e in envs if e["event_type"] == "intake.document_attached"]


async def test_upload_puts_the_hash_in_the_event_and_the_audit_leaf(st: Stack) -> None:
    case_id = await new_case(st)
    r = await upload(st, case_id, [("file", ("身份证 正面.pdf", PDF, "image/png"))])
    assert r.status_code == 201, r.text
    doc = r.json()["documents"][0]
    sha = hashlib.sha256(PDF).hexdigest()
    assert doc["sha256"] == sha and doc["size"] == len(PDF)
    assert doc["content_type"] == "application/pdf", "judged by the bytes, not the client's type"

    [event] = await document_events(st, case_id)
    assert event["event_id"] == doc["event_id"]
    assert event["payload"] | {"document_id": None} == {
        "case_id": case_id,
        "document_id": None,
        "material_code": "ID_CARD",
        "sha256": sha,
        "size": len(PDF),
        "content_type": "application/pdf",
        "stage": "intake",
        "received_center_id": MABEI,
        "attached_by": PEOPLE["agent"][0],
    }
    assert b"%PDF" not in orjson.dumps(event) and "身份证" not in orjson.dumps(event).decode()

    async def leaf() -> dict[str, Any] | None:
        got = await st.clients["audit"].get(
            f"/v1/log/events/{doc['event_id']}", headers=h(st, "inspector")
        )
        return got.json() if got.status_code == 200 else None  # type: ignore[no-any-return]

    found = await eventually(leaf, what="the document's event in the audit log")
    raw = base64.b64decode(found["leaf"])
    assert sha.encode() in raw, "the document's hash is in the Merkle leaf"
    assert base64.b64decode(found["leaf_hash"]) == leaf_hash(raw)

    got = await st.clients["intake"].get(doc["download_url"], headers=h(st, "agent"))
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E8%BA%AB%E4%BB%BD%E8%AF%81" in got.headers["content-disposition"]


async def test_the_same_bytes_are_stored_once_and_attached_once(st: Stack) -> None:
    case_id = await new_case(st)
    body = PDF + case_id.encode()
    first = await upload(st, case_id, [("file", ("a.pdf", body, "application/pdf"))])
    again = await upload(st, case_id, [("file", ("a-again.pdf", body, "application/pdf"))])
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["documents"][0]["event_id"] is None, "a retry records nothing"
    other = await new_case(st)
    assert (await upload(st, other, [("file", ("b.pdf", body, "application/pdf"))])).is_success
    sha = hashlib.sha256(body).hexdigest()
    stored = "SELECT count(*) FROM document_blobs WHERE sha256 = $1"
    assert await st.fetchval("intake", stored, sha) == 1
    assert len(await document_events(st, case_id)) == 1


async def _footprint(st: Stack, case_id: str) -> tuple[int, int, int]:
    conn = await st.connect("intake")
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", case_id),
            await conn.fetchval("SELECT count(*) FROM document_chunks"),
            await conn.fetchval("SELECT count(*) FROM document_blobs"),
        )
    finally:
        await conn.close()


async def test_wrong_type_and_too_large_are_refused_naming_the_file_and_change_nothing(
    st: Stack,
) -> None:
    case_id = await new_case(st)
    before = await _footprint(st, case_id)

    r = await upload(
        st,
        case_id,
        [
            ("file", ("ok.pdf", PDF + b"1", "application/pdf")),
            ("file", ("合同.pdf", b"PK\x03\x04 a zip called pdf", "application/pdf")),
        ],
    )
    assert r.status_code == 415, r.text
    assert "合同.pdf" in r.json()["detail"]["reason"]

    big = io.BytesIO(b"%PDF-1.4\n" + b"\0" * (MAX_DOCUMENT_BYTES + 1))
    r = await upload(st, case_id, [("file", ("huge-scan.pdf", big, "application/pdf"))])
    assert r.status_code == 413, r.text
    assert "huge-scan.pdf" in r.json()["detail"]["reason"]

    pdf = [("file", ("x.pdf", PDF, "application/pdf"))]
    r = await upload(st, case_id, pdf, material="PASSPORT")
    assert r.status_code == 422 and r.json()["detail"]["field"] == "material_code"
    assert await _footprint(st, case_id) == before


async def test_photo_metadata_is_stripped_before_it_is_stored(st: Stack) -> None:
    case_id = await new_case(st)
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (27.0, 46.0, 12.5)
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buf, "JPEG", exif=exif.tobytes())
    assert b"PhoneMaker" in buf.getvalue()
    r = await upload(st, case_id, [("file", ("photo.jpg", buf.getvalue(), "image/jpeg"))])
    assert r.status_code == 201, r.text
    doc = r.json()["documents"][0]
    got = await st.clients["intake"].get(doc["download_url"], headers=h(st, "agent"))
    assert got.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in got.content and b"Exif\0\0" not in got.content
    assert hashlib.sha256(got.content).hexdigest() == doc["sha256"], "the hash is of what is kept"
    with Image.open(io.BytesIO(got.content)) as im:
        assert dict(im.getexif()) == {}


async def _assigned(st: Stack, case_id: str) -> None:
    async def ok() -> bool:
        got = await st.clients["intake"].get(
            f"/v1/applications/{case_id}", headers=h(st, "inspector")
        )
        progress = got.json()["progress"] or {}
        return bool(progress.get("assigned_to") == PEOPLE["officer"][0])

    await eventually(ok, what=f"routing to assign {case_id}")


async def test_who_reads_a_document_and_every_read_is_recorded(st: Stack) -> None:
    case_id = await new_case(st)
    r = await upload(st, case_id, [("file", ("hukou.pdf", PDF + b"r", "application/pdf"))])
    url = r.json()["documents"][0]["download_url"]
    await _assigned(st, case_id)
    allowed = ("agent", "officer", "officer_b", "resident_a", "inspector")
    refused = ("agent_other", "officer_other", "head_city", "head_mayu", "resident_b", "admin")
    for who in allowed:
        got = await st.clients["intake"].get(url, headers=h(st, who))
        assert got.status_code == 200, f"{who}: {got.status_code} {got.text}"
        assert got.content == PDF + b"r"
    for who in refused:
        got = await st.clients["intake"].get(url, headers=h(st, who))
        assert got.status_code == 403, f"{who}: {got.status_code} {got.text}"
        listed = await st.clients["intake"].get(
            f"/v1/applications/{case_id}/documents", headers=h(st, who)
        )
        assert listed.status_code == 403, f"{who}: {listed.status_code}"
    conn = await st.connect("intake")
    try:
        readers = await conn.fetch(
            "SELECT reader, role FROM document_reads WHERE case_id = $1 ORDER BY id", case_id
        )
    finally:
        await conn.close()
    recorded = [r["reader"] for r in readers]
    # a resident is recorded by their pseudonymous subject, never by the ID number (PIPL)
    assert recorded[3].startswith("subj-") and PEOPLE["resident_a"][0] not in recorded
    assert recorded[:3] + recorded[4:] == [PEOPLE[w][0] for w in allowed if w != "resident_a"]


async def test_erasing_the_bytes_keeps_the_hash(st: Stack) -> None:
    case_id = await new_case(st)
    body = PDF + b"erase me " + case_id.encode()
    r = await upload(st, case_id, [("file", ("erase.pdf", body, "application/pdf"))])
    doc = r.json()["documents"][0]
    store = st.apps["intake"].state.intake.documents
    assert await store.erase(doc["sha256"]) is True
    got = await st.clients["intake"].get(doc["download_url"], headers=h(st, "agent"))
    assert got.status_code == 410
    listed = await st.clients["intake"].get(
        f"/v1/applications/{case_id}/documents", headers=h(st, "agent")
    )
    [entry] = listed.json()["documents"]
    assert entry["erased"] is True and entry["sha256"] == doc["sha256"]
    [event] = await document_events(st, case_id)
    assert event["payload"]["sha256"] == doc["sha256"]
    left = await st.fetchval(
        "intake",
        "SELECT count(*) FROM document_chunks c JOIN document_blobs b"
        " ON b.chunks_key = c.chunks_key WHERE b.sha256 = $1",
        doc["sha256"],
    )
    assert left == 0
    if isinstance(store, S3DocumentStore):
        with pytest.raises(ClientError):
            await store.client.head_object(Bucket=BUCKET, Key=blob_key(doc["sha256"]))


async def test_a_20_mb_upload_streams_without_holding_the_file(st: Stack, tmp_path: Path) -> None:
    size = 20 * 1024 * 1024
    path = tmp_path / "scan-20mb.pdf"
    with path.open("wb") as f:
        f.write(b"%PDF-1.7\n")
        block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB, not compressible to nothing
        while f.tell() < size:
            f.write(block)
    case_id = await new_case(st)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with path.open("rb") as f:
            r = await upload(st, case_id, [("file", ("scan-20mb.pdf", f, "application/pdf"))])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 201, r.text
    doc = r.json()["documents"][0]
    assert doc["size"] == path.stat().st_size
    assert doc["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"\n20 MB upload: traced peak {peak / 1e6:.2f} MB for a {doc['size'] / 1e6:.1f} MB file")
    assert peak < size / 4, f"peak {peak} bytes while uploading {size}"
