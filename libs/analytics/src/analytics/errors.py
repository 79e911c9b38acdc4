"""Errors the `bianmin` command reports.

`BadInput` is the user's mistake (an unknown topic, org unit or event type, an end before the
start, a path that cannot be read or written): the command prints the field and the reason
and exits with status 2, and nothing has been written. Anything else is an operational
failure (a broker that does not answer, a database that refuses the connection) and exits 1.
"""

from __future__ import annotations

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


class BadInput(ValueError):
    """Refused input: `field` names the option, `reason` says what is wrong with it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ReplayFailed(RuntimeError):
    """The replay could not finish (source unreachable, database error); nothing switched."""
