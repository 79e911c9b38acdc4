"""Typed settings of the notify service, read from `NOTIFY_*` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from eventkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"
    http_port: int = 8003
    database_url: str = "postgresql://notify:notify@127.0.0.1:55432/notify"
