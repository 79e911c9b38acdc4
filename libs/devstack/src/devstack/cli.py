"""`python -m devstack ...`: bring the local Kafka and PostgreSQL up and down, run the system.

Used by the Makefile (`make infra-up`, `make run`, ...) and by tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import typer

from .common import StackError, env_int, state_dir
from .kafka import KafkaCluster
from .postgres import SERVICES, LocalPostgres

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Local Kafka + PostgreSQL for Bianmin development and tests.",
)
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg="red", err=True)
    raise typer.Exit(1)


def pinned_marker() -> Path:
    """Present while `make infra-up` owns the local stack: test sessions then leave it
    running instead of stopping what they found started."""
    return state_dir() / "infra-up"


def external() -> tuple[str | None, str | None]:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")


def topic_partitions() -> int:
    return int(os.environ.get("BIANMIN_TOPIC_PARTITIONS", "3"))


@app.command()
def fetch() -> None:
    """Fetch the Kafka jars with Maven (nothing is downloaded when they are cached)."""
    from .kafka import fetch as do_fetch

    try:
        path = do_fetch(quiet=False)
    except StackError as exc:
        fail(exc)
    typer.echo(f"kafka jars in {path}")


@app.command()
def up(topics: bool = True) -> None:
    """Start PostgreSQL and a single-node Kafka (unless KAFKA_BOOTSTRAP_SERVERS/DATABASE_URL
    point elsewhere), create the topics, apply migrations."""
    kafka_ext, db_ext = external()
    pg = LocalPostgres.default()
    kafka = KafkaCluster.single()
    started_pg = False
    try:
        if not db_ext:
            started_pg = pg.start()
            typer.echo(
                f"postgres  {'started' if started_pg else 'running'} on "
                f"127.0.0.1:{pg.port} (data {pg.data}, log {pg.log_path})"
            )
        if not kafka_ext:
            started = kafka.start()
            typer.echo(
                f"kafka     {'started' if started else 'running'} on {kafka.bootstrap} "
                f"(log {kafka.log_path(kafka.nodes[0])})"
            )
        if topics:
            created = create_topics(kafka_ext or kafka.bootstrap)
            if created:
                typer.echo(f"topics    created {', '.join(created)}")
        pinned_marker().touch()
    except StackError as exc:
        if started_pg:
            pg.stop()
        fail(exc)


def create_topics(bootstrap: str) -> list[str]:
    """The project's topics (each with its .dlq); returns those it had to create."""
    from contracts.topics import EVENT_TOPICS

    from .topics import ensure_topics

    return asyncio.run(ensure_topics(bootstrap, list(EVENT_TOPICS), topic_partitions()))


@app.command()
def down() -> None:
    """Stop the local Kafka (single and 3-node) and PostgreSQL."""
    pinned_marker().unlink(missing_ok=True)
    KafkaCluster.single().stop()
    KafkaCluster.trio().stop()
    LocalPostgres.default().stop()
    typer.echo("kafka and postgres stopped")


@app.command()
def wipe() -> None:
    """Stop everything and delete local data (Kafka logs, PostgreSQL cluster)."""
    KafkaCluster.single().wipe()
    KafkaCluster.trio().wipe()
    LocalPostgres.default().wipe()
    typer.echo("local data deleted")


@app.command()
def env() -> None:
    """Print the environment variables that point the services at the local stack."""
    for k, v in service_env().items():
        typer.echo(f"export {k}={v}")


def dev_secrets() -> dict[str, str]:
    """Development-only keys, made once under .local/: the JWT signing pair (services get the
    public key; `python -m eventkit.auth mint --key-file .local/dev-jwt.pem` mints tokens),
    the audit log's Ed25519 checkpoint key and the intake verification-code secret.
    Production supplies its own through the same variables."""
    import secrets

    from eventkit.auth import generate_private_key, private_pem, public_pem

    d = state_dir()
    jwt_key = d / "dev-jwt.pem"
    if not jwt_key.exists():
        key = generate_private_key("EdDSA")
        jwt_key.write_text(private_pem(key))
        jwt_key.chmod(0o600)
        jwt_key.with_name(jwt_key.name + ".pub").write_text(public_pem(key))
    secret = d / "dev-verification-secret"
    if not secret.exists():
        secret.write_text(secrets.token_hex(32))
        secret.chmod(0o600)
    out = {
        "AUTH_PUBLIC_KEY_FILE": str(jwt_key.with_name(jwt_key.name + ".pub")),
        "AUTH_PRIVATE_KEY_FILE": str(jwt_key),
        "INTAKE_VERIFICATION_SECRET": secret.read_text().strip(),
    }
    audit_key = d / "dev-audit-signer.key"
    try:
        from tlog.note import generate_key

        if not audit_key.exists():
            skey, vkey = generate_key("bianmin.ruian/audit")
            audit_key.write_text(skey)
            audit_key.chmod(0o600)
            audit_key.with_name("dev-audit-verifier.key").write_text(vkey)
        out["AUDIT_SIGNING_KEY_FILE"] = str(audit_key)
    except ImportError:
        pass
    return {k: os.environ.get(k, v) for k, v in out.items()}


def service_env() -> dict[str, str]:
    kafka_ext, db_ext = external()
    pg = LocalPostgres.default()
    bootstrap = kafka_ext or KafkaCluster.single().bootstrap
    out: dict[str, str] = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, **dev_secrets()}
    for svc in SERVICES:
        key = f"{svc.upper()}_DATABASE_URL"
        out[key] = os.environ.get(key) or (db_ext or pg.url(svc, svc))
        if db_ext and not os.environ.get(key):
            out[f"{svc.upper()}_DATABASE_SCHEMA"] = svc
    return out


DEFAULT_HTTP_PORTS = {"intake": 8001, "routing": 8002, "notify": 8003, "audit": 8004}


@app.command()
def run(
    stop_file: Path | None = typer.Option(
        None,
        "--stop-file",
        help="Written at start; stop everything when it disappears (the Makefile passes its "
        "target, which make deletes when it gets SIGINT or SIGTERM).",
    ),
) -> None:
    """Bring the whole system up in the foreground (Ctrl-C stops everything)."""
    from .supervisor import Output, ServiceChild, Supervisor

    kafka_ext, db_ext = external()
    pg = None if db_ext else LocalPostgres.default()
    kafka = None if kafka_ext else KafkaCluster.single()
    bootstrap = kafka_ext or KafkaCluster.single().bootstrap
    try:
        env = dict(os.environ, PYTHONUNBUFFERED="1", **service_env())
        ready_timeout = env_int("BIANMIN_READY_TIMEOUT_S", 90)
        ports = {
            svc: env_int(f"{svc.upper()}_HTTP_PORT", DEFAULT_HTTP_PORTS[svc]) for svc in SERVICES
        }
    except StackError as exc:
        fail(exc)
    env.update({f"{svc.upper()}_HTTP_PORT": str(port) for svc, port in ports.items()})
    out = Output()
    services = [
        ServiceChild(
            svc,
            ports[svc],
            [sys.executable, "-m", svc],
            env,
            state_dir() / "logs" / f"{svc}.log",
            out,
        )
        for svc in SERVICES
    ]
    supervisor = Supervisor(
        services=services,
        out=out,
        postgres=pg,
        kafka=kafka,
        prepare=lambda: out.say(f"topics    {', '.join(create_topics(bootstrap)) or 'all there'}"),
        stop_file=stop_file,
        ready_timeout_s=ready_timeout,
    )
    sys.exit(supervisor.run())


@app.command()
def demo(
    cases: int = typer.Option(300, "--cases", min=1, help="How many cases the day brings."),
    concurrency: int = typer.Option(16, "--concurrency", min=1, help="Cases in flight at most."),
    seed: int | None = typer.Option(None, "--seed", help="Replay the same day (random.seed)."),
) -> None:
    """Play a realistic day against a running `make run`: hundreds of cases across the tiers."""
    from .demo import run_demo

    try:
        sys.exit(run_demo(cases=cases, concurrency=concurrency, seed=seed))
    except StackError as exc:
        fail(exc)


@app.command("kafka3")
def kafka3(action: str = typer.Argument(..., help="up | down | wipe")) -> None:
    """The 3-node KRaft cluster used by fault tests."""
    trio = KafkaCluster.trio()
    try:
        if action == "up":
            trio.start()
            typer.echo(f"kafka 3-node cluster on {trio.bootstrap}")
        elif action == "down":
            trio.stop()
        elif action == "wipe":
            trio.wipe()
        else:
            raise StackError(f"unknown action {action!r}: use up, down or wipe")
    except StackError as exc:
        fail(exc)


def main() -> None:
    app()
