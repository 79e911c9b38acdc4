"""Typed settings of the audit service, read from `AUDIT_*` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from eventkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    service_name: str = "audit"
    http_port: int = 8004
    database_url: str = "postgresql://audit:audit@127.0.0.1:55432/audit"
