"""A 联办 member held by routing (waiting its turn, or stopped by another member's refusal)
is shown as such in the officer's queue: no countdown, no 超期, no 办理中 — it cannot be
decided, so it must not look like work waiting on the officer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from contracts.workdays import SHANGHAI
from portal.http.officer import queue_rows
from portal.web import make_templates

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 31, 18, tzinfo=SHANGHAI)


def _item(case_id: str, joint_hold: str | None) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "item_code": "OT-001",
        "item_name_zh": "电动自行车登记上牌",
        "case_type": "promised",
        "status": "open",
        "handling_unit_id": "ruian.anyang.yucai",
        "accepting_center_id": "ruian.anyang.yucai",
        "assigned_to": "yucai.officer",
        "post_id": None,
        "due_date": "2026-10-09",
        "overdue": False,
        "warning_issued": False,
        "escalation_level": 0,
        "joint_hold": joint_hold,
    }


def _row_of(html: str, case_id: str) -> str:
    return html.split(f'data-case="{case_id}"')[1].split("</tr>")[0]


def test_a_stopped_member_shows_its_hold_and_no_countdown() -> None:
    # given a stopped member and an ordinary open case, both past the same due date
    rows = queue_rows(
        [_item("case-stopped", "stopped_by_refusal"), _item("case-open", None)], {}, NOW
    )
    # when the queue table is rendered
    html = (
        make_templates()
        .env.get_template("officer/_queue_table.html")
        .render(rows=rows, queue_status_zh={"open": "办理中"}, case_type_zh={})
    )
    # then the held one says why it waits, without a countdown; the open one counts down
    held, running = _row_of(html, "case-stopped"), _row_of(html, "case-open")
    assert "联办：因关联事项不予许可而终止" in held
    assert "办理中" not in held and "countdown" not in held
    assert rows[0]["left"] is None
    assert "办理中" in running and "countdown" in running and rows[1]["left"] < 0
