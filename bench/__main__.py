"""`make bench`: run every benchmark module against a started stack, write latest.json.

`python -m bench [name ...]` runs a subset (module names in bench/).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys

from .harness import Result, Stack, stack, write

MODULES = [
    "kafka_raw",
    "eventstore",
    "relay",
    "audit_log",
    "replay",
    "pipeline",
    "portal",
    "documents",
    "personal_data",
]


async def main(names: list[str]) -> int:
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    s = stack()
    results: list[Result] = []
    try:
        await run_all(s, names, results)
    finally:
        s.close()
    path = write(results)
    print(f"wrote {path}")
    return 0


async def run_all(s: Stack, names: list[str], results: list[Result]) -> None:
    for name in names or MODULES:
        mod = importlib.import_module(f"bench.{name}")
        print(f"== {name}", flush=True)
        got = await mod.run(s)
        for r in got:
            ratio = f"  ratio {r.ratio}" if r.ratio is not None else ""
            met = "" if r.met is None else ("  target met" if r.met else "  TARGET MISSED")
            print(
                f"   {r.name:<58} {r.value:>14,.2f} {r.unit}{ratio}"
                f"{'  (target ' + r.target + ')' if r.target else ''}{met}",
                flush=True,
            )
        results.extend(got)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
