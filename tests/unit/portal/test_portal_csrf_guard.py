"""Every form's hidden CSRF field carries the session's token (the `guard` macro is imported
without the page's context, so it reads the token through a global), and a form sent with
it is accepted — the sign-in form here, in process, with no service behind the portal."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from eventkit.auth import generate_private_key, private_pem
from portal.bootstrap import build
from portal.settings import Settings

pytestmark = pytest.mark.unit


async def test_a_form_carries_the_sessions_csrf_token_and_is_accepted(tmp_path: Path) -> None:
    key = tmp_path / "dev-jwt.pem"
    key.write_text(private_pem(generate_private_key()))
    app = build(
        Settings(
            session_secret="unit-test-secret-0123456789abcdef",
            dev_signin=True,
            dev_key_file=key,
            cookie_secure=False,
            routing_url="http://127.0.0.1:9",  # nothing there: the staff list is empty
            service_timeout_s=0.5,
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as c:
        page = await c.get("/signin?next=/resident")
        tokens = set(re.findall(r'name="csrf_token" value="([^"]*)"', page.text))
        assert len(tokens) == 1 and "" not in tokens
        form = {
            "csrf_token": tokens.pop(),
            "kind": "resident",
            "name": "陈小芳",
            "id_number": "330381199004151239",
            "next": "/resident",
        }
        ok = await c.post("/signin/dev", data=form)
        assert (ok.status_code, ok.headers["location"]) == (303, "/resident")
        forged = await c.post("/signin/dev", data={**form, "csrf_token": "x" * 43})
        assert forged.status_code == 403
