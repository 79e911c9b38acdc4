"""`documents.upload_mb_per_s`: a 20 MB scan uploaded through intake's route, against writing
the same bytes straight to the store.

Intake runs in-process (its own lifespan, schema and topics on the bench's PostgreSQL and
Kafka; the org tree check switched off), reached through httpx's ASGI transport: the
figure is the route's own cost (the streamed multipart parse, sniffing, hashing, chunked
writes to PostgreSQL, the event appended) with no network. The baseline feeds the same
bytes, in the same 64 KiB pieces, to `PostgresDocumentStore`'s writer directly (hashing
and chunked writes only). Each of `BENCH_DOCUMENTS_FILES` (5) files has its own bytes
(nothing is deduplicated away); the ratio is upload / direct (1.0: the route costs nothing).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from devstack.topics import ensure_topics
from eventkit.auth import AuthSettings, TokenVerifier, generate_private_key, mint_token, public_pem
from intake.bootstrap import build
from intake.runtime import IntakeRuntime
from intake.settings import Settings

from .harness import Result, Stack

SIZE = 20 * 1024 * 1024
PIECE = 64 * 1024
MABEI = "ruian.mayu.mabei"


def _scan(path: Path, salt: int) -> None:
    """A PDF-headed file of SIZE bytes, different for each salt."""
    block = hashlib.sha256(f"scan-{salt}".encode()).digest() * (PIECE // 32)
    with path.open("wb") as f:
        f.write(b"%PDF-1.7\n")
        while f.tell() < SIZE:
            f.write(block)


def _application(salt: int) -> dict[str, object]:
    return {
        "item_code": "FP-002",
        "applicant": {
            "name": "陈小芳",
            "id_number": "330381199004151239",
            "phone": "13957712345",
            "household_no": f"330381-MB-{salt:04d}",
            "registered_community_id": MABEI,
            "address": "瑞安市马屿镇马北社区新街12号",
        },
        "materials_provided": [{"code": "APPLICATION_FORM", "form": "original"}],
        "accepting_center_id": MABEI,
        "accepting_staff_id": "bench.agent",
        "channel": "window",
        "fee_paid_fen": 0,
        "deposit_paid_fen": 300_000,
        "payment_receipt_no": "MB-2026-000123",
    }


async def run(s: Stack) -> list[Result]:
    os.environ.setdefault("BIANMIN_DEVELOPMENT", "1")  # bench keys, no token issuer
    files = int(os.environ.get("BENCH_DOCUMENTS_FILES", "5"))
    tag = uuid.uuid4().hex[:8]
    schema = f"bench_documents_{tag}"
    topics = {"intake": f"bench_docs_intake_{tag}", "routing": f"bench_docs_routing_{tag}"}
    await ensure_topics(s.bootstrap, list(topics.values()), partitions=1)
    conn = await asyncpg.connect(s.database_url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    key = generate_private_key("EdDSA")
    settings = Settings(
        database_url=s.database_url,
        database_schema=schema,
        kafka_bootstrap_servers=s.bootstrap,
        topic_intake=topics["intake"],
        topic_routing=topics["routing"],
        consumer_group=f"bench-documents-{tag}",
        verification_secret=f"bench-documents-secret-{tag}-0123456789",  # type: ignore[arg-type]
        require_known_center=False,
        db_pool_min=1,
        db_pool_max=4,
    )
    app = build(settings, auth=TokenVerifier(AuthSettings(public_key=public_pem(key))))
    token = mint_token(
        key, sub="bench.agent", role="community_agent", org_id=MABEI, tier="community"
    )
    auth = {"Authorization": f"Bearer {token}"}
    upload_s = direct_s = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as tmp:
        async with app.router.lifespan_context(app):
            core: IntakeRuntime = app.state.intake
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://intake", timeout=600
            ) as client:
                for i in range(files):
                    up, raw = Path(tmp) / f"up{i}.pdf", Path(tmp) / f"raw{i}.pdf"
                    _scan(up, 2 * i)
                    _scan(raw, 2 * i + 1)
                    r = await client.post("/v1/applications", json=_application(i), headers=auth)
                    assert r.status_code < 300, r.text
                    case_id = r.json()["case_id"]
                    with up.open("rb") as f:
                        t0 = time.perf_counter()
                        r = await client.post(
                            f"/v1/applications/{case_id}/documents",
                            params={"material_code": "ID_CARD"},
                            files=[("file", ("scan.pdf", f, "application/pdf"))],
                            headers=auth,
                        )
                        upload_s += time.perf_counter() - t0
                    assert r.status_code == 201, r.text
                    with raw.open("rb") as f:
                        t0 = time.perf_counter()
                        writer = await core.documents.writer()
                        while piece := f.read(PIECE):
                            await writer.write(piece)
                        await writer.finish("application/pdf")
                        direct_s += time.perf_counter() - t0
    mb = files * SIZE / 1e6
    return [
        Result(
            "documents.upload_mb_per_s",
            mb / upload_s,
            "MB/s",
            baseline=mb / direct_s,
            note=(
                f"{files} x {SIZE / 1e6:.0f} MB PDFs through POST .../documents (in-process, "
                f"ASGI) vs the same bytes straight to PostgresDocumentStore: "
                f"{mb / upload_s:.1f} vs {mb / direct_s:.1f} MB/s"
            ),
        )
    ]
