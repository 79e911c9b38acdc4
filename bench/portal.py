"""`portal.page_p95_ms[.<audience>]`: the portal's server time per page, demo data loaded.

A private fleet of the four services (`loadgen.session.LoadSession`: own schemas, topics,
keys) plays the demo's case mix for `BENCH_PORTAL_SECONDS` (60) with 8 cases in flight, each
to its decision and the result's return; then the portal starts in front of it (as under
`make run`: development sign-in with the fleet's key) and every page below is fetched
`BENCH_PORTAL_REQUESTS` times (50), one at a time: the public pages, then each audience's
signed-in pages (window clerk, officer, center head, inspector, administrator) as the busiest
person of the day, and a resident's pages (their cases, one case, its rating and window
evaluator, the status page by receipt number and code) as the applicant of a case that came
back (signed in through the development sign-in form, as a person would).

The time is the portal's own, from its `Server-Timing: app;dur=` header: the page handler,
the calls to the services it makes and the template, without the client. One entry per
audience (`portal.page_p95_ms` for the public pages): the worst page's p95, target < 150 ms.
Its baseline, measured in the same requests, is that page's p95 of `svc;dur=`: the time the
page spent waiting for the services (`portal.services_api.ServiceClock`); the ratio is then
what the page costs against what its service calls cost (1.0: the portal adds nothing).
The note lists each page.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from devstack.common import free_port
from eventkit.auth import mint_token, private_pem

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


def server_ms(r: httpx.Response) -> tuple[float, float]:
    """(`app`, `svc`) of the portal's `Server-Timing` header, in ms."""
    timing = dict(
        (part.split(";dur=")[0].strip(), float(part.split(";dur=")[1]))
        for part in r.headers["server-timing"].split(",")
    )
    return timing["app"], timing.get("svc", 0.0)


@dataclass
class Timed:
    app: list[float]
    svc: list[float]


async def measure(client: httpx.AsyncClient, pages: tuple[str, ...], n: int) -> dict[str, Timed]:
    out: dict[str, Timed] = {}
    for page in pages:  # warm: templates compiled, connections open
        r = await client.get(page)
        assert r.status_code == 200, (page, r.status_code, r.text[:300])
    for page in pages:
        timed = Timed([], [])
        for _ in range(n):
            r = await client.get(page)
            assert r.status_code == 200, (page, r.status_code)
            app, svc = server_ms(r)
            timed.app.append(app)
            timed.svc.append(svc)
        out[page] = timed
    return out


# -- the signed-in pages, as the day's busiest people -------------------------------------------


@dataclass(frozen=True)
class Desk:
    """One audience: who signs in (the development sign-in's key) and the pages measured."""

    audience: str
    person: str
    pages: tuple[str, ...]
    resident: tuple[str, str] | None = None
    """(name, ID number): signed in as a resident (the development sign-in's resident form,
    浙里办's shape) instead of a seeded staff member."""


async def _events(fleet: Any, event_type: str, limit: int = 2000) -> list[dict[str, Any]]:
    """The day's events of one type, read as an inspector (audit's search, paged)."""
    token = mint_token(
        fleet.private_key, sub="ruian.inspector1", role="inspector", org_id="ruian", tier="city"
    )
    out: list[dict[str, Any]] = []
    after = None
    async with httpx.AsyncClient(base_url=fleet.urls["audit"], timeout=30) as audit:
        while len(out) < limit:
            params: dict[str, Any] = {"event_type": event_type, "limit": 500}
            if after is not None:
                params["after"] = after
            r = await audit.get(
                "/v1/inspect/events", params=params, headers={"Authorization": f"Bearer {token}"}
            )
            r.raise_for_status()
            body = r.json()
            out += body["items"]
            after = body.get("next_after")
            if after is None or not body["items"]:
                break
    return out


async def desks(fleet: Any, runs: list[Any]) -> list[Desk]:
    """The busiest window clerk, officer (and a case of theirs), the head of that officer's
    center, an inspector, an administrator, and a resident whose case came back (one of the
    day's `runs`); each audience's pages."""
    submitted = await _events(fleet, "intake.application_submitted")
    assigned = await _events(fleet, "routing.case_assigned")
    assert submitted and assigned, "the demo day left no cases to show"
    done = next(r for r in reversed(runs) if r.handled_at is not None and r.error is None)
    mine = done.case_id
    applicant = done.plan.applicant
    flagged = await _events(fleet, "audit.anomaly_flagged", limit=1)
    clerks = Counter(
        (e["payload"]["submitted_by"], e["payload"]["accepting_center_id"]) for e in submitted
    )
    (clerk, center), _ = clerks.most_common(1)[0]
    officers = Counter((e["payload"]["assigned_to"], e["org_id"]) for e in assigned)
    (officer, unit), _ = officers.most_common(1)[0]
    case_id = next(
        e["payload"]["case_id"]
        for e in reversed(assigned)
        if e["payload"]["assigned_to"] == officer
    )
    return [
        Desk("clerk", f"community_agent|{clerk}|{center}", ("/clerk", "/clerk/intake?item=FP-002")),
        Desk(
            "officer",
            f"officer|{officer}|{unit}",
            ("/officer", "/officer?status=result_returned", f"/officer/cases/{case_id}"),
        ),
        Desk(
            "clerk_case",
            f"community_agent|{done.plan.agent[0]}|{done.plan.center.unit_id}",
            (f"/clerk/cases/{mine}", f"/clerk/cases/{mine}/receipt"),
        ),
        Desk("head", f"center_head|{unit}.head|{unit}", ("/head", "/sitreports")),
        Desk(
            "inspector",
            "inspector|ruian.inspector1|ruian",
            (
                "/inspector",
                "/inspector?item_code=FP-002",
                f"/inspector?case={case_id}",
                f"/inspector/cases/{case_id}",
                "/inspector/anomalies",
                f"/inspector/events/{submitted[-1]['event_id']}",
                "/sitreports",
            )
            + ((f"/inspector/cases/{flagged[0]['stream_id']}",) if flagged else ()),
        ),
        Desk(
            "admin",
            "admin|admin.ops|ruian",
            ("/admin", "/admin/staff", "/admin/roster", "/admin/catalog", "/admin/units"),
        ),
        Desk(
            "resident",
            "resident",
            (
                "/resident",
                f"/resident/cases/{mine}",
                f"/resident/cases/{mine}/rating",
                f"/resident/cases/{mine}/evaluator",
                f"/status?receipt_no={done.receipt_no}&code={done.verification_code}",
            ),
            resident=(applicant["name"], applicant["id_number"]),
        ),
    ]


async def sign_in(client: httpx.AsyncClient, desk: Desk) -> None:
    """The development sign-in form, as a person fills it (CSRF token from the page)."""
    page = await client.get("/signin")
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m, "the sign-in page carries its CSRF token"
    person = desk.person
    data = {"csrf_token": m.group(1), "next": "/"}
    if desk.resident is not None:
        name, id_number = desk.resident
        data |= {"kind": "resident", "name": name, "id_number": id_number}
    else:
        assert f'value="{person}"' in page.text, f"{person} is not offered at the sign-in page"
        data |= {"kind": "staff", "person": person}
    r = await client.post("/signin/dev", data=data)
    assert r.status_code == 303, (person, r.status_code, r.text[:300])


def entry(name: str, times: dict[str, Timed], what: str) -> Result:
    per_page = {page: (round(p95(t.app), 1), round(p95(t.svc), 1)) for page, t in times.items()}
    worst_page = max(per_page, key=lambda p: per_page[p][0])
    worst, services = per_page[worst_page]
    note = (
        f"{what}; server time (Server-Timing app) per page, p95 of its sequential requests, "
        "and in brackets its services' share (svc, the baseline of the worst page); per page: "
        + ", ".join(f"{p} {a} ms ({s} ms)" for p, (a, s) in per_page.items())
    )
    return Result(
        name, worst, "ms", baseline=services or None, target=f"< {TARGET_MS:.0f}", note=note
    )


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
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                public = await measure(client, PAGES, n)
            staff: dict[str, tuple[Desk, dict[str, Timed]]] = {}
            for desk in await desks(fleet, day.phase.runs):
                async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                    await sign_in(client, desk)
                    staff[desk.audience] = (desk, await measure(client, desk.pages, n))
        finally:
            proc.terminate()
            await proc.wait()
            log.close()
    day_note = (
        f"{n} sequential requests per page after {seconds:.0f} s of the demo's case mix on a "
        f"private fleet ({cases} cases)"
    )
    results = [entry("portal.page_p95_ms", public, f"public pages, {day_note}")]
    for audience, (desk, times) in staff.items():
        who = desk.person.split("|")[1] if desk.resident is None else "a resident (浙里办)"
        results.append(
            entry(f"portal.page_p95_ms.{audience}", times, f"signed in as {who}, {day_note}")
        )
    return results


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
