"""`portal.page_p95_ms`: the portal's server time per page, with a demo day's data loaded.

A private fleet of the four services (`loadgen.session.LoadSession`: own schemas, topics,
keys) plays the demo's case mix for `BENCH_PORTAL_SECONDS` (60) with 8 cases in flight, each
to its decision and the result's return; then the portal starts in front of it (as under
`make run`: development sign-in with the fleet's key) and every page below is fetched
`BENCH_PORTAL_REQUESTS` times (50), one at a time. The time is the portal's own, from its
`Server-Timing: app;dur=` header: the page handler, the calls to the services it makes and
the template, without the client. The figure is the worst page's p95; the note lists each.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import sys
from typing import Any

import httpx

from devstack.common import free_port
from eventkit.auth import private_pem

from .harness import Result, Stack
from .loadgen.driver import closed_loop
from .loadgen.session import LoadSession

PAGES = (
    "/",
    "/guide",
    "/guide/FP-002",
    "/centers",
    "/centers/ruian.mayu.mabei",
    "/hall",
    "/hall/panel?i=1",
    "/hall/panel?i=2",
    "/transparency",
    "/status",
    "/signin",
)
TARGET_MS = 150.0


def server_ms(r: httpx.Response) -> float:
    timing = r.headers["server-timing"]
    return float(timing.split("dur=", 1)[1].split(";")[0])


async def measure(url: str, n: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for page in PAGES:  # warm: templates compiled, connections open
            r = await client.get(page)
            assert r.status_code == 200, (page, r.status_code, r.text[:300])
        for page in PAGES:
            times = []
            for _ in range(n):
                r = await client.get(page)
                assert r.status_code == 200, (page, r.status_code)
                times.append(server_ms(r))
            out[page] = times
    return out


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[18]


async def run(s: Stack) -> list[Result]:
    seconds = float(os.environ.get("BENCH_PORTAL_SECONDS", "60"))
    n = int(os.environ.get("BENCH_PORTAL_REQUESTS", "50"))
    async with LoadSession(s.bootstrap, s.database_url) as ls:
        day = await ls.phase("portal-data", lambda d: closed_loop(d, 8, seconds))
        cases = day.cases
        fleet = ls.fleet
        key = fleet.workdir / "dev-jwt.pem"
        key.write_text(private_pem(fleet.private_key))
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env |= {f"PORTAL_{name.upper()}_URL": url for name, url in fleet.urls.items()} | {
            "PORTAL_HTTP_PORT": str(port),
            "PORTAL_SESSION_SECRET": secrets.token_hex(32),
            "PORTAL_DEV_SIGNIN": "true",
            "PORTAL_DEV_KEY_FILE": str(key),
            "PORTAL_COOKIE_SECURE": "false",
            "PORTAL_LOG_LEVEL": "WARNING",
        }
        log = (fleet.workdir / "portal.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "portal", env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            await _ready(url, proc)
            times = await measure(url, n)
        finally:
            proc.terminate()
            await proc.wait()
            log.close()
    per_page = {page: round(p95(ts), 1) for page, ts in times.items()}
    worst = max(per_page.values())
    note = (
        f"server time (Server-Timing) per page, p95 of {n} sequential requests each, after "
        f"{seconds:.0f} s of the demo's case mix on a private fleet"
        + f" ({cases} cases)"
        + "; per page: "
        + ", ".join(f"{p} {v} ms" for p, v in per_page.items())
    )
    return [Result("portal.page_p95_ms", worst, "ms", target=f"< {TARGET_MS:.0f}", note=note)]


async def _ready(url: str, proc: Any) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        for _ in range(300):
            if proc.returncode is not None:
                raise RuntimeError(f"the portal exited at start ({proc.returncode})")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the portal was not ready in 60 s")
