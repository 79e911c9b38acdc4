"""A font with Chinese glyphs for the charts, if this machine has one.

Matplotlib's default (DejaVu Sans) has no CJK glyphs: Chinese labels would come out as empty
boxes. We look for a CJK font matplotlib knows, then for font files in the system folders
whose names say CJK (a font installed after matplotlib built its cache is found this way).
Without one, charts use ids and codes (pinyin slugs such as `mabei`, item codes such as
`FP-002`) and English titles, and the caller warns; the HTML and Markdown tables carry the
Chinese names either way. On Debian: `apt-get install fonts-noto-cjk` or
`fonts-wqy-microhei`.
"""

from __future__ import annotations

from functools import cache

FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
)
_FILE_HINTS = (
    "notosanscjk",
    "noto-cjk",
    "notoserifcjk",
    "wqy",
    "droidsansfallback",
    "sourcehansans",
    "uming",
    "ukai",
    "simhei",
    "msyh",
)


@cache
def cjk_font() -> str | None:
    """The family name of a CJK-capable font, registered with matplotlib; None if none."""
    from matplotlib import font_manager as fm

    known = {f.name for f in fm.fontManager.ttflist}
    for family in FAMILIES:
        if family in known:
            return family
    for path in sorted(fm.findSystemFonts()):
        flat = path.lower().replace("_", "").replace(" ", "")
        if any(h in flat for h in _FILE_HINTS):
            try:
                fm.fontManager.addfont(path)
                name = fm.FontProperties(fname=path).get_name()
            except (OSError, RuntimeError, ValueError):
                continue
            if name:
                return name
    return None
