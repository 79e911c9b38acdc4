"""One rule for a service's own token settings over the shared ones (`<SVC>_AUTH_*` over
`AUTH_*`), used by every service that has its own (`AuthSettings.overlaid`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventkit.auth import AuthSettings

pytestmark = pytest.mark.unit

SHARED = AuthSettings(
    public_key="shared-pem", issuer="bianmin", audience="bianmin-services", leeway_seconds=5
)


def test_nothing_of_its_own_keeps_the_shared_settings() -> None:
    assert SHARED.overlaid() == SHARED


def test_a_service_key_of_any_kind_replaces_the_shared_key_entirely() -> None:
    by_jwks = SHARED.overlaid(jwks_url="https://idp.example/jwks")
    assert (by_jwks.public_key, by_jwks.public_key_file, by_jwks.jwks_url) == (
        None,
        None,
        "https://idp.example/jwks",
    )
    by_file = SHARED.overlaid(public_key_file=Path("/etc/bianmin/intake.pem"))
    assert (by_file.public_key, by_file.public_key_file) == (None, Path("/etc/bianmin/intake.pem"))
    # what the service did not set stays the shared value
    assert (by_jwks.issuer, by_jwks.audience, by_jwks.leeway_seconds) == (
        "bianmin",
        "bianmin-services",
        5,
    )


def test_issuer_and_audience_replace_one_by_one_and_keep_the_shared_key() -> None:
    own = SHARED.overlaid(audience="bianmin-routing")
    assert (own.public_key, own.issuer, own.audience) == (
        "shared-pem",
        "bianmin",
        "bianmin-routing",
    )
