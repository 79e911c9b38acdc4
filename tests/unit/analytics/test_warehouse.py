"""The analytics store built from a file: tables right, deterministic, atomic, filtered."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from analytics.errors import BadInput
from analytics.filters import build_filter
from contracts.workdays import SHANGHAI, working_days_between

from .support import query, replay_file, small_history, tables, write_ndjson

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("wh")
    src = write_ndjson(d / "history.ndjson", small_history())
    db = d / "analytics.duckdb"
    replay_file(src, db)
    return src, db


def test_every_event_once_and_in_order(built: tuple[Path, Path]) -> None:
    _, db = built
    history = small_history()
    rows = query(db, "SELECT seq, event_id::VARCHAR, event_type, producer FROM events ORDER BY seq")
    assert [r[0] for r in rows] == list(range(1, len(history.events) + 1))
    assert sorted(r[1] for r in rows) == sorted(e.envelope["event_id"] for e in history.events)
    # the stored order is the order of `seq` (a plain SELECT returns it)
    assert [r[0] for r in query(db, "SELECT seq FROM events")] == [r[0] for r in rows]


def test_cases_agree_with_the_events_folded_by_hand(built: tuple[Path, Path]) -> None:
    _, db = built
    expected: dict[str, dict] = defaultdict(lambda: {"handoffs": 0, "corrections": 0})
    for e in small_history().events:
        if not e.stream_id.startswith("case-"):
            continue
        c, p = expected[e.stream_id], e.envelope["payload"]
        match e.event_type:
            case "intake.application_submitted":
                c["submitted"] = e.occurred_at
                c["item"] = p["item_code"]
                c["center"] = p["accepting_center_id"]
            case "intake.materials_missing_notified":
                c["notified"] = True
            case "intake.application_accepted":
                c["accepted"] = e.occurred_at
            case "routing.case_routed":
                c["unit"] = p["handling_unit_id"]
            case "routing.case_handed_off":
                c["handoffs"] += 1
            case "routing.correction_requested":
                c["corrections"] += 1
            case "routing.case_decided":
                c["decided"], c["on_time"] = e.occurred_at, p["on_time"]
            case "intake.service_evaluated":
                c["score"] = p["score"]
    got = {
        r[0]: r[1:]
        for r in query(
            db,
            """SELECT case_id, submitted_at, item_code, accepting_center_id, handling_unit_id,
                      complete_at_first_hand_in, agency_handoffs, corrections, on_time,
                      working_days, satisfaction_score FROM cases""",
        )
    }
    assert set(got) == set(expected)
    for case_id, c in expected.items():
        row = got[case_id]
        assert row[0] == c["submitted"]
        assert row[1:4] == (c["item"], c["center"], c.get("unit"))
        assert row[4] is (not c.get("notified", False))
        assert row[5:8] == (c["handoffs"], c["corrections"], c.get("on_time"))
        if "decided" in c:  # working days in (accepted, decided], the services' calendar
            days = working_days_between(
                c["accepted"].astimezone(SHANGHAI).date(), c["decided"].astimezone(SHANGHAI).date()
            )
            assert row[8] == days, case_id
        else:
            assert row[8] is None
        assert row[9] == c.get("score")


def test_center_daily_adds_up_to_the_cases(built: tuple[Path, Path]) -> None:
    _, db = built
    (received, completed, on_time, rated) = query(
        db,
        "SELECT sum(received), sum(completed), sum(completed_on_time), sum(evaluations)"
        " FROM center_daily",
    )[0]
    assert received == query(db, "SELECT count(*) FROM cases WHERE submitted_at IS NOT NULL")[0][0]
    assert completed == query(db, "SELECT count(*) FROM cases WHERE decided_at IS NOT NULL")[0][0]
    assert on_time == query(db, "SELECT count(*) FROM cases WHERE on_time")[0][0]
    assert rated == query(db, "SELECT count(*) FROM cases WHERE satisfaction_score > 0")[0][0]
    names = query(
        db,
        "SELECT DISTINCT center_name FROM center_daily WHERE center_id = ?",
        ["ruian.mayu.mabei"],
    )
    assert names == [("马北社区",)]


def test_two_replays_give_identical_tables_whatever_the_arrival_order(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    _, db = built
    # lines interleaved differently (as Kafka partitions are), duplicates (an at-least-once
    # relay), loaded in other chunk sizes: the same tables, row for row
    other = write_ndjson(
        tmp_path / "shuffled.ndjson", small_history(), shuffle=3, duplicate_every=7
    )
    again = tmp_path / "again.duckdb"
    summary = replay_file(other, again, chunk_lines=500)
    assert summary.result.duplicates > 0
    first, second = tables(db, skip=("replay_info",)), tables(again, skip=("replay_info",))
    for table, rows in first.items():
        assert rows == second[table], table
        # the simulator makes no joint cases (those are tests/unit/analytics/test_report_joint)
        assert rows or table == "joint_cases", table
    info = dict(query(again, "SELECT key, value FROM replay_info"))
    assert info["events"] == str(len(small_history().events))


def test_filters_keep_whole_cases_of_the_org_subtree(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    src, _ = built
    db = tmp_path / "mayu.duckdb"
    replay_file(src, db, build_filter(org_units=["ruian.mayu"]))
    units = {r[0] for r in query(db, "SELECT unit_id FROM org_units")}
    assert "ruian.dongshan" in units  # the reference data stays whole
    for accepting, handling in query(db, "SELECT accepting_center_id, handling_unit_id FROM cases"):
        assert "ruian.mayu" in (accepting or "") or "ruian.mayu" in (handling or "")
    # whole cases: a kept case has its intake and its routing events
    assert query(db, "SELECT count(*) FROM cases WHERE submitted_at IS NULL")[0][0] == 0
    full = query(
        built[1],
        "SELECT count(*) FROM cases WHERE accepting_center_id LIKE 'ruian.mayu%'"
        " OR handling_unit_id LIKE 'ruian.mayu%'",
    )[0][0]
    assert query(db, "SELECT count(*) FROM cases")[0][0] == full


def test_type_and_time_filters(built: tuple[Path, Path], tmp_path: Path) -> None:
    src, _ = built
    db = tmp_path / "typed.duckdb"
    replay_file(
        src,
        db,
        build_filter(
            event_types=["routing.case_decided"],
            since="2026-10-08",
            until="2026-10-09",
            tiers=["town"],
        ),
    )
    rows = query(db, "SELECT DISTINCT event_type, tier, local_date FROM events")
    assert rows and {r[0] for r in rows} == {"routing.case_decided"}
    assert {str(r[2]) for r in rows} <= {"2026-10-08", "2026-10-09"}


def test_parquet_export_holds_the_same_rows(built: tuple[Path, Path], tmp_path: Path) -> None:
    src, _ = built
    db, pq = tmp_path / "a.duckdb", tmp_path / "parquet"
    replay_file(src, db, parquet=pq)
    con = duckdb.connect()
    for table, rows in tables(db).items():
        assert con.execute(f"SELECT * FROM '{pq / (table + '.parquet')}'").fetchall() == rows


def test_an_unknown_org_unit_is_refused_and_nothing_is_written(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    src, db = built
    target = tmp_path / "kept.duckdb"
    target.write_bytes(db.read_bytes())
    before = target.read_bytes()
    with pytest.raises(BadInput) as err:
        replay_file(src, target, build_filter(org_units=["ruian.atlantis"]))
    assert err.value.field == "--org" and "ruian.atlantis" in err.value.reason
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.duckdb"]  # no work folder left


def test_unreadable_lines_are_counted_and_left_out(tmp_path: Path) -> None:
    good = [e.value() for e in small_history().events[:50]]
    src = tmp_path / "mixed.ndjson"
    src.write_bytes(b"\n".join([*good, b"not json", b'{"event_id": "nope"}']) + b"\n")
    summary = replay_file(src, tmp_path / "a.duckdb")
    assert (summary.result.events, summary.result.rejected) == (50, 2)
