"""`Idempotency-Key` on intake's POSTs: a retry returns the first result and writes nothing."""

from __future__ import annotations

import asyncio

import pytest

from .support import AGENT_MABEI, OFFICER_MABEI, Harness, second_child

pytestmark = pytest.mark.integration


async def totals(h: Harness) -> tuple[int, int, int]:
    return (
        await h.count("SELECT count(*) FROM events WHERE stream_id LIKE 'case-%'"),
        await h.count("SELECT count(*) FROM applications"),
        await h.count("SELECT count(*) FROM idempotency_keys"),
    )


async def test_a_retried_submission_returns_the_first_result_and_writes_nothing(
    intake: Harness,
) -> None:
    key = {"Idempotency-Key": "7f9c2a0e-6b1d-4c55-9d11-0a1b2c3d4e5f"}
    first = await intake.submit(AGENT_MABEI, second_child(), **key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    after_first = await totals(intake)

    # the same request again (e.g. the window PC timed out): same answer, byte for byte
    again = await intake.submit(AGENT_MABEI, second_child(), **key)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert await totals(intake) == after_first
    assert len(await intake.stream(first.json()["case_id"])) == 2

    # the same key for a different request: refused, naming the header; nothing written
    other = await intake.submit(AGENT_MABEI, second_child(payment_receipt_no="MB-OTHER"), **key)
    assert other.status_code == 422
    assert other.json()["detail"]["field"] == "Idempotency-Key"
    assert await totals(intake) == after_first

    # keys belong to the caller: another staff member's identical key is another request
    officer = await intake.submit(OFFICER_MABEI, second_child(), **key)
    assert officer.status_code == 201
    assert officer.json()["case_id"] != first.json()["case_id"]


async def test_concurrent_copies_of_one_request_register_one_case(intake: Harness) -> None:
    key = {"Idempotency-Key": "concurrent-copies-1"}
    before = await totals(intake)
    answers = await asyncio.gather(
        *(intake.submit(AGENT_MABEI, second_child(), **key) for _ in range(6))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["case_id"] for a in answers}) == 1
    assert sum(1 for a in answers if "idempotent-replayed" not in a.headers) == 1
    events, rows, keys = await totals(intake)
    assert (events, rows, keys) == (before[0] + 2, before[1] + 1, before[2] + 1)


async def test_a_retried_supplement_is_not_recorded_twice(intake: Harness) -> None:
    r = await intake.submit(AGENT_MABEI, second_child(materials_provided=[]))
    case_id = r.json()["case_id"]
    headers = {**intake.keys.headers(AGENT_MABEI), "Idempotency-Key": f"supp-{case_id}"}
    body = {"materials": [{"code": "ID_CARD", "form": "copy"}]}
    url = f"/v1/applications/{case_id}/materials"
    first = await intake.client.post(url, json=body, headers=headers)
    again = await intake.client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    kinds = [e["event_type"] for e in await intake.stream(case_id)]
    assert kinds.count("intake.materials_supplemented") == 1


async def test_a_refused_request_is_not_remembered_and_an_invalid_key_is_refused(
    intake: Harness,
) -> None:
    key = {"Idempotency-Key": "fix-and-retry-1"}
    bad = await intake.submit(AGENT_MABEI, second_child(deposit_paid_fen=0), **key)
    assert bad.status_code == 422
    assert bad.json()["detail"]["field"] == "deposit_paid_fen"
    # a refusal changed nothing, so the corrected request may use the same key
    fixed = await intake.submit(AGENT_MABEI, second_child(), **key)
    assert fixed.status_code == 201

    spaced = await intake.submit(AGENT_MABEI, second_child(), **{"Idempotency-Key": "a b"})
    assert spaced.status_code == 422
    assert spaced.json()["detail"]["field"] == "Idempotency-Key"
