"""What each service's OpenAPI says about errors and authentication, derived in one place.

`create_app` replaces the app's `openapi()` with `openapi_with_errors`, which adds to
FastAPI's document what FastAPI cannot know:

- the one error shape, `ErrorBody` (`{"detail": {"field", "reason", ...}}`), for every 4xx
  (FastAPI documents its own `HTTPValidationError` list for 422, which no route sends);
- the statuses every operation can answer because of the shared edge: 422 (validation, and
  `EdgeGuard`'s text and number rules), 413 when it takes a body, 401 when it reads a bearer
  token, 403 when it requires one, 404 when a path parameter names something;
- `securitySchemes` (bearer JWT) and each operation's `security`, from the auth dependencies
  it uses (`eventkit.auth.AUTH_DEPENDENCIES`): `/docs` can then authorize;

and each route names its own further refusals with `responses=errors(404, 409)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from .auth import AUTH_DEPENDENCIES

BEARER = "bearerAuth"

DESCRIPTIONS: dict[int, str] = {
    400: "Bad request: a body that cannot be read, or parameters that contradict each other",
    401: "No valid bearer token (missing, malformed, expired or not signed by a trusted key)",
    403: "Not permitted for this caller (role, center or ownership)",
    404: "Not found",
    409: "Conflict with the current state (already exists, wrong state)",
    413: "The request body is over this service's limit",
    422: "Invalid input: the field named and why",
    429: "Too many attempts",
    503: "Not available: a dependency or setting is missing",
}


class FieldError(BaseModel):
    field: str = Field(description="The field, parameter or header refused")
    reason: str = Field(description="Why, in words")
    code: str | None = Field(default=None, description="pydantic's error type")
    ctx: dict[str, Any] | None = Field(default=None, description="The limit broken")


class ErrorDetail(BaseModel):
    """What was refused and why (plus what else the refusal needs to say)."""

    model_config = ConfigDict(extra="allow")

    field: str = Field(
        description="The field (`applicant.name`, `materials[2].code`), query or path "
        "parameter, or header (`Authorization`, `Idempotency-Key`) refused; `(body)` for "
        "the body as a whole, `path`/`method` for the URL itself"
    )
    reason: str = Field(description="Why, in words")
    code: str | None = Field(
        default=None,
        description="Which kind of refusal, for a client to word it in its own language: "
        "pydantic's error type (`missing`, `string_too_long`) or the domain refusal's "
        "(`invalid_id_number`, `fee_mismatch`, `wrong_state`)",
    )
    ctx: dict[str, Any] | None = Field(
        default=None, description="The values of the rule broken (`max_length`, `date`)"
    )
    errors: list[FieldError] | None = Field(
        default=None, description="Every invalid field, when there are several (422)"
    )


class ErrorBody(BaseModel):
    """Every 4xx of every service has this shape."""

    detail: ErrorDetail


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the refusals it answers besides the shared ones."""
    return {c: {"model": ErrorBody, "description": DESCRIPTIONS.get(c, "Refused")} for c in codes}


def _auth_of(dependant: Dependant) -> set[str]:
    found: set[str] = set()
    stack = [dependant]
    while stack:
        d = stack.pop()
        kind = AUTH_DEPENDENCIES.get(d.call) if d.call is not None else None
        if kind is not None:
            found.add(kind)
        stack.extend(d.dependencies)
    return found


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _api_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every API route, those of included routers too (FastAPI >= 0.16x keeps included
    routers as one entry of `app.routes`; `iter_route_contexts` opens them)."""
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    if iterate is None:
        yield from (r for r in routes if isinstance(r, APIRoute))
        return
    for context in iterate(list(routes)):
        if isinstance(getattr(context, "original_route", context), APIRoute):
            yield context


def _error_response(code: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS.get(code, "Refused"),
        "content": {"application/json": {"schema": _ERROR_REF}},
    }


def _set_error(responses: dict[str, Any], code: int) -> None:
    key = str(code)
    if key not in responses:
        responses[key] = _error_response(code)
    else:  # a route's own or FastAPI's 422: the one shape
        responses[key].setdefault("content", {})["application/json"] = {"schema": _ERROR_REF}


def add_error_documentation(schema: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """Mutates and returns an OpenAPI document (see the module doc)."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    defs = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(defs.pop("$defs", {}))
    schemas["ErrorBody"] = defs
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token from the identity provider (dev: `python -m eventkit.auth "
        "mint`), with claims sub, role, exp and, for staff, org_id and tier",
    }
    paths = schema.get("paths", {})
    for route in _api_routes(routes):
        if not route.include_in_schema:
            continue
        auth = _auth_of(route.dependant)
        for method in route.methods or ():
            op = paths.get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            responses = op.setdefault("responses", {})
            _set_error(responses, 422)
            if "requestBody" in op:
                _set_error(responses, 400)  # a body that is not JSON, or not UTF-8
                _set_error(responses, 413)
            if auth:
                _set_error(responses, 401)
                if auth & {"required", "roles"}:
                    op["security"] = [{BEARER: []}]
                    _set_error(responses, 403)
                else:
                    op["security"] = [{}, {BEARER: []}]
            if route.dependant.path_params:
                _set_error(responses, 404)
            for code, response in responses.items():
                if code.startswith("4"):
                    response.setdefault("content", {})["application/json"] = {"schema": _ERROR_REF}
    return schema


def install_openapi(app: FastAPI) -> None:
    """Replace `app.openapi` with one that documents errors and authentication."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = add_error_documentation(schema, app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = [
    "BEARER",
    "ErrorBody",
    "ErrorDetail",
    "add_error_documentation",
    "errors",
    "install_openapi",
]
