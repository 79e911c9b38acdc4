"""A situation report as PDF: the stored HTML (the document whose SHA-256 the
`audit.situation_report_generated` event carries) with its charts, printed on A4 by WeasyPrint.

Why WeasyPrint: it prints the very HTML the tiers above read (one template, `analytics.report`,
not a second layout to keep in step), with its CSS and the Chinese text in the CJK font the
system has (`fonts-noto-cjk`, the font the charts use); it is maintained and on PyPI, and needs
only Pango from the system (Debian `libpango-1.0-0 libpangoft2-1.0-0`, installed with
`make browser`).

Nothing is fetched while printing: the charts are put into the HTML as `data:` URIs from the
stored files, and the fetcher refuses every other URL, so a report can never make the audit
read a file or call a host. Blocking and CPU-bound: run it in a worker thread.
"""

from __future__ import annotations

import base64
import re

PAGE_CSS = """
@page { size: A4; margin: 14mm 12mm; @bottom-right { content: counter(page) " / " counter(pages);
        font-size: 8pt; color: #777; } }
body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
.kpis { grid-template-columns: repeat(4, 1fr); }
img { max-width: 100%; page-break-inside: avoid; }
tr { page-break-inside: avoid; }
"""

_CHART = re.compile(r'src="charts/([a-z_]+\.png)"')


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs (Pango) are missing on this machine."""


def inline_charts(html: str, charts: dict[str, bytes]) -> str:
    """`src="charts/<name>.png"` replaced by the stored chart as a `data:` URI (a chart not
    stored is left as it is, and prints as nothing: the fetcher refuses it)."""

    def data_uri(m: re.Match[str]) -> str:
        png = charts.get(m.group(1))
        if png is None:
            return m.group(0)
        return f'src="data:image/png;base64,{base64.b64encode(png).decode()}"'

    return _CHART.sub(data_uri, html)


def to_pdf(html: bytes, charts: dict[str, bytes]) -> bytes:
    """The report printed to PDF (blocking)."""
    try:
        from weasyprint import CSS, HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:  # OSError: Pango's shared library is not there
        raise PdfUnavailable(f"WeasyPrint cannot run here: {exc}") from exc

    text = inline_charts(html.decode("utf-8"), charts)
    fetcher = URLFetcher(allowed_protocols=("data",))
    return bytes(
        HTML(string=text, url_fetcher=fetcher).write_pdf(
            stylesheets=[CSS(string=PAGE_CSS, url_fetcher=fetcher)]
        )
    )
