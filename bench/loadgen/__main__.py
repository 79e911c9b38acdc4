"""`python -m bench.loadgen`: start a private fleet, play load, print the figures.

    python -m bench.loadgen --rate 20 --seconds 60          # Poisson arrivals, 20 cases/s
    python -m bench.loadgen --concurrency 32 --seconds 30   # as fast as possible, 32 in flight
    python -m bench.loadgen --single 20                     # one case at a time (light load)
    python -m bench.loadgen --rate 20 --env ROUTING_DB_POOL_MAX=20 --json out.json
    python -m bench.loadgen --rate 10 --seconds 20 --count-statements   # SQL per case

Uses `KAFKA_BOOTSTRAP_SERVERS` / `DATABASE_URL` when set, else the local stack (started if
needed, like `make bench`). Everything it creates (schemas, topics, groups) is private to
the run and removed at the end; logs stay in `.local/bench/pipeline-<run>/`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from .driver import closed_loop, fixed_rate, single_cases
from .profile import Profile, top
from .report import render
from .session import LoadSession


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--rate", type=float, help="fixed arrival rate, cases/s (Poisson)")
    mode.add_argument("--concurrency", type=int, help="closed loop: cases in flight")
    mode.add_argument("--single", type=int, help="N cases one after another, 1 s apart")
    p.add_argument("--seconds", type=float, default=30.0, help="duration of the arrivals")
    p.add_argument("--max-in-flight", type=int, default=0, help="cap (default rate x 20)")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds left out of throughput")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--baseline", action="store_true", help="also measure the raw hops")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="setting for the services (repeatable)",
    )
    p.add_argument("--json", type=Path, help="write the report as JSON here")
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy every service during the phase (collapsed stacks in DIR)",
    )
    p.add_argument(
        "--count-statements",
        nargs="?",
        const="",
        metavar="DIR",
        help="count each service's SQL statements (asyncpg calls) and print them per case "
        "(files in DIR, default the run's directory under .local/bench)",
    )
    a = p.parse_args(argv)
    if a.seconds <= 0 or a.seconds > 3600:
        p.error("--seconds must be in (0, 3600]")
    return a


async def main(argv: list[str]) -> int:
    a = parse(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    from bench.harness import stack

    s = stack()
    extra = dict(kv.split("=", 1) for kv in a.env)
    try:
        if a.baseline:
            from .baseline import measure

            print((await measure(s.bootstrap, s.database_url)).describe(), flush=True)
        prof = (
            Profile(a.profile, delay=a.warmup, seconds=max(5.0, a.seconds - a.warmup - 2))
            if a.profile
            else None
        )
        async with LoadSession(
            s.bootstrap,
            s.database_url,
            extra_env=extra,
            seed=a.seed,
            count_statements=(
                False
                if a.count_statements is None
                else Path(a.count_statements)
                if a.count_statements
                else True
            ),
        ) as ls:
            print(f"fleet {ls.info()}", flush=True)
            if a.single:
                report = await ls.phase("single", lambda d: single_cases(d, a.single), profile=prof)
            elif a.concurrency:
                report = await ls.phase(
                    "closed_loop",
                    lambda d: closed_loop(d, a.concurrency, a.seconds),
                    warmup_s=a.warmup,
                    profile=prof,
                )
            else:
                rate = a.rate or 10.0
                cap = a.max_in_flight or max(64, int(rate * 20))
                report = await ls.phase(
                    "fixed_rate",
                    lambda d: fixed_rate(d, rate, a.seconds, cap),
                    warmup_s=a.warmup,
                    profile=prof,
                )
            print(render(report), flush=True)
            if prof is not None:
                for name in ls.fleet.services:
                    path = prof.out / f"{name}.txt"
                    if path.exists():
                        samples, lines = top(path)
                        print(f"-- profile {name} ({samples} samples)", *lines, sep="\n")
            if a.json:
                a.json.write_text(json.dumps(report.as_json(), indent=2, default=str))
    finally:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
