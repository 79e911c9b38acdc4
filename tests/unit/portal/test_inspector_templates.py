"""The inspector's anomaly list shows each flag with the rule that raised it: its id, its
description and severity from audit's rules, the case and a link to the event's proof."""

from __future__ import annotations

import pytest

from portal.http.inspector import SEVERITY_ZH
from portal.web import make_templates

pytestmark = pytest.mark.unit

RULES = {
    "fee_differs_from_standard": {
        "id": "fee_differs_from_standard",
        "kind": "standard_mismatch",
        "description": "Fee or deposit charged differs from the published standard in force",
        "severity": "serious",
        "enabled": True,
    },
    "case_overdue": {
        "id": "case_overdue",
        "kind": "deadline",
        "description": "The case was not decided within its promised limit",
        "severity": "warning",
        "enabled": True,
    },
}


def test_a_flag_is_shown_with_its_rule() -> None:
    env = make_templates().env
    html = env.get_template("inspector/anomalies.html").render(
        person=None,
        csrf_token="t",
        my_audiences=[],
        items=[
            {
                "seq": 1,
                "rule": "fee_differs_from_standard",
                "case": "case-7",
                "event_id": "7c0c7a1e-0000-4000-8000-000000000001",
                "details": {"fee_charged_fen": 5000, "standard_fen": 0},
                "flagged_at": "2026-12-07T10:00:00+08:00",
            }
        ],
        next_after=None,
        rule=None,
        rules=RULES,
        severity_zh=SEVERITY_ZH,
    )
    row = html.split("<tbody>")[2].split("</tbody>")[0]  # the flags' table (the rules' is first)
    assert "fee_differs_from_standard" in row
    assert "Fee or deposit charged differs from the published standard in force" in row
    assert '<span class="tag bad">严重</span>' in row
    assert 'href="/inspector/cases/case-7"' in row
    assert 'href="/inspector/events/7c0c7a1e-0000-4000-8000-000000000001"' in row
    assert "case_overdue" not in row  # only the rule that raised it
