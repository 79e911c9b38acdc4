"""Routing's HTTP errors (see eventkit.http_errors): domain refusals answer their own
`http_status` (422 invalid, 404 unknown reference, 409 already exists / wrong state,
403 not permitted)."""

from __future__ import annotations

from fastapi import FastAPI

from eventkit import http_errors
from eventkit.http_errors import refuse

from ..domain.errors import DomainError

__all__ = ["install_error_handlers", "refuse"]


def install_error_handlers(app: FastAPI) -> None:
    http_errors.install_error_handlers(app, DomainError, lambda exc: exc.http_status)
