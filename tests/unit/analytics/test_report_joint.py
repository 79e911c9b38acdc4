"""Joint cases (联办件) in the situation report's figures: one joint case accepted at a
community whose two members are decided at two tiers (the community and its town) counts
ONCE at its accepting center, and each member once under the office that decided it."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from analytics import warehouse
from analytics.report import render
from analytics.report.data import load
from contracts.joint import joint_on_time
from contracts.sitreports import ReportFigures

from .support import replay_file

pytestmark = pytest.mark.unit

CITY, TOWN, COMM = "jc", "jc.town", "jc.town.comm"


class _Log:
    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.versions: dict[str, int] = {}

    def add(
        self,
        event_type: str,
        stream: str,
        day: int,
        payload: dict[str, Any],
        *,
        org: str | None = None,
        tier: str | None = None,
    ) -> None:
        v = self.versions.get(stream, 0) + 1
        self.versions[stream] = v
        at = datetime(2026, 10, 12, 2, 0) + timedelta(days=day, minutes=len(self.lines))
        self.lines.append(
            orjson.dumps(
                {
                    "event_id": str(uuid.uuid4()),
                    "event_type": event_type,
                    "schema_version": 1,
                    "stream_id": stream,
                    "stream_version": v,
                    "occurred_at": at.isoformat() + "Z",
                    "producer": {"service": event_type.split(".")[0], "instance": "t"},
                    "actor": {"id": "u", "role": "staff", "org_id": org},
                    "org_id": org,
                    "tier": tier,
                    "correlation_id": str(uuid.uuid4()),
                    "causation_id": None,
                    "payload": payload,
                }
            )
        )


def _history(final_day: int) -> _Log:
    log = _Log()
    for unit, tier, parent in (
        (CITY, "city", None),
        (TOWN, "town", CITY),
        (COMM, "community", TOWN),
    ):
        log.add(
            "routing.org_unit_registered",
            f"org-{unit}",
            0,
            {"unit_id": unit, "name_zh": unit, "tier": tier, "kind": "center", "parent_id": parent},
        )
    # an ordinary case at the community, decided there
    log.add(
        "intake.application_submitted",
        "case-plain",
        0,
        {"item_code": "P1", "accepting_center_id": COMM, "handling_tier": "community"},
        org=COMM,
        tier="community",
    )
    log.add("intake.application_accepted", "case-plain", 0, {"accepting_center_id": COMM}, org=COMM)
    log.add(
        "routing.case_routed",
        "case-plain",
        0,
        {"handling_unit_id": COMM, "handling_tier": "community", "accepting_center_id": COMM},
        org=COMM,
        tier="community",
    )
    log.add(
        "routing.case_decided", "case-plain", 1, {"decision": "approve", "on_time": True}, org=COMM
    )
    # the joint case: accepted at the community, members decided at the community and the town
    joint = {"joint_case_id": "joint-1", "bundle_code": "B6", "accepting_center_id": COMM}
    log.add("intake.joint_application_submitted", "joint-1", 0, joint, org=COMM, tier="community")
    log.add(
        "intake.joint_application_accepted",
        "joint-1",
        0,
        joint
        | {
            "promised_completion_date": "2026-10-14",
            "members": [
                {"case_id": "case-m1", "item_code": "A", "item_version": 1},
                {"case_id": "case-m2", "item_code": "B", "item_version": 1},
            ],
        },
        org=COMM,
        tier="community",
    )
    for case, unit, tier in (("case-m1", COMM, "community"), ("case-m2", TOWN, "town")):
        log.add(
            "routing.case_routed",
            case,
            0,
            {"handling_unit_id": unit, "handling_tier": tier, "accepting_center_id": COMM},
            org=unit,
            tier=tier,
        )
    log.add(
        "routing.case_decided", "case-m1", 1, {"decision": "approve", "on_time": True}, org=COMM
    )
    log.add(
        "routing.joint_result_ready", "joint-r1", 1, {"joint_case_id": "joint-1", "final": False}
    )
    log.add(
        "routing.case_decided",
        "case-m2",
        final_day,
        {"decision": "approve", "on_time": True},
        org=TOWN,
    )
    log.add(
        "routing.joint_result_ready",
        "joint-r1",
        final_day,
        {"joint_case_id": "joint-1", "final": True},
    )
    log.add(
        "intake.joint_result_delivered",
        "joint-1",
        final_day,
        {"joint_case_id": "joint-1"},
        org=COMM,
    )
    return log


def _store(tmp: Path, final_day: int) -> Path:
    log = _history(final_day)
    src = tmp / f"h{final_day}.ndjson"
    src.write_bytes(b"".join(line + b"\n" for line in log.lines))
    db = tmp / f"a{final_day}.duckdb"
    replay_file(src, db)
    return db


def _figures(db: Path, unit: str) -> tuple[ReportFigures, Any]:
    con = warehouse.open_for_report(db)
    try:
        data = load(con, unit, date(2026, 10, 12), date(2026, 10, 18))
    finally:
        con.close()
    k = data.kpis
    return ReportFigures(**{f: int(k.get(f) or 0) for f in ReportFigures.model_fields}), data


def test_a_joint_case_counts_once_at_its_center_and_each_member_at_its_office(
    tmp_path: Path,
) -> None:
    db = _store(tmp_path, final_day=1)
    comm, _ = _figures(db, COMM)
    town, data = _figures(db, TOWN)
    city, _ = _figures(db, CITY)
    # the community: the plain case and its own member decided; the joint case once
    assert (comm.received, comm.completed) == (1, 2)
    assert (comm.joint_received, comm.joint_completed, comm.joint_on_time) == (1, 1, 1)
    # the town's subtree: every member decided once (m1 below it, m2 its own), never received;
    # the joint case still once, not once per member or per tier
    assert (town.received, town.completed) == (1, 3)
    assert (town.joint_received, town.joint_completed, town.joint_on_time) == (1, 1, 1)
    assert city == town
    # the comparison rows: the member decided at the town counts under the town's own hall
    rows = {c["unit_id"]: c for c in data.centers}
    assert (rows[TOWN]["completed"], rows[COMM]["completed"]) == (1, 2)
    assert data.kpis["joint_on_time_rate"] == 1.0
    html, md = render(data, {})
    assert "联办件" in html and "联办件" in md


def test_a_joint_case_whose_last_result_came_after_its_promise_is_late(tmp_path: Path) -> None:
    db = _store(tmp_path, final_day=4)  # 2026-10-16, promised 2026-10-14
    town, _ = _figures(db, TOWN)
    assert (town.joint_received, town.joint_completed, town.joint_on_time) == (1, 1, 0)
    con = warehouse.open_for_report(db)
    try:
        row = con.execute("SELECT members, on_time FROM joint_cases").fetchall()
    finally:
        con.close()
    assert row == [(2, False)]


def test_the_joint_on_time_rule_is_by_the_promised_day() -> None:
    assert joint_on_time(date(2026, 10, 14), date(2026, 10, 14))
    assert not joint_on_time(date(2026, 10, 15), date(2026, 10, 14))


def test_old_figures_without_joint_counts_still_parse() -> None:
    old = {f: 1 for f in ReportFigures.model_fields if not f.startswith("joint_")}
    fig = ReportFigures.model_validate(old)
    assert (fig.joint_received, fig.joint_completed, fig.joint_on_time) == (0, 0, 0)
