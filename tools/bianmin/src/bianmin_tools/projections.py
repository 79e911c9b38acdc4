"""The services' projections `bianmin replay projection` can rebuild, with each service's own
`apply` (analytics' blue/green mechanism runs them; it does not know the services)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from analytics.projections import ProjectionSpec, Resolver, service_database_url
from analytics.projections import resolve as resolve_in
from eventkit.envelope import Envelope


def _intake_applications(dsn: str | None, schema: str | None) -> ProjectionSpec:
    from intake.projections import applications
    from intake.settings import Settings

    settings = Settings()
    secret = settings.secret()

    async def apply(conn: asyncpg.Connection, envelopes: Sequence[Envelope]) -> None:
        await applications.apply(conn, envelopes, secret)

    return ProjectionSpec(
        service="intake",
        name="applications",
        table="applications",
        dsn=dsn or service_database_url(settings, "intake"),
        schema=schema or settings.database_schema,
        stream_prefix="case-",
        key_column="case_id",
        apply=apply,
    )


PROJECTIONS: dict[tuple[str, str], Resolver] = {
    ("intake", "applications"): _intake_applications,
}
"""Rebuildable projections. One that folds events with a pure, idempotent, stream-version
guarded `apply(conn, envelopes)` joins with one entry here."""


def resolve(service: str, name: str, dsn: str | None, schema: str | None) -> ProjectionSpec:
    return resolve_in(PROJECTIONS, service, name, dsn, schema)
