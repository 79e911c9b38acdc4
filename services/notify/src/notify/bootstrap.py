"""Builds the notify service from settings: pool, broker, HTTP app. Connects nothing at import."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from eventkit.service import ServiceRuntime, create_app

from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, MIGRATIONS)
    return create_app(
        runtime,
        title="Bianmin notify",
        description="Tells residents and staff what happened, exactly once per event and channel.",
    )
