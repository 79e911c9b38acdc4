"""Shared builders for the intake unit tests: clock, seeded catalog, context, commands."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from contracts.intake import Applicant, CatalogItemVersion, ProvidedMaterial
from contracts.workdays import OfficeHours
from eventkit.envelope import Actor
from eventkit.testing import Decider, fold
from intake.domain import application, catalog
from intake.domain.application import IntakeContext
from intake.domain.application_commands import SubmitApplication
from intake.domain.catalog import Catalog
from intake.domain.errors import DomainError
from intake.domain.id_number import check_digit
from intake.seed_catalog import seed_commands

SH = ZoneInfo("Asia/Shanghai")
SECRET = b"unit-test-secret-0123456789"
SEEDED_AT = datetime(2025, 12, 31, 9, 0, tzinfo=SH)


def at(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    """A moment in Asia/Shanghai local time."""
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def seeded_catalog() -> Catalog:
    state = catalog.initial_state()
    for cmd in seed_commands():
        state = fold(catalog.evolve, state, catalog.decide(cmd, state, SEEDED_AT))
    return state


SEEDED = seeded_catalog()


def context(cat: Catalog = SEEDED, office_hours: OfficeHours | None = None) -> IntakeContext:
    """The decider's context; the accepting center keeps the standard hours unless given."""
    return IntakeContext(
        catalog=cat,
        verification_secret=SECRET,
        office_hours=office_hours or OfficeHours.standard(),
    )


def case_decider(ctx: IntakeContext | None = None) -> Decider:
    return Decider(
        partial(application.decide, ctx=ctx or context()),
        application.evolve,
        application.initial_state,
    )


def catalog_decider() -> Decider:
    return Decider(catalog.decide, catalog.evolve, catalog.initial_state)


def case_id(n: int) -> str:
    return f"case-{n:032x}"


def valid_id(first17: str) -> str:
    return first17 + check_digit(first17)


# Actors
AGENT_MABEI = Actor(id="staff.mabei.huangmeiyan", role="community_agent", org_id="ruian.mayu.mabei")
AGENT_DONGSHAN = Actor(id="staff.dongshan.chen", role="community_agent", org_id="ruian.dongshan")
AGENT_YUCAI = Actor(id="staff.yucai.wang", role="community_agent", org_id="ruian.anyang.yucai")
OFFICER = Actor(id="officer.mayu.fp.a", role="officer", org_id="ruian.mayu")
RESIDENT = Actor(id="resident.1", role="resident")
ROUTING = Actor(id="routing", role="system")
ADMIN = Actor(id="admin.1", role="admin", org_id="ruian")

ID_MABEI = valid_id("33038119900415123")  # 瑞安 330381, born 1990-04-15
ID_BEIJI = valid_id("33038119560302321")  # born 1956-03-02


def applicant(**overrides: Any) -> Applicant:
    data: dict[str, Any] = {
        "name": "陈小芳",
        "id_number": ID_MABEI,
        "phone": "13957712345",
        "household_no": "330381-MB-0421",
        "registered_community_id": "ruian.mayu.mabei",
        "address": "瑞安市马屿镇马北社区新街12号",
    }
    data.update(overrides)
    return Applicant(**data)


def item(code: str) -> CatalogItemVersion:
    found = SEEDED.version_in_force(code, at(2026, 9, 21))
    assert found is not None
    return found


def all_materials(code: str, *, skip: tuple[str, ...] = ()) -> tuple[ProvidedMaterial, ...]:
    """Everything the item asks for (excluding may-supply-later ones), in the form and
    number of copies asked."""
    return tuple(
        ProvidedMaterial(code=m.code, form=m.form, copies=m.copies)
        for m in item(code).materials
        if not m.may_supply_later and m.code not in skip
    )


def submit(**overrides: Any) -> SubmitApplication:
    """A complete second-child application handed in at 马北社区 with the deposit."""
    data: dict[str, Any] = {
        "case_id": case_id(1),
        "item_code": "FP-002",
        "applicant": applicant(),
        "materials_provided": all_materials("FP-002"),
        "accepting_center_id": "ruian.mayu.mabei",
        "accepting_staff_id": AGENT_MABEI.id,
        "channel": "window",
        "fee_paid_fen": 0,
        "deposit_paid_fen": 300_000,
        "payment_receipt_no": "MB-2026-000123",
        "actor": AGENT_MABEI,
    }
    data.update(overrides)
    return SubmitApplication(**data)


def pm(code: str, form: str = "original", copies: int = 1) -> ProvidedMaterial:
    return ProvidedMaterial.model_validate({"code": code, "form": form, "copies": copies})


def field_of(error: Exception) -> str:
    """The field a refusal names (and proof that it is a typed domain refusal)."""
    assert isinstance(error, DomainError), repr(error)
    return error.field
