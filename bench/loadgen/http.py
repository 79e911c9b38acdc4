"""A lean HTTP/1.1 keep-alive client for the load generator's hot path.

Why not httpx (which `make demo`'s `Api` uses, and which the session still uses for setup):
the load generator shares the machine's two cores with the system it measures, and under
py-spy httpx + httpcore cost it about 2-3 ms of CPU per request (httpcore checks every
pooled connection's socket on each request, and asks for `sniffio` on each one), which was a
quarter of a core taken from the services at 25 cases/s. This client does what the driver
needs and nothing else: JSON (and multipart scan) POSTs to 127.0.0.1 over a small pool of persistent
connections, `Content-Length` bodies (what uvicorn sends for JSON), a timeout, and a retry
on a dropped connection (the POST keeps its Idempotency-Key, so a retry never acts twice).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson


class HttpError(Exception):
    """A transport failure after the retries."""


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


KEEP_ALIVE_S = 4.0
"""Reuse an idle connection only this long (uvicorn closes idle ones after 5 s)."""


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0


@dataclass
class LeanClient:
    base_url: str
    max_connections: int = 32
    timeout: float = 30.0
    _idle: list[_Conn] = field(default_factory=list)
    _slots: asyncio.Semaphore | None = None

    def __post_init__(self) -> None:
        u = urlsplit(self.base_url)
        if u.hostname not in ("127.0.0.1", "localhost") or u.scheme != "http":
            raise ValueError("the load generator talks to 127.0.0.1 over plain HTTP only")
        self.host = u.hostname
        self.port = u.port or 80
        self._slots = asyncio.Semaphore(self.max_connections)

    async def close(self) -> None:
        while self._idle:
            c = self._idle.pop()
            c.writer.close()

    def _take(self) -> _Conn | None:
        """The most recently used idle connection still within the keep-alive window."""
        limit = time.monotonic() - KEEP_ALIVE_S
        while self._idle:
            c = self._idle.pop()
            if c.idle_since >= limit and not c.reader.at_eof():
                return c
            c.writer.close()
        return None

    async def post(self, path: str, body: Any, headers: dict[str, str]) -> Response:
        data = b"" if body is None else orjson.dumps(body)
        return await self.post_bytes(path, data, "application/json", headers)

    async def post_bytes(
        self, path: str, data: bytes, content_type: str, headers: dict[str, str]
    ) -> Response:
        """A POST of a ready body (a multipart upload of scans, or JSON)."""
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(data)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + data
        assert self._slots is not None
        async with self._slots:
            last: BaseException | None = None
            attempt = 0
            while attempt < 3:
                conn = self._take()
                reused = conn is not None
                try:
                    if conn is None:
                        r, w = await asyncio.wait_for(
                            asyncio.open_connection(self.host, self.port), self.timeout
                        )
                        conn = _Conn(r, w)
                    conn.writer.write(request)
                    resp, keep = await asyncio.wait_for(_read(conn.reader), self.timeout)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    # a kept-alive connection the server closed, or a refused connect
                    if conn is not None:
                        conn.writer.close()
                    last = exc
                    if not reused:  # a stale kept-alive connection does not count
                        attempt += 1
                        await asyncio.sleep(0.05 * attempt)
                    continue
                except BaseException:  # a timeout or a cancellation: the stream is unusable
                    if conn is not None:
                        conn.writer.close()
                    raise
                if keep:
                    conn.idle_since = time.monotonic()
                    self._idle.append(conn)
                else:
                    conn.writer.close()
                return resp
            raise HttpError(f"POST {path}: {last!r}")


async def _read(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    keep = True
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return Response(status, b"".join(parts)), keep
    body = await reader.readexactly(length) if length else b""
    return Response(status, body), keep
