"""Sampling profiles of the services under load, with py-spy (an external sampler: the
services run unmodified, at full speed, and are not restarted).

py-spy is in the dev dependencies (`.venv/bin/py-spy`); `PY_SPY` names another one.
`Profile.run` waits `delay` seconds (the warm-up), then records every service for
`seconds` at `rate` Hz into `<out>/<service>.txt` (collapsed stacks) and prints the
top frames by own time and by total time, which is what bench/PIPELINE.md quotes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    if os.environ.get("PY_SPY"):
        return os.environ["PY_SPY"]
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Profile:
    out: Path
    delay: float = 5.0
    seconds: float = 20.0
    rate: int = 97

    async def run(self, pids: dict[str, int]) -> None:
        exe = py_spy()
        if exe is None:
            print("py-spy not found (set PY_SPY): no profile", flush=True)
            return
        self.out.mkdir(parents=True, exist_ok=True)
        await asyncio.sleep(self.delay)
        procs = []
        for name, pid in pids.items():
            procs.append(
                await asyncio.create_subprocess_exec(
                    exe,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(self.seconds)),
                    "--rate",
                    str(self.rate),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--output",
                    str(self.out / f"{name}.txt"),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            )
        await asyncio.gather(*(p.wait() for p in procs))


def top(path: Path, n: int = 15, contains: str | None = None) -> tuple[int, list[str]]:
    """(samples, lines): the `n` frames with the most own time, then with the most total
    time (a frame counted once per stack), in % of samples."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        k = int(count)
        frames = stack.split(";")
        if contains is not None and not any(contains in f for f in frames):
            continue
        samples += k
        own[frames[-1]] += k
        for f in set(frames):
            total[f] += k
    out = [f"  own   {100 * c / samples:5.1f}%  {f}" for f, c in own.most_common(n)]
    out += [f"  total {100 * c / samples:5.1f}%  {f}" for f, c in total.most_common(n)]
    return samples, out
