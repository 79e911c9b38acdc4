"""A situation report printed to PDF (`audit.sitreport.pdf`): the charts go in from the stored
files, nothing else is fetched, and the Chinese text and figures come out as text."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pypdf import PdfReader

from audit.sitreport.pdf import inline_charts, to_pdf

pytestmark = pytest.mark.unit


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 60), (49, 130, 189)).save(out, "PNG")
    return out.getvalue()


def test_stored_charts_are_inlined_and_others_left_alone() -> None:
    html = '<img src="charts/trend.png"><img src="charts/missing.png"><img src="x.png">'
    out = inline_charts(html, {"trend.png": b"\x89PNG..."})
    assert 'src="data:image/png;base64,iVBORy4uLg=="' in out
    assert 'src="charts/missing.png"' in out and 'src="x.png"' in out


def test_the_pdf_holds_the_text_and_the_chart_and_fetches_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.png"
    secret.write_bytes(_png())
    html = (
        '<html><head><meta charset="utf-8"></head><body>'
        "<h1>育才社区便民服务中心便民服务情况报告</h1>"
        '<div class="kpi"><div class="v">1,234</div><div class="l">登记受理(件)</div></div>'
        '<img src="charts/trend.png">'
        f'<img src="file://{secret}"><img src="http://127.0.0.1:9/x.png">'
        "</body></html>"
    ).encode()
    pdf = to_pdf(html, {"trend.png": _png()})
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(reader.pages[0].extract_text().split())
    assert "育才社区便民服务中心便民服务情况报告" in text
    assert "1,234登记受理(件)" in text
    assert len(reader.pages[0].images) == 1, "the stored chart only: no file, no host"
