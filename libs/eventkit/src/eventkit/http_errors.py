"""Every 4xx names the field and the reason: `{"detail": {"field": ..., "reason": ...}}`,
and, when it is known, a `code` saying which kind of refusal it is (for a client to word it
in its own language: the portal shows it in Chinese beside the field) and `ctx` (the limit
that was broken, e.g. `{"max_length": 200}`).

Shared by the services' HTTP edges:
- domain refusals (each service's `DomainError`, carrying `field` and `reason`) answer the
  status the service maps them to, with `code`: the error's own `code` attribute if it has
  one, else its class name in snake case (`FeeMismatch` -> `fee_mismatch`), and its `ctx`
  (the values of the rule broken) when it has one; the decider
  raised before anything was written, so nothing changed;
- request validation (pydantic, before the domain is reached) -> 422 naming the first bad
  field, its pydantic error type as `code` (`string_too_long`, `missing`...) with `ctx`,
  and every error listed under `errors`;
- an `Idempotency-Key` reused for another request -> 422 naming the header;
- an event too large to publish (`eventkit.limits.EventTooLarge`, raised by the store before
  anything is written; the transaction around it rolls back) -> 413 naming the largest field
  of the event's payload, for every service (`eventkit.service.create_app` installs it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route, compile_path

from .idempotency import IdempotencyKeyReused, reused_key_error
from .limits import EventTooLarge

TOO_LARGE_STATUS = 413  # Content Too Large: more than the service can record

log = logging.getLogger("eventkit.http")


def refuse(status: int, field: str, reason: str) -> HTTPException:
    """A 4xx of the edge's own (role, scope, ownership, unknown reference...)."""
    return HTTPException(status, detail={"field": field, "reason": reason})


def field_of(loc: tuple[Any, ...]) -> str:
    """pydantic's error location as the field a person would name: `applicant.id_number`,
    `materials_provided[2].form`, or the header's name."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        source = parts.pop(0)
        if source == "header" and parts:
            return str(parts[0])
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(body)"


def code_of(exc: BaseException) -> str:
    """The refusal's code: its `code` attribute when set, else its class name in snake case
    (`InvalidIdNumber` -> `invalid_id_number`)."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def ctx_of(error: Mapping[str, Any]) -> dict[str, Any] | None:
    """pydantic's error context, its plain values only (the limit: `max_length`, `ge`...)."""
    ctx = error.get("ctx")
    if not isinstance(ctx, Mapping):
        return None
    plain = {
        str(k): v for k, v in ctx.items() if isinstance(v, (str, int, float, bool)) or v is None
    }
    return plain or None


def install_error_handlers(
    app: FastAPI, domain_error: type[Exception], status_of: Callable[[Any], int]
) -> None:
    @app.exception_handler(domain_error)
    async def _domain(_: Request, exc: Any) -> JSONResponse:
        detail: dict[str, Any] = {"field": exc.field, "reason": exc.reason, "code": code_of(exc)}
        ctx = ctx_of({"ctx": getattr(exc, "ctx", None)})
        if ctx:
            detail["ctx"] = ctx
        return JSONResponse({"detail": detail}, status_code=status_of(exc))

    install_common_handlers(app)


# -- the handlers every service has (installed by `eventkit.service.create_app`) -------------
def _reason_of(msg: str) -> str:
    """pydantic's message without its "Value error, " prefix (our validators' own words)."""
    return msg.removeprefix("Value error, ")


def _field_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """pydantic's errors as `{"field", "reason", "code"[, "ctx"]}`."""
    out = []
    for e in errors:
        one: dict[str, Any] = {
            "field": field_of(tuple(e["loc"])),
            "reason": _reason_of(str(e["msg"])),
            "code": str(e.get("type") or "value_error"),
        }
        ctx = ctx_of(e)
        if ctx:
            one["ctx"] = ctx
        out.append(one)
    return out


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(list(exc.errors()))
    first = errors[0] if errors else {"field": "(body)", "reason": "invalid request"}
    return JSONResponse({"detail": {**first, "errors": errors}}, status_code=422)


async def _reused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IdempotencyKeyReused)
    err = reused_key_error(exc)
    return JSONResponse({"detail": err.detail}, status_code=err.status_code)


_DEFAULT_FIELD = {401: "Authorization", 404: "path", 405: "method", 413: "(body)"}


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at this path (Starlette's own 405 names
    only the first route matching the path, so GET and POST on one path said `Allow: POST`)."""
    from .openapi import _api_routes

    path = request.url.path
    methods: set[str] = set()
    routes = list(request.app.router.routes)
    plain = [r for r in routes if isinstance(r, Route) and not isinstance(r, APIRoute)]
    for route in [*plain, *_api_routes(routes)]:
        if compile_path(route.path_format)[0].match(path):
            methods |= set(route.methods or ())
    return sorted(methods)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    """Every HTTPException in the one shape: `detail` is an object with field and reason."""
    assert isinstance(exc, StarletteHTTPException)
    field = _DEFAULT_FIELD.get(exc.status_code, "(request)")
    raw: Any = exc.detail
    detail: dict[str, Any] = (
        {"field": field, "reason": "refused", **raw}
        if isinstance(raw, dict)
        else {"field": field, "reason": str(raw)}
    )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
        detail["reason"] = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)


async def _model_validation(request: Request, exc: Exception) -> JSONResponse:
    """A model built from the request inside a route (a command, an event) refused a value
    the request model let through: the caller's input, so a 422 naming the field, not a 500.
    Logged, since it means a request model is looser than what it feeds."""
    assert isinstance(exc, ValidationError)
    errors = _field_errors(list(exc.errors()))
    log.warning(
        "a model inside the route refused the request",
        extra={"path": request.url.path, "model": exc.title, "errors": errors[:5]},
    )
    first = errors[0] if errors else {"field": "(body)", "reason": "invalid request"}
    return JSONResponse({"detail": {**first, "errors": errors}}, status_code=422)


def install_common_handlers(app: FastAPI) -> None:
    """Request validation, HTTPException (404/405 of the router too) and a reused
    Idempotency-Key, each answered `{"detail": {"field", "reason", ...}}`."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ValidationError, _model_validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IdempotencyKeyReused, _reused)


def install_size_handler(app: FastAPI) -> None:
    """`EventTooLarge` anywhere under a route -> 413 `{"detail": {"field", "reason"}}`."""

    @app.exception_handler(EventTooLarge)
    async def _too_large(_: Request, exc: EventTooLarge) -> JSONResponse:
        return JSONResponse(
            {"detail": {"field": exc.field, "reason": exc.reason}}, status_code=TOO_LARGE_STATUS
        )
