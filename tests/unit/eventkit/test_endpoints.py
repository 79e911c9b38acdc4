"""One rule for where every CLI finds Kafka and PostgreSQL when not told
(`eventkit.endpoints`): KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL, else the local stack's
ports from BIANMIN_KAFKA_PORT / BIANMIN_PG_PORT, else 19092 / 15432. The eventkit, bianmin
and devstack commands all follow it, and a broker that does not answer is one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bianmin_tools.cli import app as bianmin
from devstack.cli import kafka_bootstrap
from devstack.common import StackError
from devstack.kafka import KafkaCluster
from devstack.postgres import LocalPostgres
from eventkit.endpoints import (
    EndpointError,
    default_bootstrap,
    default_database_url,
    local_database_url,
)

pytestmark = pytest.mark.unit


def test_kafka_from_the_variable_then_the_local_port_then_19092() -> None:
    assert default_bootstrap({}) == "127.0.0.1:19092"
    assert default_bootstrap({"BIANMIN_KAFKA_PORT": "31092"}) == "127.0.0.1:31092"
    both = {"BIANMIN_KAFKA_PORT": "31092", "KAFKA_BOOTSTRAP_SERVERS": "kafka1:9092"}
    assert default_bootstrap(both) == "kafka1:9092"
    assert default_bootstrap({"KAFKA_BOOTSTRAP_SERVERS": "", "BIANMIN_KAFKA_PORT": ""}) == (
        "127.0.0.1:19092"
    )


def test_postgres_from_the_variable_then_the_local_port_then_15432() -> None:
    assert local_database_url("intake", "intake", {}) == (
        "postgresql://intake:intake@127.0.0.1:15432/intake"
    )
    env = {"BIANMIN_PG_PORT": "31432"}
    assert default_database_url("bianmin", "postgres", env) == (
        "postgresql://bianmin:bianmin@127.0.0.1:31432/postgres"
    )
    env["DATABASE_URL"] = "postgresql://u:p@db:5432/x"
    assert default_database_url("bianmin", "postgres", env) == "postgresql://u:p@db:5432/x"


@pytest.mark.parametrize("bad", ["abc", "0", "70000", "19092.5"])
def test_a_port_that_is_no_port_is_refused_by_name(bad: str) -> None:
    with pytest.raises(EndpointError, match=f"BIANMIN_KAFKA_PORT={bad!r}"):
        default_bootstrap({"BIANMIN_KAFKA_PORT": bad})


def test_devstack_follows_the_same_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("BIANMIN_KAFKA_PORT", "31092")
    monkeypatch.setenv("BIANMIN_PG_PORT", "31432")
    assert kafka_bootstrap() == default_bootstrap() == KafkaCluster.single().bootstrap
    assert LocalPostgres.default().port == 31432
    monkeypatch.setenv("BIANMIN_KAFKA_PORT", "x")
    with pytest.raises(StackError, match="BIANMIN_KAFKA_PORT='x'"):
        KafkaCluster.single()


@pytest.fixture
def silent_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**kw: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    return env | kw


def test_dlq_list_finds_the_broker_by_bianmin_kafka_port_and_says_it_in_one_line(
    silent_port: int,
) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "eventkit", "dlq", "list", "intake.events"],
        env=_env(BIANMIN_KAFKA_PORT=str(silent_port)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    assert r.stdout == ""
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"error: cannot reach Kafka at 127.0.0.1:{silent_port}: ")
    assert "BIANMIN_KAFKA_PORT" in line


def test_outbox_status_finds_the_database_by_bianmin_pg_port(silent_port: int) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "eventkit", "outbox", "status"],
        env={
            k: v for k, v in _env(BIANMIN_PG_PORT=str(silent_port)).items() if k != "DATABASE_URL"
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"error: cannot use the database at 127.0.0.1:{silent_port}/postgres")


def test_bianmin_replay_analytics_finds_the_broker_by_bianmin_kafka_port(
    silent_port: int, tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("BIANMIN_KAFKA_PORT", str(silent_port))
    db = os.path.join(tmp_path, "a.duckdb")
    result = CliRunner().invoke(bianmin, ["replay", "analytics", "--db", db, "-q"])
    assert result.exit_code == 1
    assert f"cannot reach Kafka at 127.0.0.1:{silent_port}" in result.output
    assert not os.path.exists(db)
