"""eventkit.auth: bearer JWT verification, roles, the FastAPI dependency, the dev-token CLI."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI

from eventkit.auth import (
    AuthError,
    AuthSettings,
    Principal,
    TokenVerifier,
    generate_private_key,
    install,
    mint_token,
    public_pem,
    require_roles,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_tokens_verify_with_the_public_key(alg: str) -> None:
    key = generate_private_key(alg)
    v = TokenVerifier(AuthSettings(public_key=public_pem(key)))
    tok = mint_token(key, sub="insp-1", role="inspector", org_id="ruian", tier="city")
    p = v.verify_sync(tok)
    assert (p.sub, p.role, p.org_id, p.tier) == ("insp-1", "inspector", "ruian", "city")
    assert jwt.get_unverified_header(tok)["alg"] == alg


def test_invalid_tokens_are_refused() -> None:
    key = generate_private_key()
    v = TokenVerifier(AuthSettings(public_key=public_pem(key), issuer="idp", audience="bianmin"))
    ok = mint_token(
        key,
        sub="a",
        role="officer",
        org_id="ruian.mayu",
        tier="town",
        issuer="idp",
        audience="bianmin",
    )
    assert v.verify_sync(ok).role == "officer"
    bad = {
        "expired": mint_token(
            key,
            sub="a",
            role="officer",
            issuer="idp",
            audience="bianmin",
            now=time.time() - 7200,
            ttl_seconds=60,
        ),
        "issuer": mint_token(key, sub="a", role="officer", issuer="evil", audience="bianmin"),
        "audience": mint_token(key, sub="a", role="officer", issuer="idp", audience="other"),
        "other key": mint_token(
            generate_private_key(), sub="a", role="officer", issuer="idp", audience="bianmin"
        ),
        "role": jwt.encode(
            {"sub": "a", "role": "god", "exp": time.time() + 60, "iss": "idp", "aud": "bianmin"},
            key,
            algorithm="EdDSA",
        ),
        "alg none": jwt.encode(
            {"sub": "a", "role": "admin", "exp": time.time() + 60}, None, algorithm="none"
        ),
        "garbage": "abc.def.ghi",
    }
    for name, tok in bad.items():
        with pytest.raises(AuthError):
            v.verify_sync(tok)
            pytest.fail(name)
    # an HMAC token "signed" with the public key (algorithm confusion) is refused
    with pytest.raises(AuthError):
        v.verify_sync(
            jwt.encode(
                {"sub": "a", "role": "admin", "exp": time.time() + 60}, "s" * 32, algorithm="HS256"
            )
        )


async def test_require_roles_dependency_401_403() -> None:
    key = generate_private_key()
    app = FastAPI()
    install(app, TokenVerifier(AuthSettings(public_key=public_pem(key))))

    @app.get("/inspect")
    def inspect(p: Principal = Depends(require_roles("inspector"))) -> dict[str, str]:
        return {"sub": p.sub}

    def bearer(tok: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tok}"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/inspect")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert (await c.get("/inspect", headers={"Authorization": "Basic abc"})).status_code == 401
        officer = mint_token(key, sub="o1", role="officer", org_id="ruian.mayu", tier="town")
        r = await c.get("/inspect", headers=bearer(officer))
        assert r.status_code == 403
        assert r.json()["detail"]["reason"].startswith("role 'officer' may not do this")
        assert r.json()["detail"]["required"] == ["inspector"]
        r = await c.get("/inspect", headers=bearer(mint_token(key, sub="i1", role="inspector")))
        assert r.json() == {"sub": "i1"}
    with pytest.raises(ValueError):
        require_roles("wizard")
