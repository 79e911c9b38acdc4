"""Typed settings of the notify service, read from `NOTIFY_*` environment variables.

Topics and consumer
    NOTIFY_TOPIC_INTAKE / NOTIFY_TOPIC_ROUTING   consumed (intake.events / routing.events)
    NOTIFY_TOPIC_NOTIFY                          published through the outbox (notify.events)
    NOTIFY_CONSUMER_GROUP                        Kafka group id ("notify")
Sending or not (replays never send; see `notify.delivery.replay`)
    NOTIFY_DELIVERY_ENABLED      false: plan and record every delivery as `suppressed`, send
                                 nothing (rebuilding notify from history, a replay run)
    NOTIFY_MAX_EVENT_AGE_HOURS   events older than this when consumed are recorded
                                 `suppressed` (168 = a week; 0 = no limit)
Quiet hours (residents' SMS only)
    NOTIFY_QUIET_HOURS           "21:00-08:00"; "" or "off" for none
    NOTIFY_TIMEZONE              "Asia/Shanghai"
E-mail (SMTP; e-mail is off while NOTIFY_SMTP_HOST is unset)
    NOTIFY_SMTP_HOST / _PORT / _SECURITY (none | starttls | tls) / _USERNAME / _PASSWORD
                                 a username needs starttls or tls: credentials never go in
                                 clear (refused at start)
    NOTIFY_SMTP_FROM             "瑞安便民服务 <noreply@bianmin.local>"
    NOTIFY_SMTP_TIMEOUT_SECONDS  30
Webhooks (HMAC-SHA256 signed; a URL without NOTIFY_WEBHOOK_SECRET is refused at start)
    NOTIFY_RESIDENT_WEBHOOK_URL  residents' app push gateway (unset: no resident webhook)
    NOTIFY_STAFF_WEBHOOK_URL     staff work platform (unset: no staff webhook)
    NOTIFY_WEBHOOK_SECRET        the shared HMAC key
    NOTIFY_WEBHOOK_TIMEOUT_SECONDS  10
SMS
    NOTIFY_SMS_GATEWAY           "file" (development: JSON lines appended to NOTIFY_SMS_FILE,
                                 deduplicated by delivery id) or "none"
    NOTIFY_SMS_FILE              "$BIANMIN_STATE_DIR/notify/sms.jsonl" (.local/notify/sms.jsonl)
    NOTIFY_SMS_SIGNATURE         "【瑞安便民服务】"
The resident's verification code (in the receipt; no event carries it)
    NOTIFY_VERIFICATION_SECRET   the secret intake derives the codes from (the same value as
                                 INTAKE_VERIFICATION_SECRET, which is read when this is unset);
                                 the dispatcher derives the code when it sends the receipt
                                 (`contracts.verification`). Required in production.
The applicant's contact (issue 15: events carry it sealed; intake holds the keys)
    NOTIFY_INTAKE_URL            intake's HTTP API, asked for the contact when a resident's
                                 message is planned (http://127.0.0.1:$INTAKE_HTTP_PORT)
    NOTIFY_INTAKE_CONTACT_SECRET the secret notify proves itself with (the same value as
                                 INTAKE_CONTACT_SECRET, which is read when this is unset).
                                 Required in production.
    NOTIFY_INTAKE_TIMEOUT_SECONDS  5
    NOTIFY_CONTACT_CACHE_SECONDS   how long an opened contact is kept in memory for the
                                 case's next messages (300; 0: ask intake every time)
Dispatcher
    NOTIFY_RUN_DISPATCHER        false on an HTTP-only replica (true)
    NOTIFY_MAX_ATTEMPTS          attempts before a transient failure becomes permanent (8)
    NOTIFY_RETRY_INITIAL_SECONDS / _MAX_SECONDS / _MULTIPLIER / _JITTER   30 / 3600 / 2 / 0.1
    NOTIFY_DISPATCH_BATCH        rows claimed per round (50)
    NOTIFY_DISPATCH_CONCURRENCY  sends in flight per process (16)
    NOTIFY_DISPATCH_POLL_SECONDS idle poll (1.0); new rows also wake it via LISTEN/NOTIFY
    NOTIFY_SEND_LEASE_SECONDS    a claimed row not recorded within this is sent again (120);
                                 keep it well above the send timeouts
Authentication: `AUTH_*` (see `eventkit.auth`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from contracts.topics import INTAKE_EVENTS, NOTIFY_EVENTS, ROUTING_EVENTS
from contracts.verification import MIN_SECRET_BYTES
from eventkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore", populate_by_name=True)

    service_name: str = "notify"
    http_port: int = 8003
    database_url: str = "postgresql://notify:notify@127.0.0.1:15432/notify"

    topic_intake: str = INTAKE_EVENTS
    topic_routing: str = ROUTING_EVENTS
    topic_notify: str = NOTIFY_EVENTS
    consumer_group: str = "notify"

    delivery_enabled: bool = True
    max_event_age_hours: int = 168

    quiet_hours: str = "21:00-08:00"
    timezone: str = "Asia/Shanghai"

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "瑞安便民服务 <noreply@bianmin.local>"
    smtp_timeout_seconds: float = 30.0

    resident_webhook_url: str | None = None
    staff_webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_timeout_seconds: float = 10.0

    verification_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("NOTIFY_VERIFICATION_SECRET", "INTAKE_VERIFICATION_SECRET"),
    )

    intake_url: str = Field(
        default_factory=lambda: f"http://127.0.0.1:{os.environ.get('INTAKE_HTTP_PORT', '8001')}"
    )
    intake_contact_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("NOTIFY_INTAKE_CONTACT_SECRET", "INTAKE_CONTACT_SECRET"),
    )
    intake_timeout_seconds: float = 5.0
    contact_cache_seconds: float = Field(default=300.0, ge=0, le=3600)

    sms_gateway: Literal["file", "none"] = "file"
    sms_file: Path = Field(
        default_factory=lambda: (
            Path(os.environ.get("BIANMIN_STATE_DIR", ".local")) / "notify" / "sms.jsonl"
        )
    )
    sms_signature: str = "【瑞安便民服务】"

    run_dispatcher: bool = True
    max_attempts: int = 8
    retry_initial_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    retry_multiplier: float = 2.0
    retry_jitter: float = 0.1
    dispatch_batch: int = 50
    dispatch_concurrency: int = 16
    dispatch_poll_seconds: float = 1.0
    send_lease_seconds: float = 120.0

    @model_validator(mode="after")
    def _signed_webhooks_only(self) -> Settings:
        if (self.resident_webhook_url or self.staff_webhook_url) and not self.webhook_secret:
            raise ValueError(
                "NOTIFY_WEBHOOK_SECRET is required when a webhook URL is set: "
                "webhooks are always signed"
            )
        if (
            self.verification_secret is not None
            and len(self.verification_secret.get_secret_value().encode()) < MIN_SECRET_BYTES
        ):
            raise ValueError(
                f"NOTIFY_VERIFICATION_SECRET must be at least {MIN_SECRET_BYTES} bytes"
            )
        if self.smtp_username and self.smtp_security == "none":
            raise ValueError(
                "NOTIFY_SMTP_USERNAME is set but NOTIFY_SMTP_SECURITY is none: credentials "
                "are never sent without TLS (set starttls or tls)"
            )
        if self.max_attempts < 1:
            raise ValueError("NOTIFY_MAX_ATTEMPTS must be at least 1")
        if self.send_lease_seconds <= max(self.smtp_timeout_seconds, self.webhook_timeout_seconds):
            raise ValueError("NOTIFY_SEND_LEASE_SECONDS must exceed the send timeouts")
        return self
