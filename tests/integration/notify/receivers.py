"""Real local receivers for notify's channels: an SMTP server and a webhook endpoint.

Both are small asyncio servers on 127.0.0.1 with a kernel-chosen port (aiosmtpd is not a
dependency; these speak just enough SMTP / HTTP/1.1 for smtplib and httpx). Shared by the
integration and e2e tests (the e2e test runs them in the test process while notify runs as
its own process).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import orjson

from notify.channels.webhook import verify_signature


@dataclass
class Mail:
    mail_from: str
    rcpt_to: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        assert body is not None
        return str(body.get_content())

    def header(self, name: str) -> str | None:
        v = self.message[name]
        return None if v is None else str(v)


class SmtpReceiver:
    """A minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
    QUIT). `reject` maps a recipient address to the reply its RCPT gets (e.g. "550 5.1.1
    no such user")."""

    def __init__(self, reject: Mapping[str, str] | None = None) -> None:
        self.mails: list[Mail] = []
        self.commands: list[str] = []
        """Every command line received (credentials included: AUTH's are what a test checks
        never arrive in clear)."""
        self.reject = dict(reject or {})
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SmtpReceiver:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.rcpt_to]

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def reply(text: str) -> None:
            writer.write(text.encode() + b"\r\n")

        mail_from, rcpts = "", []
        reply("220 test.local ESMTP ready")
        try:
            while line := await reader.readline():
                cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                self.commands.append(cmd)
                verb = cmd.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    reply("250-test.local\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 HELP")
                elif verb == "HELO":
                    reply("250 test.local")
                elif verb == "MAIL":
                    mail_from, rcpts = _address(cmd), []
                    reply("250 2.1.0 OK")
                elif verb == "RCPT":
                    addr = _address(cmd)
                    if addr in self.reject:
                        reply(self.reject[addr])
                    else:
                        rcpts.append(addr)
                        reply("250 2.1.5 OK")
                elif verb == "DATA":
                    reply("354 end with <CRLF>.<CRLF>")
                    await writer.drain()
                    lines = []
                    while (data := await reader.readline()) not in (b".\r\n", b""):
                        lines.append(data[1:] if data.startswith(b"..") else data)
                    self.mails.append(Mail(mail_from, list(rcpts), b"".join(lines)))
                    reply("250 2.0.0 queued")
                elif verb in ("RSET", "NOOP"):
                    if verb == "RSET":
                        mail_from, rcpts = "", []
                    reply("250 2.0.0 OK")
                elif verb == "QUIT":
                    reply("221 2.0.0 bye")
                    await writer.drain()
                    break
                else:
                    reply("502 5.5.2 command not recognised")
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _address(cmd: str) -> str:
    start, end = cmd.find("<"), cmd.find(">")
    return cmd[start + 1 : end] if 0 <= start < end else cmd.split(":", 1)[-1].strip()


@dataclass
class HookRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers["x-bianmin-delivery-id"]

    def signature_ok(self, secret: bytes) -> bool:
        return verify_signature(
            secret,
            self.headers["x-bianmin-timestamp"],
            self.body,
            self.headers["x-bianmin-signature"],
            tolerance=None,  # tests run on a frozen clock; the MAC is what is checked here
        )


@dataclass
class WebhookReceiver:
    """An HTTP/1.1 endpoint. `statuses[path]` is a list of answers used one per request
    (then `default`); `always[path]` answers every request to that path. Like a real
    receiver it acts once per delivery id: `effects` lists the ids it acted on."""

    statuses: dict[str, list[int]] = field(default_factory=dict)
    always: dict[str, int] = field(default_factory=dict)
    default: int = 200
    requests: list[HookRequest] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[HookRequest]:
        return [r for r in self.requests if r.path == path]

    def _status_for(self, path: str) -> int:
        if path in self.always:
            return self.always[path]
        queue = self.statuses.get(path)
        return queue.pop(0) if queue else self.default

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode()
            if not request_line:
                return
            _method, path, _ = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                k, _, v = line.decode().partition(":")
                headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = self._status_for(path)
            self.requests.append(HookRequest(path, headers, body, status))
            did = headers.get("x-bianmin-delivery-id", "")
            if 200 <= status < 300 and did not in self.effects:
                self.effects.append(did)
            text = b"ok" if status < 400 else b"nope"
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(text)}\r\n"
                "Content-Type: text/plain\r\nConnection: close\r\n\r\n".encode()
                + text
            )
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
