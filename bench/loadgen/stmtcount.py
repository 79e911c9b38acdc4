"""SQL statements per case, per service: a count of every asyncpg call in each service process.

Statement counts are deterministic where timings are not, so they show what a change to
the round trips did on a busy machine. `python -m bench.loadgen --rate 10 --seconds 20
--count-statements` runs the fleet with this hook and prints, per service, statements per
case and the top statements by SQL text.

How (no change to the services):

- `Fleet` sets `BENCH_COUNT_STATEMENTS=<dir>` and puts a generated `sitecustomize.py`
  (`write_sitecustomize`) first on the children's `PYTHONPATH`; it loads this file by path
  and calls `install()`.
- `install()` wraps the methods of `asyncpg.connection.Connection` that send statements:
  `execute` (which is also how asyncpg's transactions send BEGIN / COMMIT / ROLLBACK and
  savepoints), `executemany`, `fetch`, `fetchrow`, `fetchval`, `fetchmany`, `prepare`,
  `cursor` and the `copy_*` methods. Pool proxies look methods up on the class at each call,
  so pooled connections are counted too. asyncpg's own type introspection on a new
  connection is not counted (it goes through private methods).
- Counts by SQL text (whitespace collapsed) are written as JSON to `<dir>/<pid>.json` on
  SIGUSR1, every `BENCH_COUNT_INTERVAL` seconds (default 2) and at exit; `snapshot()` asks
  every process for a fresh file, so a phase's figures are the difference of two snapshots.

Counts include what runs on a timer (relay polls, dispatcher claims, the deadline loop):
the idle rate is printed with the figures so it can be told apart from per-case work.

This module must import nothing but the standard library at import time: it runs inside
every service before the service's own imports.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ENV = "BENCH_COUNT_STATEMENTS"
INTERVAL_ENV = "BENCH_COUNT_INTERVAL"
_QUERY_METHODS = (
    "execute",
    "executemany",
    "fetch",
    "fetchrow",
    "fetchval",
    "fetchmany",
    "prepare",
    "copy_from_query",
)
_TABLE_METHODS = ("copy_from_table", "copy_to_table", "copy_records_to_table")

_SAVEPOINT = re.compile(r"__asyncpg_savepoint_\w+?__")
_counts: dict[str, int] = {}
_lock = threading.Lock()  # serialises file writes (signal handler, timer thread, atexit)
_seq = 0


def _norm(query: Any) -> str:
    """Whitespace collapsed; asyncpg's numbered savepoint names as one."""
    return _SAVEPOINT.sub("__asyncpg_savepoint__", " ".join(str(query).split()))


def _count(key: str) -> None:
    _counts[key] = _counts.get(key, 0) + 1


def _wrap_query(orig: Any, label: str) -> Any:
    async def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        _count(label + _norm(query))
        return await orig(self, query, *args, **kwargs)

    counted.__wrapped__ = orig  # type: ignore[attr-defined]
    return counted


def _wrap_table(orig: Any, label: str) -> Any:
    async def counted(self: Any, table_name: Any, *args: Any, **kwargs: Any) -> Any:
        _count(f"{label}{table_name}")
        return await orig(self, table_name, *args, **kwargs)

    counted.__wrapped__ = orig  # type: ignore[attr-defined]
    return counted


def _wrap_cursor(orig: Any) -> Any:
    def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        _count("[cursor] " + _norm(query))
        return orig(self, query, *args, **kwargs)

    counted.__wrapped__ = orig  # type: ignore[attr-defined]
    return counted


def patch_asyncpg() -> None:
    """Wrap the statement-sending methods of asyncpg's Connection (idempotent)."""
    from asyncpg.connection import Connection

    if getattr(Connection, "_bench_counted", False):
        return
    for name in _QUERY_METHODS:
        label = "" if name in ("execute", "fetch", "fetchrow", "fetchval") else f"[{name}] "
        setattr(Connection, name, _wrap_query(getattr(Connection, name), label))
    for name in _TABLE_METHODS:
        setattr(Connection, name, _wrap_table(getattr(Connection, name), f"[{name}] "))
    Connection.cursor = _wrap_cursor(Connection.cursor)  # type: ignore[method-assign]
    Connection._bench_counted = True  # type: ignore[attr-defined]


def _process_name() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None) or (sys.argv[0] if sys.argv else "?")
    return str(name).removesuffix(".__main__")


def dump(out_dir: Path) -> None:
    """Write this process's counts (atomically: tmp + rename)."""
    global _seq
    with _lock:
        _seq += 1
        data = {
            "pid": os.getpid(),
            "process": _process_name(),
            "seq": _seq,
            "written_at": time.time(),
            "counts": dict(_counts),  # a C-level copy: atomic under the GIL
        }
        path = out_dir / f"{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)


def install(out_dir: str | Path | None = None) -> bool:
    """Count statements in this process if `BENCH_COUNT_STATEMENTS` (or `out_dir`) is set."""
    target = out_dir or os.environ.get(ENV)
    if not target:
        return False
    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    patch_asyncpg()
    interval = float(os.environ.get(INTERVAL_ENV, "2"))

    def safe_dump() -> None:
        with contextlib.suppress(OSError):
            dump(out)

    def on_signal(signum: int, frame: Any) -> None:
        safe_dump()

    def timer() -> None:
        while True:
            time.sleep(interval)
            safe_dump()

    signal.signal(signal.SIGUSR1, on_signal)
    threading.Thread(target=timer, name="bench-stmtcount", daemon=True).start()
    atexit.register(safe_dump)
    return True


def write_sitecustomize(hook_dir: Path) -> Path:
    """A `sitecustomize.py` in `hook_dir` that loads this file by path and installs it (put
    `hook_dir` first on the children's PYTHONPATH)."""
    hook_dir.mkdir(parents=True, exist_ok=True)
    src = (
        '"""Generated by bench.loadgen.stmtcount: count asyncpg statements."""\n'
        "import importlib.util as _u\n"
        f"_spec = _u.spec_from_file_location('_bench_stmtcount', {str(Path(__file__))!r})\n"
        "_m = _u.module_from_spec(_spec)\n"
        "_spec.loader.exec_module(_m)\n"
        "_m.install()\n"
    )
    path = hook_dir / "sitecustomize.py"
    path.write_text(src)
    return path


# -- the load generator's side -------------------------------------------------------------------
def _read(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


async def snapshot(
    out_dir: Path, pids: dict[str, int], timeout: float = 10.0
) -> dict[str, Counter[str]]:
    """service -> counts by statement, freshly written by each process (SIGUSR1, then wait
    for a file written after the request; the timer's next write also answers)."""
    asked = time.time()
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    out: dict[str, Counter[str]] = {}
    while True:
        for name, pid in pids.items():
            if name in out:
                continue
            data = _read(out_dir / f"{pid}.json")
            if data is not None and data["written_at"] >= asked:
                out[name] = Counter(data["counts"])
        if len(out) == len(pids) or time.monotonic() > deadline:
            missing = set(pids) - set(out)
            if missing:
                raise RuntimeError(f"no statement counts from {sorted(missing)}")
            return out
        await asyncio.sleep(0.05)


def delta(
    before: dict[str, Counter[str]], after: dict[str, Counter[str]]
) -> dict[str, Counter[str]]:
    return {name: after[name] - before.get(name, Counter()) for name in after}


def summarize(
    counts: dict[str, Counter[str]],
    cases: int,
    idle_per_s: dict[str, float] | None = None,
    seconds: float = 0.0,
    top_n: int = 40,
) -> dict[str, Any]:
    """Per service: statements, per case, the idle rate and the top statements per case."""
    out: dict[str, Any] = {}
    for name, c in sorted(counts.items()):
        total = sum(c.values())
        out[name] = {
            "statements": total,
            "per_case": total / cases if cases else 0.0,
            "idle_per_s": (idle_per_s or {}).get(name, 0.0),
            "idle_in_window_per_case": (
                (idle_per_s or {}).get(name, 0.0) * seconds / cases if cases else 0.0
            ),
            "top": [
                {"sql": sql, "count": n, "per_case": n / cases if cases else 0.0}
                for sql, n in c.most_common(top_n)
            ],
        }
    return out


def render(summary: dict[str, Any], cases: int, top_n: int = 12, width: int = 110) -> str:
    lines = [
        f"   SQL statements per case ({cases} cases; asyncpg calls counted in each service, "
        "incl. BEGIN/COMMIT):",
        f"     {'service':<10}{'statements':>12}{'per case':>10}{'idle/s':>9}"
        f"{'idle share/case':>17}",
    ]
    total = 0.0
    for name, s in summary.items():
        total += s["per_case"]
        lines.append(
            f"     {name:<10}{s['statements']:>12}{s['per_case']:>10.1f}{s['idle_per_s']:>9.1f}"
            f"{s['idle_in_window_per_case']:>17.1f}"
        )
    lines.append(f"     {'total':<10}{'':>12}{total:>10.1f}")
    for name, s in summary.items():
        lines.append(f"   top statements, {name} (per case):")
        for t in s["top"][:top_n]:
            sql = t["sql"] if len(t["sql"]) <= width else t["sql"][: width - 3] + "..."
            lines.append(f"     {t['per_case']:>6.2f}  {sql}")
    return "\n".join(lines)
