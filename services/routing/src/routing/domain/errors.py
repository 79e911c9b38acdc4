"""Why routing refused a command: each error names the FIELD at fault and the REASON.

The HTTP edge turns a `DomainError` into a 4xx whose body carries `field` and `reason`
(and the status from `http_status`), and the command changes nothing: deciders are pure.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused command. `field` is the command field at fault, `reason` says why; `code`
    the rule broken (default: the class name in snake case, `eventkit.http_errors.code_of`)
    and `ctx` its values, for a client to word the refusal in its own language."""

    http_status = 422

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        code: str | None = None,
        ctx: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = code
        self.ctx = ctx or {}


class InvalidValue(DomainError):
    """The value itself is wrong (empty reason, end before start, tier mismatch...)."""


class UnknownReference(DomainError):
    """The command points at something that does not exist (unit, staff, office, case)."""

    http_status = 404


class AlreadyExists(DomainError):
    """An id is taken: registering it again would fork the history."""

    http_status = 409


class WrongState(DomainError):
    """The case is not in a state that allows this (e.g. deciding a decided case)."""

    http_status = 409


class NotPermitted(DomainError):
    """The actor may not do this (e.g. deciding a case assigned to someone else)."""

    http_status = 403


class Unroutable(DomainError):
    """No office in the tree can take this case; reference data needs fixing."""
