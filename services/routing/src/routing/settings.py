"""Typed settings of the routing service, read from `ROUTING_*` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from eventkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    service_name: str = "routing"
    http_port: int = 8002
    database_url: str = "postgresql://routing:routing@127.0.0.1:55432/routing"
