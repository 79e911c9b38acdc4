"""Shared harness: the stack to measure against, result records and latest.json."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass
class Result:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    target: str | None = None
    met: bool | None = None
    ratio: float | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.baseline:
            self.ratio = round(self.value / self.baseline, 4)
        if self.target and self.met is None:
            self.met = meets(
                self.ratio if self.ratio is not None and "ratio" in self.name else self.value,
                self.target,
            )
        self.value = round(self.value, 4)
        if self.baseline is not None:
            self.baseline = round(self.baseline, 4)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        if d["note"] is None:
            del d["note"]
        return d


def meets(value: float, target: str) -> bool:
    op, num = target.split()
    x = float(num)
    return {">=": value >= x, ">": value > x, "<=": value <= x, "<": value < x}[op]


def machine() -> str:
    cpu = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem}"


def write(results: list[Result]) -> Path:
    """Merge by name into latest.json (a partial run keeps the other entries)."""
    existing: dict[str, dict[str, Any]] = {}
    if RESULTS.exists():
        try:
            for r in json.loads(RESULTS.read_text())["results"]:
                existing[r["name"]] = r
        except (ValueError, KeyError):
            existing = {}
    for r in results:
        existing[r.name] = r.to_json()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "machine": machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "results": sorted(existing.values(), key=lambda r: r["name"]),
    }
    RESULTS.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return RESULTS


@dataclass
class Stack:
    bootstrap: str
    database_url: str
    stops: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for stop in reversed(self.stops):
            stop()


def stack() -> Stack:
    """The same servers the tests use: env vars, else the local processes (started here)."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    db = os.environ.get("DATABASE_URL")
    stops: list[Any] = []
    if db is None:
        from devstack.postgres import TEST_DB, LocalPostgres

        pg = LocalPostgres.default()
        if pg.start():
            stops.append(pg.stop)
        db = pg.url(TEST_DB)
    if bootstrap is None:
        from devstack.kafka import KafkaCluster
        from devstack.kafka_users import use_admin

        use_admin()  # the local broker authenticates every client (docs/KAFKA_SECURITY.md)
        k = KafkaCluster.single()
        if k.start():
            stops.append(k.stop)
        bootstrap = k.bootstrap
    return Stack(bootstrap, db, stops)
