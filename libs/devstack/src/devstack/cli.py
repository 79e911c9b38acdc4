"""`python -m devstack ...`: bring the local Kafka and PostgreSQL up and down, run the system.

Used by the Makefile (`make infra-up`, `make run`, ...) and by tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import StackError, env_int, state_dir
from .kafka import KafkaCluster
from .kafka_users import ADMIN_USER, use_admin, users_dir
from .kafka_users import client_env as kafka_client_env
from .kafka_users import service_env as kafka_service_env
from .postgres import AUDIT_RUNTIME_ROLE, SERVICES, LocalPostgres

if TYPE_CHECKING:
    from .supervisor import Output, ServiceChild

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
                f"(log {kafka.log_path(kafka.nodes[0])}; users in {users_dir()})"
            )
            use_admin()
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


@app.command("create-topic")
def create_topic(
    names: list[str] = typer.Argument(..., help="topics to create (each with its .dlq)"),
) -> None:
    """Create topics as `make run` creates its own (retention -1, each with a .dlq sibling)
    on the Kafka every CLI finds (KAFKA_BOOTSTRAP_SERVERS, else BIANMIN_KAFKA_PORT)."""
    from .topics import ensure_topics

    try:
        bootstrap = kafka_bootstrap()
        if not external()[0]:
            use_admin()
        created = asyncio.run(ensure_topics(bootstrap, names, topic_partitions()))
    except (StackError, OSError, RuntimeError) as exc:
        fail(exc)
    typer.echo(f"topics on {bootstrap}: created {', '.join(created) or 'none (all there)'}")


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
    # the witness remembers the log it watched, and the published checkpoints are the log's
    # own promise: a new, empty log would be a rollback to either
    shutil.rmtree(witness_state(), ignore_errors=True)
    shutil.rmtree(published_checkpoints(), ignore_errors=True)
    typer.echo("local data deleted")


@app.command()
def env() -> None:
    """Print the environment variables that point the services at the local stack (and
    give them `make run`'s development keys): `eval "$(python -m devstack env)"`."""
    try:
        found = service_env()
    except StackError as exc:
        fail(exc)
    if not external()[0]:
        # the local broker's super user, for the operator tools run from this shell
        # (`python -m eventkit dlq`, `bianmin replay`, analytics); `make run` gives each
        # service its own user instead
        found |= kafka_client_env(ADMIN_USER)
    for k, v in found.items():
        typer.echo(f"export {k}={shlex.quote(v)}")


def dev_secrets() -> dict[str, str]:
    """Development-only keys, made once under .local/: the JWT signing pair (services get the
    public key; `python -m eventkit.auth mint --key-file .local/dev-jwt.pem` mints tokens),
    the intake verification-code secret, intake's personal-data master and lookup keys
    (issue 15), the audit log's Ed25519 checkpoint key, the audit's
    HMAC key for personal data (the conflict-of-interest rule) and the verifier key of the
    local witness (`witness_env`), whose cosignatures the audit accepts.
    Production supplies its own through the same variables."""
    import base64
    import secrets

    from eventkit.auth import generate_private_key, private_pem, public_pem

    d = state_dir()
    jwt_key = d / "dev-jwt.pem"
    if not jwt_key.exists():
        key = generate_private_key("EdDSA")
        _write_secret(jwt_key, private_pem(key))
        jwt_key.with_name(jwt_key.name + ".pub").write_text(public_pem(key))
    secret = d / "dev-verification-secret"
    if not secret.exists():
        _write_secret(secret, secrets.token_hex(32))
    pd_keys = {}
    for name in ("master", "lookup"):
        path = d / f"dev-personal-data-{name}-key"
        if not path.exists():
            _write_secret(path, base64.b64encode(secrets.token_bytes(32)).decode())
        pd_keys[name] = path.read_text().strip()
    hmac_key = d / "dev-audit-hmac-key"
    if not hmac_key.exists():
        _write_secret(hmac_key, secrets.token_hex(32))
    audit_key, _ = _note_key_pair(d, "audit-signer", "audit-verifier", DEV_LOG_KEY_NAME)
    _, witness_vkey = _note_key_pair(d, "witness-signer", "witness-verifier", DEV_WITNESS_NAME)
    out = {
        "AUTH_PUBLIC_KEY_FILE": str(jwt_key.with_name(jwt_key.name + ".pub")),
        "AUTH_PRIVATE_KEY_FILE": str(jwt_key),
        "INTAKE_VERIFICATION_SECRET": secret.read_text().strip(),
        "INTAKE_PERSONAL_DATA_MASTER_KEYS": pd_keys["master"],
        "INTAKE_PERSONAL_DATA_LOOKUP_KEY": pd_keys["lookup"],
        "AUDIT_SIGNING_KEY_FILE": str(audit_key),
        "AUDIT_PERSONAL_HMAC_KEY": hmac_key.read_text().strip(),
        "AUDIT_WITNESS_KEYS": witness_vkey.read_text().strip(),
    }
    return {k: os.environ.get(k, v) for k, v in out.items()}


DEV_LOG_KEY_NAME = "bianmin.ruian/audit"
DEV_WITNESS_NAME = "inspectorate.ruian/witness"


def _write_secret(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


def _note_key_pair(d: Path, signer: str, verifier: str, name: str) -> tuple[Path, Path]:
    """`.local/dev-<signer>.key` (secret) and `.local/dev-<verifier>.key`: a C2SP signed-note
    Ed25519 key pair named `name`, made once."""
    from tlog.note import generate_key

    skey_path, vkey_path = d / f"dev-{signer}.key", d / f"dev-{verifier}.key"
    if not skey_path.exists():
        skey, vkey = generate_key(name)
        _write_secret(skey_path, skey)
        vkey_path.write_text(vkey + "\n")
    elif not vkey_path.exists():
        from tlog.note import Signer

        vkey_path.write_text(Signer.from_key(skey_path.read_text().strip()).verifier().to_key())
    return skey_path, vkey_path


def log_verifier_key(env: dict[str, str]) -> str:
    """The audit log's verifier key, from the signer key the audit service is given
    (`AUDIT_SIGNING_KEY_FILE` or `AUDIT_SIGNING_KEY`), else `AUDIT_VERIFIER_KEY`."""
    from tlog.note import Signer

    if env.get("AUDIT_SIGNING_KEY_FILE"):
        secret = Path(env["AUDIT_SIGNING_KEY_FILE"]).read_text().strip()
    elif env.get("AUDIT_SIGNING_KEY"):
        secret = env["AUDIT_SIGNING_KEY"].strip()
    elif env.get("AUDIT_VERIFIER_KEY"):
        return env["AUDIT_VERIFIER_KEY"].strip()
    else:
        raise StackError("the audit service has no signing key (AUDIT_SIGNING_KEY_FILE)")
    return Signer.from_key(secret).verifier().to_key()


def published_checkpoints() -> Path:
    """Where `make run`'s audit publishes every signed checkpoint outside its database
    (`AUDIT_CHECKPOINT_STORE`, served at /v1/log/published)."""
    return state_dir() / "published-checkpoints"


def witness_state() -> Path:
    """The local witness's own state (its last verified checkpoint, cosigned notes, alarms)."""
    return state_dir() / "witness"


def witness_env(env: dict[str, str], audit_port: int) -> dict[str, str]:
    """The local witness (`python -m audit.witness run`, the inspectorate's watcher): it polls
    the audit service's checkpoints, checks them against the log's key and the previous one,
    and posts its cosignature back. Any `WITNESS_*` variable already set wins."""
    out = {
        "WITNESS_URL": f"http://127.0.0.1:{audit_port}",
        "WITNESS_LOG_KEY": log_verifier_key(env),
        "WITNESS_ORIGIN": env.get("AUDIT_LOG_ORIGIN") or DEV_LOG_KEY_NAME,
        "WITNESS_KEY_FILE": str(state_dir() / "dev-witness-signer.key"),
        "WITNESS_STATE_DIR": str(witness_state()),
    }
    return {**env, **{k: env.get(k) or v for k, v in out.items()}}


def kafka_bootstrap() -> str:
    """Where the services and tools find Kafka: `eventkit.endpoints.default_bootstrap`, the
    rule every CLI shares (KAFKA_BOOTSTRAP_SERVERS, else the local broker's port)."""
    from eventkit.endpoints import EndpointError, default_bootstrap

    try:
        return default_bootstrap()
    except EndpointError as exc:
        raise StackError(str(exc)) from None


def service_env() -> dict[str, str]:
    _, db_ext = external()
    pg = LocalPostgres.default()
    bootstrap = kafka_bootstrap()
    out: dict[str, str] = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, **dev_secrets()}
    # development keys, no token issuer: the services start only with the explicit flag
    # (`eventkit.production`)
    out["BIANMIN_DEVELOPMENT"] = os.environ.get("BIANMIN_DEVELOPMENT", "1")
    for svc in SERVICES:
        key = f"{svc.upper()}_DATABASE_URL"
        out[key] = os.environ.get(key) or (db_ext or pg.url(svc, svc))
        if db_ext and not os.environ.get(key):
            out[f"{svc.upper()}_DATABASE_SCHEMA"] = svc
    out["AUDIT_CHECKPOINT_STORE"] = os.environ.get("AUDIT_CHECKPOINT_STORE") or str(
        published_checkpoints()
    )
    if not os.environ.get("AUDIT_DATABASE_URL"):
        # on an outside database one role does everything: BIANMIN_DEVELOPMENT (above) lets
        # the audit start so, with a warning; locally the owner migrates and the service runs
        # as a role that owns nothing
        if not db_ext:
            out["AUDIT_MIGRATION_DATABASE_URL"] = pg.url("audit", "audit")
            out["AUDIT_DATABASE_URL"] = pg.url("audit", AUDIT_RUNTIME_ROLE)
    return out


DEFAULT_HTTP_PORTS = {"intake": 8001, "routing": 8002, "notify": 8003, "audit": 8004}
PORTAL_HTTP_PORT = 8005


def portal_env(env: dict[str, str], ports: dict[str, int], portal_port: int) -> dict[str, str]:
    """The portal under `make run`: the services at their ports, development sign-in with the
    development JWT key (it mints the chosen person's token, as `eventkit.auth mint` does),
    a session secret made once in .local/, cookies over plain HTTP (localhost). Any
    `PORTAL_*` variable already set wins."""
    secret = state_dir() / "dev-portal-session-secret"
    if not secret.exists():
        import secrets

        _write_secret(secret, secrets.token_hex(32))
    out = {
        **{f"PORTAL_{svc.upper()}_URL": f"http://127.0.0.1:{port}" for svc, port in ports.items()},
        "PORTAL_HTTP_PORT": str(portal_port),
        "PORTAL_SESSION_SECRET": secret.read_text().strip(),
        "PORTAL_DEV_SIGNIN": "true",
        "PORTAL_DEV_KEY_FILE": env["AUTH_PRIVATE_KEY_FILE"],
        "PORTAL_COOKIE_SECURE": "false",
    }
    return {**env, **{k: env.get(k) or v for k, v in out.items()}}


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
    try:
        pg = None if db_ext else LocalPostgres.default()
        kafka = None if kafka_ext else KafkaCluster.single()
        bootstrap = kafka_bootstrap()
        env = dict(os.environ, PYTHONUNBUFFERED="1", **service_env())
        ready_timeout = env_int("BIANMIN_READY_TIMEOUT_S", 90)
        ports = {
            svc: env_int(f"{svc.upper()}_HTTP_PORT", DEFAULT_HTTP_PORTS[svc]) for svc in SERVICES
        }
    except StackError as exc:
        fail(exc)
    env.update({f"{svc.upper()}_HTTP_PORT": str(port) for svc, port in ports.items()})
    if kafka is not None:
        use_admin()  # the supervisor creates the topics; each service logs in as itself
    out = Output()
    services = [
        ServiceChild(
            svc,
            ports[svc],
            [sys.executable, "-m", svc],
            env if kafka is None else kafka_service_env(env, svc),
            state_dir() / "logs" / f"{svc}.log",
            out,
        )
        for svc in SERVICES
    ]
    try:
        portal_port = env_int("PORTAL_HTTP_PORT", PORTAL_HTTP_PORT)
        services.append(
            ServiceChild(
                "portal",
                portal_port,
                [sys.executable, "-m", "portal"],
                portal_env(env, ports, portal_port),
                state_dir() / "logs" / "portal.log",
                out,
                summary="(the web front: open it in a browser; development sign-in at /signin)",
            )
        )
        services.append(witness_child(env, ports["audit"], out))
    except StackError as exc:
        fail(exc)
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


def witness_child(env: dict[str, str], audit_port: int, out: Output) -> ServiceChild:
    """The local witness as a supervised child: no HTTP port; an ALARM (exit 3: the log
    showed a split view, a rollback, a bad signature or an inconsistent proof) is reported
    and not restarted, and the services go on."""
    from .supervisor import ServiceChild

    state = witness_state()
    return ServiceChild(
        "witness",
        None,
        [sys.executable, "-m", "audit.witness", "run"],
        witness_env(env, audit_port),
        state_dir() / "logs" / "witness.log",
        out,
        summary=f"cosigns the audit log's checkpoints (state {state})",
        final_exits={
            3: f"the witness raised an ALARM (details in {state / 'ALARM.json'}); it is not "
            "restarted and the services go on. If the audit database was reset on purpose, "
            f"delete {state} and start make run again"
        },
    )


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
