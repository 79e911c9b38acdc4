"""The scans a resident's materials become at the window, for the load generator and the demo.

At a center the clerk scans or photographs some of what is handed in: about `SCAN_SHARE` of
the cases (6 in 10) come with 1 to 3 files, each of one material the resident handed in (a
material of the item's catalog version), a phone photo (JPEG) or a scanner's PDF, tens of
kilobytes each. Generated, never read from disk, and reproducible: the same (seed, case
number) gives the same files byte for byte, so two runs with one seed upload the same bytes.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from contracts.documents import EXTENSION, ContentType

SCAN_SHARE = 0.6
"""The share of cases that come with scans."""
PHOTO_SHARE = 0.6
"""The share of files that are phone photos (JPEG); the rest are a scanner's PDFs."""


@dataclass(frozen=True)
class Scan:
    material_code: str
    file_name: str
    content_type: ContentType
    data: bytes


def plan_scans(seed: int, n: int, provided: list[dict[str, Any]]) -> list[Scan]:
    """The files case `n` comes with: none for 4 in 10 cases, else 1-3 files of materials in
    `provided` (the materials handed in: codes of the item's catalog version)."""
    codes = sorted({m["code"] for m in provided})
    rng = random.Random(f"scans:{seed}:{n}")
    if not codes or rng.random() >= SCAN_SHARE:
        return []
    scans = []
    for k in range(rng.choice((1, 1, 2, 2, 3))):
        code = rng.choice(codes)
        kind: ContentType = "image/jpeg" if rng.random() < PHOTO_SHARE else "application/pdf"
        data = photo(rng, code) if kind == "image/jpeg" else pdf_scan(rng, code, n)
        name = f"{code.lower()}-{n}-{k + 1}.{EXTENSION[kind]}"
        scans.append(Scan(code, name, kind, data))
    return scans


def photo(rng: random.Random, code: str) -> bytes:
    """A phone photo of a page: paper, lines of "text", a stamp; JPEG, tens of kB."""
    w, h = rng.choice(((480, 640), (600, 800), (360, 480)))
    paper = tuple(rng.randint(225, 250) for _ in range(3))
    im = Image.new("RGB", (w, h), paper)  # type: ignore[arg-type]
    d = ImageDraw.Draw(im)
    y = 40
    while y < h - 40:
        x = 30
        while x < w - 60:
            word = rng.randint(12, 60)
            ink = rng.randint(20, 90)
            d.rectangle((x, y, min(x + word, w - 30), y + 8), fill=(ink, ink, ink + 10))
            x += word + rng.randint(6, 14)
        y += rng.randint(16, 26)
    cx, cy = rng.randint(w // 2, w - 80), rng.randint(h // 2, h - 80)
    d.ellipse((cx - 50, cy - 50, cx + 50, cy + 50), outline=(200, 30, 30), width=4)
    d.text((30, 10), code, fill=(0, 0, 0))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=rng.choice((60, 70, 80)))
    return out.getvalue()


def pdf_scan(rng: random.Random, code: str, n: int) -> bytes:
    """A one-page PDF (a scanner's output): a text line and ruled lines, with its xref."""
    lines = "\n".join(
        f"40 {y} m {rng.randint(300, 540)} {y} l S" for y in range(700, 100, -rng.randint(18, 30))
    )
    content = (f"BT /F1 14 Tf 40 760 Td (Scan {code} case {n}) Tj ET\n0.2 w\n{lines}\n").encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def multipart(scans: list[Scan], boundary: str) -> bytes:
    """The scans as one multipart/form-data body of `file` parts (what the upload takes)."""
    out = bytearray()
    for s in scans:
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{s.file_name}"\r\nContent-Type: {s.content_type}\r\n\r\n'
        ).encode()
        out += s.data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)
