"""A realistic, deterministic history of the convenience service centers: synthetic envelopes.

Used by the tests, the replay benchmark and the committed example report. It writes what the
services would have written for a period of activity in Rui'an — the same event types, the
same payload shapes (every payload validates against its `contracts` model and dumps back to
the same JSON), the same envelope fields (intake events carry the accepting center as
`org_id`, routing's case events the handling unit, notify's none), and per-service stream
versions — without running the services. Nothing here is random at run time: a seed drives
one `random.Random`, so the same config gives byte-identical envelopes.

Reference data is the real seed: the org tree comes from `routing.seed_org` (its events and
the folded state, so routes, offices, A/B posts and office hours are the seeded ones) and the
catalog from `intake.seed_catalog`. Routing a case uses routing's own pure rules (delegation,
ancestor at tier, office choice, the path of hand-offs); deadlines use `contracts.workdays`.

The model of a case (probabilities per case; centers differ in speed, and a slow center has
more late cases and worse reviews):

    submitted at a community (mostly), a town center or the city center, by window, agent
    (代办) or online; 22% miss 1-3 materials -> ONE notice -> supplements -> accepted
    (3% never come back); 2% withdraw; routed with hand-offs, assigned A (B when A is away);
    8% of promised items get a correction (补正, the clock pauses); decided within the promise
    mostly, late ones get a warning, an overdue event and escalations; the result travels back
    hop by hop, is delivered, archived, and 65% are rated 1-5 (1-2 opens a follow-up).
    notify publishes a delivery outcome for each message the real planner would send.

The history is cut at the end of the last day: cases still open then stay open.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

import orjson

from contracts import intake as _intake  # noqa: F401  (registers the event types)
from contracts import notify as _notify  # noqa: F401
from contracts import routing as _routing  # noqa: F401
from contracts import topics as topic_names
from contracts.base import to_payload
from contracts.routing import ORG_STREAM_ID
from contracts.workdays import (
    SHANGHAI,
    Pause,
    is_working_day,
    paused_working_days,
)

INTAKE, ROUTING, NOTIFY = "intake", "routing", "notify"
SERVICE_TOPICS = {
    INTAKE: topic_names.INTAKE_EVENTS,
    ROUTING: topic_names.ROUTING_EVENTS,
    NOTIFY: topic_names.NOTIFY_EVENTS,
}
CATALOG_STREAM = "catalog"

# How often each item is asked for at a community window (weights, not percentages).
ITEM_WEIGHTS: dict[str, int] = {
    "OT-002": 20,  # 自来水缴费
    "LS-002": 12,  # 退休职工养老保险年检
    "CA-001": 12,  # 老年优待证
    "FL-001": 10,  # 暂口管理
    "OT-001": 8,  # 电动自行车防盗登记
    "LS-001": 7,  # 社保
    "FL-002": 4,
    "FP-001": 4,  # 独生子女证
    "FP-002": 3,  # 二胎申请
    "IC-001": 3,
    "OT-003": 3,
    "CA-002": 3,  # 低保
    "CA-003": 2,
    "AG-001": 2,
    "AG-002": 2,
    "LC-001": 2,  # 农村住房改造
    "DP-001": 2,
}
# Relative size of a community's traffic (育才 has 6,000+ people; the islands are small).
COMMUNITY_WEIGHT: dict[str, float] = {
    "ruian.anyang.yucai": 3.0,
    "ruian.tingtian.dadianxia": 2.2,
    "ruian.mayu.mabei": 1.6,
    "ruian.dongshan.beiji": 0.5,
    "ruian.dongshan.beilong": 0.4,
}
ISLANDS = ("ruian.dongshan.beiji", "ruian.dongshan.beilong")
SURNAMES = "陈林黄王张李周吴郑金潘叶胡蔡朱池戴余杨徐应孙"
GIVEN = "建华 海燕 志强 丽娟 晓东 秀英 国平 美芳 伟军 春燕 立新 小红 成林 雪梅 文斌 慧敏".split()
STREETS = "新街 人民路 解放路 万松路 虹桥路 塘河路 罗阳大道 安阳路 瑞祥大道 隆山路".split()
REFUSE_REASONS = (
    "申请人不符合政策规定条件",
    "所附材料与实际情况不符",
    "不属于本事项受理范围",
)
COMMENTS_GOOD = ("办事很快,服务态度好", "一次就办好了,不用来回跑", "工作人员很耐心", None, None)
COMMENTS_BAD = ("等待时间太长", "材料要求没有一次说清楚", "窗口人员态度一般")
DIMENSIONS = ("attitude", "efficiency", "professionalism")
QUIET_START, QUIET_END = time(22, 0), time(8, 0)


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. `scale` multiplies the number of cases (1.0 is a busy month:
    about 9 cases per community per working day, ~150k events for October 2026)."""

    start: date = date(2026, 10, 1)
    end: date = date(2026, 10, 31)
    seed: int = 20261001
    scale: float = 1.0
    reference_data: bool = True
    """Emit the org tree and catalog events (before `start`) so names and tiers are known."""


@dataclass(frozen=True, slots=True)
class GenEvent:
    """One generated envelope. `envelope` is its JSON dict (canonical when dumped with sorted
    keys); `service` says which store and topic it belongs to."""

    service: str
    occurred_at: datetime
    stream_id: str
    stream_version: int
    event_type: str
    envelope: dict[str, Any]

    def value(self) -> bytes:
        """The canonical bytes, exactly as `Envelope.canonical()` would write them."""
        return orjson.dumps(self.envelope, option=orjson.OPT_SORT_KEYS)

    def headers(self, replay: bool = False) -> list[tuple[str, bytes]]:
        h = [
            ("event_id", self.envelope["event_id"].encode()),
            ("event_type", self.event_type.encode()),
            ("schema_version", str(self.envelope["schema_version"]).encode()),
            ("correlation_id", self.envelope["correlation_id"].encode()),
        ]
        return [*h, ("bianmin-replay", b"1")] if replay else h


@dataclass
class History:
    config: GeneratorConfig
    events: list[GenEvent]
    cases: int
    stats: dict[str, int] = field(default_factory=dict)

    def of(self, service: str) -> list[GenEvent]:
        return [e for e in self.events if e.service == service]

    def kafka_records(
        self, topics: dict[str, str] | None = None
    ) -> Iterator[tuple[str, bytes, bytes, list[tuple[str, bytes]], int]]:
        """(topic, key, value, headers, timestamp_ms) per event, in occurrence order; the
        record timestamp is the event's time, as a relay publishing promptly would give."""
        topics = topics or SERVICE_TOPICS
        for e in self.events:
            yield (
                topics[e.service],
                e.stream_id.encode(),
                e.value(),
                e.headers(),
                int(e.occurred_at.timestamp() * 1000),
            )


def generate(config: GeneratorConfig | None = None) -> History:
    """The whole history, sorted by (time, service, stream, version)."""
    # Millions of small dicts and no cycles: the cyclic GC would rescan them all, again and
    # again, making generation quadratic. Reference counting frees everything anyway.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _Generator(config or GeneratorConfig()).run()
    finally:
        if enabled:
            gc.enable()


# -- reference data --------------------------------------------------------------------------
@cache
def _reference(at: datetime) -> tuple[Any, list[Any], list[Any]]:
    """(org state, org events, catalog items) from the services' seeds (pure functions)."""
    from intake.seed_catalog import seed_items
    from routing.seed_org import seed_org_state

    state, events = seed_org_state(at)
    return state, events, seed_items()


def _iso(t: datetime) -> str:
    """UTC, whole seconds, `Z` (as pydantic and orjson write an aware UTC datetime)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(d: date, minutes: int) -> datetime:
    return datetime.combine(d, time(minutes // 60, minutes % 60), tzinfo=SHANGHAI)


class _Calendar:
    """Working days as a sorted list, so "n working days after" is an index step. Extended on
    demand, so a year the calendar package does not cover is only asked for when needed."""

    def __init__(self, first: date, last: date) -> None:
        self.days: list[date] = []
        self.last = first - timedelta(days=1)
        self._extend(last)

    def _extend(self, until: date) -> None:
        d = self.last
        while d < until:
            d += timedelta(days=1)
            if is_working_day(d):
                self.days.append(d)
        self.last = max(self.last, until)

    def _index_after(self, d: date, n: int) -> int:
        while True:
            i = bisect.bisect_right(self.days, d)
            if i + n < len(self.days):
                return i
            self._extend(self.last + timedelta(days=7))

    def add(self, d: date, n: int) -> date:
        """The n-th working day after d (d itself for n=0 when d is a working day)."""
        i = self._index_after(d, n)
        if n == 0:
            return d if (i and self.days[i - 1] == d) else self.days[i]
        return self.days[i + n - 1]

    def sub(self, d: date, n: int) -> date:
        self._index_after(d, 0)
        i = bisect.bisect_left(self.days, d)
        return self.days[i - n]


class _Generator:
    def __init__(self, config: GeneratorConfig) -> None:
        self.cfg = config
        self.rng = random.Random(config.seed)
        self.ref_at = datetime.combine(config.start - timedelta(days=30), time(9), SHANGHAI)
        self.org, self.org_events, self.items = _reference(self.ref_at)
        self.items_by_code = {i.code: i for i in self.items}
        self.cal = _Calendar(config.start - timedelta(days=40), config.end + timedelta(days=10))
        self.cutoff = datetime.combine(config.end + timedelta(days=1), time(0), SHANGHAI)
        self.out: list[GenEvent] = []
        self.versions: dict[tuple[str, str], int] = {}
        self.last_at: dict[tuple[str, str], datetime] = {}
        self.stats: dict[str, int] = {}
        units = self.org.units
        self.communities = sorted(u for u, x in units.items() if x.tier == "community")
        self.towns = sorted(u for u, x in units.items() if x.tier == "town")
        self.city = next(u for u, x in units.items() if x.tier == "city")
        # every handling center has its own pace: most keep their promises easily, a few don't
        speed_rng = random.Random(config.seed * 7 + 1)
        self.speed = {u: round(speed_rng.uniform(0.55, 1.15), 3) for u in sorted(units)}
        for slow in ("ruian.gaolou", "ruian.huling"):
            if slow in self.speed:
                self.speed[slow] = 1.45
        self.item_codes = [c for c in ITEM_WEIGHTS if c in self.items_by_code]
        self.item_cum = _cumulative([ITEM_WEIGHTS[c] for c in self.item_codes])
        self.receipts: set[str] = set()
        self._agents: dict[str, list[str]] = {}
        self._posts: dict[tuple[str, str], Any] = {}
        self._heads: dict[str, str | None] = {}
        self._closes: dict[tuple[str, date], datetime] = {}
        self.archive_seq = 0

    # -- plumbing --------------------------------------------------------------------------
    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        v = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{v}{h[17:20]}-{h[20:]}"

    def emit(
        self,
        service: str,
        stream_id: str,
        event_type: str,
        at: datetime,
        actor: tuple[str, str, str | None],
        payload: dict[str, Any],
        *,
        org_id: str | None = None,
        tier: str | None = None,
        correlation: str,
        causation: str | None = None,
    ) -> str:
        """Append one envelope (dropped silently when past the cut-off); its event id."""
        event_id = self.uuid()
        if at >= self.cutoff:
            return event_id
        key = (service, stream_id)
        version = self.versions.get(key, 0) + 1
        self.versions[key] = version
        # a stream's events are appended in order: never earlier than the previous one
        last = self.last_at.get(key)
        if last is not None and at < last:
            at = last
        self.last_at[key] = at
        env = {
            "event_id": event_id,
            "event_type": event_type,
            "schema_version": 1,
            "stream_id": stream_id,
            "stream_version": version,
            "occurred_at": _iso(at),
            "producer": {"service": service, "instance": f"{service}-1"},
            "actor": {"id": actor[0], "role": actor[1], "org_id": actor[2]},
            "org_id": org_id,
            "tier": tier,
            "correlation_id": correlation,
            "causation_id": causation,
            "payload": payload,
        }
        self.out.append(GenEvent(service, at, stream_id, version, event_type, env))
        self.stats[event_type] = self.stats.get(event_type, 0) + 1
        return event_id

    def office_time(self, d: date, after: datetime | None = None) -> datetime:
        """A time during office hours on d (08:30-12:00, 14:00-17:30), after `after`."""
        lo = 510
        if after is not None and after.astimezone(SHANGHAI).date() == d:
            local = after.astimezone(SHANGHAI)
            lo = max(lo, local.hour * 60 + local.minute + 1)
        morning = max(0, 720 - lo)
        afternoon = 1050 - max(lo, 840)
        if morning + afternoon <= 0:
            return self.office_time(self.cal.add(d, 1))
        k = self.rng.randrange(morning + afternoon)
        m = lo + k if k < morning else max(lo, 840) + (k - morning)
        return _local(d, m) + timedelta(seconds=self.rng.randrange(60))

    def later(self, t: datetime, lo: int, hi: int) -> datetime:
        return t + timedelta(seconds=self.rng.randint(lo, hi))

    # -- reference data --------------------------------------------------------------------
    def reference(self) -> None:
        at = self.ref_at
        corr = self.uuid()
        for i, evt in enumerate(self.org_events):
            self.emit(
                ROUTING,
                ORG_STREAM_ID,
                evt.event_type,
                at + timedelta(seconds=i),
                ("admin.seed", "admin", "ruian"),
                to_payload(evt),
                tier=getattr(evt, "tier", None),
                correlation=corr,
            )
        corr = self.uuid()
        for i, item in enumerate(self.items):
            t = at + timedelta(hours=1, seconds=i)
            self.emit(
                INTAKE,
                CATALOG_STREAM,
                "intake.catalog_item_published",
                t,
                ("seed", "admin", "ruian"),
                {
                    "item": item.model_dump(mode="json"),
                    "published_at": _iso(t),
                    "published_by": "seed",
                },
                correlation=corr,
            )

    # -- the month -------------------------------------------------------------------------
    def run(self) -> History:
        if self.cfg.reference_data:
            self.reference()
        cases = 0
        d = self.cfg.start
        while d <= self.cfg.end:
            for center, n in self.arrivals(d):
                for _ in range(n):
                    self.case(center, d)
                    cases += 1
            d += timedelta(days=1)
        self.out.sort(key=lambda e: (e.occurred_at, e.service, e.stream_id, e.stream_version))
        return History(self.cfg, self.out, cases, dict(sorted(self.stats.items())))

    def arrivals(self, d: date) -> list[tuple[str, int]]:
        """(center, number of new cases) for a day: working days at full rate, Monday a
        little busier, Saturday mornings at centers with extended hours, holidays nothing."""
        working = is_working_day(d)
        out = []
        for unit_id in self.communities + self.towns + [self.city]:
            unit = self.org.units[unit_id]
            if working:
                rate = 1.0 + (0.25 if d.weekday() == 0 else 0.0)
            elif d.weekday() == 5 and unit.office_hours.intervals_on(d):
                rate = 0.3
            else:
                continue
            if unit.tier == "community":
                base = 9.0 * COMMUNITY_WEIGHT.get(unit_id, 1.0)
            elif unit.tier == "town":
                base = 3.0
            else:
                base = 6.0
            mean = base * rate * self.cfg.scale
            out.append((unit_id, _poisson(self.rng, mean)))
        return out

    def pick_item(self, center: str) -> Any:
        code = self.item_codes[
            bisect.bisect_right(self.item_cum, self.rng.random() * self.item_cum[-1])
        ]
        return self.items_by_code[code]

    def staff_at(self, unit_id: str) -> str:
        staff = self._agents.get(unit_id)
        if staff is None:
            everyone = self.org.staff_of(unit_id)
            staff = [s.staff_id for s in everyone if "community_agent" in s.roles]
            staff = staff or [s.staff_id for s in everyone]
            self._agents[unit_id] = staff
        return staff[self.rng.randrange(len(staff))]

    def post_for(self, office_id: str, category: str) -> Any:
        key = (office_id, category)
        if key not in self._posts:
            self._posts[key] = self.org.post_for(office_id, category)
        return self._posts[key]

    def head_of(self, unit_id: str) -> str | None:
        if unit_id not in self._heads:
            self._heads[unit_id] = self.org.center_head(unit_id)
        return self._heads[unit_id]

    def close_of_business(self, unit_id: str, d: date) -> datetime:
        key = (unit_id, d)
        if key not in self._closes:
            self._closes[key] = self.org.units[unit_id].office_hours.close_of_business(d)
        return self._closes[key]

    def applicant(self, case_id: str, community: str, email: bool) -> dict[str, Any]:
        rng = self.rng
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 64))
        return {
            "name": name,
            "id_number": _id_number(f"330381{born:%Y%m%d}{rng.randrange(1000):03d}"),
            "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
            "household_no": None if rng.random() < 0.3 else f"HH{rng.randrange(10**8):08d}",
            "registered_community_id": community,
            "address": f"瑞安市{self.org.units[community].name_zh}{rng.choice(STREETS)}"
            f"{rng.randint(1, 300)}号",
            "email": f"r{case_id[5:13]}@example.cn" if email else None,
        }

    # -- one case --------------------------------------------------------------------------
    def case(self, center: str, day: date) -> None:
        rng = self.rng
        item = self.pick_item(center)
        unit = self.org.units[center]
        # who and where: island residents often hand in at the mainland street center
        if unit.tier == "community":
            registered = center
        elif center == "ruian.dongshan" and rng.random() < 0.35:
            registered = rng.choice(ISLANDS)
        else:
            kids = [c for c in self.communities if self.org.units[c].parent_id == center]
            registered = rng.choice(kids or self.communities)
        roll = rng.random()
        if roll < 0.10 and item.case_type == "promised":
            channel, center = "online", registered
        elif roll < 0.25 and item.agency_allowed:
            channel = "agent"
        else:
            channel = "window"
        unit = self.org.units[center]
        tier = unit.tier
        case_id = "case-" + f"{rng.getrandbits(128):032x}"
        corr = self.uuid()
        staff = None if channel == "online" else self.staff_at(center)
        if channel == "online":
            resident = f"resident.{case_id[5:13]}"
            submitter = (resident, "resident", None)
            minutes = rng.randint(7 * 60, 23 * 60 - 1)
            t_sub = _local(day, minutes) + timedelta(seconds=rng.randrange(60))
        else:
            assert staff is not None
            submitter = (staff, "community_agent", center)
            if is_working_day(day):
                t_sub = self.office_time(day)
            else:  # Saturday-morning extended hours
                t_sub = _local(day, rng.randint(510, 689)) + timedelta(seconds=rng.randrange(60))
        email = rng.random() < 0.15
        applicant = self.applicant(case_id, registered, email)
        required = [m.model_dump(mode="json") for m in item.materials]
        must = [m for m in required if not m["may_supply_later"]]
        missing: list[dict[str, Any]] = []
        # the more materials an item asks for, the likelier one is missing (a water bill
        # needs one paper; a second-child application six)
        if must and rng.random() < min(0.35, 0.065 * len(must)):
            k = min(len(must), 1 + (rng.random() < 0.35) + (rng.random() < 0.15))
            missing = rng.sample(must, k)
        provided = [
            {"code": m["code"], "form": m["form"], "copies": m["copies"]}
            for m in required
            if m not in missing
        ]
        fee, deposit = item.fee.amount_fen, item.deposit_fen
        org = {"org_id": center, "tier": tier}
        sub_payload = {
            "case_id": case_id,
            "item_code": item.code,
            "item_version": item.version,
            "item_name_zh": item.name_zh,
            "category": item.category,
            "handling_tier": item.handling_tier,
            "case_type": item.case_type,
            "statutory_limit_days": item.statutory_limit_days,
            "promised_limit_days": item.promised_limit_days,
            "result_type": item.result_type,
            "agency_allowed": item.agency_allowed,
            "required_materials": required,
            "applicant": applicant,
            "registered_community_id": registered,
            "materials_provided": provided,
            "accepting_center_id": center,
            "accepting_staff_id": staff,
            "channel": channel,
            "fee_standard_fen": fee,
            "fee_paid_fen": fee,
            "deposit_standard_fen": deposit,
            "deposit_paid_fen": deposit,
            "payment_receipt_no": (
                f"{center.split('.')[-1][:2].upper()}-{day.year}-{rng.randrange(10**6):06d}"
                if fee or deposit
                else None
            ),
            "submitted_at": _iso(t_sub),
            "submitted_by": submitter[0],
        }
        sub_id = self.emit(
            INTAKE,
            case_id,
            "intake.application_submitted",
            t_sub,
            submitter,
            sub_payload,
            **org,
            correlation=corr,
        )
        c = _Case(case_id, corr, item, center, tier, staff, registered, channel, email)
        t = t_sub
        if missing:
            notice = [
                {
                    "code": m["code"],
                    "name_zh": m["name_zh"],
                    "form": m["form"],
                    "copies": m["copies"],
                    "reason": "not_provided",
                    "copies_provided": 0,
                }
                for m in missing
            ]
            cause = self.emit(
                INTAKE,
                case_id,
                "intake.materials_missing_notified",
                t,
                submitter,
                {
                    "case_id": case_id,
                    "item_code": item.code,
                    "item_version": item.version,
                    "item_name_zh": item.name_zh,
                    "missing": notice,
                    "accepting_center_id": center,
                    "notified_by": submitter[0],
                },
                **org,
                correlation=corr,
                causation=sub_id,
            )
            self.notify_resident(
                c, cause, "intake.materials_missing_notified", "resident_missing_materials", t
            )
            if rng.random() < 0.03:
                return  # never came back
            if rng.random() < 0.02:
                self.withdraw(
                    c,
                    self.office_time(self.cal.add(t.astimezone(SHANGHAI).date(), 1)),
                    "awaiting_materials",
                    accepted=False,
                )
                return
            back = self.cal.add(t.astimezone(SHANGHAI).date(), rng.choice((1, 1, 2, 3, 5)))
            t = self.office_time(back)
            agent = staff or self.staff_at(center)
            if len(notice) > 1 and rng.random() < 0.15:  # two trips: part now, the rest later
                self.emit(
                    INTAKE,
                    case_id,
                    "intake.materials_supplemented",
                    t,
                    (agent, "community_agent", center),
                    {
                        "case_id": case_id,
                        "supplied": [
                            {"code": m["code"], "form": m["form"], "copies": m["copies"]}
                            for m in notice[:1]
                        ],
                        "still_missing": notice[1:],
                        "received_center_id": center,
                        "supplied_by": agent,
                    },
                    **org,
                    correlation=corr,
                )
                notice = notice[1:]
                t = self.office_time(self.cal.add(t.astimezone(SHANGHAI).date(), 1))
            sub_id = self.emit(
                INTAKE,
                case_id,
                "intake.materials_supplemented",
                t,
                (agent, "community_agent", center),
                {
                    "case_id": case_id,
                    "supplied": [
                        {"code": m["code"], "form": m["form"], "copies": m["copies"]}
                        for m in notice
                    ],
                    "still_missing": [],
                    "received_center_id": center,
                    "supplied_by": agent,
                },
                **org,
                correlation=corr,
            )
        self.accept(c, t, sub_id, submitter)

    def accept(self, c: _Case, t: datetime, cause: str, actor: tuple[str, str, str | None]) -> None:
        rng, item = self.rng, c.item
        accepted_on = t.astimezone(SHANGHAI).date()
        receipt = _receipt(c.case_id, accepted_on)
        while receipt in self.receipts:  # the real suffix space is 10^9 per day; keep unique
            receipt = receipt[:-1] + "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[rng.randrange(32)]
        self.receipts.add(receipt)
        promised = _due_date(self.cal, accepted_on, item.promised_limit_days)
        acc_id = self.emit(
            INTAKE,
            c.case_id,
            "intake.application_accepted",
            t,
            actor,
            {
                "case_id": c.case_id,
                "receipt_no": receipt,
                "verification_code": _code(c.case_id),
                "item_code": item.code,
                "item_version": item.version,
                "item_name_zh": item.name_zh,
                "category": item.category,
                "handling_tier": item.handling_tier,
                "case_type": item.case_type,
                "statutory_limit_days": item.statutory_limit_days,
                "promised_limit_days": item.promised_limit_days,
                "accepted_on": accepted_on.isoformat(),
                "promised_completion_date": promised.isoformat(),
                "registered_community_id": c.registered,
                "accepting_center_id": c.center,
                "accepting_staff_id": c.staff,
                "channel": c.channel,
                "fee_standard_fen": item.fee.amount_fen,
                "fee_charged_fen": item.fee.amount_fen,
                "deposit_standard_fen": item.deposit_fen,
                "deposit_charged_fen": item.deposit_fen,
                "fee_overridden": False,
                "accepted_at": _iso(t),
                "accepted_by": actor[0],
                "required_materials": [m.model_dump(mode="json") for m in item.materials],
            },
            org_id=c.center,
            tier=c.tier,
            correlation=c.corr,
            causation=cause,
        )
        c.accepted_at = t
        self.notify_resident(c, acc_id, "intake.application_accepted", "resident_receipt", t)
        if rng.random() < 0.015:
            self.withdraw(c, self.later(t, 3600, 86400 * 2), "accepted", accepted=True)
            return
        self.route(c, self.later(t, 2, 40), acc_id)

    # -- routing ---------------------------------------------------------------------------
    def route(self, c: _Case, t: datetime, cause: str) -> None:
        rng, item = self.rng, c.item
        r = _route(
            self.org,
            item.code,
            item.category,
            item.handling_tier,
            c.registered,
            c.center,
            t.astimezone(SHANGHAI).date().replace(day=1),
        )
        unit_id, office_id, rule, route, base, base_kind = r
        unit = self.org.units[unit_id]
        c.unit, c.unit_tier, c.route, c.office = unit_id, unit.tier, route, office_id
        c.agent = c.staff or self.staff_at(c.center)
        fields = {"case_id": c.case_id, "org_id": unit_id, "tier": unit.tier}
        sys_actor = ("routing", "system", None)
        kw = {"org_id": unit_id, "tier": unit.tier, "correlation": c.corr, "causation": cause}
        self.emit(
            ROUTING,
            c.case_id,
            "routing.case_routed",
            t,
            sys_actor,
            {
                **fields,
                "item_code": item.code,
                "item_version": item.version,
                "category": item.category,
                "case_type": item.case_type,
                "catalog_tier": item.handling_tier,
                "handling_tier": unit.tier,
                "handling_unit_id": unit_id,
                "handling_office_id": office_id,
                "rule": rule,
                "base_unit_id": base,
                "base": base_kind,
                "accepting_center_id": c.center,
                "accepting_staff_id": c.staff,
                "agent_id": c.agent,
                "route": list(route),
                "routed_by": "routing",
                "material_codes": [m.code for m in item.materials],
            },
            **kw,
        )
        # the route, its hand-offs, the assignment and the deadline are one decision
        hop_t = self.later(t, 1800, 4 * 3600) if len(route) > 1 else t  # the agent's trip
        for hop, (src, dst) in enumerate(zip(route, route[1:], strict=False), start=1):
            st, dt = self.org.units[src].tier, self.org.units[dst].tier
            self.emit(
                ROUTING,
                c.case_id,
                "routing.case_handed_off",
                t,
                (c.agent, "community_agent", src),
                {
                    **fields,
                    "hop": hop,
                    "from_unit_id": src,
                    "from_tier": st,
                    "to_unit_id": dst,
                    "to_tier": dt,
                    "to_office_id": office_id if dst == unit_id else None,
                    "direction": "up" if _RANK[dt] > _RANK[st] else "down",
                    "carried_by": c.agent,
                },
                **kw,
            )
        post = self.post_for(office_id, item.category)
        if post is None:
            head = self.org.nearest_head(unit_id)
            assigned, role, a, b = (head[1] if head else "routing"), "center_head", None, None
            a_why = b_why = "no_post"
        else:
            a, b = post.a_holder, post.b_holder
            if rng.random() < 0.12:
                assigned, role = b, "B"
                a_why, b_why = rng.choice(("off_duty", "absent:leave", "absent:training")), None
            else:
                assigned, role, a_why, b_why = a, "A", None, None
        c.assigned = assigned
        assign_id = self.emit(
            ROUTING,
            c.case_id,
            "routing.case_assigned",
            t,
            sys_actor,
            {
                **fields,
                "office_id": office_id,
                "post_id": post.post_id if post else None,
                "assigned_to": assigned,
                "as_role": role,
                "a_holder": a,
                "b_holder": b,
                "a_unavailable_reason": a_why,
                "b_unavailable_reason": b_why,
                "availability_checked_at": _iso(t),
                "assigned_by": "routing",
            },
            **kw,
        )
        self.notify_staff(c, assign_id, "routing.case_assigned", "staff_new_case", assigned, t)
        accepted_at = c.accepted_at
        assert accepted_at is not None
        days = item.promised_limit_days
        due = _due_date(self.cal, accepted_at.astimezone(SHANGHAI).date(), days)
        due_at = self.close_of_business(unit_id, due)
        self.emit(
            ROUTING,
            c.case_id,
            "routing.deadline_set",
            t,
            sys_actor,
            {
                **fields,
                "accepted_at": _iso(accepted_at),
                "promised_limit_days": days,
                "paused_working_days": 0,
                "due_date": due.isoformat(),
                "due_at": _iso(due_at),
                "reason": "accepted",
                "set_by": "routing",
            },
            **kw,
        )
        self.work(c, max(t, hop_t), due, due_at)

    def work(self, c: _Case, t: datetime, due: date, due_at: datetime) -> None:
        """From assignment to decision: corrections, warnings, overdue, escalation."""
        rng, item = self.rng, c.item
        assert c.unit is not None and c.accepted_at is not None
        fields = {"case_id": c.case_id, "org_id": c.unit, "tier": c.unit_tier}
        kw = {"org_id": c.unit, "tier": c.unit_tier, "correlation": c.corr}
        acc_day = c.accepted_at.astimezone(SHANGHAI).date()
        limit = item.promised_limit_days
        if item.case_type == "same_day":
            # 即办件: decided at the window within minutes
            decided_at = self.later(t, 120, 1500)
            self.decide(c, decided_at, decided_at <= due_at, at_window=c.unit == c.center)
            return
        speed = self.speed.get(c.unit, 1.0)
        if rng.random() < 0.045 * speed * speed:
            used = limit + rng.choice((1, 1, 2, 3, 5))
        else:
            used = max(0, min(limit, round(limit * rng.betavariate(2.0, 3.2) * speed * 1.3)))
        pauses: list[Pause] = []
        if limit >= 3 and rng.random() < 0.08:
            req_day = self.cal.add(
                acc_day, rng.randint(1, max(1, min(used, limit) - 1) if used > 1 else 1)
            )
            t_req = self.office_time(req_day)
            materials = [m.code for m in item.materials][: rng.randint(1, 2)] or ["OTHER"]
            req_id = self.emit(
                ROUTING,
                c.case_id,
                "routing.correction_requested",
                t_req,
                (c.assigned or "routing", "officer", c.unit),
                {
                    **fields,
                    "correction_id": f"{c.case_id}.c1",
                    "requested_materials": materials,
                    "note": "请补正材料",
                    "paused_at": _iso(t_req),
                    "requested_by": c.assigned or "routing",
                },
                **kw,
            )
            rec = self.later(t_req, 3, 30)
            self.emit(
                INTAKE,
                c.case_id,
                "intake.correction_request_received",
                rec,
                ("intake", "system", None),
                {
                    "case_id": c.case_id,
                    "correction_id": f"{c.case_id}.c1",
                    "requested_materials": materials,
                    "note": "请补正材料",
                    "requested_by": c.assigned or "routing",
                    "recorded_by": "intake",
                },
                org_id=c.center,
                tier=c.tier,
                correlation=c.corr,
                causation=req_id,
            )
            self.notify_resident(
                c, req_id, "routing.correction_requested", "resident_correction_request", t_req
            )
            back = self.cal.add(req_day, rng.choice((1, 1, 2, 3, 4)))
            t_sup = self.office_time(back)
            agent = c.staff or self.staff_at(c.center)
            sup_id = self.emit(
                INTAKE,
                c.case_id,
                "intake.correction_supplied",
                t_sup,
                (agent, "community_agent", c.center),
                {
                    "case_id": c.case_id,
                    "correction_id": f"{c.case_id}.c1",
                    "materials": [{"code": m, "form": "copy", "copies": 1} for m in materials],
                    "note": None,
                    "received_center_id": c.center,
                    "supplied_by": agent,
                },
                org_id=c.center,
                tier=c.tier,
                correlation=c.corr,
            )
            pauses.append(Pause(paused_at=t_req, resumed_at=t_sup))
            paused = paused_working_days(pauses)
            t_res = self.later(t_sup, 2, 30)
            self.emit(
                ROUTING,
                c.case_id,
                "routing.correction_received",
                t_res,
                ("routing", "system", None),
                {
                    **fields,
                    "correction_id": f"{c.case_id}.c1",
                    "paused_at": _iso(t_req),
                    "resumed_at": _iso(t_sup),
                    "paused_working_days": paused,
                    "recorded_by": "routing",
                },
                **kw,
                causation=sup_id,
            )
            due = _due_date(self.cal, acc_day, limit + paused)
            due_at = self.close_of_business(c.unit, due)
            self.emit(
                ROUTING,
                c.case_id,
                "routing.deadline_set",
                t_res,
                ("routing", "system", None),
                {
                    **fields,
                    "accepted_at": _iso(c.accepted_at),
                    "promised_limit_days": limit,
                    "paused_working_days": paused,
                    "due_date": due.isoformat(),
                    "due_at": _iso(due_at),
                    "reason": "correction_supplied",
                    "set_by": "routing",
                },
                **kw,
            )
            used += paused
            t = t_res
        decide_day = self.cal.add(acc_day, used) if used else acc_day
        if not is_working_day(decide_day):
            decide_day = self.cal.add(decide_day, 0)
        decided_at = self.office_time(decide_day, after=t)
        if decided_at <= t:
            decided_at = self.later(t, 600, 3600)
        if rng.random() < 0.02 and c.assigned:
            mid = t + (decided_at - t) / 2
            post = self.post_for(c.office, item.category)
            other = (
                (post.b_holder if c.assigned != post.b_holder else post.a_holder)
                if post is not None
                else (self.head_of(c.unit) or c.assigned)
            )
            self.emit(
                ROUTING,
                c.case_id,
                "routing.case_reassigned",
                mid,
                (self.head_of(c.unit) or "routing", "center_head", c.unit),
                {
                    **fields,
                    "from_officer": c.assigned,
                    "to_officer": other,
                    "reason": "原承办人请假,转B岗办理",
                    "reassigned_by": self.head_of(c.unit) or "routing",
                },
                **kw,
            )
            c.assigned = other
        # the deadline loop: warning the working day before, overdue, escalations
        warn_at = datetime.combine(self.cal.sub(due, 1), time(0, 0, 5), SHANGHAI)
        if decided_at > warn_at and warn_at > t:
            wid = self.emit(
                ROUTING,
                c.case_id,
                "routing.deadline_warning_issued",
                warn_at,
                ("routing", "system", None),
                {
                    **fields,
                    "assigned_to": c.assigned or "routing",
                    "due_at": _iso(due_at),
                    "working_days_left": 1,
                    "issued_by": "routing",
                },
                **kw,
            )
            self.notify_staff(
                c,
                wid,
                "routing.deadline_warning_issued",
                "staff_deadline_warning",
                c.assigned or "routing",
                warn_at,
            )
        if decided_at > due_at:
            c.late = True
            o_at = due_at + timedelta(seconds=30)
            oid = self.emit(
                ROUTING,
                c.case_id,
                "routing.case_overdue",
                o_at,
                ("routing", "system", None),
                {
                    **fields,
                    "assigned_to": c.assigned or "routing",
                    "due_at": _iso(due_at),
                    "detected_by": "routing",
                },
                **kw,
            )
            self.notify_staff(
                c, oid, "routing.case_overdue", "staff_overdue", c.assigned or "routing", o_at
            )
            for level in (1, 2):
                e_at = self.close_of_business(c.unit, self.cal.add(due, level)) + timedelta(
                    seconds=30
                )
                if decided_at <= e_at:
                    break
                target_unit = c.unit if level == 1 else (self.org.units[c.unit].parent_id or c.unit)
                head = self.head_of(target_unit) or "routing"
                eid = self.emit(
                    ROUTING,
                    c.case_id,
                    "routing.case_escalated",
                    e_at,
                    ("routing", "system", None),
                    {
                        **fields,
                        "level": level,
                        "escalated_to": head,
                        "to_unit_id": target_unit,
                        "assigned_to": c.assigned or "routing",
                        "due_at": _iso(due_at),
                        "escalated_by": "routing",
                    },
                    **kw,
                )
                self.notify_staff(c, eid, "routing.case_escalated", "staff_escalation", head, e_at)
        if rng.random() < 0.008:  # withdrawn while waiting for the decision
            self.withdraw(c, t + (decided_at - t) / 3, "accepted", accepted=True)
            return
        self.decide(c, decided_at, decided_at <= due_at, at_window=False)

    def decide(self, c: _Case, t: datetime, on_time: bool, *, at_window: bool) -> None:
        rng = self.rng
        assert c.unit is not None
        refuse = rng.random() < 0.06
        reason = rng.choice(REFUSE_REASONS) if refuse else None
        decision = "refuse" if refuse else "approve"
        decider = c.staff if at_window and c.staff else (c.assigned or "routing")
        fields = {"case_id": c.case_id, "org_id": c.unit, "tier": c.unit_tier}
        kw = {"org_id": c.unit, "tier": c.unit_tier, "correlation": c.corr}
        dec_id = self.emit(
            ROUTING,
            c.case_id,
            "routing.case_decided",
            t,
            (decider, "officer", c.unit),
            {
                **fields,
                "decision_id": f"{c.case_id}.decision",
                "decision": decision,
                "reason": reason,
                "decided_by": decider,
                "at_window": at_window,
                "on_time": on_time,
            },
            **kw,
        )
        self.emit(
            INTAKE,
            c.case_id,
            "intake.decision_received",
            self.later(t, 2, 20),
            ("intake", "system", None),
            {
                "case_id": c.case_id,
                "decision_id": f"{c.case_id}.decision",
                "decision": decision,
                "reason": reason,
                "decided_by": decider,
                "decided_at": _iso(t),
                "recorded_by": "intake",
            },
            org_id=c.center,
            tier=c.tier,
            correlation=c.corr,
            causation=dec_id,
        )
        # the result goes back down, hop by hop, carried by the agent
        back = list(reversed(c.route))
        hops = list(zip(back, back[1:], strict=False)) or [(back[0], back[0])]
        first = 1 if len(back) > 1 else 0
        ht = self.later(t, 600, 3600)
        last_id = dec_id
        for i, (src, dst) in enumerate(hops):
            if i:
                ht = self.later(ht, 1800, 5 * 3600)
            local = ht.astimezone(SHANGHAI)
            if local.time() > time(17, 30) or not is_working_day(local.date()):
                ht = self.office_time(self.cal.add(local.date(), 1))
            final = i == len(hops) - 1
            last_id = self.emit(
                ROUTING,
                c.case_id,
                "routing.result_returned",
                ht,
                (c.agent or "routing", "community_agent", src),
                {
                    **fields,
                    "hop": first + i,
                    "from_unit_id": src,
                    "to_unit_id": dst,
                    "decision": decision,
                    "carried_by": c.agent or "routing",
                    "returned_by": decider,
                    "final": final,
                },
                **kw,
            )
        self.notify_resident(c, last_id, "routing.result_returned", "resident_result_ready", ht)
        # delivery, archive, evaluation
        pick = rng.random()
        method = "picked_up" if pick < 0.7 else ("electronic" if pick < 0.9 else "mailed")
        wait = (
            0
            if method != "picked_up" or c.item.case_type == "same_day"
            else rng.choice((0, 1, 1, 2, 3))
        )
        local = ht.astimezone(SHANGHAI)
        t_del = (
            self.later(ht, 300, 1800)
            if wait == 0
            else self.office_time(self.cal.add(local.date(), wait))
        )
        agent = c.staff or self.staff_at(c.center)
        del_id = self.emit(
            INTAKE,
            c.case_id,
            "intake.result_delivered",
            t_del,
            (agent, "community_agent", c.center),
            {
                "case_id": c.case_id,
                "decision": decision,
                "method": method,
                "center_id": c.center if method == "picked_up" else None,
                "tracking_no": f"EMS{rng.randrange(10**10):010d}" if method == "mailed" else None,
                "accepting_center_id": c.center,
                "delivered_by": agent,
            },
            org_id=c.center,
            tier=c.tier,
            correlation=c.corr,
            causation=last_id,
        )
        self.notify_resident(
            c, del_id, "intake.result_delivered", "resident_evaluation_invitation", t_del
        )
        self.archive_seq += 1
        self.emit(
            INTAKE,
            c.case_id,
            "intake.case_archived",
            self.later(t_del, 600, 3600),
            (agent, "community_agent", c.center),
            {
                "case_id": c.case_id,
                "decision": decision,
                "archive_no": f"GD{t_del.year}{self.archive_seq:07d}",
                "archived_by": agent,
            },
            org_id=c.center,
            tier=c.tier,
            correlation=c.corr,
        )
        if rng.random() < 0.65:
            self.evaluate(c, self.later(t_del, 1200, 2 * 86400))

    def evaluate(self, c: _Case, t: datetime) -> None:
        rng = self.rng
        speed = self.speed.get(c.unit or c.center, 1.0)
        bad = 0.02 * speed * speed * (3 if c.late else 1)
        r = rng.random()
        if r < bad * 0.45:
            score = 1
        elif r < bad:
            score = 2
        elif r < bad + 0.06 * speed:
            score = 3
        elif r < bad + 0.06 * speed + 0.2:
            score = 4
        else:
            score = 5
        dims = {d: max(1, min(5, score + rng.choice((0, 0, 0, 1, -1)))) for d in DIMENSIONS}
        comment = rng.choice(COMMENTS_BAD) if score <= 2 else rng.choice(COMMENTS_GOOD)
        resident = f"resident.{c.case_id[5:13]}"
        ev_id = self.emit(
            INTAKE,
            c.case_id,
            "intake.service_evaluated",
            t,
            (resident, "resident", None),
            {
                "case_id": c.case_id,
                "score": score,
                "dimensions": dims,
                "comment": comment,
                "bad_review": score <= 2,
                "accepting_center_id": c.center,
                "accepting_staff_id": c.staff,
                "evaluated_by": resident,
            },
            org_id=c.center,
            tier=c.tier,
            correlation=c.corr,
        )
        if score > 2:
            return
        head = self.head_of(c.center) or (self.org.nearest_head(c.center) or ("", "routing"))[1]
        fields = {"case_id": c.case_id, "org_id": c.unit or c.center, "tier": c.unit_tier or c.tier}
        kw = {"org_id": fields["org_id"], "tier": fields["tier"], "correlation": c.corr}
        t_open = self.later(t, 2, 30)
        local = t_open.astimezone(SHANGHAI).date()
        answer_due = self.close_of_business(c.center, self.cal.add(local, 3))
        fid = f"{c.case_id}.followup1"
        open_id = self.emit(
            ROUTING,
            c.case_id,
            "routing.bad_review_followup_opened",
            t_open,
            ("routing", "system", None),
            {
                **fields,
                "followup_id": fid,
                "evaluation_ref": ev_id,
                "score": score,
                "low_dimensions": sorted(d for d, v in dims.items() if v <= 2),
                "comment": comment,
                "center_id": c.center,
                "assigned_to": head,
                "answer_due_at": _iso(answer_due),
                "opened_by": "routing",
            },
            **kw,
            causation=ev_id,
        )
        self.notify_staff(
            c, open_id, "routing.bad_review_followup_opened", "staff_bad_review", head, t_open
        )
        answer_day = self.cal.add(local, rng.choice((1, 1, 2, 2, 3, 5)))
        t_ans = self.office_time(answer_day)
        if t_ans > answer_due:
            self.emit(
                ROUTING,
                c.case_id,
                "routing.followup_overdue",
                answer_due + timedelta(seconds=30),
                ("routing", "system", None),
                {
                    **fields,
                    "followup_id": fid,
                    "assigned_to": head,
                    "answer_due_at": _iso(answer_due),
                    "detected_by": "routing",
                },
                **kw,
            )
        self.emit(
            ROUTING,
            c.case_id,
            "routing.bad_review_followup_answered",
            t_ans,
            (head, "center_head", c.center),
            {
                **fields,
                "followup_id": fid,
                "answer": "已电话回访申请人,说明情况并致歉,已对窗口人员提醒谈话。",
                "answered_by": head,
                "on_time": t_ans <= answer_due,
            },
            **kw,
        )

    def withdraw(self, c: _Case, t: datetime, status_before: str, *, accepted: bool) -> None:
        resident = f"resident.{c.case_id[5:13]}"
        self.emit(
            INTAKE,
            c.case_id,
            "intake.application_withdrawn",
            t,
            (resident, "resident", None),
            {
                "case_id": c.case_id,
                "status_before": status_before,
                "reason": self.rng.choice(("不再需要办理", "已在其他地方办理", None)),
                "deposit_held_fen": c.item.deposit_fen,
                "withdrawn_by": resident,
            },
            org_id=c.center,
            tier=c.tier,
            correlation=c.corr,
        )
        if accepted and c.unit is not None:
            self.emit(
                ROUTING,
                c.case_id,
                "routing.case_withdrawn",
                self.later(t, 2, 20),
                ("routing", "system", None),
                {
                    "case_id": c.case_id,
                    "org_id": c.unit,
                    "tier": c.unit_tier,
                    "recorded_by": "routing",
                },
                org_id=c.unit,
                tier=c.unit_tier,
                correlation=c.corr,
            )

    # -- notify ----------------------------------------------------------------------------
    def notify_resident(
        self, c: _Case, source: str, source_type: str, template: str, at: datetime
    ) -> None:
        recipient = f"applicant:{c.case_id}"
        channels = ["sms"] + (["email"] if c.email else [])
        for ch in channels:
            self.delivery(c, source, source_type, recipient, "resident", ch, template, at)

    def notify_staff(
        self, c: _Case, source: str, source_type: str, template: str, staff_id: str, at: datetime
    ) -> None:
        self.delivery(c, source, source_type, staff_id, "staff", "webhook", template, at)

    def delivery(
        self,
        c: _Case,
        source: str,
        source_type: str,
        recipient: str,
        kind: str,
        channel: str,
        template: str,
        at: datetime,
    ) -> None:
        rng = self.rng
        base = {
            "delivery_id": str(uuid.uuid5(_DELIVERY_NS, f"{source}|{recipient}|{channel}")),
            "case_id": c.case_id,
            "source_event_id": source,
            "source_event_type": source_type,
            "recipient_id": recipient,
            "recipient_kind": kind,
            "channel": channel,
            "template": template,
        }
        actor = ("notify", "system", None)
        t = self.later(at, 1, 20)
        local = t.astimezone(SHANGHAI)
        if (
            kind == "resident"
            and channel == "sms"
            and (local.time() >= QUIET_START or local.time() < QUIET_END)
        ):
            morning = datetime.combine(
                local.date() + timedelta(days=1 if local.time() >= QUIET_START else 0),
                QUIET_END,
                SHANGHAI,
            )
            self.emit(
                NOTIFY,
                c.case_id,
                "notify.delivery_deferred",
                t,
                actor,
                {
                    **base,
                    "deferred_until": _iso(morning),
                    "reason": "quiet_hours",
                    "deferred_by": "notify",
                },
                correlation=c.corr,
                causation=source,
            )
            t = self.later(morning, 1, 90)
        if rng.random() < 0.006:
            failed = self.later(t, 60, 900)
            self.emit(
                NOTIFY,
                c.case_id,
                "notify.delivery_failed",
                failed,
                actor,
                {
                    **base,
                    "attempts": 5,
                    "permanent": False,
                    "error": "SMS gateway unavailable for <recipient>",
                    "failed_at": _iso(failed),
                    "failed_by": "notify",
                },
                correlation=c.corr,
                causation=source,
            )
            return
        self.emit(
            NOTIFY,
            c.case_id,
            "notify.delivered",
            t,
            actor,
            {
                **base,
                "attempts": 1,
                "delivered_at": _iso(t),
                "provider_ref": f"{channel}-{rng.randrange(10**9):09d}",
                "delivered_by": "notify",
            },
            correlation=c.corr,
            causation=source,
        )


_DELIVERY_NS = uuid.UUID("5b1e2d0c-7a43-5d9e-9c1f-6a2b8e4d3c71")
_RANK = {"community": 0, "town": 1, "city": 2}


@dataclass
class _Case:
    case_id: str
    corr: str
    item: Any
    center: str
    tier: str
    staff: str | None
    registered: str
    channel: str
    email: bool
    accepted_at: datetime | None = None
    unit: str | None = None
    unit_tier: str | None = None
    route: tuple[str, ...] = ()
    office: str = ""
    agent: str | None = None
    assigned: str | None = None
    late: bool = False


@cache
def _route_cached(
    org_id: int, code: str, category: str, tier: str, registered: str, center: str, month: date
) -> tuple[str, str, str, tuple[str, ...], str, str]:
    org = _ORGS[org_id]
    from routing.domain.delegation import handling_tier_for

    if registered in org.units:
        base, base_kind = registered, "registered_community"
    else:
        base, base_kind = center, "accepting_center"
    choice = handling_tier_for(org, code, tier, base, month)
    unit = org.ancestor_at_tier(base, choice.tier) or base
    office = org.office_for(unit, category, code)
    assert office is not None, (unit, category)
    return unit, office.office_id, choice.rule, tuple(org.path(center, unit)), base, base_kind


_ORGS: dict[int, Any] = {}


def _route(
    org: Any, code: str, category: str, tier: str, registered: str, center: str, month: date
) -> tuple[str, str, str, tuple[str, ...], str, str]:
    """Routing's own rule (delegation, ancestor at tier, office, path); cached per month."""
    _ORGS[id(org)] = org
    return _route_cached(id(org), code, category, tier, registered, center, month)


def _due_date(cal: _Calendar, accepted_on: date, days: int) -> date:
    """contracts.workdays.due_date on a precomputed calendar."""
    return cal.add(accepted_on, days)


def _cumulative(weights: list[int]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth for small means, a rounded normal for large ones (deterministic either way)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _id_number(first17: str) -> str:
    """A resident ID number with its GB 11643 check digit."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(ch) * w for ch, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def _code(case_id: str) -> str:
    """A 6-digit resident verification code (the real one is an HMAC with intake's secret)."""
    return f"{int(hashlib.sha256(case_id.encode()).hexdigest()[8:16], 16) % 1_000_000:06d}"


def _receipt(case_id: str, accepted_on: date) -> str:
    """intake's receipt number scheme (RA + date + 6 Crockford base32 characters)."""
    digest = hashlib.sha256(case_id.encode()).digest()
    n = int.from_bytes(digest[:4], "big")
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return (
        "RA"
        + f"{accepted_on:%Y%m%d}"
        + "".join(alphabet[(n >> (5 * i)) & 31] for i in reversed(range(6)))
    )
