"""`make run`: infrastructure, then the four services in the foreground, logs interleaved.

Each service runs as its own process (`python -m <service>`); its output lines are prefixed
with the service name. Ctrl-C or SIGTERM stops the services (SIGTERM, then SIGKILL after a
grace period), then the Kafka and PostgreSQL this command started, so nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass

from .common import StackError, port_in_use
from .kafka import KafkaCluster
from .postgres import SERVICES, LocalPostgres

COLORS = {"intake": "36", "routing": "33", "notify": "35", "audit": "32"}
DEFAULT_PORTS = {"intake": 8001, "routing": 8002, "notify": 8003, "audit": 8004}


@dataclass
class Child:
    name: str
    port: int
    proc: subprocess.Popen[bytes]


def _pump(child: Child, lock: threading.Lock) -> None:
    color = COLORS.get(child.name, "0")
    prefix = (
        f"\x1b[{color}m{child.name:<8}|\x1b[0m " if sys.stdout.isatty() else f"{child.name:<8}| "
    )
    assert child.proc.stdout is not None
    for raw in iter(child.proc.stdout.readline, b""):
        line = raw.decode(errors="replace").rstrip("\n")
        with lock:
            sys.stdout.write(prefix + line + "\n")
            sys.stdout.flush()


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except Exception:
        return False


def run_system() -> int:
    from .cli import create_topics, service_env

    kafka_ext = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    db_ext = os.environ.get("DATABASE_URL")
    pg = LocalPostgres.default()
    kafka = KafkaCluster.single()
    started_pg = started_kafka = False
    children: list[Child] = []
    lock = threading.Lock()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        if not db_ext:
            started_pg = pg.start()
            print(f"postgres  on 127.0.0.1:{pg.port}  (log {pg.log_path})", flush=True)
        if not kafka_ext:
            started_kafka = kafka.start()
            print(
                f"kafka     on {kafka.bootstrap}  (log {kafka.log_path(kafka.nodes[0])})",
                flush=True,
            )
        create_topics(kafka_ext or kafka.bootstrap)

        env = dict(os.environ, PYTHONUNBUFFERED="1", **service_env())
        for svc in SERVICES:
            port = int(os.environ.get(f"{svc.upper()}_HTTP_PORT", DEFAULT_PORTS[svc]))
            if port_in_use(port):
                raise StackError(
                    f"port {port} is already taken; set {svc.upper()}_HTTP_PORT to a free port"
                )
            env[f"{svc.upper()}_HTTP_PORT"] = str(port)
            proc = subprocess.Popen(
                [sys.executable, "-m", svc],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            child = Child(svc, port, proc)
            children.append(child)
            threading.Thread(target=_pump, args=(child, lock), daemon=True).start()

        deadline = time.monotonic() + 90
        pending = {c.name for c in children}
        while pending and not stopping.is_set():
            for c in children:
                if c.proc.poll() is not None:
                    raise StackError(
                        f"{c.name} exited with code {c.proc.returncode} during "
                        "start-up (its output is above)"
                    )
                if c.name in pending and _ready(c.port):
                    pending.discard(c.name)
            if time.monotonic() > deadline:
                raise StackError(f"not ready after 90 s: {', '.join(sorted(pending))}")
            time.sleep(0.3)
        if not stopping.is_set():
            with lock:
                print("\nBianmin is up:", flush=True)
                for c in children:
                    print(
                        f"  {c.name:<8} http://127.0.0.1:{c.port}  (API docs /docs, "
                        f"health /healthz, /readyz)",
                        flush=True,
                    )
                print("Press Ctrl-C to stop everything.\n", flush=True)
        while not stopping.is_set():
            for c in children:
                if c.proc.poll() is not None:
                    raise StackError(f"{c.name} exited with code {c.proc.returncode}")
            stopping.wait(0.5)
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for c in children:
            if c.proc.poll() is None:
                c.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for c in children:
            try:
                c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(c.proc.pid, signal.SIGKILL)
                c.proc.wait()
        if started_kafka:
            kafka.stop()
        if started_pg:
            pg.stop()
        print("everything stopped", flush=True)
