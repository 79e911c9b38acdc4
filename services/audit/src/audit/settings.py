"""Typed settings of the audit service, read from `AUDIT_*` environment variables.

Log and checkpoints
    AUDIT_TOPICS                 comma-separated topics to log (default: every event topic and
                                 its `.dlq`, `contracts.topics.ALL_TOPICS`)
    AUDIT_APPEND_MAX_BATCH       records per poll / per append transaction (5000)
    AUDIT_APPEND_POLL_MS         poll wait (200)
    AUDIT_APPEND_LINGER_MS       while records stream in (at least AUDIT_APPEND_LINGER_MIN_RATE
                                 per second, 40), wait this long to append more of them in one
                                 transaction (50; 0 = never); a lone event is appended at once
    AUDIT_APPEND_DISCOVERY_SECONDS  how often topics, their ids and the halts are looked at (10)
    AUDIT_RUN_WRITER             run the appender/checkpointer/projector here (true); an
                                 HTTP-only replica sets false. Only the lease holder writes.
    AUDIT_CHECKPOINT_EVERY       sign after this many new entries (1000)
    AUDIT_CHECKPOINT_SECONDS     ... or after this many seconds with new entries (10)
    AUDIT_SIGNING_KEY            C2SP signer key `PRIVATE+KEY+<name>+<id>+<base64>`
    AUDIT_SIGNING_KEY_FILE       ... or a file holding it (`python -m audit keygen NAME`)
    AUDIT_VERIFIER_KEY           the log's verifier key (for a replica without the signer key)
    AUDIT_LOG_ORIGIN             checkpoint origin line ("bianmin.ruian/audit")
    AUDIT_WITNESS_KEYS           comma-separated verifier keys whose cosignatures are accepted
    AUDIT_COSIGN_BURST, AUDIT_COSIGN_PER_SECOND
                                 pacing of POST /v1/log/cosignatures per client address
                                 (10 at once, then 0.5 per second; more: 429)
    AUDIT_OUTBOX_TOPIC           where the audit's own events (anomalies, query records) are
                                 published by the eventkit outbox relay ("audit.events"; empty:
                                 no relay)
    AUDIT_CHECKPOINT_STORE       where every signed checkpoint is published outside the
                                 database (a directory or file:// URL, `audit.log.publish`)
    AUDIT_MIGRATION_DATABASE_URL the owner role that runs the migrations; AUDIT_DATABASE_URL is
                                 then a role that owns nothing (`audit.log.roles`)
    BIANMIN_DEVELOPMENT          1: start without witness keys, without a checkpoint store,
                                 or with a runtime role that could rewrite the log (each is
                                 then a warning); unset (production): each refuses the start
Personal data
    AUDIT_PERSONAL_FIELDS        payload keys salt-hashed in the leaf
                                 ("name,id_number,phone,address,household_no")
    AUDIT_KEYED_FIELDS           of those, the ones also kept as HMAC for rule comparisons
                                 ("id_number,household_no")
    AUDIT_PERSONAL_HMAC_KEY      the HMAC secret (unset: no keyed hashes, the conflict-of-
                                 interest rule is inactive; `make run` generates one in .local/)
Anomalies
    AUDIT_ANOMALY_RULES_FILE     JSON list of rule definitions (default: audit/anomaly/rules.json)
    AUDIT_ANOMALY_INTERVAL_SECONDS  sweep interval (5)
    AUDIT_ANOMALY_GRACE_SECONDS  a case is evaluated once it has been quiet this long (5), so
                                 events from other topics that are still in flight arrive first
Situation reports (情况报告制, `audit.sitreport`)
    AUDIT_SITREPORT_ENABLED      false: no scheduler (true)
    AUDIT_SITREPORT_PERIODS      which reports, "weekly,monthly" (either or both)
    AUDIT_SITREPORT_START        no report for a period that began before this day (unset: no
                                 back-filling, the latest closed week and month on)
    AUDIT_SITREPORT_SUBMIT_DAYS  days after a period closes to send its report up (2)
    AUDIT_SITREPORT_INTERVAL_SECONDS  how often the scheduler looks at the clock (60)
    AUDIT_SITREPORT_CHARTS       false: HTML without the PNG charts (true)
    AUDIT_SITREPORT_WORK_DIR     where the analytics store is built (a temporary folder)
Authentication: `AUTH_*` (see `eventkit.auth`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from contracts.topics import ALL_TOPICS, AUDIT_EVENTS
from eventkit.production import DEVELOPMENT_FLAG
from eventkit.settings import ServiceSettings

DEFAULT_PERSONAL_FIELDS = "name,id_number,phone,address,household_no"


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore", populate_by_name=True)

    service_name: str = "audit"
    http_port: int = 8004
    database_url: str = "postgresql://audit:audit@127.0.0.1:15432/audit"

    topics: str = ",".join(ALL_TOPICS)
    append_max_batch: int = 5000
    append_poll_ms: int = 200
    append_linger_ms: int = 50
    append_linger_min_rate: float = 40.0
    run_writer: bool = True
    append_discovery_seconds: float = 10.0
    lease_retry_seconds: float = 2.0

    checkpoint_every: int = 1000
    checkpoint_seconds: float = 10.0
    signing_key: SecretStr | None = None
    signing_key_file: Path | None = None
    verifier_key: str | None = None
    log_origin: str = "bianmin.ruian/audit"
    witness_keys: str = ""
    checkpoint_store: str | None = None
    # the one development flag of every service (eventkit.production): BIANMIN_DEVELOPMENT
    development: bool = Field(default=False, validation_alias=DEVELOPMENT_FLAG)
    cosign_burst: int = 10
    cosign_per_second: float = 0.5
    outbox_topic: str = AUDIT_EVENTS

    personal_fields: str = DEFAULT_PERSONAL_FIELDS
    keyed_fields: str = "id_number,household_no"
    personal_hmac_key: SecretStr | None = None

    anomaly_rules_file: Path | None = None
    anomaly_interval_seconds: float = 5.0
    anomaly_grace_seconds: float = 5.0
    integrity_sample_size: int = 256
    sitreport_enabled: bool = True
    sitreport_periods: str = "weekly,monthly"
    sitreport_start: date | None = None
    sitreport_submit_days: int = Field(default=2, ge=0, le=31)
    sitreport_interval_seconds: float = Field(default=60.0, gt=0)
    sitreport_charts: bool = True
    sitreport_work_dir: Path | None = None

    def production_problems(self) -> list[str]:
        """What a production start lacks to keep the past safe (see `audit.log.roles`,
        `audit.log.publish`); the runtime role itself is checked once connected."""
        out = []
        if not self.witness_key_list():
            out.append("no AUDIT_WITNESS_KEYS: nobody outside the log cosigns its checkpoints")
        if not self.checkpoint_store:
            out.append("no AUDIT_CHECKPOINT_STORE: signed checkpoints live only in the database")
        return out

    def topic_list(self) -> list[str]:
        return _csv(self.topics)

    def personal_field_set(self) -> frozenset[str]:
        return frozenset(_csv(self.personal_fields))

    def keyed_field_set(self) -> frozenset[str]:
        return frozenset(_csv(self.keyed_fields))

    def sitreport_period_list(self) -> tuple[Literal["weekly", "monthly"], ...]:
        out: list[Literal["weekly", "monthly"]] = []
        for p in _csv(self.sitreport_periods):
            if p not in ("weekly", "monthly"):
                raise ValueError(f"AUDIT_SITREPORT_PERIODS: {p!r} is not weekly or monthly")
            out.append(p)  # type: ignore[arg-type]
        return tuple(out)

    def witness_key_list(self) -> list[str]:
        return _csv(self.witness_keys)

    def signer_key(self) -> str | None:
        """The configured C2SP signer key string, if any (the file wins over the variable)."""
        if self.signing_key_file is not None:
            return self.signing_key_file.read_text(encoding="utf-8").strip()
        if self.signing_key is not None:
            return self.signing_key.get_secret_value().strip()
        return None

    def hmac_key(self) -> bytes | None:
        if self.personal_hmac_key is None:
            return None
        return self.personal_hmac_key.get_secret_value().encode()
