"""Intake's HTTP errors (see eventkit.http_errors): `InvalidField` -> 422,
`NotFound` -> 404, `Conflict` -> 409."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException

from eventkit import http_errors
from eventkit.http_errors import refuse

from ..domain.errors import Conflict, DomainError, NotFound

__all__ = ["domain_http_error", "domain_status", "install_error_handlers", "refuse"]


def domain_status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    return 422


def domain_http_error(exc: DomainError) -> HTTPException:
    return HTTPException(domain_status(exc), detail={"field": exc.field, "reason": exc.reason})


def install_error_handlers(app: FastAPI) -> None:
    http_errors.install_error_handlers(app, DomainError, domain_status)
