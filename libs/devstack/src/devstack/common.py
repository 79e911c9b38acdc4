"""Shared bits of the local stack: paths, ports, process helpers, clear failures."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def repo_root() -> Path:
    """The checkout this package was installed from (editable install) or the CWD."""
    env = os.environ.get("BIANMIN_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "infra" / "kafka" / "pom.xml").exists():
            return parent
    return Path.cwd()


def state_dir() -> Path:
    """Git-ignored folder holding data, logs and pid files of the local processes."""
    d = Path(os.environ.get("BIANMIN_STATE_DIR", repo_root() / ".local"))
    d.mkdir(parents=True, exist_ok=True)
    return d


class StackError(RuntimeError):
    """A failure a person can act on: the message says what happened and what to do."""


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise StackError(f"{name}={raw!r} is not a whole number") from exc


def local_port(read: Callable[[], int]) -> int:
    """A port of the local stack, read by `eventkit.endpoints` (the rule every CLI shares),
    a bad value as a StackError."""
    from eventkit.endpoints import EndpointError

    try:
        return read()
    except EndpointError as exc:
        raise StackError(str(exc)) from None


TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN-SENT",
    "03": "SYN-RECV",
    "04": "FIN-WAIT-1",
    "05": "FIN-WAIT-2",
    "06": "TIME-WAIT",
    "07": "CLOSE",
    "08": "CLOSE-WAIT",
    "09": "LAST-ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


@dataclass(frozen=True)
class TcpSocket:
    """One row of /proc/net/tcp{,6}: enough to say who holds a port and how."""

    local: str
    remote: str
    state: str
    inode: int


def _hex_addr(field: str) -> tuple[str, int]:
    """`0100007F:4A64` -> ("127.0.0.1", 19044); IPv6 words are little-endian 32-bit groups."""
    addr, port = field.split(":")
    raw = bytes.fromhex(addr)
    if len(raw) == 4:
        host = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        host = f"[{socket.inet_ntop(socket.AF_INET6, words)}]"
    return host, int(port, 16)


def tcp_sockets(port: int, net: Path = Path("/proc/net")) -> list[TcpSocket]:
    """Every TCP socket whose local port is `port` (empty where /proc is not Linux's)."""
    out: list[TcpSocket] = []
    for name in ("tcp", "tcp6"):
        try:
            lines = (net / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) < 10:
                continue
            host, lport = _hex_addr(f[1])
            if lport != port:
                continue
            rhost, rport = _hex_addr(f[2])
            out.append(
                TcpSocket(
                    f"{host}:{lport}", f"{rhost}:{rport}", TCP_STATES.get(f[3], f[3]), int(f[9])
                )
            )
    return out


def can_bind(port: int, host: str = "127.0.0.1") -> bool:
    """Bind as a server does (SO_REUSEADDR, like Kafka's and PostgreSQL's listeners), so the
    server side of connections in TIME-WAIT does not count as taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


FREE, LISTENER, TIME_WAIT, CONNECTIONS, UNKNOWN = (
    "free",
    "listener",
    "time-wait",
    "connections",
    "unknown",
)


def judge_port(bindable: bool, sockets: list[TcpSocket]) -> str:
    """What holds a port. Only a listener means "taken": a socket in TIME-WAIT goes away by
    itself within a minute, and a client's connection using the port as its local end is no
    server (it still blocks a bind until it closes, which is why ports outside the ephemeral
    range are the defaults)."""
    if bindable:
        return FREE
    if any(s.state == "LISTEN" for s in sockets):
        return LISTENER
    if sockets and all(s.state == "TIME-WAIT" for s in sockets):
        return TIME_WAIT
    return CONNECTIONS if sockets else UNKNOWN


def socket_owner(inode: int) -> str | None:
    """`java (pid 1234)` for the process holding socket `inode`, if /proc lets us see it."""
    if inode == 0:
        return None
    target = f"socket:[{inode}]"
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) == target:
                    comm = (proc / "comm").read_text().strip()
                    return f"{comm} (pid {proc.name})"
        except OSError:
            continue
    return None


FREE_PORT_RANGE = (20000, 32000)
"""Where tests and private fleets take ports: below Linux's ephemeral range (32768-60999),
which the kernel hands to outgoing connections (a Kafka client's, say) at any moment, so a
port found free there can be a client's by the time a service binds it; and away from the
project's defaults (15432, 19092-19197)."""


def free_ports(n: int, span: tuple[int, int] = FREE_PORT_RANGE) -> list[int]:
    """`n` distinct ports nothing listens on and nothing holds, outside the ephemeral range."""
    ports: list[int] = []
    tries = 0
    while len(ports) < n:
        tries += 1
        if tries > 10_000:
            raise StackError(f"no {n} free ports between {span[0]} and {span[1]}")
        p = random.randrange(*span)
        if p not in ports and can_bind(p):
            ports.append(p)
    return ports


def free_port() -> int:
    return free_ports(1)[0]


def ephemeral_range() -> tuple[int, int] | None:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return None


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True only when something listens on the port (see judge_port)."""
    return judge_port(can_bind(port, host), tcp_sockets(port)) in (LISTENER, UNKNOWN)


def require_free(
    port: int, variable: str, host: str = "127.0.0.1", time_wait_grace: float = 65.0
) -> None:
    """Refuse a port something listens on, naming it; wait out TIME-WAIT (at most a minute on
    Linux) instead of calling the port taken; explain any other holder."""
    deadline = time.monotonic() + time_wait_grace
    waiting = False
    while True:
        sockets = tcp_sockets(port)
        verdict = judge_port(can_bind(port, host), sockets)
        if verdict == FREE:
            return
        if verdict == TIME_WAIT and time.monotonic() < deadline:
            if not waiting:
                print(
                    f"port {port}: {len(sockets)} closed connection(s) still in TIME-WAIT; "
                    "waiting for them to expire (up to a minute)",
                    flush=True,
                )
                waiting = True
            time.sleep(0.5)  # polling a kernel state that has no notification
            continue
        raise StackError(port_problem(port, host, variable, verdict, sockets))


def port_problem(
    port: int, host: str, variable: str, verdict: str, sockets: list[TcpSocket]
) -> str:
    """The sentence a person reads: who holds the port, how, and what to set."""
    fix = f"set {variable} to a free port (e.g. {variable}={port + 100})"
    if verdict == LISTENER:
        lst = [s for s in sockets if s.state == "LISTEN"]
        who = socket_owner(lst[0].inode) or "a process this user cannot see"
        return f"port {port} on {host} is taken: {who} listens on {lst[0].local}; stop it or {fix}"
    shown = ", ".join(
        f"{s.state} {s.local} -> {s.remote}"
        + (f" ({owner})" if (owner := socket_owner(s.inode)) else "")
        for s in sockets[:3]
    )
    rng = ephemeral_range()
    hint = ""
    if rng and rng[0] <= port <= rng[1]:
        hint = (
            f" Port {port} lies in the ephemeral range {rng[0]}-{rng[1]} "
            "(net.ipv4.ip_local_port_range), where any outgoing connection may take it."
        )
    if verdict == TIME_WAIT:
        return (
            f"port {port} on {host} cannot be bound yet: nothing listens, but connections "
            f"that used it as their local port are still in TIME-WAIT ({shown}).{hint} "
            f"Try again in a minute, or {fix}"
        )
    if verdict == CONNECTIONS:
        return (
            f"port {port} on {host} cannot be bound: nothing listens, but open connections "
            f"use it as their local port ({shown}).{hint} They must close first; or {fix}"
        )
    return f"port {port} on {host} cannot be bound and no socket on it is visible; {fix}"


def describe_exit(code: int | None) -> str:
    """A child's exit status in words: `killed by SIGKILL`, `exited with code 143 (SIGTERM)`
    (a JVM's way of saying it), or unknown for a process that is not our child."""
    if code is None:
        return "is gone (exit status unknown: it is not a child of this process)"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    if code > 128:
        try:
            return f"exited with code {code} ({signal.Signals(code - 128).name})"
        except ValueError:
            pass
    return f"exited with code {code}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as dead.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    except OSError:
        pass
    return True


@dataclass
class PidFile:
    path: Path

    def read(self) -> int | None:
        try:
            pid = int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(str(pid))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def stop_pid(pid: int, timeout: float = 30.0, sig: int = signal.SIGTERM) -> None:
    """SIGTERM the process group, wait, then SIGKILL whatever is left."""
    for target in (lambda s: os.killpg(pid, s), lambda s: os.kill(pid, s)):
        try:
            target(sig)
            break
        except (ProcessLookupError, PermissionError):
            continue
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    for target in (lambda s: os.killpg(pid, s), lambda s: os.kill(pid, s)):
        try:
            target(signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)


def spawn_daemon(
    args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-lived process in its own session, output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "ab")
    try:
        return subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=cwd,
        )
    finally:
        out.close()


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"
