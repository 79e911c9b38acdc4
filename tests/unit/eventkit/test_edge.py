"""The shared edge without servers: the guard, the error shapes, hashing and tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import jwt
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts.limits import MAX_FEN, Fen, Instant, Note, PersonName
from eventkit.auth import (
    AuthError,
    AuthSettings,
    TokenVerifier,
    generate_private_key,
    mint_token,
    public_pem,
)
from eventkit.edge import EdgeGuard, find_bad_value
from eventkit.http_errors import install_common_handlers
from eventkit.idempotency import request_fingerprint
from eventkit.openapi import install_openapi

pytestmark = pytest.mark.unit


class Body(BaseModel):
    name: PersonName
    n: int = 0


def app_with_guard(limit: int = 2048) -> FastAPI:
    app = FastAPI()
    app.add_middleware(EdgeGuard, max_body_bytes=limit)
    install_common_handlers(app)
    install_openapi(app)

    @app.post("/things")
    async def post(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/things")
    async def get(q: Annotated[str | None, Query()] = None) -> dict[str, str | None]:
        return {"q": q}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_a_64_bit_overflow_does_not_break_the_request_hash() -> None:
    big = {"score": 765103400436961398939975680, "dims": {1: 2}}
    first = request_fingerprint("POST", "/x", big)
    assert first == request_fingerprint("POST", "/x", dict(reversed(list(big.items()))))
    assert first != request_fingerprint("POST", "/x", {**big, "score": 1})


def test_a_token_whose_role_is_a_list_is_refused_with_a_reason() -> None:
    key = generate_private_key("EdDSA")
    verifier = TokenVerifier(AuthSettings(public_key=public_pem(key)))
    token = mint_token(key, sub="x", role="admin")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": ["admin", "inspector"]}, key, algorithm="EdDSA")
    with pytest.raises(AuthError, match="role"):
        verifier.verify_sync(forged)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"a": {"b": ["ok", "x\x00"]}}, "a.b[1]"),
        ({"n": 2**64}, "n"),
        ({"n": -(2**63) - 1}, "n"),
        ({"f": float("inf")}, "f"),
        ({"k\x07": 1}, "k\\x07"),
        ("\ud800", "(body)"),
    ],
)
def test_what_no_body_may_hold_is_found_with_its_field(doc: object, field: str) -> None:
    found = find_bad_value(doc)
    assert found is not None and found[0] == field


def test_good_text_passes() -> None:
    assert find_bad_value({"note": "第一行\n第二行\t", "n": 2**63 - 1, "l": [1.5, None]}) is None


async def test_the_guard_answers_in_the_one_shape() -> None:
    async with client(app_with_guard()) as c:
        r = await c.post("/things", json={"name": "a\u0000b"})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "name"
        r = await c.post("/things", content=b'{"name": "a", "n": NaN}')
        assert r.status_code == 422 and r.json()["detail"]["field"] == "n"
        r = await c.get("/things", params={"q": "a\u0001"})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "q"
        r = await c.post("/things", json={"name": "a\nb"})  # a name is one line
        assert r.status_code == 422 and r.json()["detail"]["field"] == "name"
        r = await c.post("/things", json={})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "name"
        assert r.json()["detail"]["errors"][0]["field"] == "name"
        r = await c.put("/things", json={})
        assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
        r = await c.get("/nothing")
        assert r.status_code == 404 and r.json()["detail"]["field"] == "path"
        r = await c.post("/things", json={"name": "陈小芳"})
        assert r.status_code == 200 and r.json() == {"name": "陈小芳"}


async def test_a_body_over_the_limit_is_refused_before_parsing_declared_or_streamed() -> None:
    async with client(app_with_guard(limit=2048)) as c:
        r = await c.post("/things", content=b"x" * 4096)
        assert r.status_code == 413 and r.json()["detail"]["field"] == "(body)"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(8):
                yield b"y" * 1024

        r = await c.post("/things", content=chunks())
        assert r.status_code == 413


def test_the_openapi_documents_the_one_error_shape() -> None:
    spec = app_with_guard().openapi()
    post = spec["paths"]["/things"]["post"]["responses"]
    assert {"413", "422"} <= set(post)
    schema = post["422"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ErrorBody"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    name = spec["components"]["schemas"]["Body"]["properties"]["name"]
    assert name["maxLength"] == 64 and name["pattern"].startswith("^[^")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (PersonName, "x" * 1_000_000),
        (PersonName, "陈\x00"),
        (Note, "a\x1b[31m"),
        (Fen, 3_000_000_000),
        (Fen, MAX_FEN + 1),
        (Instant, "0.5"),
        (Instant, 0.5),
        (Instant, "2026-01-01T00:00:00"),
        (Instant, "0001-01-01T00:00:00+01:00"),
    ],
)
def test_the_limit_types_refuse(kind: object, value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(kind).validate_python(value)
