"""Every 4xx names the field and the reason: `{"detail": {"field": ..., "reason": ...}}`.

Shared by the services' HTTP edges:
- domain refusals (each service's `DomainError`, carrying `field` and `reason`) answer the
  status the service maps them to; the decider raised before anything was written, so
  nothing changed;
- request validation (pydantic, before the domain is reached) -> 422 naming the first bad
  field, with every error listed under `errors`;
- an `Idempotency-Key` reused for another request -> 422 naming the header;
- an event too large to publish (`eventkit.limits.EventTooLarge`, raised by the store before
  anything is written; the transaction around it rolls back) -> 413 naming the largest field
  of the event's payload, for every service (`eventkit.service.create_app` installs it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .idempotency import IdempotencyKeyReused, reused_key_error
from .limits import EventTooLarge

TOO_LARGE_STATUS = 413  # Content Too Large: more than the service can record


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


def install_error_handlers(
    app: FastAPI, domain_error: type[Exception], status_of: Callable[[Any], int]
) -> None:
    @app.exception_handler(domain_error)
    async def _domain(_: Request, exc: Any) -> JSONResponse:
        return JSONResponse(
            {"detail": {"field": exc.field, "reason": exc.reason}}, status_code=status_of(exc)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": field_of(tuple(e["loc"])), "reason": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "(body)", "reason": "invalid request"}
        return JSONResponse({"detail": {**first, "errors": errors}}, status_code=422)

    @app.exception_handler(IdempotencyKeyReused)
    async def _reused(_: Request, exc: IdempotencyKeyReused) -> JSONResponse:
        err = reused_key_error(exc)
        return JSONResponse({"detail": err.detail}, status_code=err.status_code)


def install_size_handler(app: FastAPI) -> None:
    """`EventTooLarge` anywhere under a route -> 413 `{"detail": {"field", "reason"}}`."""

    @app.exception_handler(EventTooLarge)
    async def _too_large(_: Request, exc: EventTooLarge) -> JSONResponse:
        return JSONResponse(
            {"detail": {"field": exc.field, "reason": exc.reason}}, status_code=TOO_LARGE_STATUS
        )
