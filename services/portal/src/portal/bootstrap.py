"""Builds the portal from settings: service clients, templates, sessions, page modules.

Connects nothing at import or build time: the service clients open connections on first
use and are closed by the app's lifespan. No database, no Kafka: every page comes from the
services' HTTP APIs.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from .http import AUDIENCES
from .services_api import SERVICE_CLOCK, ServiceClients, ServiceClock, ServiceError
from .settings import Settings
from .signin import DevMinter
from .web import Audience, SignInRequired, make_templates, render, signin_redirect

log = logging.getLogger("portal")

STATIC_DIR = Path(__file__).parent / "static"
VENDOR_FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "axe.min.js": "axe-core/axe.min.js",
}


def load_audiences() -> list[Audience]:
    out = []
    for name in AUDIENCES:
        module = importlib.import_module(f"portal.http.{name}")
        out.append(module.AUDIENCE)
    return out


def build(
    settings: Settings | None = None,
    *,
    clients: ServiceClients | None = None,
    oidc_http: dict[str, Any] | None = None,
) -> FastAPI:
    """The portal app. `clients`: the service clients (built from settings otherwise);
    `oidc_http`: extra httpx arguments for the calls to the identity provider (a test's
    transport to a local fake provider)."""
    settings = settings or Settings()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per call to the services
    if settings.session_secret is None:
        raise SystemExit(
            "PORTAL_SESSION_SECRET is not set: it signs the session cookies "
            "(`make run` makes one in .local/dev-portal-session-secret)"
        )
    service_clients = clients or ServiceClients(settings.service_urls(), settings.service_timeout_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await service_clients.aclose()

    app = FastAPI(
        title="Bianmin portal",
        description="便民服务：办事指南、办件查询、窗口与审批工作台",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.clients = service_clients
    app.state.templates = make_templates()
    app.state.minter = (
        DevMinter(settings.dev_key_file)
        if settings.dev_signin and settings.dev_key_file is not None
        else None
    )
    app.state.oauth = _oauth(settings, oidc_http or {}) if settings.oidc_enabled else None
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie="bianmin_portal",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.cookie_secure,
    )

    @app.get("/static/vendor/{name}", include_in_schema=False)
    async def vendor(name: str) -> Response:
        """The npm packages `make deps` installed (never committed, never a CDN)."""
        from fastapi.responses import FileResponse

        rel = VENDOR_FILES.get(name)
        path = settings.static_vendor_dir / rel if rel else None
        if path is None or not path.is_file():
            return Response(
                f"/* {name}: not installed (run make deps) */", 404, media_type="text/javascript"
            )
        return FileResponse(
            path, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"}
        )

    @app.middleware("http")
    async def server_timing(request: Request, call_next: Any) -> Response:
        """`Server-Timing: app;dur=<ms>, svc;dur=<ms>`: the portal's time for the page, and
        the part of it spent waiting for the services (`ServiceClock`); the bench's
        `portal.page_p95_ms*` reads both, so can any browser's network panel."""
        t0 = time.perf_counter()
        clock = ServiceClock()
        token = SERVICE_CLOCK.set(clock)
        try:
            response: Response = await call_next(request)
        finally:
            SERVICE_CLOCK.reset(token)
        app_ms = (time.perf_counter() - t0) * 1000
        response.headers["Server-Timing"] = (
            f"app;dur={app_ms:.1f}, svc;dur={clock.total_s * 1000:.1f}"
        )
        return response

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    audiences = load_audiences()
    app.state.audiences = audiences
    for a in audiences:
        app.include_router(a.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Ready when every service answers its /healthz (the portal has nothing else)."""
        checks: dict[str, str] = {}
        for name, client in service_clients.clients.items():
            try:
                r = await client.get("/healthz", timeout=3)
                checks[name] = (
                    "ok" if r.status_code == 200 else f"{name} /healthz answered {r.status_code}"
                )
            except httpx.TransportError as exc:
                checks[name] = f"{name} does not answer: {exc!r}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503
        )

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        if request.headers.get("hx-request") == "true":
            return Response(
                status_code=200, headers={"HX-Redirect": f"/signin?next={exc.next_path}"}
            )
        return signin_redirect(exc.next_path)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        if exc.status == 401:
            request.session.pop("person", None)
            return signin_redirect(request.url.path)
        status = (
            exc.status if exc.status in (403, 404, 409, 429) else 503 if exc.status >= 500 else 400
        )
        return render(request, "error.html", status_code=status, error=exc, status=status)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        return render(
            request,
            "error.html",
            status_code=exc.status_code,
            error=None,
            status=exc.status_code,
            detail=exc.detail if isinstance(exc.detail, str) else None,
        )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    return app


def _oauth(settings: Settings, http: dict[str, Any]) -> Any:
    from authlib.integrations.starlette_client import OAuth

    oauth = OAuth()
    oauth.register(
        "idp",
        server_metadata_url=settings.oidc_metadata_url,
        client_id=settings.oidc_client_id,
        client_secret=(
            settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
        ),
        client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256", **http},
    )
    return oauth


__all__ = ["build"]
