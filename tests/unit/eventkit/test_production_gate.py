"""Issue 18 #6: a production start with development settings is refused, by one rule
(`eventkit.production`) for all four services, unless BIANMIN_DEVELOPMENT=1 is set."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from eventkit.auth import AuthSettings
from eventkit.production import (
    DEVELOPMENT_FLAG,
    ProductionConfigError,
    development,
    refuse_unsafe_production,
)

pytestmark = pytest.mark.unit

PEM_FREE_AUTH = AuthSettings(public_key="(a key)", issuer="https://idp.example", audience="bm")


def test_the_flag_is_explicit() -> None:
    assert development({DEVELOPMENT_FLAG: "1"})
    assert development({DEVELOPMENT_FLAG: "true"})
    assert not development({})
    assert not development({DEVELOPMENT_FLAG: "0"})


def test_a_missing_secret_or_a_drill_refuses_production_with_one_line_naming_them() -> None:
    with pytest.raises(ProductionConfigError) as caught:
        refuse_unsafe_production(
            "svc",
            secrets={"SVC_SECRET": None, "SVC_OTHER": "set"},
            auth=AuthSettings(public_key="(a key)"),
            drills={"SVC_DRILL": True, "SVC_CLOCK": False},
            env={},
        )
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("svc refuses to start in production: SVC_SECRET is not set")
    for named in ("AUTH_ISSUER", "AUTH_AUDIENCE", "SVC_DRILL is on", DEVELOPMENT_FLAG):
        assert named in message
    for fine in ("SVC_OTHER", "SVC_CLOCK", "AUTH_PUBLIC_KEY"):
        assert fine not in message


def test_the_development_flag_lets_it_start_with_the_findings_logged() -> None:
    found = refuse_unsafe_production(
        "svc", secrets={"SVC_SECRET": None}, env={DEVELOPMENT_FLAG: "1"}
    )
    assert found == ["SVC_SECRET is not set"]
    assert refuse_unsafe_production("svc", secrets={"S": "x"}, auth=PEM_FREE_AUTH, env={}) == []


def _intake(**kw: Any) -> Any:
    from intake.bootstrap import build
    from intake.settings import Settings

    return build(Settings(**kw))


def _routing(**kw: Any) -> Any:
    from routing.bootstrap import build
    from routing.settings import Settings

    return build(Settings(**kw))


def _notify(**kw: Any) -> Any:
    from notify.bootstrap import build
    from notify.settings import Settings

    return build(Settings(**kw))


def _audit(**kw: Any) -> Any:
    from audit.bootstrap import build
    from audit.settings import Settings

    return build(Settings(**kw))


@pytest.mark.parametrize(
    ("build", "settings", "named"),
    [
        (
            _intake,
            {},
            [
                "INTAKE_VERIFICATION_SECRET is not set",
                "INTAKE_PERSONAL_DATA_MASTER_KEYS is not set",
                "INTAKE_PERSONAL_DATA_LOOKUP_KEY is not set",
                "INTAKE_CONTACT_SECRET is not set",
                "AUTH_ISSUER",
            ],
        ),
        (
            _intake,
            {"verification_secret": "bianmin-dev-only-verification-secret"},
            ["INTAKE_VERIFICATION_SECRET is not set"],
        ),
        (_intake, {"clock_offset_days": 3}, ["INTAKE_CLOCK_OFFSET_DAYS is on"]),
        (_routing, {"drill_endpoints": True}, ["ROUTING_DRILL_ENDPOINTS is on", "AUTH_AUDIENCE"]),
        (_routing, {"clock_offset_days": 1.5}, ["ROUTING_CLOCK_OFFSET_DAYS is on"]),
        (
            _notify,
            {},
            ["NOTIFY_VERIFICATION_SECRET is not set", "NOTIFY_INTAKE_CONTACT_SECRET is not set"],
        ),
        (_audit, {}, ["AUDIT_SIGNING_KEY", "AUDIT_PERSONAL_HMAC_KEY is not set"]),
    ],
    ids=lambda x: getattr(x, "__name__", None) or str(x),
)
def test_every_service_refuses_a_production_start_with_development_settings(
    monkeypatch: pytest.MonkeyPatch,
    build: Callable[..., Any],
    settings: dict[str, Any],
    named: list[str],
) -> None:
    for var in list(os.environ):
        if var.startswith(("INTAKE_", "ROUTING_", "NOTIFY_", "AUDIT_", "AUTH_")):
            monkeypatch.delenv(var)
    monkeypatch.delenv(DEVELOPMENT_FLAG, raising=False)
    with pytest.raises(ProductionConfigError) as caught:
        build(**settings)
    for n in named:
        assert n in str(caught.value)
    monkeypatch.setenv(DEVELOPMENT_FLAG, "1")
    build(**settings)  # the same settings start in development (nothing connects in build)


def test_the_process_exits_with_the_one_line_and_no_traceback() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INTAKE_", "ROUTING_", "NOTIFY_", "AUDIT_", "AUTH_", "BIANMIN_"))
    }
    r = subprocess.run(
        [sys.executable, "-m", "routing"],
        env={**env, "ROUTING_DRILL_ENDPOINTS": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr
    assert last[-1].startswith("routing refuses to start in production:")
    assert "ROUTING_DRILL_ENDPOINTS is on" in last[-1]
