"""Audit's edge (issue 12): numbers beyond what the log's bigint columns hold were a 500
without any token; validation errors were FastAPI's list; `until=0.5` was a time."""

from __future__ import annotations

import pytest

from .support import make_keys, running_audit, settings_for

pytestmark = pytest.mark.integration

HUGE = 2**63


async def test_out_of_range_numbers_are_refused_naming_the_parameter(
    infra, pg_schema, topics
) -> None:
    (intake,) = await topics("intake")
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [intake], keys)
    async with running_audit(settings, keys) as (_app, client):
        inspector = keys.headers("inspector")
        cases = [
            ("/v1/log/checkpoints", {"after": 225409220638827511808}, None, "after"),
            ("/v1/log/checkpoint", {"size": HUGE}, None, "size"),
            ("/v1/log/proof/inclusion", {"index": HUGE}, None, "index"),
            ("/v1/log/proof/consistency", {"first": HUGE}, None, "first"),
            ("/v1/log/cosignatures", {"size": HUGE}, None, "size"),
            (f"/v1/log/leaves/{HUGE}", {}, inspector, "idx"),
            ("/v1/log/export", {"start": HUGE}, inspector, "start"),
            ("/v1/inspect/events", {"after": HUGE}, keys.headers("inspector"), "after"),
            ("/v1/board/centers", {"until": "0.5"}, None, "until"),
            ("/v1/board/tiers", {"since": "2026-01-01T00:00:00"}, None, "since"),
            ("/v1/inspect/cases/a%00b", {}, inspector, "path"),
            ("/v1/inspect/events", {"q": "x\u0000"}, inspector, "q"),
        ]
        for path, params, headers, field in cases:
            r = await client.get(path, params=params, headers=headers or {})
            assert r.status_code == 422, (path, r.status_code, r.text)
            detail = r.json()["detail"]
            assert isinstance(detail, dict) and detail["field"] == field, (path, detail)
            assert detail["reason"]
        ok = await client.get("/v1/board/centers", params={"since": "2026-01-01T00:00:00+08:00"})
        assert ok.status_code == 200, ok.text
        r = await client.get(f"/v1/log/leaves/{HUGE - 2}", headers=inspector)
        assert r.status_code == 404 and r.json()["detail"]["field"] == "idx"


async def test_every_error_has_the_one_shape_and_the_docs_are_served(
    infra, pg_schema, topics
) -> None:
    (intake,) = await topics("intake")
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [intake], keys)
    async with running_audit(settings, keys) as (_app, client):
        r = await client.get("/v1/log/proof/consistency")  # `first` missing
        assert r.status_code == 422 and r.json()["detail"]["field"] == "first"
        r = await client.get("/v1/inspect/anomalies")
        assert r.status_code == 401 and r.json()["detail"]["field"] == "Authorization"
        r = await client.get("/v1/inspect/anomalies", headers=keys.headers("resident"))
        assert r.status_code == 403 and r.json()["detail"]["field"] == "role"
        r = await client.delete("/v1/log/cosignatures")
        assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
        assert r.json()["detail"]["field"] == "method"

        spec = (await client.get("/openapi.json")).json()
        assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
        leaves = spec["paths"]["/v1/log/leaves/{idx}"]["get"]
        assert leaves["security"] == [{"bearerAuth": []}]
        assert set(leaves["responses"]) >= {"200", "401", "403", "404", "422"}
        ref = leaves["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ErrorBody"
        docs = (await client.get("/docs")).text
        assert "/docs/assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
            a = await client.get(f"/docs/assets/{asset}")
            assert a.status_code == 200 and len(a.content) > 10_000, asset
        redoc = (await client.get("/redoc")).text
        assert "/docs/assets/redoc.standalone.js" in redoc and "fonts.googleapis" not in redoc
