"""Typed settings of the intake service, read from `INTAKE_*` environment variables.

Topics
    INTAKE_TOPIC_INTAKE           where intake's events are published (`intake.events`)
    INTAKE_TOPIC_ROUTING          routing's events, consumed for the centers projection,
                                  decisions, corrections and returned results (`routing.events`)
    INTAKE_CONSUMER_GROUP         Kafka group of the routing consumer (`intake`)
Catalog
    INTAKE_SEED_CATALOG           publish the seeded catalog at start when the catalog stream
                                  is empty, and each seeded joint bundle it does not hold yet
                                  (true); it goes through the catalog decider, so the seed is
                                  events like any admin change
Residents and centers
    INTAKE_VERIFICATION_SECRET    secret the resident's 6-digit verification code is derived
                                  from (>= 16 bytes; `contracts.verification`), shared with
                                  notify, which derives the code for the receipt. Required:
                                  unset, intake refuses to start unless BIANMIN_DEVELOPMENT=1
                                  (`eventkit.production`), which uses a public development
                                  value. Changing it invalidates issued codes.
    INTAKE_REQUIRE_KNOWN_CENTER   refuse center ids, and staff acting or named as 首问责任人,
                                  that routing's org tree does not list there (true)
    Verification codes (status view, withdrawals at another center; see
    `intake.domain.code_guessing`: the guesser is throttled, never the resident):
    INTAKE_STATUS_MAX_FAILURES    wrong codes from one address (or staff member) for one case
    INTAKE_STATUS_FAILURE_WINDOW_SECONDS  ... within this window before that address gets
                                  429 for that case (10 per 900 s)
    INTAKE_STATUS_CLIENT_MAX_FAILURES  wrong codes from one address over all cases in the
                                  window before it gets 429 everywhere (30)
    INTAKE_STATUS_CASE_BUDGET_PER_HOUR  wrong codes per case per hour from everyone together,
                                  after which its code is checked at most once per ...
    INTAKE_STATUS_CASE_PACE_SECONDS     ... this many seconds (20 and 120: at most 50
                                  checks an hour, 10,000 hours to an even chance)
    INTAKE_IDEMPOTENCY_TTL_HOURS  how long Idempotency-Keys are remembered (72)
Personal data (issue 15: `eventkit.personal_data`, `intake.personal_data`)
    INTAKE_PERSONAL_DATA_MASTER_KEYS  master keys wrapping each resident's data key: base64
                                  of 32 random bytes each, comma-separated; the first wraps
                                  new keys, all unwrap (rotation: put the new key first,
                                  keep the old ones until every wrapped key is rewrapped).
                                  `LocalKeyManager`; a KMS replaces it (docs/PERSONAL_DATA.md)
    INTAKE_PERSONAL_DATA_LOOKUP_KEY   key of the keyed hash ID number -> subject (base64, 32
                                  bytes). Changing it loses every lookup (the clerk's "this
                                  resident's cases"); the cases themselves stay.
    INTAKE_CONTACT_SECRET         the secret notify proves itself with when it asks for an
                                  applicant's contact at send time
                                  (`http.contact_routes`; notify's NOTIFY_INTAKE_CONTACT_SECRET)
                                  All three are required: unset, intake refuses to start unless
                                  BIANMIN_DEVELOPMENT=1, which uses public development values.
Documents (issue 16: `intake.documents.store`)
    INTAKE_DOCUMENT_STORE         where document bytes live: postgres (default: intake's own
                                  database, nothing extra to run) or s3 (a city's
                                  S3-compatible object storage)
    INTAKE_S3_ENDPOINT_URL        the S3 endpoint (unset: AWS's own)
    INTAKE_S3_BUCKET              the bucket (it must exist)
    INTAKE_S3_REGION              the region (us-east-1)
    INTAKE_S3_ACCESS_KEY_ID, INTAKE_S3_SECRET_ACCESS_KEY
                                  the credentials (unset: botocore's own chain)
Authentication (each falls back to the shared `AUTH_*` variable of `eventkit.auth`)
    INTAKE_AUTH_PUBLIC_KEY, INTAKE_AUTH_PUBLIC_KEY_FILE, INTAKE_AUTH_JWKS_URL,
    INTAKE_AUTH_ISSUER, INTAKE_AUTH_AUDIENCE
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from contracts.personal_data import DEV_CONTACT_SECRET
from contracts.topics import INTAKE_EVENTS, ROUTING_EVENTS
from eventkit.auth import AuthSettings
from eventkit.personal_data import LocalKeyManager, decode_key
from eventkit.production import DEVELOPMENT_FLAG, ProductionConfigError, development
from eventkit.settings import ServiceSettings

from .domain.code_guessing import GuessPolicy

DEV_VERIFICATION_SECRET = "bianmin-dev-only-verification-secret"
# Public development keys (make run, tests): base64 of SHA-256 of a public phrase.
DEV_MASTER_KEY = base64.b64encode(hashlib.sha256(b"bianmin-dev-only-master-key").digest()).decode()
DEV_LOOKUP_KEY = base64.b64encode(hashlib.sha256(b"bianmin-dev-only-lookup-key").digest()).decode()


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    service_name: str = "intake"
    http_port: int = 8001
    database_url: str = "postgresql://intake:intake@127.0.0.1:15432/intake"

    topic_intake: str = INTAKE_EVENTS
    topic_routing: str = ROUTING_EVENTS
    consumer_group: str = "intake"

    seed_catalog: bool = True

    verification_secret: SecretStr | None = None
    require_known_center: bool = True
    status_max_failures: int = 10
    status_failure_window_seconds: int = 900
    status_client_max_failures: int = 30
    status_case_budget_per_hour: int = 20
    status_case_pace_seconds: int = 120
    idempotency_ttl_hours: int = 72
    clock_offset_days: float = 0.0  # drills/tests only; logged loudly when set

    personal_data_master_keys: SecretStr | None = None
    personal_data_lookup_key: SecretStr | None = None
    contact_secret: SecretStr | None = None

    document_store: Literal["postgres", "s3"] = "postgres"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "bianmin-documents"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    auth_public_key: str | None = None
    auth_public_key_file: Path | None = None
    auth_jwks_url: str | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None

    def configured_secret(self) -> SecretStr | None:
        """The secret set for production: None when unset or the public development value."""
        s = self.verification_secret
        return None if s is None or s.get_secret_value() == DEV_VERIFICATION_SECRET else s

    def secret(self) -> bytes:
        if self.verification_secret is None:
            if not development():
                raise ProductionConfigError(
                    "intake refuses to start in production: INTAKE_VERIFICATION_SECRET is not "
                    f"set (for development only, set {DEVELOPMENT_FLAG}=1)"
                )
            return DEV_VERIFICATION_SECRET.encode()
        value = self.verification_secret.get_secret_value().encode()
        if len(value) < 16:
            raise ValueError("INTAKE_VERIFICATION_SECRET must be at least 16 bytes")
        return value

    def configured_personal_data_keys(self) -> dict[str, SecretStr | None]:
        """The personal-data keys set for production (None: unset or the development value)."""
        m, k = self.personal_data_master_keys, self.personal_data_lookup_key
        return {
            "INTAKE_PERSONAL_DATA_MASTER_KEYS": None
            if m is None or DEV_MASTER_KEY in m.get_secret_value()
            else m,
            "INTAKE_PERSONAL_DATA_LOOKUP_KEY": None
            if k is None or k.get_secret_value() == DEV_LOOKUP_KEY
            else k,
            "INTAKE_CONTACT_SECRET": None
            if self.contact_secret is None
            or self.contact_secret.get_secret_value() == DEV_CONTACT_SECRET
            else self.contact_secret,
        }

    def contact_secret_bytes(self) -> bytes:
        s = self.contact_secret
        return (DEV_CONTACT_SECRET if s is None else s.get_secret_value()).encode()

    def key_manager(self) -> LocalKeyManager:
        """The local key manager from INTAKE_PERSONAL_DATA_MASTER_KEYS (development: a public
        key; production without the setting is refused before this by the bootstrap)."""
        m = self.personal_data_master_keys
        values = [DEV_MASTER_KEY] if m is None else m.get_secret_value().split(",")
        try:
            return LocalKeyManager.from_base64([v for v in values if v.strip()])
        except ValueError as exc:
            raise ValueError(f"INTAKE_PERSONAL_DATA_MASTER_KEYS: {exc}") from exc

    def lookup_key(self) -> bytes:
        k = self.personal_data_lookup_key
        try:
            return decode_key(DEV_LOOKUP_KEY if k is None else k.get_secret_value(), "lookup key")
        except ValueError as exc:
            raise ValueError(f"INTAKE_PERSONAL_DATA_LOOKUP_KEY: {exc}") from exc

    def guess_policy(self) -> GuessPolicy:
        return GuessPolicy(
            pair_max=self.status_max_failures,
            client_max=self.status_client_max_failures,
            window=timedelta(seconds=self.status_failure_window_seconds),
            case_budget=self.status_case_budget_per_hour,
            case_window=timedelta(hours=1),
            pace=timedelta(seconds=self.status_case_pace_seconds),
        )

    def auth(self) -> AuthSettings:
        """`AUTH_*` settings with the `INTAKE_AUTH_*` values laid over them."""
        return AuthSettings().overlaid(
            public_key=self.auth_public_key,
            public_key_file=self.auth_public_key_file,
            jwks_url=self.auth_jwks_url,
            issuer=self.auth_issuer,
            audience=self.auth_audience,
        )
