"""Typed settings of the intake service, read from `INTAKE_*` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from eventkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    service_name: str = "intake"
    http_port: int = 8001
    database_url: str = "postgresql://intake:intake@127.0.0.1:55432/intake"
