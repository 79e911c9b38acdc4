"""How every Kafka client of the project authenticates: one settings model, one kwargs builder.

Relays, service consumers (FastStream), dead-letter producers, the audit appender, the DLQ
and outbox tools, `bianmin replay`, analytics and the devstack all build their aiokafka
clients with `**client_kwargs()`, so one set of variables configures them all:

    KAFKA_SECURITY_PROTOCOL   PLAINTEXT | SASL_PLAINTEXT | SASL_SSL | SSL (default: SASL_SSL
                              when a user and a CA file are given, SASL_PLAINTEXT with a user
                              only, SSL with a CA file only, else PLAINTEXT)
    KAFKA_SASL_MECHANISM      SCRAM-SHA-512 (default) | SCRAM-SHA-256 | PLAIN
    KAFKA_SASL_USERNAME       the service's (or operator's) Kafka user
    KAFKA_SASL_PASSWORD       its password, or KAFKA_SASL_PASSWORD_FILE (a file holding it)
    KAFKA_SSL_CAFILE          CA bundle that signed the brokers' certificates
    KAFKA_SSL_CERTFILE        client certificate (mTLS, where the operator prefers it) ...
    KAFKA_SSL_KEYFILE         ... and its private key, KAFKA_SSL_KEY_PASSWORD if encrypted
    KAFKA_SSL_CHECK_HOSTNAME  verify the broker's name against its certificate (default true)

See docs/KAFKA_SECURITY.md for the users and ACLs a city's cluster needs.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context
from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Protocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"]
Mechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class KafkaSecurity(BaseSettings):
    """The `KAFKA_*` security variables (see the module doc); bad combinations are refused
    with the variable named, at start-up rather than at the first connection."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    security_protocol: Protocol | None = None
    sasl_mechanism: Mechanism = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_check_hostname: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecurity:
        proto = self.protocol
        if proto.startswith("SASL") and not self.sasl_username:
            raise ValueError(f"KAFKA_SASL_USERNAME is required with {proto}")
        if proto.startswith("SASL") and self.password() is None:
            raise ValueError(
                f"KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE is required with {proto}"
            )
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together (mTLS)")
        if self.ssl_certfile and not proto.endswith("SSL"):
            raise ValueError(f"KAFKA_SSL_CERTFILE needs SSL or SASL_SSL, not {proto}")
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "sasl_password_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"KAFKA_{name.upper()}: no such file {path}")
        return self

    @property
    def protocol(self) -> Protocol:
        if self.security_protocol:
            return self.security_protocol
        tls = self.ssl_cafile is not None or self.ssl_certfile is not None
        if self.sasl_username:
            return "SASL_SSL" if tls else "SASL_PLAINTEXT"
        return "SSL" if tls else "PLAINTEXT"

    def password(self) -> str | None:
        if self.sasl_password is not None:
            return self.sasl_password.get_secret_value()
        if self.sasl_password_file is not None and self.sasl_password_file.is_file():
            return self.sasl_password_file.read_text().strip()
        return None

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.protocol.endswith("SSL"):
            return None
        ctx = create_ssl_context(
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None,
            certfile=str(self.ssl_certfile) if self.ssl_certfile else None,
            keyfile=str(self.ssl_keyfile) if self.ssl_keyfile else None,
            password=self.ssl_key_password.get_secret_value() if self.ssl_key_password else None,
        )
        ctx.check_hostname = self.ssl_check_hostname
        return ctx

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
        proto = self.protocol
        kw: dict[str, Any] = {"security_protocol": proto}
        if proto.startswith("SASL"):
            kw |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.password(),
            }
        ctx = self.ssl_context()
        if ctx is not None:
            kw["ssl_context"] = ctx
        return kw


def client_kwargs(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """`**client_kwargs()`: the security arguments of every aiokafka client, from `KAFKA_*`."""
    return (security or KafkaSecurity()).client_kwargs()


def faststream_security(security: KafkaSecurity | None = None) -> Any:
    """The same settings as a FastStream security object (`KafkaBroker(security=...)`)."""
    from faststream.security import (
        BaseSecurity,
        SASLPlaintext,
        SASLScram256,
        SASLScram512,
    )

    sec = security or KafkaSecurity()
    ctx = sec.ssl_context()
    if not sec.protocol.startswith("SASL"):
        return BaseSecurity(ssl_context=ctx, use_ssl=ctx is not None) if ctx else None
    kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}
    return kind[sec.sasl_mechanism](
        str(sec.sasl_username), str(sec.password()), ssl_context=ctx, use_ssl=ctx is not None
    )
