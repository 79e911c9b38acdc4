"""Typed settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
import socket

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .kafka_security import KafkaSecurity
from .limits import MAX_EVENT_BYTES, check_max_event_bytes


class KafkaSettings(BaseSettings):
    """Producer settings are explicit: aiokafka's defaults (acks=1, no idempotence) lose data."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:19092"
    linger_ms: int = 5
    max_batch_size: int = 262144  # at most `limits.PRODUCER_MAX_REQUEST_BYTES` is used
    compression_type: str | None = None
    request_timeout_ms: int = 30000
    # who the clients log in as, and how (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*)
    security: KafkaSecurity = Field(default_factory=KafkaSecurity)


class ServiceSettings(BaseSettings):
    """Base for `<SERVICE>_*` variables. Subclasses set `env_prefix`."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    instance_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    database_url: str = "postgresql://bianmin@127.0.0.1:15432/postgres"
    database_schema: str = "public"
    # The role that owns the tables and runs the migrations, when it is not the runtime role
    # (`database_url`): a service that must not be able to alter its own tables (the audit
    # log) runs as a role that owns nothing, and grants it what it needs after migrating.
    migration_database_url: str | None = None
    db_pool_min: int = 2
    db_pool_max: int = 10
    kafka_bootstrap_servers: str | None = None
    # None: the `KAFKA_*` security variables (`eventkit.kafka_security`); tests pass a user
    kafka_security: KafkaSecurity | None = None
    kafka_start_timeout_s: float = 60.0
    log_level: str = "INFO"
    # Event consumers (`eventkit.consumer.EventConsumer`): batch mode runs each poll (up to
    # `consumer_max_records`) in one transaction with one offset commit; single mode pays a
    # transaction and a commit per message (about 150 messages/s per consumer on the local
    # stack, the pipeline's bottleneck, see bench/PIPELINE.md). A batch whose transaction
    # fails falls back to one message at a time, so the guarantees are the same.
    # The largest request body the HTTP edge reads (`eventkit.edge.EdgeGuard`): larger is a
    # 413 before any parsing. The largest legitimate bodies (a unit's duty roster, an
    # application with its materials) are a few tens of KiB.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    consumer_batch: bool = True
    consumer_max_records: int = 500
    # The largest canonical envelope the event store accepts (`eventkit.limits`): bigger
    # ones are refused at append (413 at the HTTP edge) so the outbox relay can always
    # publish what is stored.
    max_event_bytes: int = MAX_EVENT_BYTES

    @field_validator("max_event_bytes")
    @classmethod
    def _publishable(cls, v: int) -> int:
        return check_max_event_bytes(v)

    def kafka(self) -> KafkaSettings:
        k = KafkaSettings()
        if self.kafka_bootstrap_servers:
            k.bootstrap_servers = self.kafka_bootstrap_servers
        if self.kafka_security is not None:
            k.security = self.kafka_security
        return k
