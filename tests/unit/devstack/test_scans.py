"""The scans the load generator and the demo attach (`devstack.scans`): a realistic share of
cases, 1-3 files each of materials handed in, of the types the upload takes, reproducible."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from contracts.documents import sniff
from devstack.scans import multipart, plan_scans

pytestmark = pytest.mark.unit

PROVIDED = [{"code": c} for c in ("APPLICATION_FORM", "ID_CARD", "HOUSEHOLD_REG")]


def test_six_in_ten_cases_come_with_one_to_three_scans_of_materials_handed_in() -> None:
    plans = [plan_scans(7, n, PROVIDED) for n in range(1, 1001)]
    with_scans = [p for p in plans if p]
    assert 550 <= len(with_scans) <= 650
    assert all(1 <= len(p) <= 3 for p in with_scans)
    codes = {m["code"] for m in PROVIDED}
    assert all(s.material_code in codes for p in with_scans for s in p)
    kinds = [s.content_type for p in with_scans for s in p]
    assert 0.45 < kinds.count("image/jpeg") / len(kinds) < 0.75
    assert set(kinds) == {"image/jpeg", "application/pdf"}
    sizes = [len(s.data) for p in with_scans for s in p]
    assert max(sizes) < 200_000, "small scans: tens of kilobytes"


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_plans() -> None:
    assert [plan_scans(7, n, PROVIDED) for n in range(1, 30)] == [
        plan_scans(7, n, PROVIDED) for n in range(1, 30)
    ]
    assert [plan_scans(7, n, PROVIDED) for n in range(1, 30)] != [
        plan_scans(8, n, PROVIDED) for n in range(1, 30)
    ]
    assert plan_scans(7, 1, []) == [], "nothing handed in, nothing scanned"


def test_each_file_is_what_it_says_by_its_bytes() -> None:
    files = [s for n in range(1, 60) for s in plan_scans(3, n, PROVIDED)]
    for s in files:
        assert sniff(s.data[:8]) == s.content_type, s.file_name
        if s.content_type == "image/jpeg":
            with Image.open(io.BytesIO(s.data)) as im:
                im.load()
                assert im.format == "JPEG"
        else:
            assert s.data.rstrip().endswith(b"%%EOF")
            # every object the cross-reference table points at starts where it says
            xref = int(re.findall(rb"startxref\n(\d+)", s.data)[-1])
            assert s.data[xref:].startswith(b"xref")
            offsets = [int(o) for o in re.findall(rb"(\d{10}) 00000 n ", s.data)]
            for i, o in enumerate(offsets, start=1):
                assert s.data[o:].startswith(b"%d 0 obj" % i)


def test_the_multipart_body_carries_every_file_whole() -> None:
    scans = next(p for n in range(1, 100) if len(p := plan_scans(7, n, PROVIDED)) >= 2)
    body = multipart(scans, "b0undary")
    assert body.endswith(b"--b0undary--\r\n")
    for s in scans:
        assert f'filename="{s.file_name}"'.encode() in body
        assert s.data in body
