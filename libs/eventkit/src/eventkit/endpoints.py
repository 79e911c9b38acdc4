"""Where the command-line tools find Kafka and PostgreSQL when not told: one rule for every
CLI (`python -m eventkit`, `bianmin`, `python -m devstack`).

* Kafka: ``KAFKA_BOOTSTRAP_SERVERS``, else the local broker of `make run`, at
  ``127.0.0.1:$BIANMIN_KAFKA_PORT`` (19092 when unset);
* PostgreSQL: ``DATABASE_URL`` where a tool takes one database, else the local cluster at
  ``127.0.0.1:$BIANMIN_PG_PORT`` (15432 when unset).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_KAFKA_PORT = 19092
DEFAULT_PG_PORT = 15432
LOCAL_HOST = "127.0.0.1"


class EndpointError(ValueError):
    """A port variable that is not a port."""


def env_port(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """The port in variable `name`, or `default` when it is unset or empty."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise EndpointError(f"{name}={raw!r} is not a whole number") from None
    if not 0 < port < 65536:
        raise EndpointError(f"{name}={raw!r} is not a TCP port (1-65535)")
    return port


def local_kafka_port(environ: Mapping[str, str] | None = None) -> int:
    """The port of the local broker `make run` starts."""
    return env_port("BIANMIN_KAFKA_PORT", DEFAULT_KAFKA_PORT, environ)


def local_pg_port(environ: Mapping[str, str] | None = None) -> int:
    """The port of the local PostgreSQL cluster `make run` starts."""
    return env_port("BIANMIN_PG_PORT", DEFAULT_PG_PORT, environ)


def default_bootstrap(environ: Mapping[str, str] | None = None) -> str:
    """Kafka bootstrap servers for a tool given none: KAFKA_BOOTSTRAP_SERVERS, else the local
    broker (BIANMIN_KAFKA_PORT, else 19092)."""
    env = os.environ if environ is None else environ
    given = env.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    return given or f"{LOCAL_HOST}:{local_kafka_port(env)}"


def local_database_url(user: str, database: str, environ: Mapping[str, str] | None = None) -> str:
    """A database of the local cluster (BIANMIN_PG_PORT, else 15432); the password is the
    user's name, as the local cluster sets it up."""
    return f"postgresql://{user}:{user}@{LOCAL_HOST}:{local_pg_port(environ)}/{database}"


def default_database_url(user: str, database: str, environ: Mapping[str, str] | None = None) -> str:
    """PostgreSQL for a tool given no URL: DATABASE_URL, else `local_database_url`."""
    env = os.environ if environ is None else environ
    return env.get("DATABASE_URL", "").strip() or local_database_url(user, database, env)
