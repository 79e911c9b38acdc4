"""The local broker's SCRAM users and ACLs (`contracts.kafka_acl`), and the client settings
that hand each process its own user.

Passwords are made once, at random, in `.local/kafka/users/<name>` (git-ignored, mode 600):
`admin` is the super user the devstack, the test fixtures and the operator tools use; each
service gets its own user, handed to it by `make run` as `KAFKA_SASL_USERNAME` and
`KAFKA_SASL_PASSWORD_FILE`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

from contracts.kafka_acl import ADMIN_USER, Acl, acls, users
from eventkit.kafka_security import KafkaSecurity, client_kwargs

from .common import state_dir

MECHANISM = "SCRAM-SHA-512"
PROTOCOL = "SASL_PLAINTEXT"

# Kafka's protocol codes (org.apache.kafka.common.resource / acl)
_RESOURCE = {"TOPIC": 2, "GROUP": 3, "CLUSTER": 4}
_OPERATION = {"READ": 3, "WRITE": 4, "CREATE": 5, "DELETE": 6, "ALTER": 7, "DESCRIBE": 8}
_LITERAL = 3
_ALLOW = 3


def users_dir() -> Path:
    return state_dir() / "kafka" / "users"


def password_file(user: str) -> Path:
    """The user's password file, made with a random password on first use."""
    path = users_dir() / user
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24))
    return path


def password(user: str) -> str:
    return password_file(user).read_text().strip()


def client_env(user: str) -> dict[str, str]:
    """The `KAFKA_*` variables that make a process's clients log in as `user`."""
    return {
        "KAFKA_SECURITY_PROTOCOL": PROTOCOL,
        "KAFKA_SASL_MECHANISM": MECHANISM,
        "KAFKA_SASL_USERNAME": user,
        "KAFKA_SASL_PASSWORD_FILE": str(password_file(user)),
    }


def security(user: str) -> KafkaSecurity:
    return KafkaSecurity(
        security_protocol=PROTOCOL,
        sasl_mechanism=MECHANISM,
        sasl_username=user,
        sasl_password_file=password_file(user),
    )


def kwargs(user: str) -> dict[str, object]:
    """aiokafka keyword arguments logging in as `user` on the local broker."""
    return client_kwargs(security(user))


def admin_plain_kwargs() -> dict[str, object]:
    """The admin over SASL/PLAIN (the brokers' own login, `KafkaCluster.security_properties`):
    devstack's readiness probe, which must answer before the SCRAM users exist."""
    return client_kwargs(
        KafkaSecurity(
            security_protocol=PROTOCOL,
            sasl_mechanism="PLAIN",
            sasl_username=ADMIN_USER,
            sasl_password_file=password_file(ADMIN_USER),
        )
    )


def use_admin() -> None:
    """Make this process's clients (and its children's) log in as the local broker's super
    user. Only for the local broker: its users are the ones in this state folder, whatever
    `KAFKA_SASL_*` the environment held (e.g. another state folder's)."""
    for key in [k for k in os.environ if is_login_variable(k)]:
        del os.environ[key]
    os.environ.update(client_env(ADMIN_USER))


def is_login_variable(key: str) -> bool:
    """A `KAFKA_*` variable saying how a client logs in (`eventkit.kafka_security`)."""
    return key.startswith(("KAFKA_SECURITY_", "KAFKA_SASL_", "KAFKA_SSL_"))


def service_env(env: dict[str, str], user: str) -> dict[str, str]:
    """`env` with the login variables replaced by `user`'s on the local broker."""
    return {**{k: v for k, v in env.items() if not is_login_variable(k)}, **client_env(user)}


def scram_arguments() -> list[str]:
    """`kafka-storage format` arguments adding every user's SCRAM credential."""
    out: list[str] = []
    for user in users():
        out += ["--add-scram", f"{MECHANISM}=[name={user},password={password(user)}]"]
    return out


async def apply_acls(bootstrap: str, wanted: list[Acl] | None = None) -> int:
    """Create the ACLs (creating one that exists changes nothing); returns how many."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.protocol.admin import CreateAclsRequest

    rules = acls() if wanted is None else wanted
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kwargs(ADMIN_USER))
    await admin.start()
    try:
        responses = await asyncio.gather(
            *(
                admin._send_request(
                    CreateAclsRequest(
                        _RESOURCE[a.resource],
                        a.name,
                        _LITERAL,
                        f"User:{a.principal}",
                        "*",
                        _OPERATION[a.operation],
                        _ALLOW,
                    )
                )
                for a in rules
            )
        )
    finally:
        await admin.close()
    failed = [
        (a, r)
        for a, resp in zip(rules, responses, strict=True)
        for r in resp.creation_responses
        if r[0] != 0
    ]
    if failed:
        raise RuntimeError(f"creating Kafka ACLs failed: {failed}")
    return len(rules)
