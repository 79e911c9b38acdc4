"""A private PostgreSQL cluster for development and tests (initdb + pg_ctl, own port).

The cluster lives under `.local/pg/` (git-ignored). initdb refuses to run as root, so when
we are root the cluster is owned by the `postgres` system user (created by Debian's package)
and every server command runs through `runuser`. That user must be able to enter the
cluster's folder: in a checkout it cannot reach (under /root, or in a mode-700 temporary
folder) the cluster goes to /var/lib/bianmin/pg-<hash of the checkout's path>/ instead and
`.local/pg` becomes a link to it; `BIANMIN_PG_HOME` chooses the folder explicitly. Without
root, the cluster belongs to the invoking user. Local connections over 127.0.0.1 are
trusted: this cluster is for a developer's machine and CI, never for production.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from eventkit.endpoints import local_pg_port

from .common import (
    PidFile,
    StackError,
    local_port,
    pid_alive,
    require_free,
    state_dir,
    tail,
)

SERVICES = ("intake", "routing", "notify", "audit")
AUDIT_RUNTIME_ROLE = "audit_writer"
"""The role the audit service runs as: it owns nothing; the role `audit` owns the audit
database's tables and runs its migrations, granting this one INSERT and SELECT only on the
log's append-only tables (`audit.log.roles`)."""
SUPERUSER = "bianmin"
TEST_DB = "bianmin_test"


def find_bin_dir(install: bool = True) -> Path:
    """Locate initdb/pg_ctl; install Debian's `postgresql` package when they are missing."""
    explicit = os.environ.get("BIANMIN_PG_BIN")
    candidates = [explicit] if explicit else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    which = shutil.which("pg_ctl")
    if which:
        candidates.append(str(Path(which).resolve().parent))
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        print(
            "PostgreSQL binaries not found: installing Debian's postgresql package ...", flush=True
        )
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, stdout=subprocess.DEVNULL)
        r = subprocess.run(
            ["apt-get", "install", "-y", "-q", "postgresql"],
            env=env,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise StackError(f"apt-get install postgresql failed:\n{r.stderr[-2000:]}")
        return find_bin_dir(install=False)
    raise StackError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them "
        "(`sudo apt-get install postgresql`) or set BIANMIN_PG_BIN to their folder, "
        "or point DATABASE_URL at an existing server."
    )


RELOCATED_ROOT = Path("/var/lib/bianmin")


@dataclass
class LocalPostgres:
    port: int
    home: Path
    # `.local/pg` when it is a link to where the cluster really lives (see _relocate)
    link: Path | None = None
    explicit: bool = False

    @classmethod
    def default(cls) -> LocalPostgres:
        port = local_port(local_pg_port)
        chosen = os.environ.get("BIANMIN_PG_HOME")
        if chosen:
            return cls(port, Path(chosen).absolute(), explicit=True)
        link = state_dir() / "pg"
        if link.is_symlink():
            return cls(port, link.resolve(), link)
        return cls(port, link)

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log_path(self) -> Path:
        return self.home / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def url(self, db: str, user: str | None = None) -> str:
        user = user or SUPERUSER
        return f"postgresql://{user}:{user}@127.0.0.1:{self.port}/{db}"

    # -- running as the right user ------------------------------------------------------------
    def _owner(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        return "postgres"

    def _run(
        self, args: list[str], check: bool = True, log: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a server command as the cluster's owner; `log` keeps its output (a failure
        names only a log file that exists)."""
        owner = self._owner()
        if owner:
            args = ["runuser", "-u", owner, "--", *args]
        r = subprocess.run(args, capture_output=True, text=True)
        if log is not None:
            log.write_text(f"$ {' '.join(args)}\n{r.stdout}{r.stderr}")
        if check and r.returncode != 0:
            where = f" (output kept in {log})" if log is not None else ""
            raise StackError(f"{' '.join(args)} failed{where}:\n{r.stdout}{r.stderr}")
        return r

    def _can_enter(self, owner: str, path: Path, write: bool = True) -> bool:
        """Whether `owner` may enter (and write) `path`, every folder above it included."""
        test = ["test", "-x", str(path)] + (["-a", "-w", str(path)] if write else [])
        r = subprocess.run(["runuser", "-u", owner, "--", *test], capture_output=True)
        return r.returncode == 0

    def _relocate(self, owner: str) -> None:
        """Move a not-yet-initialised cluster where `owner` can reach it, linked from here."""
        blocked = next(
            (d for d in reversed(self.home.parents) if not self._can_enter(owner, d, False)),
            self.home,
        )
        if self.explicit:
            raise StackError(
                f"the `{owner}` user, which runs PostgreSQL when devstack runs as root, cannot "
                f"enter {blocked}; set BIANMIN_PG_HOME to a folder it can reach"
            )
        digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:10]
        target = RELOCATED_ROOT / f"pg-{digest}"
        RELOCATED_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
        target.mkdir(exist_ok=True)
        self._chown(target)
        if not self._can_enter(owner, target):
            raise StackError(
                f"the `{owner}` user cannot enter {blocked} nor {target}; set "
                "BIANMIN_PG_HOME to a folder it can reach"
            )
        shutil.rmtree(self.home)  # nothing in it yet: the cluster was never initialised
        self.home.symlink_to(target, target_is_directory=True)
        print(
            f"postgres  the `{owner}` user cannot enter {blocked}: the cluster lives in "
            f"{target} (linked from {self.home}; BIANMIN_PG_HOME chooses another folder)",
            flush=True,
        )
        self.link, self.home = self.home, target

    def _chown(self, path: Path) -> None:
        owner = self._owner()
        if owner:
            shutil.chown(path, owner, owner)

    # -- lifecycle ------------------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialised():
            return
        bin_dir = find_bin_dir()
        self.home.mkdir(parents=True, exist_ok=True)
        self._chown(self.home)
        owner = self._owner()
        if owner and not self._can_enter(owner, self.home):
            self._relocate(owner)
        self._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            log=self.home / "initdb.log",
        )
        conf = self.data / "postgresql.conf"
        with conf.open("a") as f:
            f.write(
                "\n# Bianmin development cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.home}'\n"
                "max_connections = 400\n"
                "shared_buffers = 512MB\n"
                "max_locks_per_transaction = 256\n"
                "wal_level = replica\n"
                "max_wal_size = 2GB\n"
                "log_min_messages = warning\n"
                "log_line_prefix = '%m [%p] %d %u '\n"
            )

    def running(self) -> bool:
        return (
            PidFile(self.data / "postmaster.pid").read() is not None
            if self.initialised()
            else False
        )

    def _pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def postmaster_pid(self) -> int | None:
        """The running server's pid (from postmaster.pid), None when none runs."""
        pid = self._pid()
        return pid if pid is not None and pid_alive(pid) else None

    def log_tail(self, lines: int = 12) -> str:
        return tail(self.log_path, lines)

    def start(self) -> bool:
        """Start the cluster unless it runs; True if this call started it."""
        self.init()
        if self.postmaster_pid() is not None:
            self.provision()  # a cluster made by an older checkout may lack a newer role
            return False
        require_free(self.port, "BIANMIN_PG_PORT")
        bin_dir = find_bin_dir()
        self.log_path.touch()
        self._chown(self.log_path)
        r = self._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log_path),
                "-o",
                f"-p {self.port}",
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=False,
        )
        if r.returncode != 0:
            raise StackError(
                f"PostgreSQL failed to start; log: {self.log_path}\n{tail(self.log_path)}"
            )
        self._wait_accepting()
        self.provision()
        return True

    def _wait_accepting(self, timeout: float = 30.0) -> None:
        bin_dir = find_bin_dir()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise StackError(f"PostgreSQL not accepting connections; log: {self.log_path}")

    def psql(self, sql: str, db: str = "postgres") -> str:
        bin_dir = find_bin_dir()
        psql = bin_dir / "psql"
        exe = str(psql) if psql.exists() else "psql"
        r = subprocess.run(
            [
                exe,
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                db,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise StackError(f"psql failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def provision(self) -> None:
        """One role and one database per service, plus a scratch database for tests."""
        existing_roles = set(self.psql("SELECT rolname FROM pg_roles").split())
        existing_dbs = set(self.psql("SELECT datname FROM pg_database").split())
        for svc in SERVICES:
            if svc not in existing_roles:
                self.psql(f"CREATE ROLE {svc} LOGIN PASSWORD '{svc}'")
            if svc not in existing_dbs:
                self.psql(f"CREATE DATABASE {svc} OWNER {svc}")
        if TEST_DB not in existing_dbs:
            self.psql(f"CREATE DATABASE {TEST_DB} OWNER {SUPERUSER}")
        if AUDIT_RUNTIME_ROLE not in existing_roles:
            self.psql(
                f"CREATE ROLE {AUDIT_RUNTIME_ROLE} LOGIN PASSWORD '{AUDIT_RUNTIME_ROLE}' "
                "NOSUPERUSER NOCREATEDB NOCREATEROLE"
            )

    def stop(self) -> None:
        if not self.initialised() or self._pid() is None:
            return
        bin_dir = find_bin_dir(install=False)
        self._run(
            [str(bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"],
            check=False,
        )

    def wipe(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        if self.link is not None and self.link.is_symlink():
            self.link.unlink()
