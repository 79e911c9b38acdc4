"""OIDC sign-in (authorization code + PKCE, Authlib) against a local fake identity provider:
the provider's claims become the signed-in person (role, center, tier, name), the services
get the provider's token, and claims that name no role the services know sign nobody in."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from portal.bootstrap import build
from portal.services_api import ServiceClients
from portal.settings import Settings

pytestmark = pytest.mark.unit

ISSUER = "https://idp.example"
CLIENT_ID = "bianmin-portal"


class FakeIdP:
    """Discovery, token endpoint and JWKS of an OIDC provider, as an httpx transport."""

    def __init__(self, claims: dict[str, Any]) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.claims = claims
        self.nonce: str | None = None
        self.token_requests: list[dict[str, list[str]]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        if path == "/jwks":
            return httpx.Response(200, json={"keys": [self.key.as_dict(private=False)]})
        if path == "/token":
            form = parse_qs(request.content.decode())
            self.token_requests.append(form)
            now = int(time.time())
            id_claims = {
                "iss": ISSUER,
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 600,
                "nonce": self.nonce,
                **self.claims,
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, id_claims, self.key)
            return httpx.Response(
                200,
                json={
                    "access_token": "provider-access-token",
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "id_token": id_token,
                },
            )
        return httpx.Response(404)


def _app(idp: FakeIdP) -> TestClient:
    settings = Settings(
        session_secret="unit-test-secret-0123456789",
        cookie_secure=False,
        oidc_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
        oidc_client_id=CLIENT_ID,
        oidc_client_secret="s3cret",
    )
    # the services are never called on this path: nothing listens there
    clients = ServiceClients(
        {n: "http://127.0.0.1:9" for n in ("intake", "routing", "notify", "audit")}
    )
    app = build(
        settings, clients=clients, oidc_http={"transport": httpx.MockTransport(idp.handler)}
    )
    return TestClient(app, base_url="http://portal.test")


def _sign_in(client: TestClient, idp: FakeIdP, next_path: str = "/") -> httpx.Response:
    r = client.get(f"/signin/oidc?next={next_path}", follow_redirects=False)
    assert r.status_code == 302
    auth = urlparse(r.headers["location"])
    assert f"{auth.scheme}://{auth.netloc}{auth.path}" == f"{ISSUER}/authorize"
    q = parse_qs(auth.query)
    assert q["client_id"] == [CLIENT_ID] and q["response_type"] == ["code"]
    assert q["code_challenge_method"] == ["S256"]  # PKCE
    idp.nonce = q["nonce"][0]
    return client.get(
        f"/signin/oidc/callback?code=the-code&state={q['state'][0]}", follow_redirects=False
    )


def test_a_town_officer_signs_in_with_the_providers_claims() -> None:
    idp = FakeIdP(
        {
            "sub": "ruian.mayu.jsb.a",
            "role": "officer",
            "org_id": "ruian.mayu",
            "tier": "town",
            "name": "王建华",
        }
    )
    with _app(idp) as client:
        r = _sign_in(client, idp, "/officer")
        assert r.status_code == 303 and r.headers["location"] == "/officer"
        assert idp.token_requests[0]["code"] == ["the-code"]
        assert "code_verifier" in idp.token_requests[0]
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        # the officer's queue calls routing, which a unit test does not run: the signed-in
        # person shows in the header of every page, here the status form (which calls nothing)
        page = client.get("/status")
        assert page.status_code == 200
        assert "王建华" in page.text and "审批人员" in page.text


def test_a_provider_that_names_no_known_role_signs_nobody_in() -> None:
    idp = FakeIdP({"sub": "someone", "role": "superuser", "name": "某人"})
    with _app(idp) as client:
        r = _sign_in(client, idp)
        assert r.status_code == 403
        assert "身份信息不完整" in r.text and "superuser" in r.text
        assert client.get("/officer", follow_redirects=False).status_code == 303  # not signed in


def test_a_staff_member_without_a_center_is_refused() -> None:
    idp = FakeIdP({"sub": "ruian.x", "role": "community_agent", "name": "无中心"})
    with _app(idp) as client:
        r = _sign_in(client, idp)
        assert r.status_code == 403 and "org_id" in r.text


def test_a_forged_state_is_refused() -> None:
    idp = FakeIdP({"sub": "x", "role": "resident"})
    with _app(idp) as client:
        client.get("/signin/oidc", follow_redirects=False)
        r = client.get("/signin/oidc/callback?code=c&state=forged", follow_redirects=False)
        assert r.status_code == 401 and idp.token_requests == []
