"""Production sign-in (OIDC authorization code + PKCE) against a real identity provider.

The provider is node-oidc-provider (OpenID Certified; `services/portal/devtools/
oidc-provider.mjs`, installed by `make deps`) with its development login screen. A second
portal process is configured for it exactly as in production (`PORTAL_OIDC_*`, no development
sign-in) beside the browser suite's stack; Chromium signs in through the provider's pages.
What is checked: the person the portal shows comes from the provider's claims; the token the
portal keeps for the services verifies the way the services verify in production
(`AUTH_JWKS_URL`, issuer, audience: `eventkit.auth.TokenVerifier`); a provider account whose
claims name no role the services know signs nobody in.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.common import free_ports
from eventkit.auth import AuthSettings, TokenVerifier

from ..e2e.lifecycle.stack import Service, _clean_env, _stop, _wait_ready
from .stack import PortalStack

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = ROOT / "services/portal/devtools/oidc-provider.mjs"
CLIENT_ID = "bianmin-portal"

ACCOUNTS = {
    "chen.officer": {"name": "陈立新", "role": "officer", "org_id": "ruian", "tier": "city"},
    "nobody.special": {"name": "无角色", "role": "superuser", "org_id": "ruian", "tier": "city"},
}


@dataclass
class OidcPortal:
    issuer: str
    portal: Service


@pytest.fixture(scope="module")
async def oidc_portal(
    portal: PortalStack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[OidcPortal]:
    node = shutil.which("node")
    assert node, "node is required (it runs the development identity provider)"
    workdir = tmp_path_factory.mktemp("oidc")
    idp_port, portal_port = free_ports(2)
    issuer = f"http://127.0.0.1:{idp_port}"
    secret = uuid.uuid4().hex
    idp_log = (workdir / "idp.log").open("wb")
    idp = await asyncio.create_subprocess_exec(
        node,
        str(PROVIDER),
        env={
            **os.environ,
            "OIDC_PORT": str(idp_port),
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": secret,
            "OIDC_REDIRECT_URI": f"http://127.0.0.1:{portal_port}/signin/oidc/callback",
            "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
        },
        stdout=idp_log,
        stderr=asyncio.subprocess.STDOUT,
    )
    svc = Service("portal-oidc", portal_port, workdir / "portal.log")
    services = portal.stack.services
    env = _clean_env(
        {
            "PYTHONUNBUFFERED": "1",
            "PORTAL_HTTP_PORT": str(portal_port),
            "PORTAL_INTAKE_URL": services["intake"].url,
            "PORTAL_ROUTING_URL": services["routing"].url,
            "PORTAL_NOTIFY_URL": services["notify"].url,
            "PORTAL_AUDIT_URL": portal.audit.url,
            "PORTAL_SESSION_SECRET": f"oidc-tests-{secret}",
            "PORTAL_COOKIE_SECURE": "false",
            "PORTAL_DEV_SIGNIN": "false",
            "PORTAL_OIDC_METADATA_URL": f"{issuer}/.well-known/openid-configuration",
            "PORTAL_OIDC_CLIENT_ID": CLIENT_ID,
            "PORTAL_OIDC_CLIENT_SECRET": secret,
            "PORTAL_OIDC_SCOPE": "openid bianmin",
            "PORTAL_OIDC_TOKEN": "id_token",
        }
    )
    out = svc.log_path.open("wb")
    client = httpx.AsyncClient(base_url=svc.url, timeout=15)
    try:
        async with httpx.AsyncClient(timeout=5) as probe:
            for _ in range(300):
                try:
                    if (await probe.get(f"{issuer}/.well-known/openid-configuration")).is_success:
                        break
                except httpx.TransportError:
                    pass
                assert idp.returncode is None, (workdir / "idp.log").read_text()
                await asyncio.sleep(0.1)
        svc.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "portal", env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
        await _wait_ready(svc, client)
        yield OidcPortal(issuer=issuer, portal=svc)
    except BaseException:
        print(f"----- portal (OIDC) log -----\n{svc.log_tail()}", file=sys.stderr)
        print(f"----- idp log -----\n{(workdir / 'idp.log').read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        await client.aclose()
        await _stop(svc)
        if idp.returncode is None:
            idp.terminate()
            await idp.wait()
        out.close()
        idp_log.close()


@pytest.fixture
async def oidc_page(chromium: Any, oidc_portal: OidcPortal) -> AsyncIterator[Any]:
    ctx = await chromium.new_context(
        base_url=oidc_portal.portal.url, viewport={"width": 1366, "height": 768}, locale="zh-CN"
    )
    yield await ctx.new_page()
    await ctx.close()


async def _through_the_provider(page: Any, login: str) -> None:
    """The portal's sign-in page, the provider's login and consent screens, and back."""
    await page.goto("/signin?next=/guide")
    await page.get_by_role("link", name="使用统一身份认证登录").click()
    await page.wait_for_url(lambda url: "/signin" not in url or "interaction" in url)
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", "any")
    await page.get_by_role("button", name="Sign-in").click()
    await page.get_by_role("button", name="Continue").click()


def _session_person(cookies: list[dict[str, Any]]) -> dict[str, Any]:
    """The person in the portal's session cookie (signed, not encrypted: readable here)."""
    raw = next(c["value"] for c in cookies if c["name"] == "bianmin_portal")
    payload = raw.split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    person: dict[str, Any] = data["person"]
    return person


async def test_signing_in_through_a_real_identity_provider(
    oidc_page: Any, oidc_portal: OidcPortal
) -> None:
    page = oidc_page
    await _through_the_provider(page, "chen.officer")
    await page.wait_for_url(lambda url: url.split("?")[0].endswith("/guide"))
    header = await page.locator("header").inner_text()
    assert "陈立新" in header, header

    person = _session_person(await page.context.cookies())
    assert (person["sub"], person["role"], person["org_id"], person["tier"], person["via"]) == (
        "chen.officer",
        "officer",
        "ruian",
        "city",
        "oidc",
    )
    # the token the services get verifies as the services verify in production
    verifier = TokenVerifier(
        AuthSettings(
            jwks_url=f"{oidc_portal.issuer}/jwks", issuer=oidc_portal.issuer, audience=CLIENT_ID
        )
    )
    principal = await asyncio.to_thread(verifier.verify_sync, person["token"])
    assert (principal.sub, principal.role, principal.org_id, principal.tier) == (
        "chen.officer",
        "officer",
        "ruian",
        "city",
    )


async def test_a_provider_account_without_a_known_role_signs_nobody_in(
    oidc_page: Any, oidc_portal: OidcPortal
) -> None:
    page = oidc_page
    await _through_the_provider(page, "nobody.special")
    await page.wait_for_url(lambda url: "/signin/oidc/callback" in url)
    body = await page.locator("body").inner_text()
    assert "身份信息不完整" in body and "superuser" in body, body
    # nobody is signed in: the portal sends the browser back to its sign-in page
    await page.goto("/me")
    assert page.url.split("?")[0].endswith("/signin"), page.url
