"""Notify asks intake for a sealed applicant contact once per case, not once per message:
the opened contact is kept for a short while, keyed by the case and its sealed fields as
the directory holds them. An erased case (410) has no contact; after notify read the
erasure its directory row is no longer sealed, so the kept contact is never used again.
(A unit test of the adapter: intake's answers come from an httpx mock transport.)"""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from eventkit.personal_data import SEALED_PREFIX
from notify.directory.contacts import IntakeContacts
from notify.domain.model import CaseInfo, Directory

pytestmark = pytest.mark.unit

CASE = "case-" + "a" * 32
SEALED = CaseInfo(
    CASE,
    applicant_name=SEALED_PREFIX + "bmFtZQ",
    phone=SEALED_PREFIX + "cGhvbmU",
    email=None,
)


def _intake(answers: list[int]) -> tuple[httpx.MockTransport, list[str]]:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        status = answers.pop(0) if answers else 200
        if status != 200:
            return httpx.Response(status)
        return httpx.Response(200, json={"name": "陈小芳", "phone": "13800000001"})

    return httpx.MockTransport(answer), asked


async def _opened(contacts: IntakeContacts, case: CaseInfo) -> CaseInfo:
    return (await contacts.opened(Directory(cases={case.case_id: case}))).case(case.case_id)


async def test_a_cases_next_messages_use_the_contact_opened_for_its_first() -> None:
    transport, asked = _intake([])
    contacts = IntakeContacts("http://intake", b"s", transport=transport)
    first = await _opened(contacts, SEALED)
    again = await _opened(contacts, SEALED)
    assert (first.applicant_name, first.phone) == ("陈小芳", "13800000001")
    assert again == first
    assert asked == [f"/internal/v1/contacts/{CASE}"] and contacts.asked == 1
    await contacts.close()


async def test_a_changed_sealed_field_or_no_cache_asks_again() -> None:
    transport, asked = _intake([])
    contacts = IntakeContacts("http://intake", b"s", transport=transport)
    await _opened(contacts, SEALED)
    resealed = dataclasses.replace(SEALED, phone=SEALED_PREFIX + "b3RoZXI")
    await _opened(contacts, resealed)
    assert len(asked) == 2
    uncached = IntakeContacts("http://intake", b"s", transport=transport, cache_seconds=0)
    await _opened(uncached, SEALED)
    await _opened(uncached, SEALED)
    assert len(asked) == 4 and uncached.asked == 2
    await contacts.close()
    await uncached.close()


async def test_an_erased_applicant_has_no_contact_and_a_scrubbed_row_is_not_opened() -> None:
    transport, asked = _intake([410])
    contacts = IntakeContacts("http://intake", b"s", transport=transport)
    erased = await _opened(contacts, SEALED)
    assert (erased.applicant_name, erased.phone, erased.email) == ("申请人", None, None)
    # notify read the erasure: its row is scrubbed, nothing sealed is left to open
    scrubbed = dataclasses.replace(SEALED, applicant_name="申请人", phone=None)
    assert await _opened(contacts, scrubbed) == scrubbed
    assert len(asked) == 1
    await contacts.close()
