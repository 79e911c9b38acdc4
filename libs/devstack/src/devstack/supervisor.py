"""`make run`: Kafka, PostgreSQL, the four services and the audit's witness in the
foreground, supervised.

- Every exit of a child is noticed and said: which, how (exit code or signal) and the last
  lines of its log. `decide()` then restarts it with a capped backoff, within a restart
  budget, or stops everything with the reason. Kafka and PostgreSQL that crash are restarted
  too (every loop in the services survives a restart of its infrastructure); one stopped
  from outside (SIGTERM, exit code 0) stops everything, since someone meant it.
- Every child this process started is reaped: the Kafka broker is our child and must not
  linger as a zombie when it dies.
- SIGINT or SIGTERM, the stop file deleted, or the parent gone: everything stops, services
  first. The stop file exists because GNU make forwards SIGINT to nobody (it waits for its
  recipe instead): what make does on a fatal signal is delete the target file its recipe was
  making, so `make run` makes the stop file and a signal to make's PID alone reaches us.
- A child without HTTP (the witness) starts once the services are ready and counts as
  ready while it runs; an exit status it declares final (the witness's ALARM) is said and
  not restarted, and everything else goes on.
- Each service's `/readyz` is read every few seconds and changes of its checks are printed
  (`routing: outbox_relay blocked: ...`, then `routing: outbox_relay ok again`); a start-up
  that does not get ready says which checks fail and why.

The decisions are pure functions (`decide`, `readiness_changes`) so they are unit-tested;
the caller (cli.run) builds the stack's objects and passes them in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .common import StackError, describe_exit, require_free
from .kafka import KafkaCluster
from .postgres import LocalPostgres

COLORS = {
    "intake": "36",
    "routing": "33",
    "notify": "35",
    "audit": "32",
    "witness": "34",
    "devstack": "1",
}
ME = "devstack"

# Exit statuses that mean "someone stopped it on purpose": SIGTERM/SIGINT, or a clean exit
# (a JVM reports its SIGTERM as 143, a shell's SIGINT as 130).
DELIBERATE = frozenset(
    {0, -signal.SIGTERM, -signal.SIGINT, 128 + signal.SIGTERM, 128 + signal.SIGINT}
)


# -- decisions (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class RestartPolicy:
    """At most `budget` restarts within `window_s`; the delay doubles from `first_delay_s`
    with every restart still inside the window, up to `max_delay_s`."""

    budget: int = 5
    window_s: float = 300.0
    first_delay_s: float = 0.5
    max_delay_s: float = 15.0


SERVICE_POLICY = RestartPolicy()
INFRA_POLICY = RestartPolicy(budget=3, first_delay_s=1.0)


@dataclass(frozen=True)
class Decision:
    restart: bool
    delay_s: float
    reason: str


def decide(
    name: str,
    code: int | None,
    restarts: Sequence[float],
    now: float,
    policy: RestartPolicy,
    infrastructure: bool = False,
) -> Decision:
    """What to do when child `name` ended with `code` (None: status unknown), given the
    times of its earlier restarts."""
    how = f"{name} {describe_exit(code)}"
    recent = [t for t in restarts if now - t < policy.window_s]
    if infrastructure and code in DELIBERATE:
        return Decision(False, 0.0, f"{how}: it was stopped from outside, so everything stops")
    if len(recent) >= policy.budget:
        return Decision(
            False,
            0.0,
            f"{how} again after {len(recent)} restarts within {policy.window_s:.0f} s: giving up",
        )
    delay = min(policy.max_delay_s, policy.first_delay_s * 2 ** len(recent))
    return Decision(
        True,
        delay,
        f"restarting {name} in {delay:g} s (restart {len(recent) + 1} of at most "
        f"{policy.budget} within {policy.window_s:.0f} s)",
    )


def _state(value: str) -> str:
    return "ok" if value == "ok" else value.split(":", 1)[0]


def readiness_changes(
    service: str, before: Mapping[str, str], after: Mapping[str, str]
) -> list[str]:
    """Lines to print when a service's readiness checks change state (a check that is absent
    counts as ok: `http` only appears while the service does not answer)."""
    lines = []
    for check in [*after, *(c for c in before if c not in after)]:
        old, new = before.get(check, "ok"), after.get(check, "ok")
        if _state(old) == _state(new):
            continue
        lines.append(f"{service}: {check} ok again" if new == "ok" else f"{service}: {check} {new}")
    return lines


def failing(checks: Mapping[str, str]) -> str:
    """`outbox_relay blocked: ...; kafka error: ...`: the checks that are not ok."""
    bad = [f"{k} {v}" for k, v in checks.items() if v != "ok"]
    return "; ".join(bad) if bad else "ok"


# -- reading /readyz ------------------------------------------------------------------------


def read_checks(port: int, timeout: float = 5.0) -> tuple[bool, dict[str, str]]:
    """(ready, checks) from a service's /readyz; a service that does not answer has one
    check, `http`, saying why."""
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = r.read()
            status = r.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, {"http": f"not answering /readyz: {reason}"}
    try:
        checks = {str(k): str(v) for k, v in json.loads(body)["checks"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        checks = {"http": f"/readyz answered {status} without checks"}
    return status == 200, checks


# -- output ---------------------------------------------------------------------------------


class Output:
    """Interleaved, prefixed lines from several threads."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()
        self.color = self.stream.isatty()

    def line(self, name: str, text: str) -> None:
        prefix = f"{name:<8}| "
        if self.color:
            prefix = f"\x1b[{COLORS.get(name, '0')}m{name:<8}|\x1b[0m "
        with self.lock:
            self.stream.write(prefix + text + "\n")
            self.stream.flush()

    def say(self, text: str) -> None:
        for ln in text.splitlines() or [""]:
            self.line(ME, ln)


# -- children ------------------------------------------------------------------------------


@dataclass
class ServiceChild:
    """One service process (`python -m <name>`), in its own process group, its output
    prefixed on ours and appended to `log_path`.

    A child without a `port` (the witness) has no /readyz: it counts as ready while it runs.
    An exit status in `final_exits` ends it for good: the message is said, it is not
    restarted and everything else goes on."""

    name: str
    port: int | None
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    out: Output
    summary: str = ""
    final_exits: Mapping[int, str] = field(default_factory=dict)
    ended: bool = False
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: list[float] = field(default_factory=list)
    restart_at: float | None = None
    ready: bool = False
    checks: dict[str, str] = field(default_factory=dict)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=12))
    _pump: threading.Thread | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        self.ready = False
        self.checks = {}
        self._pump = threading.Thread(
            target=self._copy_output, args=(self.proc,), name=f"pump-{self.name}", daemon=True
        )
        self._pump.start()

    def _copy_output(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with open(self.log_path, "a", encoding="utf-8") as log:
            for raw in iter(proc.stdout.readline, b""):
                text = raw.decode(errors="replace").rstrip("\n")
                self.tail.append(text)
                log.write(text + "\n")
                log.flush()
                self.out.line(self.name, text)
        proc.stdout.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def poll(self) -> int | None:
        """The exit status once it has ended (reaping it), else None."""
        return self.proc.poll() if self.proc is not None else None

    def finish(self) -> None:
        """After exit: kill whatever it left in its process group, let the output drain."""
        if self.proc is None:
            return
        self.proc.wait()
        _killpg(self.proc.pid, signal.SIGKILL)
        if self._pump is not None:
            self._pump.join(timeout=5)

    def last_lines(self, n: int = 10, width: int = 300) -> list[str]:
        return [ln if len(ln) <= width else ln[:width] + " …" for ln in list(self.tail)[-n:]]


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Interrupted(Exception):
    """Raised by the signal handler to abandon a blocking start-up step."""


# -- the supervisor -------------------------------------------------------------------------


class Supervisor:
    def __init__(
        self,
        *,
        services: list[ServiceChild],
        out: Output,
        postgres: LocalPostgres | None,
        kafka: KafkaCluster | None,
        prepare: Callable[[], None],
        stop_file: Path | None = None,
        service_policy: RestartPolicy = SERVICE_POLICY,
        infra_policy: RestartPolicy = INFRA_POLICY,
        ready_timeout_s: float = 90.0,
        readiness_every_s: float = 2.0,
        postgres_grace_s: float = 5.0,
    ) -> None:
        """`postgres`/`kafka` None: an external server (not started, not watched).
        `prepare` runs once both are up (creates the topics)."""
        self.services = services
        self.out = out
        self.pg = postgres
        self.kafka = kafka
        self.prepare = prepare
        self.stop_file = stop_file
        self.service_policy = service_policy
        self.infra_policy = infra_policy
        self.ready_timeout_s = ready_timeout_s
        self.readiness_every_s = readiness_every_s
        self.postgres_grace_s = postgres_grace_s
        self.parent = os.getppid()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.signal_reason: str | None = None
        self.interruptible = False
        self.own_pg = self.own_kafka = False
        self.pg_pid: int | None = None
        self.pg_gone_since: float | None = None
        self.infra_restarts: dict[str, list[float]] = {"kafka": [], "postgres": []}

    # -- signals and outside stops ----------------------------------------------------------
    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.signal_reason is None:
            self.signal_reason = f"received {signal.Signals(signum).name}"
        self.wake.set()
        if self.interruptible:
            self.interruptible = False
            raise Interrupted(self.signal_reason)

    def _outside_stop(self) -> str | None:
        if self.signal_reason:
            return self.signal_reason
        if self.stop_file is not None and not self.stop_file.exists():
            return f"make received a signal (it deleted {self.stop_file})"
        if os.getppid() != self.parent:
            return "the parent process is gone"
        return None

    def _watch_outside(self) -> None:
        """Turn the stop file's deletion or the parent's death into a signal to ourselves,
        so that a blocking start-up step (Kafka's, up to 90 s) is cut short as for SIGTERM."""
        while not self.stopping.wait(0.2):
            reason = self._outside_stop()
            if reason and self.signal_reason is None:
                self.signal_reason = reason
                os.kill(os.getpid(), signal.SIGUSR1)
                return

    def _blocking(self, step: Callable[[], object]) -> None:
        """Run a long start-up step that a signal may cut short."""
        if self._outside_stop():
            raise Interrupted(self._outside_stop())
        self.interruptible = True
        try:
            step()
        finally:
            self.interruptible = False

    # -- run --------------------------------------------------------------------------------
    def run(self) -> int:
        """Start everything, supervise until asked to stop or something cannot go on, then
        stop everything; 0 when stopped on request, 1 when stopped by a failure."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(sig, self._on_signal)
        if self.stop_file is not None:
            self.stop_file.parent.mkdir(parents=True, exist_ok=True)
            self.stop_file.write_text(f"{os.getpid()}\n")
        threading.Thread(target=self._watch_outside, name="outside", daemon=True).start()
        code, reason = 0, "stopped"
        try:
            self._start()
            reason = self._supervise()
        except Interrupted as exc:
            reason = str(exc)
        except StackError as exc:
            code, reason = 1, str(exc)
            print(f"error: {exc}", file=sys.stderr, flush=True)
        finally:
            self.stopping.set()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
                signal.signal(sig, signal.SIG_IGN)
            self._stop_all()
            if self.stop_file is not None:
                self.stop_file.unlink(missing_ok=True)
            self.out.say(f"everything stopped ({reason.splitlines()[0].rstrip(':')})")
        return code

    def _start(self) -> None:
        if self.pg is not None:
            pg = self.pg
            self.own_pg = pg.postmaster_pid() is None
            self._blocking(pg.start)
            self.pg_pid = pg.postmaster_pid()
            self.out.say(f"postgres  on 127.0.0.1:{pg.port}  (log {pg.log_path})")
        if self.kafka is not None:
            kafka = self.kafka
            self.own_kafka = not kafka.running()
            self._blocking(kafka.start)
            self.out.say(f"kafka     on {kafka.bootstrap}  (log {kafka.log_path(kafka.nodes[0])})")
        self._blocking(self.prepare)
        for svc in self.services:
            if svc.port is not None:
                require_free(svc.port, f"{svc.name.upper()}_HTTP_PORT", time_wait_grace=0)
        servers = [s for s in self.services if s.port is not None]
        for svc in servers:
            svc.start()
        threading.Thread(target=self._watch_readiness, name="readiness", daemon=True).start()
        self._wait_ready(servers)
        # children without HTTP (the witness) call the services: started once those answer
        for svc in self.services:
            if svc.port is None:
                svc.start()
                svc.ready = True
        self._say_up()

    def _wait_ready(self, servers: list[ServiceChild]) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while not all(s.ready or s.ended for s in servers):
            reason = self._outside_stop()
            if reason:
                raise Interrupted(reason)
            self._check_children()
            if time.monotonic() > deadline:
                lines = [
                    f"  {s.name}: {failing(s.checks) if s.checks else 'not started yet'}"
                    for s in servers
                    if not s.ready
                ]
                raise StackError(
                    f"not ready after {self.ready_timeout_s:.0f} s:\n" + "\n".join(lines)
                )
            self.wake.wait(0.5)
            self.wake.clear()

    def _say_up(self) -> None:
        self.out.say("")
        self.out.say("Bianmin is up:")
        for s in self.services:
            if s.port is None:
                self.out.say(f"  {s.name:<8} {s.summary}")
                continue
            about = s.summary or "(API docs /docs, health /healthz, /readyz)"
            self.out.say(f"  {s.name:<8} http://127.0.0.1:{s.port}  {about}")
        self.out.say("Press Ctrl-C to stop everything.")
        self.out.say("")

    def _supervise(self) -> str:
        while True:
            reason = self._outside_stop()
            if reason:
                return reason
            self._check_children()
            self.wake.wait(0.5)
            self.wake.clear()

    # -- noticing exits ---------------------------------------------------------------------
    def _check_children(self) -> None:
        now = time.monotonic()
        for svc in self.services:
            if svc.ended:
                continue
            if svc.restart_at is not None:
                if now >= svc.restart_at:
                    svc.start()
                continue
            code = svc.poll()
            if code is not None:
                self._service_exited(svc, code)
        if self.kafka is not None:
            for node, code in self.kafka.exited():
                kafka = self.kafka
                self._infra_exited(
                    "kafka", code, kafka.log_path(node), kafka.log_tail(node), kafka.start
                )
        if self.pg is not None:
            self._check_postgres()

    def _service_exited(self, svc: ServiceChild, code: int) -> None:
        svc.finish()
        uptime = time.monotonic() - svc.started_at
        self.out.say(
            f"{svc.name} {describe_exit(code)} after {uptime:.0f} s "
            f"(log {svc.log_path}); its last lines:"
        )
        for ln in svc.last_lines():
            self.out.say(f"    {ln}")
        if code in svc.final_exits:
            svc.ended = True
            self.out.say(svc.final_exits[code])
            return
        now = time.monotonic()
        d = decide(svc.name, code, svc.restarts, now, self.service_policy)
        if not d.restart:
            raise StackError(d.reason)
        self.out.say(d.reason)
        svc.restarts.append(now)
        svc.ready = False
        svc.restart_at = now + d.delay_s

    def _check_postgres(self) -> None:
        """The postmaster is not our child (pg_ctl starts it detached): watch its pid. A new
        pid is a restart someone else made (`pg_ctl restart`); none for a few seconds is an
        exit."""
        assert self.pg is not None
        pid = self.pg.postmaster_pid()
        if pid is not None:
            if pid != self.pg_pid:
                self.out.say(
                    f"postgres was restarted outside make run (pid {self.pg_pid} -> {pid})"
                )
                self.pg_pid = pid
            self.pg_gone_since = None
            return
        now = time.monotonic()
        if self.pg_gone_since is None:
            self.pg_gone_since = now
        if now - self.pg_gone_since < self.postgres_grace_s:
            return  # maybe someone's restart: give it a moment
        self.pg_gone_since = None
        self._infra_exited(
            "postgres", None, self.pg.log_path, self.pg.log_tail(), self._restart_postgres
        )

    def _restart_postgres(self) -> None:
        assert self.pg is not None
        self.pg.start()
        self.pg_pid = self.pg.postmaster_pid()

    def _infra_exited(
        self, name: str, code: int | None, log: Path, tail: str, restart: Callable[[], object]
    ) -> None:
        self.out.say(f"{name} {describe_exit(code)}; its log ({log}) ends with:")
        for ln in tail.splitlines()[-10:]:
            self.out.say(f"    {ln}")
        now = time.monotonic()
        d = decide(name, code, self.infra_restarts[name], now, self.infra_policy, True)
        if not d.restart:
            raise StackError(d.reason)
        self.out.say(d.reason)
        self.infra_restarts[name].append(now)
        if self.stopping.wait(d.delay_s) or self._outside_stop():
            raise Interrupted(self._outside_stop() or "stopping")
        try:
            self._blocking(restart)
        except StackError as exc:
            raise StackError(f"{name} could not be restarted: {exc}") from exc
        self.out.say(f"{name} is running again")

    # -- readiness --------------------------------------------------------------------------
    def _watch_readiness(self) -> None:
        """Every few seconds (faster while a service starts), read each running service's
        /readyz; say when it gets ready after a restart and when a check changes state."""
        while not self.stopping.is_set():
            for svc in self.services:
                if not svc.running or svc.restart_at is not None or self.stopping.is_set():
                    continue
                if svc.port is None:
                    if not svc.ready:
                        svc.ready = True
                        if svc.restarts:
                            self.out.say(
                                f"{svc.name} is running again (restart {len(svc.restarts)})"
                            )
                        self.wake.set()
                    continue
                ready, checks = read_checks(svc.port)
                if svc.ready:
                    for line in readiness_changes(svc.name, svc.checks, checks):
                        self.out.say(line)
                elif ready:
                    svc.ready = True
                    if svc.restarts:
                        self.out.say(f"{svc.name} is ready again (restart {len(svc.restarts)})")
                    self.wake.set()
                svc.checks = checks
            starting = not all(s.ready or s.ended for s in self.services)
            self.stopping.wait(0.5 if starting else self.readiness_every_s)

    # -- stopping ---------------------------------------------------------------------------
    def _stop_all(self) -> None:
        """Services first (SIGTERM to each process group, SIGKILL after 15 s), then the Kafka
        and PostgreSQL this run started; every child is waited for."""
        for svc in self.services:
            if svc.running:
                assert svc.proc is not None
                _killpg(svc.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for svc in self.services:
            if svc.proc is None:
                continue
            try:
                svc.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.out.say(f"{svc.name} did not stop within 15 s: killing it")
                _killpg(svc.proc.pid, signal.SIGKILL)
            svc.finish()
        if self.kafka is not None and self.own_kafka:
            self.kafka.stop()
        if self.pg is not None and self.own_pg:
            self.pg.stop()
