"""Every 4xx names the field and the reason: `{"detail": {"field": ..., "reason": ...}}`.

- domain refusals (`routing.domain.errors`) answer their own `http_status` (422 invalid,
  404 unknown reference, 409 already exists / wrong state, 403 not permitted); the decider
  raised before anything was written, so nothing changed;
- request validation (pydantic, before the domain is reached) -> 422 naming the first bad
  field, with every error listed under `errors`;
- an `Idempotency-Key` reused for another request -> 422 naming the header.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from eventkit.idempotency import IdempotencyKeyReused, reused_key_error

from ..domain.errors import DomainError


def refuse(status: int, field: str, reason: str) -> HTTPException:
    """A 4xx of the edge's own (scope, unknown staff, disabled drill endpoint...)."""
    return HTTPException(status, detail={"field": field, "reason": reason})


def _loc(loc: tuple[Any, ...]) -> str:
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            {"detail": {"field": exc.field, "reason": exc.reason}}, status_code=exc.http_status
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _loc(tuple(e["loc"])), "reason": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "(body)", "reason": "invalid request"}
        return JSONResponse({"detail": {**first, "errors": errors}}, status_code=422)

    @app.exception_handler(IdempotencyKeyReused)
    async def _reused(_: Request, exc: IdempotencyKeyReused) -> JSONResponse:
        err = reused_key_error(exc)
        return JSONResponse({"detail": err.detail}, status_code=err.status_code)
