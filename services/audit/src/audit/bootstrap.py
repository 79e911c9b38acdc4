"""Builds the audit service from settings: pool, broker, HTTP app. Connects nothing at import."""

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
        title="Bianmin audit",
        description="The sunshine audit log: verifiable Merkle log, inspector queries, anomalies.",
    )
