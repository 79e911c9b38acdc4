"""`make demo` (`python -m devstack demo`): a realistic day at Rui'an's service centers, played
against the services `make run` started, so a newcomer sees the whole system work.

Everything goes through the public HTTP APIs with tokens minted from the development key
(`.local/dev-jwt.pem`, see `cli.dev_secrets`), exactly as the README shows with curl; the
services talk to each other only over Kafka, so every wait below is for an event to travel
(intake -> routing -> intake). Nothing is faked and nothing is read from a database.

The day (default 300 cases, `--cases N`, at most `--concurrency` cases in flight):

- residents of many communities (and some non-local residents, and islanders of 北麂/北龙
  who hand in on the mainland at 东山街道) bring applications for items of the seeded
  catalog, mostly at their community center, some at their town or street center or the
  city center; community agents (代办员) take them in, first-inquiry responsible;
- 6 in 10 applications come with 1-3 scans or photos of the materials handed in, uploaded
  by the agent through intake's document route (`devstack.scans`);
- about one in six leaves materials out: intake answers with ONE notice listing every gap
  (一次性告知); the resident comes back once or twice with the rest;
- routing sends each case to the office that holds the authority (delegation rules
  included), carried up the tiers by the agent; four A post holders of town offices are
  away today (recorded as absences through routing's org admin API), so their B holders
  take those cases (AB岗);
- a few residents withdraw before the decision; some officers ask for a correction (补正)
  first, which the agent supplies; the assigned officers approve most cases and refuse some
  with a reason; the result goes back down to the accepting center and is delivered
  (picked up, mailed or electronically) and often archived (登记归档);
- most residents rate the service 4-5; a few give 1-2, which opens a follow-up task for the
  center head (好差评), and some heads answer at once.

At the end: cases per tier, where the cases stand, decisions, reviews and follow-ups, and
育才社区's figures per service line and per staff member (服务条线) as its head reads them on
audit's board (`GET /v1/board/centers/{center_id}/staff`). Ids follow routing's seed
(`routing.seed_org`) but are read from the org tree at runtime.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from contracts.intake import is_bad_review

from .common import StackError, state_dir
from .scans import Scan, plan_scans

RUIAN_AREA = "330381"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
DEFAULT_PORTS = {"intake": 8001, "routing": 8002, "notify": 8003, "audit": 8004}
YUCAI = "ruian.anyang.yucai"
"""育才社区, the report's center of 12 service lines run by 6 staff: one resident in seven
of the day lives there, and the day ends with its figures per line and per staff member."""
INSPECTOR = ("ruian.inspector1", "inspector", "ruian", "city")
ADMIN = ("admin.demo", "admin", "ruian", "city")
WAIT_SECONDS = 120.0

Who = tuple[str, str, str | None, str | None]
"""(sub, role, org_id, tier) of a token."""
Json = dict[str, Any]


# -- people ------------------------------------------------------------------------------------
def id_number(born: date, serial: int, area: str = RUIAN_AREA) -> str:
    """A valid 18-character resident ID number (GB 11643: area, birth date, serial, ISO 7064
    MOD 11-2 check character). The serial's last digit is odd for men, even for women."""
    first17 = f"{area}{born:%Y%m%d}{serial % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + _CHECK[total % 11]


SURNAMES = "陈林黄王张李周吴郑金潘叶胡蔡朱池戴余杨徐孙彭邱薛"
MEN = "建国 志强 海波 国平 伟军 立新 成林 文斌 永康 德明 振宇 浩然".split()
WOMEN = "秀英 丽娟 美芳 春燕 小红 雪梅 慧敏 佩佩 晓丽 素珍 琳琳 思琪".split()
STREETS = ("新街", "中心路", "河滨路", "学前路", "东风路", "人民路", "文化路", "塘河路", "江滨路")
# where non-local residents (流动人口) come from: 毕节, 余干, 光山, 隆回
NON_LOCAL_AREAS = ("522401", "362329", "411522", "430524")

# (item code, weight, birth years, women only): the mix of a day's applications
ITEMS: tuple[tuple[str, int, tuple[int, int], bool], ...] = (
    ("OT-002", 14, (1950, 1995), False),  # 自来水缴费, same day, at the community
    ("LS-002", 12, (1946, 1966), False),  # 退休职工养老保险年检, delegated down
    ("CA-001", 10, (1938, 1965), False),  # 老年优待证
    ("LS-001", 9, (1970, 2002), False),  # 社保参保登记
    ("OT-001", 7, (1960, 2004), False),  # 电动自行车防盗登记, same day, police room
    ("FP-002", 6, (1986, 1997), True),  # 二胎申请, with deposit
    ("FP-001", 5, (1980, 1996), False),  # 独生子女证
    ("FL-001", 6, (1975, 2004), False),  # 暂口管理 (non-local residents)
    ("FL-002", 3, (1985, 2000), True),  # 流动人口婚育证明
    ("CA-002", 4, (1950, 1985), False),  # 低保, city
    ("CA-003", 2, (1945, 1990), False),  # 医疗救助, city
    ("LC-001", 4, (1955, 1985), False),  # 农村住房改造
    ("AG-001", 3, (1955, 1985), False),  # 农机购置补贴, city
    ("AG-002", 2, (1950, 1980), False),  # 土地流转备案
    ("DP-001", 2, (1950, 2005), False),  # 残疾人证, city
    ("IC-001", 4, (1970, 2003), False),  # 个体工商户
    ("OT-003", 3, (1950, 2008), False),  # 身份证
)
REFUSALS = (
    "经核查,申请人不符合政策规定的条件",
    "所附材料与实际情况不符,不予办理",
    "经入户调查,家庭收入超过规定标准",
    "申请事项不属于本机关职权范围,已告知申请人向有权机关申请",
)
CORRECTION_NOTES = (
    "复印件不清晰,请重新提供",
    "照片不符合规格,请提供近期免冠照片",
    "表格填写不完整,请补充签字",
)
BAD_COMMENTS = ("来回跑了两趟,等了太久", "窗口人员态度生硬", "材料清单没讲清楚")
GOOD_COMMENTS = ("一次办好,很方便", "代办员很热心", None, None)


# -- the seeded world, as the services publish it ----------------------------------------------
@dataclass(frozen=True)
class Unit:
    unit_id: str
    name_zh: str
    tier: str
    parent_id: str | None
    is_island: bool
    agents: tuple[str, ...]


@dataclass
class World:
    units: dict[str, Unit]
    staff: dict[str, tuple[str, tuple[str, ...]]]  # staff id -> (unit, roles)
    catalog: dict[str, Json]

    def communities(self) -> list[Unit]:
        return [u for u in self.units.values() if u.tier == "community" and u.agents]

    def who(self, staff_id: str) -> Who:
        """The token of a seeded staff member acting in their own role at their center."""
        unit_id, roles = self.staff[staff_id]
        role = next(r for r in ("officer", "center_head", "community_agent") if r in roles)
        return (staff_id, role, unit_id, self.units[unit_id].tier)

    def agent_of(self, unit_id: str, rng: random.Random) -> Who:
        unit = self.units[unit_id]
        return (rng.choice(unit.agents), "community_agent", unit_id, unit.tier)


def _walk(node: Json, out: dict[str, Unit], staff: dict[str, tuple[str, tuple[str, ...]]]) -> None:
    agents = []
    for s in node["staff"]:
        staff[s["staff_id"]] = (node["unit_id"], tuple(s["roles"]))
        if "community_agent" in s["roles"]:
            agents.append(s["staff_id"])
    out[node["unit_id"]] = Unit(
        unit_id=node["unit_id"],
        name_zh=node["name_zh"],
        tier=node["tier"],
        parent_id=node["parent_id"],
        is_island=node["is_island"],
        agents=tuple(sorted(agents)),
    )
    for child in node["children"]:
        _walk(child, out, staff)


# -- the plan of one case ----------------------------------------------------------------------
@dataclass
class Plan:
    n: int
    item: Json
    home: Unit  # the registered community that owns the case
    center: Unit  # where it is handed in
    agent: Who
    channel: str
    applicant: Json
    provided: list[Json]
    held_back: list[Json]  # left out at first: the one-time notice names them
    trips: int  # visits to supply what was held back
    withdraw: bool
    correction: list[str]
    stays: str | None  # "with the office" or "at the center": the day ends before it is done
    decision: str
    reason: str | None
    delivery: str
    score: int | None
    comment: str | None
    archive: bool
    scans: list[Scan] = field(default_factory=list)
    """What the clerk scans with the application (`devstack.scans`), set by the player."""


def _person(rng: random.Random, code: str, years: tuple[int, int], women: bool) -> Json:
    female = women or rng.random() < 0.5
    born = date(rng.randint(*years), rng.randint(1, 12), rng.randint(1, 28))
    serial = rng.randrange(0, 1000, 2) if female else rng.randrange(1, 1000, 2)
    area = rng.choice(NON_LOCAL_AREAS) if code.startswith("FL") else RUIAN_AREA
    name = rng.choice(SURNAMES) + rng.choice(WOMEN if female else MEN)
    phone = f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
    return {"name": name, "id_number": id_number(born, serial, area), "phone": phone}


def plan_case(n: int, world: World, rng: random.Random) -> Plan:
    codes = [c for c, *_ in ITEMS if c in world.catalog]
    weights = [w for c, w, *_ in ITEMS if c in world.catalog]
    code = rng.choices(codes, weights)[0]
    _, _, years, women = next(i for i in ITEMS if i[0] == code)
    item = world.catalog[code]
    communities = world.communities()
    islands = [u for u in communities if u.is_island]
    where = rng.random()
    if islands and where < 0.05:  # an islander takes the boat to the 东山街道 center
        home = rng.choice(islands)
        center = world.units[home.parent_id or home.unit_id]
    else:
        home = rng.choice([u for u in communities if not u.is_island] or communities)
        if YUCAI in world.units and rng.random() < 0.15:
            home = world.units[YUCAI]
        if where < 0.15 and home.parent_id:  # at the town or street center
            center = world.units[home.parent_id]
        elif where < 0.18 and "ruian" in world.units:  # at the city center
            center = world.units["ruian"]
        elif where < 0.23:  # near work, at another community
            center = rng.choice(communities)
        else:
            center = home
    if not center.agents:
        center = home
    town = world.units[home.parent_id] if home.parent_id else home
    person = _person(rng, code, years, women)
    person |= {
        "registered_community_id": home.unit_id,
        "address": f"瑞安市{town.name_zh}{home.name_zh}{rng.choice(STREETS)}"
        f"{rng.randint(1, 199)}号",
    }
    required = [m for m in item["materials"] if not m["may_supply_later"]]
    later = [m for m in item["materials"] if m["may_supply_later"]]
    provided = [{"code": m["code"], "form": m["form"], "copies": m["copies"]} for m in required]
    provided += [
        {"code": m["code"], "form": m["form"], "copies": m["copies"]}
        for m in later
        if rng.random() < 0.5
    ]
    held_back: list[Json] = []
    if rng.random() < 0.17 and len(required) > 1:
        k = min(rng.choice((1, 1, 2, 3)), len(required) - 1)
        held_back = rng.sample(provided[: len(required)], k)
        provided = [m for m in provided if m not in held_back]
    decision = "refuse" if rng.random() < 0.1 else "approve"
    stays = None
    if item["case_type"] == "promised":  # some promised cases take longer than a day
        stays = rng.choices((None, "with the office", "at the center"), (86, 9, 5))[0]
    evaluates = rng.random() < 0.8
    score = rng.choices((5, 4, 3, 2, 1), (58, 28, 6, 4, 4))[0] if evaluates else None
    bad = score is not None and is_bad_review(score)
    codes_listed = [m["code"] for m in item["materials"]]
    return Plan(
        n=n,
        item=item,
        home=home,
        center=center,
        agent=world.agent_of(center.unit_id, rng),
        channel="agent" if item["agency_allowed"] and rng.random() < 0.15 else "window",
        applicant=person,
        provided=provided,
        held_back=held_back,
        trips=2 if len(held_back) > 1 and rng.random() < 0.4 else 1,
        withdraw=rng.random() < 0.04,
        correction=rng.sample(codes_listed, 1) if rng.random() < 0.08 else [],
        stays=stays,
        decision=decision,
        reason=rng.choice(REFUSALS) if decision == "refuse" else rng.choice((None, "符合条件")),
        delivery=rng.choices(("picked_up", "mailed", "electronic"), (70, 12, 18))[0],
        score=score,
        comment=rng.choice(BAD_COMMENTS if bad else GOOD_COMMENTS) if score else None,
        archive=rng.random() < 0.6,
    )


# -- what happened -----------------------------------------------------------------------------
@dataclass
class Outcome:
    plan: Plan
    case_id: str | None = None
    tier: str | None = None
    hops: int = 0
    as_role: str | None = None
    noticed: bool = False
    corrected: bool = False
    decision: str | None = None
    delivered: bool = False
    score: int | None = None
    status: str = "not submitted"
    error: str | None = None


@dataclass
class Tally:
    done: int = 0
    failed: int = 0
    counts: Counter[str] = field(default_factory=Counter)


# -- HTTP --------------------------------------------------------------------------------------
class DemoError(Exception):
    """One case went wrong: counted and reported, the day goes on."""


class Api:
    """The three services' HTTP APIs with minted tokens, Idempotency-Keys and retries."""

    def __init__(self, private_key: Any, urls: dict[str, str]) -> None:
        from eventkit.auth import mint_resident_token, mint_token

        self._mint = mint_token
        self._mint_resident = mint_resident_token
        self._key = private_key
        self._tokens: dict[Who, tuple[float, str]] = {}
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self.urls = urls
        self.http = {
            name: httpx.AsyncClient(base_url=url, timeout=30, limits=limits)
            for name, url in urls.items()
        }

    async def close(self) -> None:
        for client in self.http.values():
            await client.aclose()

    def headers(self, who: Who) -> dict[str, str]:
        cached = self._tokens.get(who)
        if cached is None or cached[0] < time.monotonic():
            sub, role, org, tier = who
            if role == "resident":  # 浙里办's shape: a pseudonymous account, the ID number a claim
                token = self._mint_resident(self._key, sub)
            else:
                token = self._mint(self._key, sub=sub, role=role, org_id=org, tier=tier)
            cached = (time.monotonic() + 3000, token)  # minted for an hour
            self._tokens[who] = cached
        return {"Authorization": f"Bearer {cached[1]}"}

    async def send(self, method: str, svc: str, path: str, **kw: Any) -> httpx.Response:
        """One request, retried on a dropped connection or a 5xx (a POST keeps its
        Idempotency-Key across the retries, so it never acts twice)."""
        for attempt in range(4):
            try:
                r = await self.http[svc].request(method, path, **kw)
            except httpx.TransportError as exc:
                if attempt == 3:
                    raise DemoError(f"{method} {svc} {path}: {exc!r}") from None
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            if r.status_code == 401:
                raise StackError(
                    f"{svc} refused the demo's token ({r.text}): the services verify tokens "
                    "with another key than .local/dev-jwt.pem"
                )
            if r.status_code >= 500 and attempt < 3:
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            return r
        raise AssertionError("unreachable")

    async def get(self, svc: str, path: str, who: Who | None = None, **params: Any) -> Json:
        headers = self.headers(who) if who else {}
        r = await self.send("GET", svc, path, headers=headers, params=params or None)
        if r.status_code != 200:
            raise DemoError(f"GET {svc} {path}: {r.status_code} {r.text[:300]}")
        body: Json = r.json()
        return body

    async def post(self, svc: str, path: str, who: Who, body: Json | None = None) -> Json:
        """A POST with one Idempotency-Key for all its retries: a retry never acts twice."""
        headers = {**self.headers(who), "Idempotency-Key": str(uuid.uuid4())}
        r = await self.send("POST", svc, path, headers=headers, json=body)
        if r.status_code not in (200, 201):
            raise DemoError(f"POST {svc} {path} as {who[0]}: {r.status_code} {r.text[:300]}")
        result: Json = r.json()
        return result

    async def until(
        self, what: str, probe: Callable[[], Awaitable[Any]], timeout: float = WAIT_SECONDS
    ) -> Any:
        """Poll until `probe` gives something truthy: an event crossing Kafka."""
        pause = 0.15
        deadline = time.monotonic() + timeout
        while True:
            value = await probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise DemoError(f"gave up after {timeout:.0f} s waiting for {what}")
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 1.0)


# -- one case ----------------------------------------------------------------------------------
async def play(api: Api, world: World, p: Plan, tally: Tally) -> Outcome:
    """One case's life as planned; a failure is recorded on the outcome, not raised."""
    out = Outcome(p)
    try:
        await _play(api, world, p, out, tally)
    except DemoError as exc:
        out.error = str(exc)
    return out


async def _routing(api: Api, case_id: str, ok: Callable[[Json], bool], what: str) -> Json:
    async def probe() -> Json | None:
        r = await api.send("GET", "routing", f"/v1/cases/{case_id}", headers=api.headers(INSPECTOR))
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise DemoError(f"GET routing case: {r.status_code} {r.text[:300]}")
        body: Json = r.json()
        return body if ok(body) else None

    result: Json = await api.until(f"{what} ({case_id})", probe)
    return result


async def _intake(api: Api, case_id: str, ok: Callable[[Json], bool], what: str) -> Json:
    async def probe() -> Json | None:
        body = await api.get("intake", f"/v1/applications/{case_id}", INSPECTOR)
        return body if ok(body) else None

    result: Json = await api.until(f"{what} ({case_id})", probe)
    return result


def submit_body(p: Plan) -> Json:
    """The application the agent hands in: the standard fee and deposit, paid."""
    item = p.item
    fee = item["fee"]["amount_fen"]
    deposit = (item.get("deposit") or {}).get("amount_fen", 0)
    body: Json = {
        "item_code": item["code"],
        "applicant": p.applicant,
        "materials_provided": p.provided,
        "channel": p.channel,
        "fee_paid_fen": fee,
        "deposit_paid_fen": deposit,
    }
    if fee or deposit:
        body["payment_receipt_no"] = f"RA-{date.today():%Y%m%d}-{p.n:05d}"
    return body


async def attach_scans(api: Api, case_id: str, who: Who, scans: list[Scan]) -> int:
    """Upload `scans` through intake's multipart route, one POST per material; how many
    documents intake attached (the same bytes again attach nothing)."""
    by_material: dict[str, list[Scan]] = {}
    for s in scans:
        by_material.setdefault(s.material_code, []).append(s)
    attached = 0
    for code, files in by_material.items():
        r = await api.send(
            "POST",
            "intake",
            f"/v1/applications/{case_id}/documents",
            params={"material_code": code},
            files=[("file", (s.file_name, s.data, s.content_type)) for s in files],
            headers=api.headers(who),
        )
        if r.status_code != 201:
            raise DemoError(f"upload to {case_id}: {r.status_code} {r.text[:300]}")
        attached += sum(1 for d in r.json()["documents"] if d["event_id"] is not None)
    return attached


async def _play(api: Api, world: World, p: Plan, out: Outcome, tally: Tally) -> None:
    """Each step acts as the person who would (agent, officer, resident) and, before the
    next, waits for the event it needs to have crossed Kafka into the other service."""
    item, agent = p.item, p.agent
    r = await api.post("intake", "/v1/applications", agent, submit_body(p))
    out.case_id = case_id = r["case_id"]
    out.status = r["status"]
    if p.scans:  # the clerk scans what was handed in, with the application
        tally.counts["scans"] += await attach_scans(api, case_id, agent, p.scans)
    # the resident by their real-name ID number: `Api.headers` puts it in the token's
    # `id_number` claim under a pseudonymous `sub` (never the number itself)
    resident: Who = (p.applicant["id_number"], "resident", None, None)

    if r["status"] == "awaiting_materials":  # one notice, every gap; the resident comes back
        out.noticed = True
        tally.counts["one-time notices"] += 1
        trips = [p.held_back] if p.trips == 1 else [p.held_back[:1], p.held_back[1:]]
        for materials in trips:
            r = await api.post(
                "intake", f"/v1/applications/{case_id}/materials", agent, {"materials": materials}
            )
        out.status = r["status"]
    if out.status != "accepted":
        raise DemoError(f"{case_id} not accepted: {r['status']} {r.get('missing_materials')}")

    detail = await _routing(api, case_id, lambda d: d["state"]["due_at"], "routing")
    state = detail["state"]
    out.tier, out.hops = state["handling_tier"], len(state["route"]) - 1
    assigned = [e for e in detail["trail"] if e["event_type"] == "routing.case_assigned"]
    out.as_role = assigned[-1]["payload"]["as_role"] if assigned else None

    if p.withdraw:  # the resident changes their mind before the decision
        await api.post(
            "intake", f"/v1/applications/{case_id}/withdraw", resident, {"reason": "不再需要办理"}
        )
        out.status = "withdrawn"
        tally.counts["withdrawn"] += 1
        return

    officer = world.who(state["assigned_to"])
    if p.correction:  # 补正: the office asks, the agent supplies, the clock runs again
        await api.post(
            "routing",
            f"/v1/cases/{case_id}/correction-request",
            officer,
            {"requested_materials": p.correction, "note": CORRECTION_NOTES[p.n % 3]},
        )
        await _intake(
            api,
            case_id,
            lambda v: v["application"]["status"] == "correction_requested",
            "the correction request at intake",
        )
        forms = {m["code"]: m["form"] for m in item["materials"]}
        await api.post(
            "intake",
            f"/v1/applications/{case_id}/correction",
            agent,
            {
                "materials": [{"code": c, "form": forms[c]} for c in p.correction],
                "note": "已按要求补正",
            },
        )
        await _routing(
            api, case_id, lambda d: d["state"]["status"] == "open", "the correction at routing"
        )
        out.corrected = True
        tally.counts["corrections"] += 1

    if p.stays == "with the office":  # still in the officer's queue at close of business
        tally.counts["pending"] += 1
        return
    decision: Json = {"decision": p.decision}
    if p.reason:
        decision["reason"] = p.reason
    await api.post("routing", f"/v1/cases/{case_id}/decision", officer, decision)
    out.decision = p.decision
    tally.counts[p.decision] += 1
    await api.post("routing", f"/v1/cases/{case_id}/result-return", officer)
    await _intake(
        api,
        case_id,
        lambda v: v["result_ready"] and v["application"]["status"] == "decided",
        "the result back at the accepting center",
    )
    if p.stays == "at the center":  # the resident picks it up another day
        return

    delivery: Json = {"method": p.delivery}
    if p.delivery == "mailed":
        delivery["tracking_no"] = f"EMS{p.n:04d}{uuid.uuid4().int % 10**8:08d}"
    r = await api.post("intake", f"/v1/applications/{case_id}/delivery", agent, delivery)
    out.status, out.delivered = r["status"], True
    if p.score is not None:
        review: Json = {"score": p.score, "comment": p.comment}
        if is_bad_review(p.score):
            review["dimensions"] = {"attitude": p.score, "efficiency": 1}
        await api.post("intake", f"/v1/applications/{case_id}/evaluation", resident, review)
        out.score = p.score
        tally.counts["bad reviews" if is_bad_review(p.score) else "evaluations"] += 1
    if p.archive:
        archive_no = f"GD-{p.center.unit_id.split('.')[-1].upper()}-{p.n:05d}"
        r = await api.post(
            "intake", f"/v1/applications/{case_id}/archive", agent, {"archive_no": archive_no}
        )
        out.status = r["status"]


# -- the day -----------------------------------------------------------------------------------
def service_urls() -> dict[str, str]:
    """Where `make run` put the services (the same `<SVC>_HTTP_PORT` variables it reads)."""
    return {
        svc: f"http://127.0.0.1:{os.environ.get(f'{svc.upper()}_HTTP_PORT', port)}"
        for svc, port in DEFAULT_PORTS.items()
    }


async def _ready(api: Api, svc: str) -> bool:
    try:
        return (await api.http[svc].get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def load_world(api: Api) -> World:
    for svc in ("intake", "routing"):
        if not await _ready(api, svc):
            raise StackError(
                f"{svc} is not answering at {api.urls[svc]}/readyz: start `make run` in another "
                "terminal first (and wait for 'Bianmin is up')"
            )

    async def seeded() -> World | None:
        tree = await api.get("routing", "/v1/org/tree", INSPECTOR)
        centers = await api.get("intake", "/v1/centers")
        catalog = await api.get("intake", "/v1/catalog")
        units: dict[str, Unit] = {}
        staff: dict[str, tuple[str, tuple[str, ...]]] = {}
        for root in tree["units"]:
            _walk(root, units, staff)
        known = {c["unit_id"] for c in centers["items"]}
        if not units or not catalog["items"] or not set(units) <= known:
            return None  # the seed is still on its way over Kafka
        return World(units, staff, {i["code"]: i for i in catalog["items"]})

    try:
        world: World = await api.until("the seeded org tree and catalog", seeded, 90)
    except DemoError as exc:
        raise StackError(str(exc)) from None
    return world


ABSENCES: tuple[tuple[str, str, str], ...] = (
    ("ruian.mayu.jsb.a", "training", "参加温州市计生业务培训"),
    ("ruian.anyang.sbs.a", "leave", "年休假"),
    ("ruian.tingtian.mzb.a", "sick_leave", "病假"),
    ("ruian.dongshan.mzb.a", "business_trip", "赴北麂社区现场核查"),
)
"""A posts away today (AB岗): their B holders take the new cases."""


async def record_absences(api: Api, world: World) -> list[str]:
    """Record today's absences through routing's org admin API (each one an event)."""
    now = datetime.now(UTC)
    away = []
    for staff_id, kind, reason in ABSENCES:
        if staff_id not in world.staff:
            continue
        await api.post(
            "routing",
            "/v1/org/absences",
            ADMIN,
            {
                "absence_id": f"demo-{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}",
                "staff_id": staff_id,
                "starts_at": (now - timedelta(hours=1)).isoformat(),
                "ends_at": (now + timedelta(days=1)).isoformat(),
                "kind": kind,
                "reason": f"{reason}(demo)",
            },
        )
        away.append(staff_id)
    return away


async def settle_followups(
    api: Api, world: World, outcomes: list[Outcome], rng: random.Random
) -> Json:
    """Wait for routing to open a follow-up for each bad review; heads answer some at once."""
    bad = {o.case_id for o in outcomes if o.score is not None and is_bad_review(o.score)}

    async def opened() -> list[Json] | None:
        items = await api.send(
            "GET",
            "routing",
            "/v1/followups",
            headers=api.headers(INSPECTOR),
            params={"limit": 500},
        )
        if items.status_code != 200:
            raise DemoError(f"GET routing /v1/followups: {items.status_code} {items.text[:300]}")
        mine = [f for f in items.json() if f["case_id"] in bad]
        return mine if len(mine) >= len(bad) else None

    found: list[Json] = (
        await api.until("the follow-ups of the bad reviews", opened, 60) if bad else []
    )
    answered = 0
    for f in found:
        if not f["answered"] and rng.random() < 0.5:
            center = f["center_id"]  # a staff token names its center and tier (eventkit.auth)
            head = (f["assigned_to"], "center_head", center, world.units[center].tier)
            await api.post(
                "routing",
                f"/v1/followups/{f['followup_id']}/answer",
                head,
                {"answer": "已电话回访并致歉,已对窗口人员进行提醒教育"},
            )
            answered += 1
    return {"opened": len(found), "answered": answered}


async def final_statuses(api: Api, outcomes: list[Outcome], limit: int) -> None:
    """Where each case stands now, as intake says (not as the demo remembers)."""
    gate = asyncio.Semaphore(limit)

    async def one(o: Outcome) -> None:
        if o.case_id is None:
            return
        async with gate:
            view = await api.get("intake", f"/v1/applications/{o.case_id}", INSPECTOR)
        o.status = view["application"]["status"]

    await asyncio.gather(*(one(o) for o in outcomes))


async def messages_sent(api: Api, outcomes: list[Outcome], limit: int) -> int | None:
    """Messages notify delivered about the day's cases so far (None when notify is not up)."""
    if "notify" not in api.http or not await _ready(api, "notify"):
        return None
    gate = asyncio.Semaphore(limit)

    async def one(case_id: str) -> int:
        async with gate:
            r = await api.send(
                "GET",
                "notify",
                "/v1/deliveries",
                headers=api.headers(INSPECTOR),
                params={"case_id": case_id},
            )
        if r.status_code != 200:
            return 0
        return sum(d["status"] == "delivered" for d in r.json()["deliveries"])

    counts = await asyncio.gather(*(one(o.case_id) for o in outcomes if o.case_id))
    return sum(counts)


async def run(cases: int, concurrency: int, seed: int | None, private_key: Any) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console()
    api = Api(private_key, service_urls())
    rng = random.Random(seed)
    try:
        world = await load_world(api)
        away = await record_absences(api, world)
        console.print(
            f"[bold]A day at Rui'an's service centers[/]: {cases} cases, "
            f"{len(world.communities())} communities, {len(world.catalog)} catalog items, "
            f"at most {concurrency} in flight",
            soft_wrap=True,
        )
        if away:
            console.print(f"A posts away today, B takes over: {', '.join(away)}", soft_wrap=True)
        scan_seed = seed if seed is not None else rng.randrange(2**31)
        plans = [plan_case(n, world, rng) for n in range(1, cases + 1)]
        plans = [
            dataclasses.replace(p, scans=plan_scans(scan_seed, p.n, p.provided)) for p in plans
        ]
        tally = Tally()
        gate = asyncio.Semaphore(concurrency)
        started = time.monotonic()
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("cases", total=cases, info="")

            async def one(p: Plan) -> Outcome:
                async with gate:
                    o = await play(api, world, p, tally)
                tally.done += 1
                tally.failed += o.error is not None
                c = tally.counts
                progress.update(
                    task,
                    advance=1,
                    info=f"approved {c['approve']}  refused {c['refuse']}  "
                    f"notices {c['one-time notices']}  scans {c['scans']}  "
                    f"bad reviews {c['bad reviews']}"
                    + (f"  [red]failed {tally.failed}[/]" if tally.failed else ""),
                )
                return o

            outcomes = await asyncio.gather(*(one(p) for p in plans))
        totals = await settle_followups(api, world, outcomes, rng)
        await final_statuses(api, outcomes, concurrency)
        totals["messages"] = await messages_sent(api, outcomes, concurrency)
        summarize(console, outcomes, totals, time.monotonic() - started, api.urls)
        await show_lines(console, api, world, outcomes)
        return 1 if any(o.error for o in outcomes) else 0
    finally:
        await api.close()


def summarize(
    console: Any, outcomes: list[Outcome], totals: Json, seconds: float, urls: dict[str, str]
) -> None:
    """The day in three tables: tiers, statuses (as intake has them), decisions and reviews."""
    from rich.table import Table

    tiers = Table(title="Cases per tier (where the authority sat)")
    for col in ("tier", "cases", "handed off", "B post took it", "same center"):
        tiers.add_column(col, justify="right" if col != "tier" else "left")
    for tier, name in (
        ("city", "市 city"),
        ("town", "镇/街道 town"),
        ("community", "社区 community"),
    ):
        mine = [o for o in outcomes if o.tier == tier]
        tiers.add_row(
            name,
            str(len(mine)),
            str(sum(o.hops > 0 for o in mine)),
            str(sum(o.as_role == "B" for o in mine)),
            str(sum(o.hops == 0 for o in mine)),
        )
    statuses = Table(title="Where the cases stand (intake)")
    statuses.add_column("status")
    statuses.add_column("cases", justify="right")
    for status, n in Counter(o.status for o in outcomes).most_common():
        statuses.add_row(status, str(n))
    day = Table(title="Decisions, reviews, follow-ups")
    day.add_column("what")
    day.add_column("count", justify="right")
    scores = [o.score for o in outcomes if o.score is not None]
    rows = (
        ("one-time notices (一次性告知), then supplemented", sum(o.noticed for o in outcomes)),
        ("corrections asked and supplied (补正)", sum(o.corrected for o in outcomes)),
        ("approved", sum(o.decision == "approve" for o in outcomes)),
        ("refused, with a reason", sum(o.decision == "refuse" for o in outcomes)),
        ("withdrawn before the decision", sum(o.status == "withdrawn" for o in outcomes)),
        ("results delivered", sum(o.delivered for o in outcomes)),
        ("evaluations (好差评)", len(scores)),
        ("bad reviews (1-2)", sum(s <= 2 for s in scores)),
        ("follow-ups opened for center heads", totals["opened"]),
        ("follow-ups answered", totals["answered"]),
        (
            "still with the office at close of business",
            sum(o.status == "accepted" for o in outcomes),
        ),
        ("results waiting at the center for pickup", sum(o.status == "decided" for o in outcomes)),
    )
    for what, n in rows:
        day.add_row(what, str(n))
    if totals.get("messages") is not None:
        day.add_row("messages notify delivered so far", str(totals["messages"]))
    console.print(tiers, statuses, day)
    if scores:
        console.print(f"average score {sum(scores) / len(scores):.2f} over {len(scores)} reviews")
    failed = [o for o in outcomes if o.error]
    for o in failed[:5]:
        console.print(f"[red]case {o.plan.n} failed[/]: {o.error}")
    sample = next((o for o in outcomes if o.delivered), None)
    console.print(
        f"done in {seconds:.0f} s" + (f", [red]{len(failed)} failed[/]" if failed else "")
    )
    if sample is not None:
        sms = _shown(Path(os.environ.get("NOTIFY_SMS_FILE") or state_dir() / "notify/sms.jsonl"))
        console.print(
            "\nLook at one case: mint an inspector token and read both trails:\n"
            f"  TOKEN=$(.venv/bin/python -m eventkit.auth mint --key-file {_shown(key_path())} "
            "--role inspector --sub ruian.inspector1 --org ruian --tier city)\n"
            f"  curl -s {urls['intake']}/v1/applications/{sample.case_id} "
            '-H "Authorization: Bearer $TOKEN"\n'
            f"  curl -s {urls['routing']}/v1/cases/{sample.case_id} "
            '-H "Authorization: Bearer $TOKEN"\n'
            f"  curl -s '{urls['routing']}/v1/queue?status=open' "
            '-H "Authorization: Bearer $TOKEN"   # what is still open\n'
            f"Messages to residents and staff (development SMS gateway): {sms}",
            soft_wrap=True,
            markup=False,
        )


async def show_lines(console: Any, api: Api, world: World, outcomes: list[Outcome]) -> None:
    """育才社区's day per service line and per staff member, from audit's board as its head
    reads it: waits (a little) until the log holds every case accepted there today."""
    from rich.table import Table

    heads = [
        sid for sid, (u, roles) in world.staff.items() if u == YUCAI and "center_head" in roles
    ]
    if not heads:
        return
    head = heads[0]
    who = (head, "center_head", YUCAI, "community")
    ours = sum(o.plan.center.unit_id == YUCAI and o.case_id is not None for o in outcomes)
    body: Json | None = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = await api.send(
            "GET", "audit", f"/v1/board/centers/{YUCAI}/staff", headers=api.headers(who)
        )
        if r.status_code != 200:
            console.print(f"audit's staff figures of {YUCAI}: {r.status_code} {r.text}")
            return
        body = r.json()
        if sum(s["accepted"] for s in body["staff"]) >= ours:
            break
        await asyncio.sleep(2)  # the log and its next checkpoint catch up
    if body is None:
        return
    r = await api.send("GET", "audit", "/v1/board/lines")
    public = (
        [x for x in r.json()["rows"] if x["center_id"] == YUCAI] if r.status_code == 200 else []
    )
    taken = Table(title=f"{world.units[YUCAI].name_zh}: cases taken in per line (public board)")
    for col in ("line", "received", "decided", "on time %", "satisfaction"):
        taken.add_column(col, justify="left" if col == "line" else "right")
    for x in public:
        taken.add_row(
            f"{x['line_id']} {x['name_zh'] or ''}",
            str(x["received"]),
            str(x["decided"]),
            _pct(x["on_time_pct"]),
            _pct(x["satisfaction"]),
        )
    lines = Table(title=f"{world.units[YUCAI].name_zh}: per service line (服务条线), handled there")
    staff = Table(title=f"{world.units[YUCAI].name_zh}: per staff member")
    for col in ("line", "handled", "open", "decided", "on time %", "satisfaction", "staff"):
        lines.add_column(col, justify="left" if col in ("line", "staff") else "right")
    for ln in body["lines"]:
        lines.add_row(
            f"{ln['line_id']} {ln['name_zh'] or ''}",
            str(ln["handled"]),
            str(ln["open"]),
            str(ln["decided"]),
            _pct(ln["on_time_pct"]),
            _pct(ln["satisfaction"]),
            ", ".join(s.removeprefix(f"{YUCAI}.") for s in ln["staff"]),
        )
    for col in ("staff", "taken in (首问)", "handled", "decided", "on time %", "satisfaction"):
        staff.add_column(col, justify="left" if col == "staff" else "right")
    for s in body["staff"]:
        staff.add_row(
            f"{s['staff_id'].removeprefix(f'{YUCAI}.')} {s['name_zh'] or ''}",
            str(s["accepted"]),
            str(s["handled"]),
            str(s["decided"]),
            _pct(s["on_time_pct"]),
            _pct(s["satisfaction"]),
        )
    console.print(taken, lines, staff)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def _shown(path: Path) -> str:
    """A path as a newcomer would type it: relative to where they are, when it is below."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def key_path() -> Path:
    """Where `make run` keeps the development signing key (`cli.dev_secrets`), unless
    `AUTH_PRIVATE_KEY_FILE` names another."""
    return Path(os.environ.get("AUTH_PRIVATE_KEY_FILE") or state_dir() / "dev-jwt.pem")


def dev_private_key() -> Any:
    """The key the demo signs its tokens with (the services hold its public half)."""
    from eventkit.auth import load_private_key

    path = key_path()
    if not path.exists():
        raise StackError(f"no development key at {path}: `make run` creates it; start it first")
    return load_private_key(path.read_text())


def run_demo(cases: int = 300, concurrency: int = 16, seed: int | None = None) -> int:
    """`python -m devstack demo`: 0 when every case went through, 1 when some failed."""
    return asyncio.run(run(cases, concurrency, seed, dev_private_key()))
