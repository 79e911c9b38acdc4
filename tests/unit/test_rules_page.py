"""docs/RULES.md names, for each institution of the centers, the code that holds its rule:
every path and `path::symbol` it names must exist, and every audit anomaly rule must be on
the page (a rename or a new rule that leaves the page behind fails here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "RULES.md"
RULES_JSON = ROOT / "services/audit/src/audit/anomaly/rules.json"
REF = re.compile(r"`((?:libs|services|tests|tools|docs)/[^`:\s]+)(?:::([A-Za-z_][A-Za-z0-9_]*))?`")


def _refs() -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in REF.finditer(PAGE.read_text(encoding="utf-8"))]


def _defines(source: str, symbol: str) -> bool:
    return bool(
        re.search(
            rf"^\s*(async\s+def|def|class)\s+{symbol}\b|^{symbol}\s*[:=]", source, re.MULTILINE
        )
    )


def test_the_page_names_code_and_every_name_exists() -> None:
    refs = _refs()
    assert len(refs) >= 60, "the page should name the code of every institution"
    missing = [path for path, _ in refs if not (ROOT / path).exists()]
    assert missing == [], f"paths on docs/RULES.md that do not exist: {missing}"
    undefined = [
        f"{path}::{symbol}"
        for path, symbol in refs
        if symbol and not _defines((ROOT / path).read_text(encoding="utf-8"), symbol)
    ]
    assert undefined == [], f"symbols on docs/RULES.md that are not defined: {undefined}"


def test_every_anomaly_rule_is_on_the_page_and_every_named_rule_exists() -> None:
    data = json.loads(RULES_JSON.read_text(encoding="utf-8"))
    rules = data["rules"] if isinstance(data, dict) else data
    ids = {r["id"] for r in rules}
    kinds = {r["kind"] for r in rules}
    page = PAGE.read_text(encoding="utf-8")
    assert {i for i in ids if f"`{i}`" not in page} == set()
    named: set[str] = set()
    for line in page.splitlines():
        if line.startswith("- **Anomaly:**"):
            named |= set(re.findall(r"`([a-z_]+)`", line))
    assert named, "the page names anomaly rules"
    assert named - ids - kinds == set()
