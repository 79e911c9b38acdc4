"""The async HTTP client layer: the four services' APIs, called as the signed-in person.

One `httpx.AsyncClient` per service is built by the bootstrap and shared (connection pools);
an `Api` is a per-request view of them carrying the person's bearer token (or none, for the
public pages). Every POST carries the form's idempotency key, so a double click or a page
sent again reaches the service as one request and creates one case.

Errors come back as `ServiceError` with the status and the service's own
``{"field", "reason", "code", "ctx"}`` (every service answers refusals that way), for the page
to show beside the field in Chinese (`portal.refusals`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

SERVICES = ("intake", "routing", "notify", "audit")


class ServiceClock:
    """The wall time of one page during which at least one service call was outstanding
    (calls made together by `asyncio.gather` count once): `Server-Timing: svc;dur=` — the
    services' share of the page, the rest (`app` minus `svc`) being the portal's own."""

    def __init__(self) -> None:
        self.inflight = 0
        self.since = 0.0
        self.total_s = 0.0

    def enter(self) -> None:
        if self.inflight == 0:
            self.since = time.perf_counter()
        self.inflight += 1

    def leave(self) -> None:
        self.inflight -= 1
        if self.inflight == 0:
            self.total_s += time.perf_counter() - self.since


SERVICE_CLOCK: ContextVar[ServiceClock | None] = ContextVar("portal_service_clock", default=None)
"""Set per request by the bootstrap's Server-Timing middleware."""


@contextmanager
def _timed() -> Iterator[None]:
    clock = SERVICE_CLOCK.get()
    if clock is None:
        yield
        return
    clock.enter()
    try:
        yield
    finally:
        clock.leave()


class ServiceError(Exception):
    """A service refused or failed: its status, the field it names, its reason, and the
    kind of refusal (`code`, with the broken limit in `ctx`) when the service said.
    `from_service`: answered by a service (its reason is English, for developers); else
    raised by the portal itself with its reason in Chinese."""

    def __init__(
        self,
        service: str,
        status: int,
        field: str | None,
        reason: str,
        code: str | None = None,
        ctx: dict[str, Any] | None = None,
        *,
        from_service: bool = False,
    ) -> None:
        super().__init__(f"{service} answered {status}: {field or '-'}: {reason}")
        self.service = service
        self.status = status
        self.field = field
        self.reason = reason
        self.code = code
        self.ctx = ctx or {}
        self.from_service = from_service  # else the portal's own refusal, already in Chinese


class ServiceUnavailable(ServiceError):
    """The service did not answer (connection refused, timeout)."""


def _error(service: str, r: httpx.Response) -> ServiceError:
    field: str | None = None
    code: str | None = None
    ctx: dict[str, Any] | None = None
    reason = r.text[:500]
    try:
        body = r.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        field = detail.get("field") if isinstance(detail.get("field"), str) else None
        reason = str(detail.get("reason", reason))
        code = detail.get("code") if isinstance(detail.get("code"), str) else None
        ctx = detail.get("ctx") if isinstance(detail.get("ctx"), dict) else None
    elif isinstance(detail, list) and detail and isinstance(detail[0], dict):
        # FastAPI's own validation errors: loc ["body", "materials", 0, "code"]
        loc = [str(p) for p in detail[0].get("loc", []) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        reason = str(detail[0].get("msg", reason))
        code = str(detail[0].get("type") or "") or None
        ctx = detail[0].get("ctx") if isinstance(detail[0].get("ctx"), dict) else None
    elif isinstance(detail, str):
        reason = detail
    return ServiceError(service, r.status_code, field, reason, code, ctx, from_service=True)


class ServiceClients:
    """The shared clients, one per service; closed by the app's lifespan."""

    def __init__(self, urls: dict[str, str], timeout_s: float = 10.0) -> None:
        self.clients = {
            name: httpx.AsyncClient(base_url=url, timeout=timeout_s) for name, url in urls.items()
        }

    def as_person(self, token: str | None) -> Api:
        return Api(self, token)

    async def aclose(self) -> None:
        for c in self.clients.values():
            await c.aclose()


@dataclass
class Api:
    """The services, as one person (their token) or as the public (no token)."""

    clients: ServiceClients
    token: str | None

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        h: dict[str, str] = {}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            h["Idempotency-Key"] = idempotency_key
        return h

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        client = self.clients.clients[service]
        try:
            with _timed():
                r = await client.request(
                    method,
                    path,
                    params={k: v for k, v in (params or {}).items() if v not in (None, "")},
                    json=json,
                    headers=self._headers(idempotency_key),
                )
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                service, 503, None, f"{service} does not answer: {exc}", from_service=True
            ) from exc
        if r.status_code >= 400 and r.status_code not in allow:
            raise _error(service, r)
        return r

    async def upload(
        self, service: str, path: str, params: dict[str, Any], files: list[Any]
    ) -> Any:
        """A multipart POST (document scans): `files` as httpx takes them, file objects
        streamed from the portal's spooled copies."""
        client = self.clients.clients[service]
        try:
            r = await client.post(
                path, params=params, files=files, headers=self._headers(), timeout=120
            )
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                service, 503, None, f"{service} does not answer: {exc}", from_service=True
            ) from exc
        if r.status_code >= 400:
            raise _error(service, r)
        return r.json()

    async def open_stream(
        self, service: str, path: str, timeout: float | None = None
    ) -> httpx.Response:
        """A GET whose body is read as it arrives (a document download); the caller closes
        the response (`aclose`). `timeout`: longer than the services' usual, for a document
        the service makes when asked (a situation report printed to PDF)."""
        client = self.clients.clients[service]
        request = client.build_request(
            "GET", path, headers=self._headers(), timeout=timeout or client.timeout
        )
        try:
            r = await client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                service, 503, None, f"{service} does not answer: {exc}", from_service=True
            ) from exc
        if r.status_code >= 400:
            await r.aread()
            await r.aclose()
            raise _error(service, r)
        return r

    async def get(self, service: str, path: str, **params: Any) -> Any:
        # orjson: a page may read the whole org tree (a city's units and staff, ~1 MB)
        return orjson.loads((await self.request(service, "GET", path, params=params)).content)

    async def get_text(self, service: str, path: str, **params: Any) -> str:
        return (await self.request(service, "GET", path, params=params)).text

    async def post(self, service: str, path: str, body: Any, *, idempotency_key: str | None) -> Any:
        r = await self.request(service, "POST", path, json=body, idempotency_key=idempotency_key)
        return orjson.loads(r.content)
