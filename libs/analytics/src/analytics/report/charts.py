"""The report's PNG charts (matplotlib, Agg): trend, per-center comparison, item mix,
satisfaction. With a CJK font the labels are the Chinese names; without one, ids and codes
(see `fonts`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.ticker import PercentFormatter

from .data import ReportData

logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # "no bold weight" noise

BLUE, DARK, ORANGE, GREY, RED = "#9ecae1", "#3182bd", "#e6550d", "#f0f0f0", "#de2d26"
_META = {"Software": None}  # no version string: the same data draws the same bytes


class Labels:
    def __init__(self, cjk: str | None) -> None:
        self.cjk = cjk

    def t(self, zh: str, en: str) -> str:
        return zh if self.cjk else en

    def unit(self, unit_id: str, name_zh: str | None) -> str:
        return (name_zh or unit_id) if self.cjk else unit_id.rsplit(".", 1)[-1]

    def item(self, code: str, name_zh: str | None) -> str:
        if not self.cjk:
            return code
        name = name_zh or code
        if len(name) > 10 and "(" in name:  # 流动人口居住登记(暂口管理) -> 流动人口居住登记
            name = name.split("(", 1)[0]
        return name if len(name) <= 14 else name[:13] + "…"


def _style(cjk: str | None) -> dict[str, Any]:
    rc: dict[str, Any] = {
        "figure.dpi": 110,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titleweight": "bold",
        "svg.hashsalt": "bianmin",
    }
    if cjk:
        rc["font.family"] = [cjk, "DejaVu Sans"]
        rc["axes.unicode_minus"] = False
    return rc


def draw_all(data: ReportData, folder: Path, cjk: str | None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    lab = Labels(cjk)
    with plt.rc_context(_style(cjk)):
        return {
            "trend": _trend(data, folder / "trend.png", lab),
            "centers": _centers(data, folder / "centers.png", lab),
            "items": _items(data, folder / "items.png", lab),
            "satisfaction": _satisfaction(data, folder / "satisfaction.png", lab),
        }


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, metadata=_META)
    plt.close(fig)
    return path


def _trend(data: ReportData, path: Path, lab: Labels) -> Path:
    fig, ax = plt.subplots(figsize=(10, 4.2))
    days = data.daily
    x = list(range(len(days)))
    for i, d in enumerate(days):
        if not d["working"]:
            ax.axvspan(i - 0.5, i + 0.5, color=GREY, zorder=0)
    w = 0.4
    ax.bar(
        [i - w / 2 for i in x],
        [d["received"] for d in days],
        w,
        color=BLUE,
        label=lab.t("登记受理", "received"),
        zorder=2,
    )
    ax.bar(
        [i + w / 2 for i in x],
        [d["completed"] for d in days],
        w,
        color=DARK,
        label=lab.t("办结", "completed"),
        zorder=2,
    )
    ax.set_ylabel(lab.t("件数", "cases"))
    ticks = [i for i, d in enumerate(days) if d["day"].day in (1, 5, 10, 15, 20, 25, 30)]
    ax.set_xticks(ticks, [days[i]["day"].strftime("%m-%d") for i in ticks])
    ax.set_xlim(-0.7, len(days) - 0.3)
    ax2 = ax.twinx()
    pts = [(i, d["on_time_rate"]) for i, d in enumerate(days) if d["on_time_rate"] is not None]
    if pts:
        ax2.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            color=ORANGE,
            marker="o",
            markersize=3,
            linewidth=1.5,
            label=lab.t("按时办结率", "on-time rate"),
            zorder=3,
        )
    ax2.set_ylim(0, 1.05)
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax2.spines["top"].set_visible(False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(
        h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False, ncol=3
    )
    ax.set_title(
        lab.t(
            "每日受理、办结与按时办结率(灰色为非工作日)",
            "Cases per day and on-time rate (grey: non-working days)",
        )
    )
    return _save(fig, path)


def _centers(data: ReportData, path: Path, lab: Labels) -> Path:
    rows = data.centers[:20]
    fig, ax = plt.subplots(figsize=(10, 0.42 * max(len(rows), 3) + 1.4))
    names = [lab.unit(c["unit_id"], c["name_zh"]) for c in rows][::-1]
    y = list(range(len(rows)))
    h = 0.38
    ax.barh(
        [i + h / 2 for i in y],
        [c["received"] for c in rows][::-1],
        h,
        color=BLUE,
        label=lab.t("登记受理", "received"),
    )
    ax.barh(
        [i - h / 2 for i in y],
        [c["completed"] for c in rows][::-1],
        h,
        color=DARK,
        label=lab.t("办结", "completed"),
    )
    ax.set_yticks(y, names)
    top = max([c["received"] for c in rows] + [c["completed"] for c in rows] + [1])
    for i, c in enumerate(rows[::-1]):
        rate = c["on_time_rate"]
        if rate is not None:
            colour = RED if rate < 0.9 else "#333333"
            ax.text(
                max(c["received"], c["completed"]) + top * 0.01,
                i,
                f"{rate:.0%}",
                va="center",
                fontsize=8,
                color=colour,
            )
    ax.set_xlim(0, top * 1.12)
    ax.legend(loc="lower right", frameon=False)
    ax.set_title(
        lab.t(
            "各中心受理与办结(右侧数字为按时办结率)",
            "Per center: received and completed (right: on-time rate)",
        )
    )
    return _save(fig, path)


def _items(data: ReportData, path: Path, lab: Labels) -> Path:
    rows = data.items[:12]
    fig, ax = plt.subplots(figsize=(10, 0.4 * max(len(rows), 3) + 1.2))
    names = [lab.item(i["item_code"], i["name_zh"]) for i in rows][::-1]
    ax.barh(range(len(rows)), [i["received"] for i in rows][::-1], color=DARK)
    ax.set_yticks(range(len(rows)), names)
    for y, i in enumerate(rows[::-1]):
        if i["share"] is not None:
            ax.text(i["received"], y, f" {i['share']:.1%}", va="center", fontsize=8)
    ax.set_title(lab.t("受理事项结构(前12项)", "Item mix (top 12 items)"))
    ax.set_xlabel(lab.t("件数", "cases"))
    return _save(fig, path)


def _satisfaction(data: ReportData, path: Path, lab: Labels) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    scores = [1, 2, 3, 4, 5]
    counts = [data.scores.get(s, 0) for s in scores]
    total = sum(counts) or 1
    names = [
        lab.t(n, e)
        for n, e in (
            ("非常不满意", "1 very bad"),
            ("不满意", "2 bad"),
            ("基本满意", "3 fair"),
            ("满意", "4 good"),
            ("非常满意", "5 very good"),
        )
    ]
    colours = [RED, "#fc9272", "#bdbdbd", BLUE, DARK]
    ax.bar(range(5), counts, color=colours)
    ax.set_xticks(range(5), names)
    for i, n in enumerate(counts):
        ax.text(i, n, f"{n}\n{n / total:.1%}", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, max([*counts, 1]) * 1.25)
    ax.set_title(lab.t("好差评分布", "Satisfaction ratings"))
    return _save(fig, path)
