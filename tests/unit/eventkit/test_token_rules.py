"""Issue 18 #6: a token must say when it was issued, may not live for ever, and a verifier
that fetches keys from a JWKS URL checks whose tokens they are (issuer and audience)."""

from __future__ import annotations

import time

import jwt
import pytest

from eventkit.auth import AuthError, AuthSettings, TokenVerifier, generate_private_key, public_pem

pytestmark = pytest.mark.unit


def _signed(key: object, **claims: object) -> str:
    return jwt.encode({"sub": "insp-1", "role": "inspector", **claims}, key, algorithm="EdDSA")


def test_a_token_without_iat_is_refused() -> None:
    key = generate_private_key()
    v = TokenVerifier(AuthSettings(public_key=public_pem(key)))
    now = int(time.time())
    assert v.verify_sync(_signed(key, iat=now, exp=now + 600)).sub == "insp-1"
    with pytest.raises(AuthError, match="iat"):
        v.verify_sync(_signed(key, exp=now + 600))


def test_a_token_valid_until_9999_is_refused() -> None:
    key = generate_private_key()
    v = TokenVerifier(AuthSettings(public_key=public_pem(key)))
    now = int(time.time())
    forever = 253402300799  # 9999-12-31T23:59:59Z
    with pytest.raises(AuthError, match="lifetime"):
        v.verify_sync(_signed(key, iat=now, exp=forever))


def test_the_maximum_lifetime_is_a_setting() -> None:
    key = generate_private_key()
    now = int(time.time())
    v = TokenVerifier(AuthSettings(public_key=public_pem(key), max_lifetime_seconds=3600))
    assert v.verify_sync(_signed(key, iat=now, exp=now + 3600)).sub == "insp-1"
    with pytest.raises(AuthError, match="lifetime"):
        v.verify_sync(_signed(key, iat=now, exp=now + 3601 + 60))


def test_a_jwks_url_needs_issuer_and_audience() -> None:
    url = "https://idp.example/jwks"
    for missing in (
        {"issuer": None, "audience": "bianmin"},
        {"issuer": "https://idp.example", "audience": None},
    ):
        with pytest.raises(ValueError, match="AUTH_ISSUER and AUTH_AUDIENCE"):
            TokenVerifier(AuthSettings(jwks_url=url, **missing))
    TokenVerifier(AuthSettings(jwks_url=url, issuer="https://idp.example", audience="bianmin"))
