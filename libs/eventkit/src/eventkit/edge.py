"""The guard in front of every service's routes: what no request may carry, checked once.

`create_app` wraps each app in `EdgeGuard`, so every route of every service gets these rules
whether or not its own models know them (the per-field maxima are the models' job, with the
types of `contracts.limits`):

- **size**: a body over the service's limit (`<SVC>_MAX_BODY_BYTES`) is refused with 413
  before anything parses it, by its `Content-Length` and, for a chunked body, by counting
  the bytes as they arrive (nothing past the limit is held in memory). The one exception is
  a multipart POST to a path the service names as streamed (`streamed_paths`: intake's
  document upload), passed on unbuffered: that route streams it under its own limits;
- **text**: no string of a JSON body (keys included), no query value and no path may hold a
  control character (C0 other than tab, newline and carriage return in a body; any C0 in a
  query or path; DEL; C1) or a lone UTF-16 surrogate. PostgreSQL cannot store NUL at all
  (`jsonb` and `text` refuse it: a 500 before this guard), and the others are never text a
  person typed;
- **numbers**: no JSON integer beyond 64 bits (no column holds one, and canonical JSON
  encoders refuse them), no `NaN`/`Infinity` (not JSON; Python's parser takes them).

A refusal is the shape every 4xx has: ``{"detail": {"field": ..., "reason": ...}}``, 422 naming
the field (`applicant.name`, `materials[2].code`, the query parameter, or `path`), 413 naming
the body. A body that is not JSON at all passes through: the route's parser answers it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""What no string of a body may hold: C0 except tab/LF/CR, DEL, C1, lone surrogates."""
LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""What no single-line value (a name, a code, a query value, a path) may hold: also tab/LF/CR."""


def describe_char(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def control_reason(value: str, pattern: re.Pattern[str] = BODY_CONTROL) -> str | None:
    """Why `value` is not acceptable text, or None."""
    m = pattern.search(value)
    if m is None:
        return None
    ch = m.group()
    what = "a lone surrogate" if 0xD800 <= ord(ch) <= 0xDFFF else "a control character"
    return f"must not contain {what} ({describe_char(ch)} at position {m.start()})"


class _NotJson:
    """A `NaN`/`Infinity` literal, marked so the walk can name its field."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def find_bad_value(doc: Any) -> tuple[str, str] | None:
    """The first (field, reason) of a parsed JSON document that breaks the rules above.

    Iterative (a stack, not recursion): a deeply nested body cannot exhaust the stack here."""
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            reason = control_reason(value)
            if reason:
                return path or "(body)", reason
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                return path or "(body)", "integer out of range: must fit in 64 bits"
        elif isinstance(value, float):
            if not math.isfinite(value):
                return path or "(body)", "number out of range: must be finite"
        elif isinstance(value, _NotJson):
            return path or "(body)", f"{value.literal} is not a JSON number"
        elif isinstance(value, dict):
            items = list(value.items())
            for key, item in reversed(items):
                reason = control_reason(key)
                if reason:
                    return _join(path, key.encode("unicode_escape").decode()), "a key " + reason
                stack.append((_join(path, key), item))
        elif isinstance(value, list):
            stack.extend((_join(path, i), item) for i, item in reversed(list(enumerate(value))))
    return None


def parse_json(body: bytes) -> tuple[bool, Any]:
    """(parsed, document) as the routes' parser (the standard library's) would read it."""
    try:
        text = body.decode("utf-8")
        return True, json.loads(text, parse_constant=_NotJson)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None


def check_query_and_path(scope: Scope) -> tuple[str, str] | None:
    """(field, reason) for a control character in the path or a query value, or None."""
    path = scope.get("path", "")
    reason = control_reason(path, LINE_CONTROL)
    if reason:
        return "path", reason
    raw = scope.get("query_string", b"")
    if raw:
        try:
            pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
        except ValueError:
            return None
        for name, value in pairs:
            reason = control_reason(name, LINE_CONTROL)
            if reason:
                return "(query)", "a parameter name " + reason
            reason = control_reason(value, LINE_CONTROL)
            if reason:
                return name, reason
    return None


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True  # no content type: FastAPI reads a body as JSON


async def send_error(send: Send, status: int, field: str, reason: str) -> None:
    body = orjson.dumps({"detail": {"field": field, "reason": reason}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class EdgeGuard:
    """ASGI middleware applying the rules of this module (see the module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        streamed_paths: tuple[str, ...] = (),
    ) -> None:
        """`streamed_paths`: regular expressions of the paths whose multipart bodies go to the
        route unbuffered (a document upload: the route streams it and holds it to its own
        limits, `contracts.limits.MAX_DOCUMENT_BYTES`)."""
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.streamed = [re.compile(p) for p in streamed_paths]

    def _too_large(self) -> str:
        return (
            f"the request body is larger than the {self.max_body_bytes} bytes this service accepts"
        )

    def _streamed(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> bool:
        if not self.streamed or scope.get("method") != "POST":
            return False
        if not any(p.fullmatch(scope.get("path", "")) for p in self.streamed):
            return False
        return any(
            n == b"content-type" and v.lower().startswith(b"multipart/form-data")
            for n, v in headers
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad = check_query_and_path(scope)
        if bad is not None:
            await send_error(send, 422, *bad)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if self._streamed(scope, headers):
            await self.app(scope, receive, send)
            return
        for name, value in headers:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_error(send, 400, "Content-Length", "not a number")
                    return
                if declared > self.max_body_bytes:
                    await send_error(send, 413, "(body)", self._too_large())
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: let the app see it
                await self.app(scope, _replay(b"".join(chunks), message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await send_error(send, 413, "(body)", self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(headers):
            parsed, doc = parse_json(body)
            if parsed:
                bad = find_bad_value(doc)
                if bad is not None:
                    await send_error(send, 422, *bad)
                    return
        await self.app(scope, _replay(body, None, receive), send)


def _replay(body: bytes, last: Message | None, receive: Receive) -> Receive:
    """A `receive` that hands the buffered body over once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if last is not None and not body:
                return last
            return {"type": "http.request", "body": body, "more_body": False}
        if last is not None:
            return last
        return await receive()

    return replay


__all__ = [
    "BODY_CONTROL",
    "DEFAULT_MAX_BODY_BYTES",
    "INT32_MAX",
    "INT64_MAX",
    "INT64_MIN",
    "LINE_CONTROL",
    "EdgeGuard",
    "check_query_and_path",
    "control_reason",
    "find_bad_value",
    "parse_json",
]
