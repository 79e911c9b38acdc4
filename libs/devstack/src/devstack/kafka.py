"""A real Apache Kafka (KRaft) broker, fetched by Maven and started as a local process.

Single node for tests and `make run`; a 3-node cluster (same cluster id, three node ids,
replication 3, min.insync.replicas=2) for fault tests. Everything lives under
`.local/kafka/<name>/` (data, logs, pid) so it is git-ignored and easy to wipe.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from eventkit.endpoints import local_kafka_port
from eventkit.limits import TOPIC_MAX_MESSAGE_BYTES

from .common import (
    PidFile,
    StackError,
    describe_exit,
    env_int,
    local_port,
    pid_alive,
    repo_root,
    require_free,
    spawn_daemon,
    state_dir,
    stop_pid,
    tail,
)
from .kafka_users import (
    ADMIN_USER,
    MECHANISM,
    admin_plain_kwargs,
    apply_acls,
    password,
    scram_arguments,
    users,
)

T = TypeVar("T")

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.org.name = org.apache.kafka
logger.org.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def libs_dir() -> Path:
    return state_dir() / "kafka" / "libs"


def fetch(quiet: bool = True) -> Path:
    """Fetch the broker jars with Maven unless they are already there (second run: nothing)."""
    libs = libs_dir()
    if shutil.which("java") is None:
        raise StackError(
            "`java` is not installed; Kafka needs Java 17+. Install it, e.g. "
            "`apt-get install -y openjdk-17-jre-headless`, then run again."
        )
    if libs.is_dir() and any(libs.glob("kafka_2.13-*.jar")) and any(libs.glob("log4j-core-*")):
        return libs
    for tool, pkg in (("java", "openjdk-17-jre-headless (Java 17+)"), ("mvn", "maven")):
        if shutil.which(tool) is None:
            raise StackError(
                f"`{tool}` is not installed; Kafka needs it. Install {pkg}, e.g. "
                f"`apt-get install -y {pkg.split()[0]}`, then run the command again."
            )
    pom = repo_root() / "infra" / "kafka" / "pom.xml"
    cmd = ["mvn", "-B", "-f", str(pom), "package", f"-Dkafka.libs.dir={libs}"]
    if quiet:
        cmd.insert(1, "-q")
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError("Maven could not fetch Kafka:\n" + (result.stdout + result.stderr)[-3000:])
    return libs


@dataclass
class Node:
    node_id: int
    port: int
    controller_port: int


@dataclass
class KafkaCluster:
    """A local KRaft cluster: `nodes` brokers, each broker+controller (combined mode)."""

    name: str = "single"
    nodes: list[Node] = field(default_factory=list)
    heap: str = "512m"
    # Brokers this process started: kept so that their exit status is read and they are
    # reaped (a broker dropped here would stay a zombie until this process ends).
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    @classmethod
    def single(cls) -> KafkaCluster:
        port = local_port(local_kafka_port)
        ctl = env_int("BIANMIN_KAFKA_CONTROLLER_PORT", port + 1)
        return cls("single", [Node(1, port, ctl)])

    @classmethod
    def trio(cls, base_port: int | None = None) -> KafkaCluster:
        base = base_port or env_int("BIANMIN_KAFKA3_BASE_PORT", 19192)
        return cls(
            "trio", [Node(i + 1, base + 2 * i, base + 2 * i + 1) for i in range(3)], heap="384m"
        )

    # -- paths -----------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        return state_dir() / "kafka" / self.name

    def node_dir(self, node: Node) -> Path:
        return self.home / f"node{node.node_id}"

    def log_path(self, node: Node) -> Path:
        return self.node_dir(node) / "logs" / "server.log"

    def pidfile(self, node: Node) -> PidFile:
        return PidFile(self.node_dir(node) / "kafka.pid")

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    # -- config ----------------------------------------------------------------------------
    def properties(self, node: Node) -> str:
        rf = min(3, len(self.nodes))
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        return "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={node.node_id}",
                f"controller.quorum.voters={voters}",
                f"listeners=BROKER://127.0.0.1:{node.port},"
                f"CONTROLLER://127.0.0.1:{node.controller_port}",
                f"advertised.listeners=BROKER://127.0.0.1:{node.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=BROKER",
                "listener.security.protocol.map=BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
                *self.security_properties(),
                f"log.dirs={self.node_dir(node) / 'data'}",
                "num.partitions=1",
                f"default.replication.factor={rf}",
                f"min.insync.replicas={2 if rf == 3 else 1}",
                f"offsets.topic.replication.factor={rf}",
                "offsets.topic.num.partitions=1" if rf == 1 else "offsets.topic.num.partitions=3",
                f"transaction.state.log.replication.factor={rf}",
                f"transaction.state.log.min.isr={2 if rf == 3 else 1}",
                "transaction.state.log.num.partitions=1",
                f"share.coordinator.state.topic.replication.factor={rf}",
                f"share.coordinator.state.topic.min.isr={2 if rf == 3 else 1}",
                "group.initial.rebalance.delay.ms=0",
                # Offset commits wait for the coordinator's append linger (5 ms by default in
                # 4.1): with one commit per processed message that caps a consumer at
                # ~110 msg/s. Commit latency matters more than batching here.
                "group.coordinator.append.linger.ms=0",
                "auto.create.topics.enable=false",
                "delete.topic.enable=true",
                f"message.max.bytes={TOPIC_MAX_MESSAGE_BYTES}",  # as on every topic
                "log.retention.hours=-1",
                "num.network.threads=2",
                "num.io.threads=4",
                "log.segment.bytes=268435456",
                "",
            ]
        )

    @staticmethod
    def security_properties() -> list[str]:
        """Every client authenticates and is authorised by the ACLs of `contracts.kafka_acl`:
        nothing is allowed unless granted, and only `admin` is a super user.

        Clients log in with SCRAM-SHA-512 (the users live in the cluster metadata). The
        admin alone may also log in with SASL/PLAIN against a password in this file: that
        is how brokers talk to each other and to the controllers (which cannot serve SCRAM
        in KRaft), and how SCRAM users are added to data formatted before they existed."""
        plain = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{ADMIN_USER}" password="{password(ADMIN_USER)}" '
            f'user_{ADMIN_USER}="{password(ADMIN_USER)}";'
        )
        return [
            f"sasl.enabled.mechanisms={MECHANISM},PLAIN",
            "sasl.mechanism.inter.broker.protocol=PLAIN",
            f"listener.name.broker.sasl.enabled.mechanisms={MECHANISM},PLAIN",
            f"listener.name.broker.plain.sasl.jaas.config={plain}",
            f"listener.name.broker.{MECHANISM.lower()}.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            f"listener.name.controller.plain.sasl.jaas.config={plain}",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{ADMIN_USER}",
        ]

    def _users_marker(self) -> Path:
        """Which SCRAM users the cluster's metadata holds (written when they were added)."""
        return self.home / "scram-users"

    def _ensure_users(self) -> None:
        """Add the SCRAM users the metadata lacks: data formatted before Kafka
        authentication (or before a user was added to `contracts.kafka_acl.users`). One
        `kafka-configs` run per user, logged in as the admin over PLAIN; only then."""
        wanted = list(users())
        marker = self._users_marker()
        have = marker.read_text().split() if marker.exists() else []
        missing = [u for u in wanted if u not in have]
        if not missing:
            return
        node = self.nodes[0]
        cfg = self.node_dir(node) / "admin-plain.properties"
        cfg.touch(mode=0o600)
        cfg.write_text(
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
            "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
            f'required username="{ADMIN_USER}" password="{password(ADMIN_USER)}";\n'
        )
        for user in missing:
            r = subprocess.run(
                self._java(
                    node,
                    [
                        "kafka.admin.ConfigCommand",
                        "--bootstrap-server",
                        self.bootstrap,
                        "--command-config",
                        str(cfg),
                        "--alter",
                        "--entity-type",
                        "users",
                        "--entity-name",
                        user,
                        "--add-config",
                        f"{MECHANISM}=[password={password(user)}]",
                    ],
                ),
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                raise StackError(f"adding Kafka user {user} failed:\n{r.stdout}{r.stderr}")
        marker.write_text("\n".join(wanted) + "\n")

    def _cluster_id(self) -> str:
        path = self.home / "cluster.id"
        if path.exists():
            return path.read_text().strip()
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(cid)
        return cid

    def _java(self, node: Node, main: list[str]) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+UseG1GC",
            "-XX:TieredStopAtLevel=1" if os.environ.get("BIANMIN_KAFKA_FAST_JIT") else "-server",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.node_dir(node) / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.node_dir(node) / 'logs'}",
            "-cp",
            str(libs_dir() / "*"),
            *main,
        ]

    def _prepare(self, node: Node) -> Path:
        d = self.node_dir(node)
        (d / "logs").mkdir(parents=True, exist_ok=True)
        props = d / "server.properties"
        props.touch(mode=0o600)  # it holds the admin's password
        props.chmod(0o600)
        props.write_text(self.properties(node))
        (d / "log4j2.properties").write_text(LOG4J2.format(log=self.log_path(node)))
        if not (d / "data" / "meta.properties").exists():
            cmd = self._java(
                node,
                [
                    "kafka.tools.StorageTool",
                    "format",
                    # one argument: a random id may begin with "-" (base64url)
                    f"--cluster-id={self._cluster_id()}",
                    "-c",
                    str(props),
                    "--ignore-formatted",
                    *scram_arguments(),
                ],
            )
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise StackError(f"formatting Kafka storage failed:\n{r.stdout}{r.stderr}")
            if node is self.nodes[0]:
                self._users_marker().write_text("\n".join(users()) + "\n")
        return props

    # -- lifecycle -------------------------------------------------------------------------
    def running(self) -> bool:
        return all(self.pidfile(n).read() is not None for n in self.nodes)

    def start(self, timeout: float = 90.0) -> bool:
        """Start every node unless already running; True if this call started anything."""
        fetch()
        if self.running() and probe(self.bootstrap, len(self.nodes), timeout=10):
            return False
        started: list[Node] = []
        try:
            for node in self.nodes:
                if self.pidfile(node).read() is not None:
                    continue
                suffix = f"_NODE{node.node_id}" if len(self.nodes) > 1 else ""
                require_free(
                    node.port,
                    f"BIANMIN_KAFKA_PORT{suffix}" if not suffix else "BIANMIN_KAFKA3_BASE_PORT",
                )
                require_free(
                    node.controller_port,
                    "BIANMIN_KAFKA_CONTROLLER_PORT" if not suffix else "BIANMIN_KAFKA3_BASE_PORT",
                )
                self._spawn(node)
                started.append(node)
            self.wait_ready(timeout)
            if started:
                self._ensure_users()
                # the ACLs live in the cluster metadata: creating them again changes nothing
                run_sync(lambda: apply_acls(self.bootstrap))
        except BaseException:
            for node in started:
                self.stop_node(node)
            raise
        return bool(started)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                pid = self.pidfile(node).read()
                if pid is None or not pid_alive(pid):
                    proc = self.procs.get(node.node_id)
                    code = proc.poll() if proc is not None else None
                    raise StackError(
                        f"Kafka node {node.node_id} {describe_exit(code)} during start-up; "
                        f"log: {self.log_path(node)}\n{self.log_tail(node, 20)}"
                    )
            if probe(self.bootstrap, len(self.nodes), timeout=3):
                return
            time.sleep(0.5)
        raise StackError(
            f"Kafka did not answer a metadata request within {timeout:.0f}s; "
            f"logs: {', '.join(str(self.log_path(n)) for n in self.nodes)}"
        )

    def stop_node(self, node: Node, hard: bool = False) -> None:
        pid = self.pidfile(node).read()
        if pid is not None:
            stop_pid(pid, timeout=0 if hard else 30)
        proc = self.procs.pop(node.node_id, None)
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()  # reap it
        self.pidfile(node).clear()

    def kill_node(self, node: Node) -> None:
        """kill -9, for fault tests."""
        self.stop_node(node, hard=True)

    def start_node(self, node: Node, timeout: float = 60.0) -> None:
        self._spawn(node)
        self.wait_ready(timeout)

    def _spawn(self, node: Node) -> None:
        props = self._prepare(node)
        proc = spawn_daemon(
            self._java(node, ["kafka.Kafka", str(props)]),
            self.node_dir(node) / "logs" / "stdout.log",
        )
        self.procs[node.node_id] = proc
        self.pidfile(node).write(proc.pid)

    def exited(self) -> list[tuple[Node, int | None]]:
        """Nodes that are no longer running, each with its exit status when this process
        started it (and reaps it here), or None when another process did (`make infra-up`)."""
        out: list[tuple[Node, int | None]] = []
        for node in self.nodes:
            proc = self.procs.get(node.node_id)
            if proc is not None:
                code = proc.poll()
                if code is not None:
                    del self.procs[node.node_id]
                    self.pidfile(node).clear()
                    out.append((node, code))
            elif self.pidfile(node).read() is None:
                out.append((node, None))
        return out

    def log_tail(self, node: Node, lines: int = 12) -> str:
        """The broker's last log lines, and its stdout's (where the JVM reports a crash)."""
        parts = [tail(self.log_path(node), lines)]
        stdout = tail(self.node_dir(node) / "logs" / "stdout.log", 5)
        if stdout and stdout != "(no log written)":
            parts.append(stdout)
        return "\n".join(parts)

    def stop(self) -> None:
        for node in self.nodes:
            self.stop_node(node)

    def wipe(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


async def _probe(bootstrap: str, expect_brokers: int, timeout: float) -> bool:
    from aiokafka import AIOKafkaClient  # type: ignore[attr-defined]

    client = AIOKafkaClient(
        bootstrap_servers=bootstrap,
        **admin_plain_kwargs(),
        request_timeout_ms=int(timeout * 1000),
        metadata_max_age_ms=1000,
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        await asyncio.wait_for(client.force_metadata_update(), timeout)
        return len(client.cluster.brokers()) >= expect_brokers
    except Exception:
        return False
    finally:
        await client.close()


def probe(bootstrap: str, expect_brokers: int = 1, timeout: float = 5.0) -> bool:
    """Readiness = the cluster answers a metadata request listing every broker."""
    import logging

    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        return run_sync(lambda: _probe(bootstrap, expect_brokers, timeout))
    finally:
        quiet.setLevel(level)


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, also when called from inside a running
    loop (e.g. pytest-asyncio): then in a fresh thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        return ex.submit(lambda: asyncio.run(make())).result()
