"""Typed settings of the routing service, read from `ROUTING_*` environment variables.

Topics
    ROUTING_TOPIC_INTAKE          intake's events, consumed: catalog, acceptances, withdrawals,
                                  corrections supplied, evaluations (`intake.events`)
    ROUTING_TOPIC_ROUTING         where routing's events are published, the org tree included
                                  (`routing.events`)
    ROUTING_CONSUMER_GROUP        Kafka group of the intake consumer (`routing`)
Org tree
    ROUTING_SEED_ORG              seed Rui'an's tree at start when the org stream is empty
                                  (true); the seed goes through the org decider, so the tree
                                  is events on the routing topic like any admin change
Deadlines (服务承诺制; counts are working days, see `routing.domain.policy`)
    ROUTING_DEADLINE_CHECK_INTERVAL_SECONDS  how often the deadline loop looks for due cases (30)
    ROUTING_DEADLINE_CHECK_BATCH  cases checked per round at most (500)
    ROUTING_WARNING_WORKING_DAYS  warning from the Nth working day before the due day (1)
    ROUTING_FIRST_ESCALATION_DELAY_WORKING_DAYS   escalation to the center head, after due (0)
    ROUTING_SECOND_ESCALATION_DELAY_WORKING_DAYS  then one tier up, this much later (2)
    ROUTING_FOLLOWUP_ANSWER_WORKING_DAYS          a bad review's follow-up is due in (3)
Clock (drills and tests only)
    ROUTING_CLOCK_OFFSET_DAYS     shift the service clock by this many days (0). Everything
                                  routing stamps (assignments, decisions, deadline notices)
                                  uses the shifted clock; a non-zero value is logged loudly.
    ROUTING_DRILL_ENDPOINTS       enable `POST /v1/admin/clock/check-deadlines?now=...`
                                  (false): an admin runs the deadline check as of a chosen
                                  instant. For drills, demos and tests, never production.
HTTP
    ROUTING_IDEMPOTENCY_TTL_HOURS how long Idempotency-Keys are remembered (72)
    ROUTING_QUEUE_PAGE_MAX        largest `limit` of `GET /v1/queue` (500)
Authentication (each falls back to the shared `AUTH_*` variable of `eventkit.auth`)
    ROUTING_AUTH_PUBLIC_KEY, ROUTING_AUTH_PUBLIC_KEY_FILE, ROUTING_AUTH_JWKS_URL,
    ROUTING_AUTH_ISSUER, ROUTING_AUTH_AUDIENCE
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from contracts.topics import INTAKE_EVENTS, ROUTING_EVENTS
from eventkit.auth import AuthSettings
from eventkit.settings import ServiceSettings

from .domain.policy import DeadlinePolicy


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    service_name: str = "routing"
    http_port: int = 8002
    database_url: str = "postgresql://routing:routing@127.0.0.1:15432/routing"

    topic_intake: str = INTAKE_EVENTS
    topic_routing: str = ROUTING_EVENTS
    consumer_group: str = "routing"

    seed_org: bool = True

    deadline_check_interval_seconds: float = 30.0
    deadline_check_batch: int = 500
    warning_working_days: int = 1
    first_escalation_delay_working_days: int = 0
    second_escalation_delay_working_days: int = 2
    followup_answer_working_days: int = 3

    clock_offset_days: float = 0.0
    drill_endpoints: bool = False

    idempotency_ttl_hours: int = 72
    queue_page_max: int = 500

    auth_public_key: str | None = None
    auth_public_key_file: Path | None = None
    auth_jwks_url: str | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None

    def policy(self) -> DeadlinePolicy:
        return DeadlinePolicy(
            warning_working_days=self.warning_working_days,
            first_escalation_delay_working_days=self.first_escalation_delay_working_days,
            second_escalation_delay_working_days=self.second_escalation_delay_working_days,
            followup_answer_working_days=self.followup_answer_working_days,
        )

    def auth(self) -> AuthSettings:
        """`AUTH_*` settings with the `ROUTING_AUTH_*` values laid over them."""
        return AuthSettings().overlaid(
            public_key=self.auth_public_key,
            public_key_file=self.auth_public_key_file,
            jwks_url=self.auth_jwks_url,
            issuer=self.auth_issuer,
            audience=self.auth_audience,
        )
