"""Typed refusals of the intake domain.

Every refusal names the field at fault and says why, so the HTTP edge can answer with a 4xx
that tells the caller exactly what to fix, and nothing was changed (deciders are pure). The
class says which kind of 4xx: `InvalidField` -> 422, `NotFound` -> 404, `Conflict` -> 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError


class DomainError(Exception):
    """A command refused: `field` is a dotted path into the command, `reason` is for people,
    `code` the kind of refusal and `ctx` its values, for clients (default code: the class
    name in snake case, see `eventkit.http_errors.code_of`)."""

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        code: str | None = None,
        ctx: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = code
        self.ctx = dict(ctx or {})


class InvalidField(DomainError):
    """The value of a field breaks a rule (422)."""


class UnknownItem(InvalidField):
    """No catalog item with this code."""


class ItemNotInForce(InvalidField):
    """The item exists but no version of it is in force at that time."""


class MaterialNotInList(InvalidField):
    """A material code that the item's published list does not contain."""


class FeeMismatch(InvalidField):
    """A fee or deposit other than the published standard, without an officer's override."""


class InvalidIdNumber(InvalidField):
    """Not a valid 18-character PRC resident identity number (GB 11643-1999)."""


class NotFound(DomainError):
    """The thing the command is about does not exist (404)."""


class CaseNotFound(NotFound):
    pass


class Conflict(DomainError):
    """The command is valid but impossible in the current state (409)."""


class WrongStatus(Conflict):
    """The case's status does not allow this command."""


class AlreadyExists(Conflict):
    """A duplicate: the case, version or evaluation already exists."""


M = TypeVar("M", bound=BaseModel)


def parse_command(model: type[M], data: Mapping[str, Any]) -> M:
    """Build a command from untrusted input, turning pydantic's error into an `InvalidField`.

    Commands forbid unknown fields; the first error is reported with its path, e.g.
    `applicant.phone` or `materials_provided[2].form`.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidField(_path(first["loc"]), first["msg"], code=first["type"]) from exc


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(command)"
