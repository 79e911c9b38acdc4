"""A situation report's document and figures, from the event history. I/O at this edge.

The history is the audit log itself (every service's events, `analytics.sources.AuditLogSource`),
replayed into an analytics store by the replay machinery (`analytics.replay`) once per
scheduler round; each report is then the figures of `analytics.report.data.load` (the one
rule for them: called here, not restated) rendered by `analytics.report.render` with its charts
(`analytics.report.charts`). Nothing here decides anything: `report.decide` does.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics import warehouse
from analytics.filters import ReplayFilter
from analytics.progress import Progress
from analytics.replay import replay_analytics
from analytics.report import render
from analytics.report.charts import draw_all
from analytics.report.data import load
from analytics.report.fonts import cjk_font
from analytics.sources import AuditLogSource
from contracts.sitreports import ReportFigures

from .schedule import DueReport


@dataclass(frozen=True)
class Document:
    figures: ReportFigures
    html: bytes
    charts: dict[str, bytes]
    """PNG bytes by file name (`trend.png` ...), linked from the HTML as `charts/<name>`."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.html).hexdigest()


async def build_store(dsn: str, schema: str, work_dir: Path | None) -> Path:
    """Replay the audit log into a fresh analytics store, alone in a new folder under
    `work_dir` (the caller removes the folder); its path."""
    base = work_dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix="bianmin-sitreports-", dir=base)) / "history.duckdb"
    await replay_analytics(
        AuditLogSource(dsn, schema), ReplayFilter(), target, progress=Progress(quiet=True)
    )
    return target


def open_store(path: Path) -> duckdb.DuckDBPyConnection:
    return warehouse.open_for_report(path)


def document(con: duckdb.DuckDBPyConnection, due: DueReport, charts: bool) -> Document:
    """The report of `due` from the store `con` (blocking: run it in a thread)."""
    data = load(con, due.unit.unit_id, due.first, due.last)
    k = data.kpis
    figures = ReportFigures(**{f: int(k.get(f) or 0) for f in ReportFigures.model_fields})
    pngs: dict[str, bytes] = {}
    rel: dict[str, str] = {}
    if charts:
        with tempfile.TemporaryDirectory(prefix="sitrep-") as tmp:
            for key, path in draw_all(data, Path(tmp), cjk_font()).items():
                pngs[path.name] = path.read_bytes()
                rel[key] = f"charts/{path.name}"
    html, _md = render(data, rel)
    return Document(figures, html.encode("utf-8"), pngs)
