"""A 20 MB scan goes in and comes out through the real intake app served by uvicorn on a real
socket (intake's own lifespan on the real PostgreSQL store and Kafka), and the process never
holds it: the traced Python allocations and the resident set's high-water mark grow by a small
fraction of the file during the upload and during the download, and the event loop keeps
serving other requests while the file is half sent and half received.

Why uvicorn and not httpx's ASGI transport: that transport collects a whole response body
before it hands it over, so a download through it would hold the file in this process whatever
the service does. Here client and server talk over TCP, both sides stream, and both live in
this process, so a bound on the process is a bound on the service.

"Not blocked" is shown by order, never by time: the upload's body stops after half the file
until a `/healthz` request sent meanwhile has been answered; the download stops reading after
half the file until the same has happened. A service that read the whole body before answering
anything, or sent the whole file at once, would deadlock these (guarded by a generous wait)."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from ..intake.support import AGENT_MABEI, second_child
from .conftest import Served

pytestmark = pytest.mark.integration

MB = 1024 * 1024
FILE_BYTES = 20 * MB
BLOCK = 64 * 1024
GROWTH_LIMIT = 8 * MB
"""Well under the file's 20 MB: what the process may grow by while one file passes through."""
GUARD_S = 120.0
"""How long a paused side waits for the concurrent request before the test fails (a deadlock
guard, not a timing assertion: it only ends a test that could never pass)."""


def block(seed: str, i: int) -> bytes:
    """64 KiB of incompressible, reproducible bytes."""
    return hashlib.sha256(f"{seed}:{i}".encode()).digest() * (BLOCK // 32)


def expected_sha(seed: str, size: int) -> str:
    h = hashlib.sha256(b"%PDF-1.7\n")
    for i in range(size // BLOCK):
        h.update(block(seed, i))
    return h.hexdigest()


class Memory:
    """Growth of the process over one stretch: tracemalloc's peak above what was traced at the
    start, and the kernel's resident-set high-water mark (VmHWM, reset through
    /proc/self/clear_refs) above the resident set at the start."""

    def __enter__(self) -> Memory:
        tracemalloc.start()
        self.traced_before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        self.rss_before = _status_kb("VmRSS") * 1024
        return self

    def __exit__(self, *exc: object) -> None:
        self.traced_growth = tracemalloc.get_traced_memory()[1] - self.traced_before
        tracemalloc.stop()
        self.rss_growth = _status_kb("VmHWM") * 1024 - self.rss_before


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


async def _pinged(base_url: str, done: asyncio.Event) -> None:
    """A tiny request on a connection of its own, answered while the big one is in flight."""
    async with httpx.AsyncClient(base_url=base_url, timeout=GUARD_S) as c:
        r = await c.get("/healthz")
        assert r.status_code == 200, r.text
    done.set()


async def _new_case(s: Served) -> str:
    r = await s.harness.submit(AGENT_MABEI, second_child())
    assert r.status_code < 300, r.text
    case_id: str = r.json()["case_id"]
    return case_id


async def _upload(
    s: Served, case_id: str, seed: str, size: int, halfway: Callable[[], object] | None
) -> httpx.Response:
    """POST one PDF of `size` bytes as a multipart body generated block by block (never whole
    in this process either); `halfway` runs, and is awaited, after half the blocks."""
    boundary = f"scan-{uuid.uuid4().hex}"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="scan-{seed}.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode() + b"%PDF-1.7\n"
    tail = f"\r\n--{boundary}--\r\n".encode()
    blocks = range(size // BLOCK)

    async def body() -> AsyncIterator[bytes]:
        yield head
        for n, i in enumerate(blocks):
            if halfway is not None and n == len(blocks) // 2:
                await halfway()  # type: ignore[misc]
            yield block(seed, i)
        yield tail

    async with httpx.AsyncClient(base_url=s.base_url, timeout=GUARD_S) as c:
        return await c.post(
            f"/v1/applications/{case_id}/documents",
            params={"material_code": "ID_CARD"},
            content=body(),
            headers={
                **s.harness.keys.headers(AGENT_MABEI),
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )


async def _download(s: Served, url: str, halfway: Callable[[], object] | None) -> tuple[str, int]:
    """GET a document chunk by chunk, hashing as it comes; `halfway` runs after half of it."""
    h = hashlib.sha256()
    got = 0
    paused = halfway is None
    async with (
        httpx.AsyncClient(base_url=s.base_url, timeout=GUARD_S) as c,
        c.stream("GET", url, headers=s.harness.keys.headers(AGENT_MABEI)) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pdf"
        total = int(r.headers["content-length"])
        async for chunk in r.aiter_raw():
            h.update(chunk)
            got += len(chunk)
            if not paused and got >= total // 2:
                paused = True
                await halfway()  # type: ignore[misc]
    return h.hexdigest(), got


async def _wait_for_ping(base_url: str) -> None:
    done = asyncio.Event()
    ping = asyncio.create_task(_pinged(base_url, done))
    await asyncio.wait_for(done.wait(), GUARD_S)
    await ping


async def test_a_20_mb_scan_streams_in_and_out_without_holding_it_or_the_loop(
    served: Served,
) -> None:
    s = served
    # warm up the same path with a small file (first-use allocations are not the file's)
    warm = await _new_case(s)
    r = await _upload(s, warm, "warm-up", 2 * MB, None)
    assert r.status_code == 201, r.text
    await _download(s, r.json()["documents"][0]["download_url"], None)

    case_id = await _new_case(s)
    pings: list[str] = []

    async def upload_halfway() -> None:
        await _wait_for_ping(s.base_url)
        pings.append("upload")

    with Memory() as up:
        r = await _upload(s, case_id, "twenty", FILE_BYTES, upload_halfway)
    assert r.status_code == 201, r.text
    doc = r.json()["documents"][0]
    size = len(b"%PDF-1.7\n") + FILE_BYTES
    assert doc["size"] == size
    assert doc["sha256"] == expected_sha("twenty", FILE_BYTES)
    stored = await s.harness.count(
        "SELECT count(*) FROM document_chunks c JOIN document_blobs b"
        " ON b.chunks_key = c.chunks_key WHERE b.sha256 = $1",
        doc["sha256"],
    )
    assert stored > 1, "stored in chunks, not as one value"

    async def download_halfway() -> None:
        await _wait_for_ping(s.base_url)
        pings.append("download")

    with Memory() as down:
        sha, got = await _download(s, doc["download_url"], download_halfway)
    assert (sha, got) == (doc["sha256"], size)
    assert pings == ["upload", "download"], "a request was served mid-upload and mid-download"

    print(
        f"\n20 MB scan: upload grew traced {up.traced_growth / MB:.2f} MB, "
        f"RSS high-water {up.rss_growth / MB:.2f} MB; download grew traced "
        f"{down.traced_growth / MB:.2f} MB, RSS high-water {down.rss_growth / MB:.2f} MB"
    )
    for what, m in (("upload", up), ("download", down)):
        assert m.traced_growth < GROWTH_LIMIT, f"{what}: traced +{m.traced_growth} bytes"
        assert m.rss_growth < GROWTH_LIMIT, f"{what}: resident set +{m.rss_growth} bytes"
