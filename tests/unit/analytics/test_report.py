"""`bianmin report`: the situation report as HTML + Markdown + PNG charts, Chinese names in
the tables whatever the fonts, and the figures the store holds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from analytics.errors import BadInput
from analytics.report import fonts, write_report

from .support import query, replay_file, small_history, write_ndjson

pytestmark = pytest.mark.unit

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("report")
    db = d / "analytics.duckdb"
    replay_file(write_ndjson(d / "h.ndjson", small_history()), db)
    return db


def _write(store: Path, out: Path, org: str = "ruian.mayu") -> tuple[list[Path], str]:
    console = Console(record=True, width=200)
    written = write_report(store, org, date(2026, 10, 1), date(2026, 10, 16), out, console)
    return written, console.export_text()


def test_the_report_has_its_pages_charts_and_figures(store: Path, tmp_path: Path) -> None:
    written, _ = _write(store, tmp_path / "r")
    names = sorted(str(p.relative_to(tmp_path / "r")) for p in written)
    assert names == [
        "charts/centers.png",
        "charts/items.png",
        "charts/satisfaction.png",
        "charts/trend.png",
        "report.html",
        "report.md",
    ]
    for p in written:
        if p.suffix == ".png":
            assert p.read_bytes().startswith(PNG) and p.stat().st_size > 5000
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert md.startswith("# 马屿镇便民服务情况报告")
    for text in ("马北社区", "篁社社区", "按时办结率", "一次办成率", "好差评", "charts/trend.png"):
        assert text in md and text in html
    # every chart the report wrote is the one each page shows (not `dict.items`' repr)
    for chart in ("trend", "centers", "items", "satisfaction"):
        assert f"](charts/{chart}.png)" in md
        assert f'src="charts/{chart}.png"' in html
    assert "built-in method" not in md + html
    # the headline figure is the store's own count (cases of the subtree submitted in period)
    received = query(
        store,
        """SELECT count(*) FROM cases c JOIN org_units o ON o.unit_id = c.accepting_center_id
           WHERE list_contains(o.ancestors, 'ruian.mayu')
             AND submitted_date BETWEEN '2026-10-01' AND '2026-10-16'""",
    )[0][0]
    handled_elsewhere_only = query(
        store,
        """SELECT count(*) FROM cases c JOIN org_units o ON o.unit_id = c.handling_unit_id
           JOIN org_units a ON a.unit_id = c.accepting_center_id
           WHERE list_contains(o.ancestors, 'ruian.mayu')
             AND NOT list_contains(a.ancestors, 'ruian.mayu')
             AND submitted_date BETWEEN '2026-10-01' AND '2026-10-16'""",
    )[0][0]
    assert f"| 登记受理(件) | {received + handled_elsewhere_only:,} |" in md
    assert "<script" not in html  # a static page


def test_without_a_cjk_font_charts_use_ids_and_the_user_is_told(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    import analytics.report as report

    monkeypatch.setattr(report, "cjk_font", lambda: None)
    written, said = _write(store, tmp_path / "r")
    assert "no CJK font" in said
    assert "马北社区" in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert len(written) == 6


def test_a_city_report_compares_the_towns(store: Path, tmp_path: Path) -> None:
    _write(store, tmp_path / "city", org="ruian")
    md = (tmp_path / "city" / "report.md").read_text(encoding="utf-8")
    assert "瑞安市行政审批服务中心(本级)" in md and "| 马屿镇 |" in md and "| 东山街道 |" in md


def test_an_unknown_org_writes_nothing(store: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInput) as err:
        _write(store, tmp_path / "r", org="ruian.nowhere")
    assert err.value.field == "--org" and "ruian.mayu" in err.value.reason
    assert list(tmp_path.iterdir()) == []


def test_a_period_the_store_holds_nothing_of_is_said_to_be_empty(
    store: Path, tmp_path: Path
) -> None:
    # given a store of October 2026, when a report for March 2027 is written
    console = Console(record=True, width=200)
    write_report(store, "ruian.mayu", date(2027, 3, 1), date(2027, 3, 31), tmp_path / "r", console)
    # then the user is told, and the report itself says so instead of a page of zeros
    said = console.export_text()
    assert "no events between 2027-03-01 and 2027-03-31" in said
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "本期无数据" in md and "本期无数据" in html


def test_a_period_with_events_carries_no_empty_warning(store: Path, tmp_path: Path) -> None:
    _, said = _write(store, tmp_path / "r")
    assert "no events between" not in said
    assert "本期无数据" not in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
