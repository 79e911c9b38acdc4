"""Typed settings of the portal, read from `PORTAL_*` environment variables.

Where the services are
    PORTAL_INTAKE_URL / _ROUTING_URL / _NOTIFY_URL / _AUDIT_URL
                                 base URLs (http://127.0.0.1:8001 ... 8004; `make run` sets
                                 them from <SVC>_HTTP_PORT)
    PORTAL_SERVICE_TIMEOUT_S     per call (10)
Serving
    PORTAL_HTTP_HOST / PORTAL_HTTP_PORT   127.0.0.1 / 8005
    PORTAL_STATIC_VENDOR_DIR     the npm packages installed by `make deps`
                                 (services/portal/node_modules)
Sessions
    PORTAL_SESSION_SECRET        signs the session cookie (required; `make run` makes one in
                                 .local/dev-portal-session-secret)
    PORTAL_SESSION_MAX_AGE_S     8 hours: a working day at the window
    PORTAL_COOKIE_SECURE         send the cookie over HTTPS only (true; `make run`: false)
Development sign-in (never in production)
    PORTAL_DEV_SIGNIN            offer "pick a seeded person" (false; `make run`: true)
    PORTAL_DEV_KEY_FILE          the development JWT private key (`make run`: .local/dev-jwt.pem)
Production sign-in: OIDC authorization code (Authlib)
    PORTAL_OIDC_METADATA_URL     the provider's /.well-known/openid-configuration
    PORTAL_OIDC_CLIENT_ID / PORTAL_OIDC_CLIENT_SECRET
    PORTAL_OIDC_SCOPE            "openid profile"
    PORTAL_OIDC_ROLE_CLAIM / _ORG_CLAIM / _TIER_CLAIM / _NAME_CLAIM
                                 where the claims are ("role", "org_id", "tier", "name")
    PORTAL_OIDC_TOKEN            which token the services get: "access_token" (default) or
                                 "id_token"; the services verify it with AUTH_JWKS_URL
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # services/portal


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore")

    service_name: str = "portal"
    http_host: str = "127.0.0.1"
    http_port: int = 8005
    log_level: str = "INFO"

    intake_url: str = "http://127.0.0.1:8001"
    routing_url: str = "http://127.0.0.1:8002"
    notify_url: str = "http://127.0.0.1:8003"
    audit_url: str = "http://127.0.0.1:8004"
    service_timeout_s: float = 10.0

    static_vendor_dir: Path = PACKAGE_ROOT / "node_modules"

    session_secret: SecretStr | None = None
    session_max_age_s: int = 8 * 3600
    cookie_secure: bool = True

    dev_signin: bool = False
    dev_key_file: Path | None = None

    oidc_metadata_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scope: str = "openid profile"
    oidc_role_claim: str = "role"
    oidc_org_claim: str = "org_id"
    oidc_tier_claim: str = "tier"
    oidc_name_claim: str = "name"
    oidc_token: str = "access_token"

    def service_urls(self) -> dict[str, str]:
        return {
            "intake": self.intake_url,
            "routing": self.routing_url,
            "notify": self.notify_url,
            "audit": self.audit_url,
        }

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_metadata_url and self.oidc_client_id)
