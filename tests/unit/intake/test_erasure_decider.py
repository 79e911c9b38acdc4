"""The erasure decision (`intake.domain.erasure`), pure: a legal hold refuses it whole, the
legal basis is required, it happens once, and the event records who, when and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.intake import PersonalDataErased
from eventkit.envelope import Actor
from intake.domain.erasure import ErasePersonalData, LegalHold, decide, evolve, initial_state
from intake.domain.errors import AlreadyExists, InvalidField

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
ADMIN = Actor(id="admin.ops", role="admin", org_id="ruian")
SUBJECT = "subj-" + "ab" * 16
CASES = ("case-" + "1" * 32, "case-" + "2" * 32)


def cmd(**kw: object) -> ErasePersonalData:
    base: dict[str, object] = {
        "erasure_id": "erasure-" + "f" * 32,
        "subject_id": SUBJECT,
        "case_ids": CASES,
        "held_case_ids": (),
        "legal_basis": "《个人信息保护法》第四十七条",
        "actor": ADMIN,
    }
    base.update(kw)
    return ErasePersonalData(**base)  # type: ignore[arg-type]


def test_the_erasure_is_recorded_with_who_when_and_why() -> None:
    [evt] = decide(cmd(), initial_state(), NOW)
    assert isinstance(evt, PersonalDataErased)
    assert evt.subject_id == SUBJECT and evt.case_ids == CASES
    assert evt.erased_by == "admin.ops" and evt.erased_at == NOW
    assert evt.legal_basis == "《个人信息保护法》第四十七条"


def test_a_legal_hold_refuses_it_naming_the_held_cases() -> None:
    with pytest.raises(LegalHold) as caught:
        decide(cmd(held_case_ids=(CASES[1],)), initial_state(), NOW)
    assert CASES[1] in caught.value.reason and CASES[0] not in caught.value.reason


def test_a_blank_legal_basis_is_refused() -> None:
    with pytest.raises(InvalidField) as caught:
        decide(cmd(legal_basis="  "), initial_state(), NOW)
    assert caught.value.field == "legal_basis"


def test_an_erasure_happens_once() -> None:
    [evt] = decide(cmd(), initial_state(), NOW)
    with pytest.raises(AlreadyExists):
        decide(cmd(), evolve(initial_state(), evt), NOW)
