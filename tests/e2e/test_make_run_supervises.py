"""`make run` supervises: a service killed with -9 is reported and restarted (and reaped),
and SIGTERM to make's PID alone stops and reaps everything, Kafka and PostgreSQL included.

The whole stack runs in a subprocess with its own state folder and ports, so it never
touches a developer's `make run` or the test session's servers."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.common import free_ports, pid_alive, repo_root
from devstack.kafka import libs_dir

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "routing", "notify", "audit")


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def descendants(pid: int) -> list[int]:
    found = children(pid)
    for c in list(found):
        found += descendants(c)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def exists(pid: int) -> bool:
    """Present in the process table at all (a zombie counts: it was not reaped)."""
    return Path(f"/proc/{pid}").exists()


class Output:
    """The merged output of `make run`, read on a thread, waited on by content."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            with self.cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, text: str, timeout: float) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: any(text in ln for ln in self.lines), timeout)
        assert ok, f"{text!r} not seen within {timeout:.0f} s; last lines:\n" + self.tail()

    def tail(self, n: int = 40) -> str:
        with self.cond:
            return "\n".join(ln[:300] for ln in self.lines[-n:])

    def supervisor_lines(self) -> list[str]:
        with self.cond:
            return [ln for ln in self.lines if ln.startswith("devstack|")]


@pytest.fixture
def stack_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    state = tmp_path / "state"
    (state / "kafka").mkdir(parents=True)
    (state / "kafka" / "libs").symlink_to(libs_dir(), target_is_directory=True)
    pg, kafka, ctl, portal, *http = free_ports(8)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
        and not k.endswith(("_DATABASE_URL", "_HTTP_PORT"))
    }
    env.update(
        BIANMIN_STATE_DIR=str(state),
        BIANMIN_PG_PORT=str(pg),
        BIANMIN_KAFKA_PORT=str(kafka),
        BIANMIN_KAFKA_CONTROLLER_PORT=str(ctl),
        BIANMIN_KAFKA_FAST_JIT="1",
        PYTHONUNBUFFERED="1",
        **{f"{svc.upper()}_HTTP_PORT": str(p) for svc, p in zip(SERVICES, http, strict=True)},
        PORTAL_HTTP_PORT=str(portal),
    )
    yield env
    python = str(repo_root() / ".venv" / "bin" / "python")
    subprocess.run([python, "-m", "devstack", "wipe"], env=env, capture_output=True, timeout=120)


def test_a_killed_service_is_restarted_and_sigterm_to_make_stops_everything(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"RUN_STOP_FILE={tmp_path / 'make-run.pid'}"],
        cwd=repo_root(),
        env=stack_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    out = Output(make)
    try:
        out.wait_for("Bianmin is up", 150)
        portal = f"http://127.0.0.1:{stack_env['PORTAL_HTTP_PORT']}"
        out.wait_for(f"portal   {portal}", 10)  # make run prints the portal's address
        with urllib.request.urlopen(f"{portal}/guide", timeout=30) as page:
            assert page.status == 200 and "再生育(二胎)申请审批" in page.read().decode()
        (supervisor,) = [p for p in children(make.pid) if "devstack run" in cmdline(p)]
        (routing,) = [p for p in children(supervisor) if cmdline(p).endswith("-m routing ")]

        os.kill(routing, signal.SIGKILL)
        out.wait_for("routing was killed by SIGKILL", 30)
        out.wait_for("restarting routing in", 60)
        out.wait_for("routing is ready again (restart 1)", 90)
        assert not exists(routing), "the killed service was not reaped"
        assert any("routing" in cmdline(p) for p in children(supervisor))

        started = [supervisor, *descendants(supervisor)]
        kafka = [p for p in started if "kafka.Kafka" in cmdline(p)]
        assert kafka, "the broker runs as the supervisor's child"
        pg_pidfile = Path(stack_env["BIANMIN_STATE_DIR"]) / "pg" / "data" / "postmaster.pid"
        postmaster = int(pg_pidfile.read_text().splitlines()[0])
        assert pid_alive(postmaster)

        make.send_signal(signal.SIGTERM)  # to make's PID alone, as a process manager does
        assert make.wait(timeout=90) != 0  # make dies of the signal, after its recipe ended
        out.wait_for("everything stopped (", 60)  # read on a thread: it may lag make's exit
        assert not [p for p in started if exists(p)], "left behind: " + ", ".join(
            f"{p} {cmdline(p)}" for p in started if exists(p)
        )
        assert not pid_alive(postmaster)
    finally:
        if make.poll() is None:
            make.send_signal(signal.SIGTERM)
            try:
                make.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait()
    print("\n".join(out.supervisor_lines()))
