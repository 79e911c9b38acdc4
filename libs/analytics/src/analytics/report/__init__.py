"""`bianmin report`: the situation report (情况报告) a center head sends upward.

For an org unit and a period: an HTML page and the same content as Markdown, with four PNG
charts (daily trend with the on-time rate, per-center comparison, item mix, satisfaction),
from the analytics store that `bianmin replay analytics` built. Figures and their definitions
are in `report.data`. Files are written into a temporary folder first and moved into place
at the end, so a failed report leaves the previous one whole.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from rich.console import Console

from .. import warehouse
from ..errors import BadInput
from .charts import draw_all
from .data import ReportData, load
from .fonts import cjk_font

TIER_ZH = {"community": "村(社区)级", "town": "镇(街道)级", "city": "市级", None: "—"}
SCORE_ZH = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def _num(v: Any) -> str:
    return "—" if v is None else f"{int(v):,}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _dec(v: float | None, places: int = 1) -> str:
    return "—" if v is None else f"{v:.{places}f}"


def _share(n: int | None, d: int | None) -> float | None:
    return (n or 0) / d if d else None


def render(data: ReportData, charts: dict[str, str]) -> tuple[str, str]:
    """(html, markdown) of the report, charts given as paths relative to the report."""
    env = Environment(
        loader=PackageLoader("analytics.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    src = data.source
    source_line = (
        f"回放事件 {_num(int(src.get('events', '0') or 0))} 条、案件 "
        f"{_num(int(src.get('cases', '0') or 0))} 件"
    )
    ctx = {
        "d": data,
        "k": data.kpis,
        "charts": charts,
        "num": _num,
        "pct": _pct,
        "dec": _dec,
        "share": _share,
        "tier_zh": TIER_ZH,
        "score_zh": SCORE_ZH,
        "source_line": source_line,
    }
    html = env.get_template("report.html.j2").render(ctx)
    md = env.get_template("report.md.j2").render(ctx)
    return html, md


def write_report(
    db: Path, org: str, first: date, last: date, out: Path, console: Console | None = None
) -> list[Path]:
    """Write report.html, report.md and charts/*.png into `out`; the paths written."""
    if out.exists() and not out.is_dir():
        raise BadInput("--out", f"{out} exists and is not a folder")
    probe = out if out.exists() else out.parent
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise BadInput("--out", f"cannot write into {probe}")
    con = warehouse.open_for_report(db)
    try:
        data = load(con, org, first, last)
    finally:
        con.close()
    if data.empty and console is not None:
        span = (
            f"it holds events from {data.store_span[0]} to {data.store_span[1]}"
            if data.store_span
            else "it holds no events at all"
        )
        console.print(
            f"[yellow]warning:[/] the analytics store has no events between {first} and "
            f"{last} ({span}): every figure of this report is zero. Replay the history "
            "first (`bianmin replay analytics`) or choose a period it covers."
        )
    cjk = cjk_font()
    if cjk is None and console is not None:
        console.print(
            "[yellow]warning:[/] no CJK font found for the charts (e.g. `apt-get install "
            "fonts-noto-cjk`): chart labels use ids and item codes; the HTML and Markdown "
            "tables carry the Chinese names"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        pngs = draw_all(data, tmp / "charts", cjk)
        rel = {k: f"charts/{p.name}" for k, p in pngs.items()}
        html, md = render(data, rel)
        (tmp / "report.html").write_text(html, encoding="utf-8")
        (tmp / "report.md").write_text(md, encoding="utf-8")
        out.mkdir(parents=True, exist_ok=True)
        (out / "charts").mkdir(exist_ok=True)
        written = []
        for p in sorted(tmp.rglob("*")):
            if p.is_file():
                dest = out / p.relative_to(tmp)
                os.replace(p, dest)
                written.append(dest)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
