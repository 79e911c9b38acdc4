"""Documents at intake, without servers: the type sniffed from the bytes, photo metadata
stripped, the size limits, the streamed multipart reader and the attach rule."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from contracts.base import DomainEvent
from contracts.documents import DocumentAttached, sniff
from contracts.limits import MAX_CASE_DOCUMENT_BYTES, MAX_DOCUMENT_BYTES, MAX_IMAGE_PIXELS
from intake.documents.multipart import BadMultipart, PartEnd, PartStart, parts
from intake.documents.photos import NotAnImage, TooManyPixels, strip_metadata
from intake.domain.application_commands import AttachDocument, RecordDecisionReceived
from intake.domain.documents import document_id
from intake.domain.errors import InvalidField, MaterialNotInList, WrongStatus
from intake.http.documents_routes import _disposition

from .builders import AGENT_MABEI, OFFICER, ROUTING, at, case_decider, case_id, submit

pytestmark = pytest.mark.unit

CASE = case_id(1)
T0 = at(2026, 9, 21, 9)
T1 = at(2026, 9, 28, 10)
GPS_TAG = 0x8825


# -- sniffing ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"GIF89a\x01\x00", None),
        (b"PK\x03\x04 a .docx", None),
        (b"<html><body>", None),
        (b"%PD", None),
        (b"", None),
    ],
)
def test_the_type_is_judged_by_the_first_bytes(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


def test_a_name_or_a_claimed_type_does_not_make_a_pdf() -> None:
    # what a client calls "scan.pdf" / application/pdf but is a Windows program
    assert sniff(b"MZ\x90\x00\x03\x00\x00\x00") is None


# -- photo metadata ---------------------------------------------------------------------------
def _photo_with_gps(path: Path, fmt: str = "JPEG") -> None:
    im = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:09:21 09:00:00"  # DateTime
    exif[0x0112] = 6  # Orientation: rotate 90 CW to view
    gps = exif.get_ifd(GPS_TAG)
    gps[1] = "N"
    gps[2] = (27.0, 46.0, 12.5)
    gps[3] = "E"
    gps[4] = (120.0, 38.0, 1.0)
    im.save(path, fmt, exif=exif.tobytes())


def test_exif_and_gps_are_stripped_from_a_jpeg(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jpg", tmp_path / "out.jpg"
    _photo_with_gps(src)
    with Image.open(src) as before:
        assert before.getexif().get_ifd(GPS_TAG), "the fixture must carry GPS to be stripped"
    strip_metadata(src, out, "image/jpeg")
    raw = out.read_bytes()
    assert sniff(raw) == "image/jpeg"
    assert b"Exif\x00\x00" not in raw and b"PhoneMaker" not in raw
    with Image.open(out) as after:
        assert dict(after.getexif()) == {}
        assert after.size == (48, 64), "the orientation is applied, so the photo stays upright"


def test_exif_is_stripped_from_a_png(tmp_path: Path) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    _photo_with_gps(src, "PNG")
    assert b"eXIf" in src.read_bytes()
    strip_metadata(src, out, "image/png")
    raw = out.read_bytes()
    assert b"eXIf" not in raw and b"PhoneMaker" not in raw
    with Image.open(out) as after:
        assert dict(after.getexif()) == {}


def test_an_image_with_too_many_pixels_is_refused_before_decoding(tmp_path: Path) -> None:
    # a PNG header claiming more pixels than the limit (a decompression bomb's shape)
    src = tmp_path / "bomb.png"
    side = int(MAX_IMAGE_PIXELS**0.5) + 10
    Image.new("1", (side, side)).save(src, "PNG")
    with pytest.raises(TooManyPixels):
        strip_metadata(src, tmp_path / "out.png", "image/png")


def test_bytes_that_only_start_like_a_jpeg_are_not_an_image(tmp_path: Path) -> None:
    src = tmp_path / "fake.jpg"
    src.write_bytes(b"\xff\xd8\xff\xe0" + b"garbage" * 100)
    with pytest.raises(NotAnImage):
        strip_metadata(src, tmp_path / "out.jpg", "image/jpeg")


# -- the limits -------------------------------------------------------------------------------
def test_the_limits_hold_a_twenty_megabyte_scan_and_a_case_of_them() -> None:
    assert 20 * 1024 * 1024 < MAX_DOCUMENT_BYTES < MAX_CASE_DOCUMENT_BYTES


# -- the streamed multipart reader ------------------------------------------------------------
def _body(boundary: str, parts_: list[tuple[str, str | None, bytes]]) -> bytes:
    out = io.BytesIO()
    for name, filename, data in parts_:
        out.write(f"--{boundary}\r\n".encode())
        disp = f'form-data; name="{name}"'
        if filename is not None:
            disp += f'; filename="{filename}"'
        out.write(f"Content-Disposition: {disp}\r\nContent-Type: application/pdf\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _collect(content_type: str, data: bytes, size: int) -> list[Any]:
    out: list[Any] = []
    async for e in parts(content_type, _chunks(data, size)):
        if isinstance(e, bytes) and out and isinstance(out[-1], bytes):
            out[-1] += e
        else:
            out.append(e)
    return out


@pytest.mark.parametrize("chunk", [1, 7, 65536])
async def test_multipart_parts_arrive_in_order_whatever_the_chunking(chunk: int) -> None:
    a, b = b"%PDF-1.4 first" * 50, b"\x89PNG\r\n\x1a\n second"
    body = _body("XyZ", [("file", "a.pdf", a), ("file", "扫描件.png", b)])
    got = await _collect("multipart/form-data; boundary=XyZ", body, chunk)
    assert got == [
        PartStart("file", "a.pdf"),
        a,
        PartEnd(),
        PartStart("file", "扫描件.png"),
        b,
        PartEnd(),
    ]


async def test_a_body_that_is_not_multipart_is_refused() -> None:
    with pytest.raises(BadMultipart):
        await _collect("application/json", b"{}", 10)


# -- the download's Content-Disposition -------------------------------------------------------
def test_content_disposition_names_the_file_in_ascii_and_utf8() -> None:
    got = _disposition('身份证 "正面".jpg', "image/jpeg")
    assert got.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E8%BA%AB%E4%BB%BD%E8%AF%81" in got
    assert '"正面"' not in got
    assert _disposition("scan.pdf", "application/pdf").startswith('attachment; filename="scan.pdf"')


# -- the attach rule --------------------------------------------------------------------------
SHA = hashlib.sha256(b"a scan").hexdigest()


def attach(
    material: str = "ID_CARD", sha: str = SHA, size: int = 1000, **kw: Any
) -> AttachDocument:
    return AttachDocument(
        case_id=CASE,
        actor=AGENT_MABEI,
        document_id=document_id(CASE, material, sha),
        material_code=material,
        sha256=sha,
        size=size,
        content_type=kw.pop("content_type", "application/pdf"),
        received_center_id="ruian.mayu.mabei",
        **kw,
    )


def accepted() -> list[DomainEvent]:
    return list(case_decider().given().when(submit(), T0).then_events())


def test_a_document_of_a_listed_material_is_attached_with_its_hash_not_its_bytes() -> None:
    events = case_decider().given(*accepted()).when(attach(), T1).then_events()
    assert events == [
        DocumentAttached(
            case_id=CASE,
            document_id=document_id(CASE, "ID_CARD", SHA),
            material_code="ID_CARD",
            sha256=SHA,
            size=1000,
            content_type="application/pdf",
            stage="intake",
            received_center_id="ruian.mayu.mabei",
            attached_by=AGENT_MABEI.id,
        )
    ]


def test_the_same_bytes_for_the_same_material_are_attached_once() -> None:
    history = [*accepted(), *case_decider().given(*accepted()).when(attach(), T1).then_events()]
    assert case_decider().given(*history).when(attach(), T1).then_events() == []


def test_a_material_not_on_the_case_list_is_refused() -> None:
    err = case_decider().given(*accepted()).when(attach("PASSPORT"), T1).error
    assert isinstance(err, MaterialNotInList) and err.field == "material_code"


def test_after_the_decision_no_document_is_taken() -> None:
    decision = RecordDecisionReceived(
        case_id=CASE,
        decision_id="dec-1",
        decision="approve",
        reason=None,
        decided_by=OFFICER.id,
        decided_at=T1,
        actor=ROUTING,
    )
    decided = [*accepted(), *case_decider().given(*accepted()).when(decision, T1).then_events()]
    err = case_decider().given(*decided).when(attach(), T1).error
    assert isinstance(err, WrongStatus) and err.field == "status"


def test_the_case_limit_counts_what_is_already_attached() -> None:
    history = accepted()
    big = MAX_DOCUMENT_BYTES
    n = MAX_CASE_DOCUMENT_BYTES // big
    for i in range(n):
        sha = hashlib.sha256(f"scan {i}".encode()).hexdigest()
        history += case_decider().given(*history).when(attach(sha=sha, size=big), T1).then_events()
    err = case_decider().given(*history).when(attach(sha="f" * 64, size=big), T1).error
    assert isinstance(err, InvalidField) and err.field == "documents"


def test_a_document_id_that_does_not_name_the_bytes_is_refused() -> None:
    cmd = attach().model_copy(update={"document_id": "doc-" + "0" * 32})
    err = case_decider().given(*accepted()).when(cmd, T1).error
    assert isinstance(err, InvalidField) and err.field == "document_id"
