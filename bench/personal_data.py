"""`personal_data.*`: what sealing the applicant (issue 15) costs per case.

1. `personal_data.seal_cpu_us_per_case`: CPU (process time) per case of what intake adds to
   a submission: unwrapping the subject's data key, sealing the six personal fields
   (AES-256-GCM) and the payload built from the sealed event; baseline: the payload built
   from the same event with the plain applicant, which intake did before (ratio: sealed /
   plain, in the same run).
2. `personal_data.submit_cpu_ms_per_case`: CPU per case of the whole submission route
   (`POST /v1/applications`, in-process intake through httpx's ASGI transport on the
   bench's PostgreSQL and Kafka: parse, decide, subject lookup or creation, seal, append,
   project), `BENCH_PERSONAL_DATA_CASES` (200) cases after 20 warm-up ones, half of them by
   returning residents; its p50 wall time is in the note. The sealing share of the
   route's CPU is figure 1 over figure 2.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx

from contracts.base import to_payload
from contracts.intake import Applicant, ApplicationSubmitted, seal_applicant
from devstack.topics import ensure_topics
from eventkit.auth import AuthSettings, TokenVerifier, generate_private_key, mint_token, public_pem
from eventkit.personal_data import LocalKeyManager, new_data_key, new_subject_id, subject_key
from intake.bootstrap import build
from intake.domain.id_number import check_digit
from intake.settings import Settings

from .harness import Result, Stack

MABEI = "ruian.mayu.mabei"


def _id(n: int) -> str:
    """A valid ID number per n: the birth date walks from 1950, the sequence after it."""
    born = date(1950, 1, 1) + timedelta(days=n % 20000)
    first17 = f"330381{born:%Y%m%d}{n // 20000 % 1000:03d}"
    return first17 + check_digit(first17)


def _applicant(n: int) -> Applicant:
    return Applicant(
        name="陈小芳",
        id_number=_id(n),
        phone="13957712345",
        household_no=f"330381-MB-{n % 10000:04d}",
        registered_community_id=MABEI,
        address="瑞安市马屿镇马北社区新街12号",
        email="chen@example.cn",
    )


def _event(applicant: Applicant) -> ApplicationSubmitted:
    return ApplicationSubmitted(
        case_id="case-" + uuid.uuid4().hex,
        item_code="FP-002",
        item_version=1,
        item_name_zh="再生育审批",
        category="family_planning",
        handling_tier="town",
        case_type="promised",
        statutory_limit_days=20,
        promised_limit_days=10,
        result_type="批复",
        agency_allowed=True,
        required_materials=(),
        applicant=applicant,
        registered_community_id=MABEI,
        materials_provided=(),
        accepting_center_id=MABEI,
        accepting_staff_id="bench.agent",
        channel="window",
        fee_standard_fen=0,
        fee_paid_fen=0,
        deposit_standard_fen=0,
        deposit_paid_fen=0,
        payment_receipt_no=None,
        submitted_at=datetime.now(UTC),
        submitted_by="bench.agent",
    )


def _seal_cpu(n: int) -> tuple[float, float]:
    """(sealed, plain) CPU microseconds per case."""
    km = LocalKeyManager([os.urandom(32)])
    subjects = [new_subject_id() for _ in range(64)]
    wrapped = {s: km.wrap(new_data_key(), s) for s in subjects}
    events = [_event(_applicant(i)) for i in range(n)]
    t0 = time.process_time()
    for evt in events:
        to_payload(evt)
    plain = time.process_time() - t0
    t0 = time.process_time()
    for i, evt in enumerate(events):
        s = subjects[i % len(subjects)]
        key = subject_key(km, s, wrapped[s])
        assert isinstance(evt.applicant, Applicant)
        sealed = evt.model_copy(
            update={"applicant": seal_applicant(key, evt.case_id, evt.applicant)}
        )
        to_payload(sealed)
    sealed_s = time.process_time() - t0
    return sealed_s / n * 1e6, plain / n * 1e6


def _body(n: int) -> dict[str, object]:
    return {
        "item_code": "FP-002",
        "applicant": _applicant(n).model_dump(exclude={"email"}),
        "materials_provided": [{"code": "APPLICATION_FORM", "form": "original"}],
        "accepting_center_id": MABEI,
        "accepting_staff_id": "bench.agent",
        "channel": "window",
        "fee_paid_fen": 0,
        "deposit_paid_fen": 300_000,
        "payment_receipt_no": "MB-2026-000123",
    }


async def _submit_cpu(s: Stack, cases: int) -> tuple[float, float]:
    """(CPU ms per case, p50 wall ms) of the submission route."""
    tag = uuid.uuid4().hex[:8]
    schema = f"bench_pd_{tag}"
    topics = {"intake": f"bench_pd_intake_{tag}", "routing": f"bench_pd_routing_{tag}"}
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
        consumer_group=f"bench-pd-{tag}",
        verification_secret=f"bench-pd-secret-{tag}-0123456789",  # type: ignore[arg-type]
        require_known_center=False,
        db_pool_min=1,
        db_pool_max=4,
    )
    app = build(settings, auth=TokenVerifier(AuthSettings(public_key=public_pem(key))))
    token = mint_token(
        key, sub="bench.agent", role="community_agent", org_id=MABEI, tier="community"
    )
    auth = {"Authorization": f"Bearer {token}"}
    walls: list[float] = []
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake", timeout=60
        ) as client:
            for i in range(20):
                r = await client.post("/v1/applications", json=_body(10**6 + i), headers=auth)
                assert r.status_code == 201, r.text
            cpu0 = time.process_time()
            for i in range(cases):
                n = i // 2  # every resident comes twice: a new subject, then a known one
                t0 = time.perf_counter()
                r = await client.post("/v1/applications", json=_body(n), headers=auth)
                walls.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 201, r.text
            cpu = time.process_time() - cpu0
    return cpu / cases * 1000, statistics.median(walls)


async def run(s: Stack) -> list[Result]:
    os.environ.setdefault("BIANMIN_DEVELOPMENT", "1")  # bench keys, no token issuer
    cases = int(os.environ.get("BENCH_PERSONAL_DATA_CASES", "200"))
    sealed_us, plain_us = await asyncio.to_thread(_seal_cpu, 5000)
    route_ms, p50_ms = await _submit_cpu(s, cases)
    return [
        Result(
            "personal_data.seal_cpu_us_per_case",
            sealed_us,
            "us",
            baseline=plain_us,
            note=(
                f"unwrap + seal 6 fields + payload: {sealed_us:.0f} us of CPU per case vs "
                f"{plain_us:.0f} us for the plain payload (5,000 cases)"
            ),
        ),
        Result(
            "personal_data.submit_cpu_ms_per_case",
            route_ms,
            "ms",
            note=(
                f"POST /v1/applications in-process, {cases} cases (half by returning "
                f"residents): {route_ms:.2f} ms CPU per case, p50 {p50_ms:.1f} ms wall; "
                f"sealing is {sealed_us / 1000 / route_ms:.1%} of the route's CPU"
            ),
        ),
    ]
