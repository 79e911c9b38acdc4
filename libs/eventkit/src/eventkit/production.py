"""Production refuses development settings: the one place that decides, for every service.

A service started without its secrets, without knowing whose tokens to trust, or with
drills on (endpoints that act at a chosen time, a shifted clock) would run, and quietly do
what a production service must never do: derive residents' codes from a secret that is in
the public repository, accept tokens an identity provider signed for another system, stamp
events with a time that is not now. Such a start is refused with one line naming every
setting at fault, unless the explicit development flag is set:

    BIANMIN_DEVELOPMENT=1      (`make run`, the demo, the test suite and its stacks set it)

With the flag the same findings are logged as warnings and the service starts. Each
service's bootstrap states what it needs (`refuse_unsafe_production`); nothing else decides.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from .auth import AuthSettings

log = logging.getLogger("eventkit.production")

DEVELOPMENT_FLAG = "BIANMIN_DEVELOPMENT"
_TRUE = frozenset({"1", "true", "yes", "on"})


class ProductionConfigError(SystemExit):
    """A production start with development settings. A `SystemExit`: raised from a
    service's bootstrap, the process prints this one line and exits (code 1), no traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def development(env: Mapping[str, str] | None = None) -> bool:
    """Is the explicit development flag set (`BIANMIN_DEVELOPMENT=1`)?"""
    value = (os.environ if env is None else env).get(DEVELOPMENT_FLAG, "")
    return value.strip().lower() in _TRUE


def auth_problems(auth: AuthSettings) -> list[str]:
    """What production needs of token verification: a key, and whose tokens (iss, aud)."""
    problems = []
    if not (auth.public_key or auth.public_key_file or auth.jwks_url):
        problems.append("AUTH_PUBLIC_KEY, AUTH_PUBLIC_KEY_FILE or AUTH_JWKS_URL is not set")
    if not auth.issuer:
        problems.append("AUTH_ISSUER is not set")
    if not auth.audience:
        problems.append("AUTH_AUDIENCE is not set")
    return problems


def refuse_unsafe_production(
    service: str,
    *,
    secrets: Mapping[str, object | None] | None = None,
    auth: AuthSettings | None = None,
    drills: Mapping[str, bool] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Refuse (`ProductionConfigError`) a production start of `service` when a secret in
    `secrets` (setting name -> value) is unset, `auth` lacks a key, issuer or audience, or
    a drill in `drills` (setting name -> on) is on. With the development flag, log each
    finding as a warning instead. Returns the findings."""
    problems = [f"{name} is not set" for name, value in (secrets or {}).items() if not value]
    if auth is not None:
        problems += auth_problems(auth)
    problems += [
        f"{name} is on (drills and tests only)" for name, on in (drills or {}).items() if on
    ]
    if not problems:
        return []
    if development(env):
        for p in problems:
            log.warning(
                "development settings (%s=1): %s", DEVELOPMENT_FLAG, p, extra={"service": service}
            )
        return problems
    raise ProductionConfigError(
        f"{service} refuses to start in production: {'; '.join(problems)} "
        f"(for development only, set {DEVELOPMENT_FLAG}=1)"
    )
