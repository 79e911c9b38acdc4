"""Every service answers an event too large to publish with the same 413 naming the field
(`eventkit.service.create_app` installs the mapping; nothing here connects to a server)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

import audit.bootstrap
import intake.bootstrap
import notify.bootstrap
import routing.bootstrap
from eventkit.limits import EventTooLarge

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "build",
    [
        intake.bootstrap.build,
        routing.bootstrap.build,
        notify.bootstrap.build,
        audit.bootstrap.build,
    ],
    ids=["intake", "routing", "notify", "audit"],
)
async def test_event_too_large_is_a_413_naming_the_field(build) -> None:  # type: ignore[no-untyped-def]
    app: FastAPI = build()

    @app.post("/test/too-large")
    async def too_large() -> None:
        raise EventTooLarge(
            event_type="x.recorded",
            event_id="e",
            size=300_000,
            limit=262_144,
            fields=[("items", 299_000), ("note", 10)],
        )

    transport = httpx.ASGITransport(app=app)  # no lifespan: nothing starts
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        r = await client.post("/test/too-large")
    assert r.status_code == 413
    detail = r.json()["detail"]
    assert detail["field"] == "items"
    assert "300,000 bytes" in detail["reason"] and "items (299,000 bytes)" in detail["reason"]
