"""The 500s of issue 12 at intake's edge: each is now a 4xx naming the field, and nothing is
written (every one of them rolled back before, but answered 500)."""

from __future__ import annotations

from typing import Any

import pytest

from .support import AGENT_MABEI, OFFICER_MABEI, Harness, applicant, second_child

pytestmark = pytest.mark.integration

OT001 = [
    {"code": "ID_CARD", "form": "copy"},
    {"code": "PURCHASE_INVOICE", "form": "original"},
    {"code": "CERT_OF_CONFORMITY", "form": "original"},
    {"code": "VEHICLE", "form": "original"},
]


async def events_total(intake: Harness) -> int:
    return await intake.count("SELECT count(*) FROM events")


def refused(r: Any, status: int, field: str) -> str:
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, dict) and detail["field"] == field, detail
    assert detail["reason"]
    return str(detail["reason"])


async def test_a_nul_character_in_any_text_field_is_refused_naming_it(intake: Harness) -> None:
    before = await events_total(intake)
    r = await intake.submit(AGENT_MABEI, second_child(applicant=applicant(name="陈\u0000小芳")))
    assert "U+0000" in refused(r, 422, "applicant.name")
    r = await intake.submit(AGENT_MABEI, second_child(payment_receipt_no="MB-\u0000-1"))
    refused(r, 422, "payment_receipt_no")
    assert await events_total(intake) == before


async def test_an_integer_beyond_64_bits_is_refused_naming_it(intake: Harness) -> None:
    before = await events_total(intake)
    r = await intake.submit(AGENT_MABEI, second_child(deposit_paid_fen=765103400436961398939975680))
    assert "64 bits" in refused(r, 422, "deposit_paid_fen")
    r = await intake.client.post(
        "/v1/applications/case-0123/evaluation",
        json={"score": 765103400436961398939975680},
        headers={**intake.keys.resident(), "Idempotency-Key": "k-big-score"},
    )
    refused(r, 422, "score")
    assert await events_total(intake) == before


async def test_a_fee_override_beyond_what_the_column_holds_is_refused(intake: Harness) -> None:
    """intake's `applications.fee_paid_fen` is an int32: 3,000,000,000 fen was a 500."""
    before = await events_total(intake)
    body = {
        "item_code": "OT-001",
        "applicant": applicant(),
        "materials_provided": OT001,
        "fee_paid_fen": 3_000_000_000,
        "payment_receipt_no": "MB-FEE-0002",
        "fee_override": {"reason": "录入错误测试"},
    }
    r = await intake.submit(OFFICER_MABEI, body)
    refused(r, 422, "fee_paid_fen")
    assert await events_total(intake) == before


async def test_offset_beyond_64_bits_is_refused_naming_it(intake: Harness) -> None:
    h = intake.keys.headers(AGENT_MABEI)
    r = await intake.client.get("/v1/applications", params={"offset": 2**63}, headers=h)
    refused(r, 422, "offset")
    ok = await intake.client.get("/v1/applications", params={"offset": 2**31 - 1}, headers=h)
    assert ok.status_code == 200 and ok.json()["items"] == []


async def test_a_token_whose_role_is_a_list_is_a_401(intake: Harness) -> None:
    token = intake.keys.token("agent-x", "community_agent", "ruian.mayu.mabei", "community")
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": ["admin"]}, intake.keys.private, algorithm="EdDSA")
    r = await intake.client.get("/v1/applications", headers={"Authorization": f"Bearer {forged}"})
    assert "role" in refused(r, 401, "Authorization")


async def test_errors_of_the_router_have_the_one_shape(intake: Harness) -> None:
    r = await intake.client.get("/v1/nowhere")
    refused(r, 404, "path")
    r = await intake.client.delete("/v1/applications")
    refused(r, 405, "method")
    assert r.headers["allow"] == "GET, POST"


async def test_a_body_over_the_limit_is_a_413_before_parsing(intake: Harness) -> None:
    limit = intake.settings.max_body_bytes
    r = await intake.client.post(
        "/v1/applications",
        content=b"[" + b"0," * (limit // 2) + b"0]",
        headers={**intake.keys.headers(AGENT_MABEI), "Content-Type": "application/json"},
    )
    refused(r, 413, "(body)")
