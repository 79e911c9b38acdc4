"""What residents, staff and administrators DO: the simulation's only free choices.

Everything here is a seeded draw about behaviour — how many people come to which center on
which day, what they ask for and hand in, whether they come back, how quickly an office
works, who is on leave, how residents rate the service. What follows from an action (a
notice, an acceptance, a receipt number, a route, an assignee, a deadline, a warning, an
escalation) is never decided here: the services' deciders decide it (`case.py`).

The numbers (per case):

    submitted at a community (mostly), a town center or the city center, by window, agent
    (代办) or online; about 22% hand in an incomplete set (a material missing, too few
    copies, a copy where the original is required) and get intake's one-time notice; 3% of
    them never come back, 2% withdraw, the rest supplement (15% in two trips); 2% withdraw
    after acceptance; 8% of promised items get a correction request (补正), 10% of which are
    never supplied; officers decide within the promise mostly (each handling center has its
    own pace: a slow one is late more often and rated worse); an officer absent when the
    decision is due is replaced by the head's reassignment (70%) or decides on return;
    the result goes back and is delivered (70% picked up, 20% electronically, 10% mailed),
    archived, and 65% are rated 1-5; a bad review is answered by the center head within 1-5
    working days. About 3.5% of the A post holders' working days are spent on leave,
    training, sick leave or a trip, recorded by an administrator beforehand (sick leave:
    that morning).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from contracts.intake import (
    CatalogItemVersion,
    MissingMaterial,
    ProvidedMaterial,
    RequiredMaterial,
)
from eventkit.envelope import Actor
from routing.domain.org_admin import RecordStaffAbsence
from routing.domain.org_model import OrgState

from . import days
from .edges import check_digit

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
SLOW_CENTERS = ("ruian.gaolou", "ruian.huling")
SURNAMES = "陈林黄王张李周吴郑金潘叶胡蔡朱池戴余杨徐应孙"
GIVEN = "建华 海燕 志强 丽娟 晓东 秀英 国平 美芳 伟军 春燕 立新 小红 成林 雪梅 文斌 慧敏".split()
STREETS = "新街 人民路 解放路 万松路 虹桥路 塘河路 罗阳大道 安阳路 瑞祥大道 隆山路".split()
REFUSE_REASONS = (
    "申请人不符合政策规定条件",
    "所附材料与实际情况不符",
    "不属于本事项受理范围",
)
NOT_SUPPLIED_REASON = "申请人逾期未补正材料"
CORRECTION_NOTES = (
    "复印件不清晰，请重新提供",
    "材料信息与申请表不一致，请核对后重新提供",
    "请提供加盖公章的材料",
    None,
)
COMMENTS_GOOD = ("办事很快,服务态度好", "一次就办好了,不用来回跑", "工作人员很耐心", None, None)
COMMENTS_BAD = ("等待时间太长", "材料要求没有一次说清楚", "窗口人员态度一般")
DIMENSIONS = ("attitude", "efficiency", "professionalism")
WITHDRAW_REASONS = ("不再需要办理", "已在其他地方办理", None)
FOLLOWUP_ANSWER = "已电话回访申请人,说明情况并致歉,已对窗口人员提醒谈话。"
REASSIGN_REASON = {
    "leave": "原承办人请假,转岗办理",
    "sick_leave": "原承办人病假,转岗办理",
    "training": "原承办人外出培训,转岗办理",
    "business_trip": "原承办人出差,转岗办理",
    "other": "原承办人外出,转岗办理",
}
ADMIN = Actor(id="admin.duty", role="admin", org_id="ruian")
"""Who records staff absences (the org stream is changed by admins only)."""


def poisson(rng: random.Random, mean: float) -> int:
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


def arrivals(rng: random.Random, org: OrgState, d: date, scale: float) -> list[tuple[str, int]]:
    """(center, number of new cases) for a day: working days at full rate, Monday a little
    busier, Saturday mornings at centers with extended hours, holidays nothing."""
    working = days.is_working(d)
    out = []
    units = org.units
    communities = sorted(u for u, x in units.items() if x.tier == "community")
    towns = sorted(u for u, x in units.items() if x.tier == "town")
    city = [u for u, x in units.items() if x.tier == "city"]
    for unit_id in communities + towns + city:
        unit = units[unit_id]
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
        out.append((unit_id, poisson(rng, base * rate * scale)))
    return out


class Items:
    """The items residents ask for, by weight."""

    def __init__(self, items: dict[str, CatalogItemVersion]) -> None:
        self.codes = [c for c in ITEM_WEIGHTS if c in items]
        total, self.cum = 0.0, []
        for c in self.codes:
            total += ITEM_WEIGHTS[c]
            self.cum.append(total)
        self.items = items

    def pick(self, rng: random.Random) -> CatalogItemVersion:
        i = bisect.bisect_right(self.cum, rng.random() * self.cum[-1])
        return self.items[self.codes[min(i, len(self.codes) - 1)]]


def paces(seed: int, units: Sequence[str]) -> dict[str, float]:
    """Every handling center has its own pace: most keep their promises easily, a few don't
    (1.0 is average; higher is slower)."""
    rng = random.Random(seed * 7 + 1)
    pace = {u: round(rng.uniform(0.55, 1.15), 3) for u in sorted(units)}
    for slow in SLOW_CENTERS:
        if slow in pace:
            pace[slow] = 1.45
    return pace


def absences(
    rng: random.Random, org: OrgState, first: date, last: date
) -> list[tuple[datetime, RecordStaffAbsence]]:
    """Leave, training, sick leave and trips of the A holders of every post, over [first,
    last], each with the moment an administrator records it: the working day before at the
    end of the afternoon, or, for sick leave, that morning before the centers open."""
    holders = sorted({p.a_holder for p in org.posts.values()})
    out: list[tuple[datetime, RecordStaffAbsence]] = []
    for staff_id in holders:
        d = first
        while d <= last:
            if not days.is_working(d) or rng.random() >= 0.015:
                d += timedelta(days=1)
                continue
            kind = rng.choices(
                ("leave", "training", "sick_leave", "business_trip"), (50, 25, 15, 10)
            )[0]
            length = rng.choice((1, 1, 2, 2, 3, 5))
            end = days.after(d, length - 1)
            if kind == "sick_leave":
                recorded = days.local(d, 7 * 60 + 45, rng.randrange(60))
            else:
                prev = d - timedelta(days=1)
                while not days.is_working(prev):
                    prev -= timedelta(days=1)
                recorded = days.local(prev, 16 * 60 + rng.randrange(75), rng.randrange(60))
            out.append(
                (
                    recorded,
                    RecordStaffAbsence(
                        actor=ADMIN,
                        absence_id=f"abs.{staff_id}.{d:%Y%m%d}",
                        staff_id=staff_id,
                        starts_at=days.local(d, 7 * 60),
                        ends_at=days.local(end, 20 * 60),
                        kind=kind,  # type: ignore[arg-type]
                        reason=None,
                    ),
                )
            )
            d = end + timedelta(days=3)
    out.sort(key=lambda a: (a[0], a[1].absence_id))
    return out


def applicant(
    rng: random.Random, org: OrgState, case_id: str, community: str, email: bool
) -> dict[str, Any]:
    """A resident registered in `community` (an ID number with its real check digit)."""
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 64))
    first17 = f"330381{born:%Y%m%d}{rng.randrange(1000):03d}"
    return {
        "name": name,
        "id_number": first17 + check_digit(first17),
        "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
        "household_no": None if rng.random() < 0.3 else f"HH{rng.randrange(10**8):08d}",
        "registered_community_id": community,
        "address": f"瑞安市{org.units[community].name_zh}{rng.choice(STREETS)}"
        f"{rng.randint(1, 300)}号",
        "email": f"r{case_id[5:13]}@example.cn" if email else None,
    }


def handed_in(rng: random.Random, item: CatalogItemVersion) -> tuple[ProvidedMaterial, ...]:
    """What the resident brings to the window. The more materials an item asks for, the
    likelier the set is incomplete (a water bill needs one paper; a second-child application
    six): a material left at home, one copy too few, a copy where the original is asked.
    Materials that may be supplied later (容缺) are brought half of the time."""
    must = [m for m in item.materials if not m.may_supply_later]
    gaps: set[str] = set()
    if must and rng.random() < min(0.35, 0.065 * len(must)):
        k = min(len(must), 1 + (rng.random() < 0.35) + (rng.random() < 0.15))
        gaps = {m.code for m in rng.sample(must, k)}
    out: list[ProvidedMaterial] = []
    for m in item.materials:
        if m.may_supply_later and rng.random() < 0.5:
            continue
        if m.code not in gaps:
            out.append(ProvidedMaterial(code=m.code, form=m.form, copies=m.copies))
            continue
        r = rng.random()
        if r < 0.15 and m.copies > 1:
            out.append(ProvidedMaterial(code=m.code, form=m.form, copies=m.copies - 1))
        elif r < 0.3 and m.form == "original":
            out.append(ProvidedMaterial(code=m.code, form="copy", copies=m.copies))
        # else: left at home
    return tuple(out)


def making_up(gaps: Sequence[MissingMaterial]) -> list[ProvidedMaterial]:
    """What closes each gap of the notice: the shortfall of copies, or the whole material
    in the form asked."""
    return [
        ProvidedMaterial(
            code=g.code,
            form=g.form,
            copies=g.copies - g.copies_provided if g.reason == "too_few_copies" else g.copies,
        )
        for g in gaps
    ]


def corrected(
    requested: Sequence[str], materials: Sequence[RequiredMaterial]
) -> tuple[ProvidedMaterial, ...]:
    """The materials a resident brings for a correction request: each one asked, as the
    catalog asks it."""
    by_code = {m.code: m for m in materials}
    return tuple(
        ProvidedMaterial(code=c, form=by_code[c].form, copies=by_code[c].copies)
        for c in requested
        if c in by_code
    )


def rating(rng: random.Random, pace: float, late: bool) -> tuple[int, dict[str, int], str | None]:
    """(score, dimensions, comment): slow centers and late cases are rated worse."""
    bad = 0.02 * pace * pace * (3 if late else 1)
    r = rng.random()
    if r < bad * 0.45:
        score = 1
    elif r < bad:
        score = 2
    elif r < bad + 0.06 * pace:
        score = 3
    elif r < bad + 0.06 * pace + 0.2:
        score = 4
    else:
        score = 5
    dims = {d: max(1, min(5, score + rng.choice((0, 0, 0, 1, -1)))) for d in DIMENSIONS}
    comment = rng.choice(COMMENTS_BAD) if score <= 2 else rng.choice(COMMENTS_GOOD)
    return score, dims, comment


def working_days_to_decide(rng: random.Random, limit: int, pace: float) -> int:
    """How many working days after acceptance the officer decides: within the promise
    mostly; a few cases (more at a slow center) run past it."""
    if rng.random() < 0.045 * pace * pace:
        return limit + rng.choice((1, 1, 2, 3, 5))
    return max(0, min(limit, round(limit * rng.betavariate(2.0, 3.2) * pace * 1.3)))
