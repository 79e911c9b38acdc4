"""The access table (contracts.access) is complete and is what docs/ACCESS.md says.

Complete: it names every HTTP operation of intake, routing, notify and audit (as their
OpenAPI documents list them) and nothing else, and every action has a row for every role.
The integration test (tests/integration/access) holds the running services to it."""

from __future__ import annotations

import importlib
import logging
from collections import Counter
from pathlib import Path

import pytest

from contracts.access import ROLES, SCOPES, TABLE, all_cells, render_markdown

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[2] / "docs" / "ACCESS.md"
SERVICES = ("intake", "routing", "notify", "audit")
PROBES = {"/healthz", "/readyz"}


def operations(service: str) -> set[tuple[str, str, str]]:
    """Every operation of the service's app, from its OpenAPI document (nothing connects)."""
    logging.disable(logging.WARNING)  # audit warns that the test settings have no signing key
    try:
        app = importlib.import_module(f"{service}.bootstrap").build(
            importlib.import_module(f"{service}.settings").Settings()
        )
    finally:
        logging.disable(logging.NOTSET)
    return {
        (service, method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        if path not in PROBES
        for method in ops
    }


def test_the_doc_is_the_table() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/ACCESS.md is stale: python -m contracts.access > docs/ACCESS.md"
    )


def test_the_table_names_every_operation_of_the_four_services_and_no_other() -> None:
    served = set().union(*(operations(s) for s in SERVICES))
    tabled = [a.operation for a in TABLE]
    assert len(tabled) == len(set(tabled)), "an operation is in the table twice"
    assert served - set(tabled) == set(), "operations with no access rule"
    assert set(tabled) - served == set(), "rules for operations no service has"


def test_every_action_has_a_row_for_every_role_and_no_row_twice() -> None:
    ids = Counter(a.id for a in TABLE)
    assert [i for i, n in ids.items() if n > 1] == []
    for action in TABLE:
        assert {c.role for c in action.cells} == set(ROLES), action.id
        keys = [(c.role, c.scope) for c in action.cells]
        assert len(keys) == len(set(keys)), action.id
        for c in action.cells:
            assert c.scope in SCOPES, (action.id, c.scope)
            assert c.why.strip(), (action.id, c.role, c.scope)


def test_only_signed_in_callers_act_and_anonymous_is_never_refused_with_a_403() -> None:
    """No token is a 401 (sign in), never a 403; the public operations are reads, plus the
    witness's cosignature whose signature is its credential."""
    for action, cell in all_cells():
        if cell.role == "anonymous":
            assert cell.outcome in ("allow", "sign_in", "hidden"), action.id
            if cell.outcome == "allow" and action.method != "GET":
                assert action.id == "audit.cosign"
