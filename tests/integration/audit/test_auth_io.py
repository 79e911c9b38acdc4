"""eventkit.auth with real I/O: a JWKS endpoint over HTTP, the dev-token CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jwt
import pytest

from eventkit.auth import (
    AuthError,
    AuthSettings,
    TokenVerifier,
    generate_private_key,
    mint_token,
    private_pem,
)

pytestmark = pytest.mark.integration


def test_jwks_url() -> None:
    key = generate_private_key("ES256")
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", alg="ES256", use="sig")
    body = json.dumps({"keys": [jwk]}).encode()

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        v = TokenVerifier(
            AuthSettings(
                jwks_url=f"http://127.0.0.1:{srv.server_port}/jwks", issuer="idp", audience="bm"
            )
        )
        ours = {"issuer": "idp", "audience": "bm"}
        tok = mint_token(key, sub="x", role="inspector", kid="k1", **ours)
        assert v.verify_sync(tok).sub == "x"
        with pytest.raises(AuthError):
            v.verify_sync(mint_token(key, sub="x", role="inspector", kid="unknown", **ours))
        # a token the same provider signed for another system is not ours
        with pytest.raises(AuthError):
            v.verify_sync(mint_token(key, sub="x", role="inspector", kid="k1", audience="bm"))
    finally:
        srv.shutdown()


def test_cli_keygen_and_mint(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    r = subprocess.run(
        [sys.executable, "-m", "eventkit.auth", "keygen", "--alg", "ES256", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventkit.auth",
            "mint",
            "--role",
            "inspector",
            "--sub",
            "insp-1",
            "--org",
            "ruian",
            "--tier",
            "city",
            "--key-file",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    v = TokenVerifier(AuthSettings(public_key_file=Path(str(out) + ".pub")))
    p = v.verify_sync(r.stdout.strip())
    assert (p.sub, p.role, p.org_id, p.tier) == ("insp-1", "inspector", "ruian", "city")
    assert private_pem(generate_private_key()).startswith("-----BEGIN PRIVATE KEY-----")
