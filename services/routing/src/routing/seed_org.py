"""Rui'an's org tree as admin commands: what `make run` seeds through routing's own decider.

The tree follows the Zhejiang Daily report: the city center 瑞安市行政审批服务中心 ("ruian");
its 5 towns (镇) and 10 streets (街道); communities and villages under them (上埠村 and the
island communities 北麂/北龙 of 东山街道, 马屿镇 马北社区, 安阳街道 育才社区 — 12 service lines
run by 6 staff and Saturday-morning hours —, 汀田街道 大典下社区 with its police room 警务室,
...). Each unit gets office hours (some extended to Saturday mornings, some staggered so the
hall stays open at noon: 延时、错时办公), service lines, offices per category at town and city
tier, staff with roles, posts with an A and a B holder (AB岗), a duty roster, and delegation
rules (审批权限上提、下授) for items of intake's seeded catalog.

Ids are deterministic slugs so tests, the demo and the other services' seeds agree:
units "ruian.<town>.<community>", offices "<unit>.<office>", staff "<unit>.<role-ish>",
posts "<office>.post". Names of people other than those in the report are invented.

Every staff member gets a work phone and e-mail (`work_contact`), so `make run` tells the
assignee of a new case, the A and B holders of a late one and the heads it is escalated to
(notify reads the contacts from `routing.staff_registered`). They are made up so that they
can never reach a real person: phones begin with 10, which no mainland mobile number does
(subscriber numbers begin 13-19), and addresses are under the reserved `.example` domain.

`seed_org_commands()` returns the commands in an order that passes `decide_org` one by one
(parents before children, offices before their staff, staff before posts and rosters).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import cycle

from contracts.base import DomainEvent
from contracts.routing import ALL_CATEGORIES, Role, RosterEntry, ServiceLine, UnitKind
from contracts.workdays import OfficeHours
from eventkit.envelope import Actor

from .domain.org_admin import (
    AssignPost,
    OrgCommand,
    RegisterOffice,
    RegisterOrgUnit,
    RegisterStaff,
    SetDelegationRule,
    SetDutyRoster,
    decide_org,
    evolve_org,
    initial_org_state,
)
from .domain.org_model import OrgState

SEED_ACTOR = Actor(id="admin.seed", role="admin", org_id="ruian")
CITY_ID = "ruian"

# -- the tree ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Community:
    slug: str
    name_zh: str
    kind: UnitKind = "社区"
    is_island: bool = False
    access_note_zh: str | None = None
    travel_minutes: int | None = None
    saturday: bool = False
    staggered: bool = False
    police_room: bool = False


@dataclass(frozen=True)
class _Town:
    slug: str
    name_zh: str
    kind: UnitKind
    communities: tuple[_Community, ...]
    saturday: bool = False
    staggered: bool = False


C = _Community
TOWNS: tuple[_Town, ...] = (
    _Town(
        "anyang",
        "安阳街道",
        "街道",
        (
            C("yucai", "育才社区", saturday=True, staggered=True, police_room=True),
            C("wansong", "万松社区"),
            C("ximen", "西门社区"),
        ),
        saturday=True,
        staggered=True,
    ),
    _Town("yuhai", "玉海街道", "街道", (C("hongqiao", "虹桥社区"), C("xishan", "西山社区"))),
    _Town("jinhu", "锦湖街道", "街道", (C("dongxin", "东新社区"), C("tanghe", "塘河社区"))),
    _Town(
        "dongshan",
        "东山街道",
        "街道",
        (
            C("shangbu", "上埠村", kind="村"),
            C(
                "beiji",
                "北麂社区",
                is_island=True,
                travel_minutes=180,
                access_note_zh="海岛社区,距东山街道约3小时船程",
            ),
            C(
                "beilong",
                "北龙社区",
                is_island=True,
                travel_minutes=150,
                access_note_zh="海岛社区,距东山街道约2.5小时船程",
            ),
        ),
        saturday=True,
    ),
    _Town("shangwang", "上望街道", "街道", (C("xueli", "薛里社区"), C("wangchuan", "望川社区"))),
    _Town("shencheng", "莘塍街道", "街道", (C("dongtian", "董田社区"), C("nanhe", "南河社区"))),
    _Town(
        "tingtian",
        "汀田街道",
        "街道",
        (
            C("dadianxia", "大典下社区", saturday=True, police_room=True),
            C("jiuli", "九里社区"),
            C("tingchuan", "汀川社区"),
        ),
    ),
    _Town("feiyun", "飞云街道", "街道", (C("yunjiang", "云江社区"), C("sunqiao", "孙桥社区"))),
    _Town("xianjiang", "仙降街道", "街道", (C("jiangxi", "江溪社区"), C("xiangchuan", "翔川社区"))),
    _Town("nanbin", "南滨街道", "街道", (C("gexiang", "阁巷社区"), C("linyang", "林垟社区"))),
    _Town(
        "mayu",
        "马屿镇",
        "镇",
        (
            C("mabei", "马北社区", saturday=True, police_room=True),
            C("huangshe", "篁社社区"),
            C("manan", "马南社区"),
        ),
    ),
    _Town("tangxia", "塘下镇", "镇", (C("hantian", "韩田社区"), C("baotian", "鲍田社区"))),
    _Town("taoshan", "陶山镇", "镇", (C("taofeng", "陶峰社区"), C("jinggu", "荆谷社区"))),
    _Town("huling", "湖岭镇", "镇", (C("huxi", "湖西社区"), C("yingqian", "营前社区"))),
    _Town("gaolou", "高楼镇", "镇", (C("ningyi", "宁益社区"), C("fengling", "枫岭社区"))),
)
del C

# where each center is (the public center page): made-up house numbers on the streets of
# each town or street, in the form residents write an address (浙江省瑞安市 is implied)
CITY_ADDRESS = "瑞安市安阳街道万松东路188号市民中心一楼"
TOWN_ADDRESSES: dict[str, str] = {
    "anyang": "瑞安市安阳街道安阳路216号",
    "yuhai": "瑞安市玉海街道解放路98号",
    "jinhu": "瑞安市锦湖街道罗阳大道1288号",
    "dongshan": "瑞安市东山街道东山路35号",
    "shangwang": "瑞安市上望街道望海路66号",
    "shencheng": "瑞安市莘塍街道莘塍大道500号",
    "tingtian": "瑞安市汀田街道汀田大道320号",
    "feiyun": "瑞安市飞云街道云江路88号",
    "xianjiang": "瑞安市仙降街道仙降大道168号",
    "nanbin": "瑞安市南滨街道阁巷大道55号",
    "mayu": "瑞安市马屿镇马屿大道101号",
    "tangxia": "瑞安市塘下镇塘下大道698号",
    "taoshan": "瑞安市陶山镇陶山大道77号",
    "huling": "瑞安市湖岭镇湖岭大道126号",
    "gaolou": "瑞安市高楼镇高楼街48号",
}
COMMUNITY_STREETS: dict[str, str] = {
    "yucai": "育才路12号",
    "wansong": "万松路306号",
    "ximen": "西门街58号",
    "hongqiao": "虹桥路21号",
    "xishan": "西山路9号",
    "dongxin": "东新路130号",
    "tanghe": "塘河北路45号",
    "shangbu": "上埠路12号",
    "beiji": "北麂岛关帝岙渔港路3号",
    "beilong": "北龙岛北龙渔港路17号",
    "xueli": "薛里路8号",
    "wangchuan": "望川路62号",
    "dongtian": "董田路18号",
    "nanhe": "南河路27号",
    "dadianxia": "大典下路20号",
    "jiuli": "九里前街5号",
    "tingchuan": "汀川路80号",
    "yunjiang": "云江路203号",
    "sunqiao": "孙桥路11号",
    "jiangxi": "江溪路36号",
    "xiangchuan": "翔川路52号",
    "gexiang": "阁巷老街19号",
    "linyang": "林垟大街73号",
    "mabei": "马北大道26号",
    "huangshe": "篁社路15号",
    "manan": "马南路40号",
    "hantian": "韩田路118号",
    "baotian": "鲍田路66号",
    "taofeng": "陶峰路7号",
    "jinggu": "荆谷路29号",
    "huxi": "湖西路33号",
    "yingqian": "营前路6号",
    "ningyi": "宁益路10号",
    "fengling": "枫岭路2号",
}


def community_address(town: _Town, c: _Community) -> str:
    """瑞安市<town><community><street>: the community center's door."""
    street = COMMUNITY_STREETS.get(c.slug, "便民服务中心")
    return f"瑞安市{town.name_zh}{c.name_zh}{street}"


# offices of a town/street center: (slug, name, categories, item codes)
TOWN_OFFICES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("jsb", "计划生育办公室", ("family_planning",), ()),
    ("mzb", "民政办", ("civil_affairs", "disabled_persons"), ()),
    ("sbs", "劳动保障所(社保所)", ("labour_social_security",), ()),
    ("nyz", "农业综合服务站", ("agriculture",), ()),
    ("ldrk", "流动人口服务管理站", ("floating_population",), ()),
    ("gtjs", "国土建设所", ("land_construction",), ()),
    ("gss", "工商所", ("industry_commerce",), ()),
    ("zhck", "综合受理窗口", ("other", ALL_CATEGORIES), ()),
)
# sections of the city center (行政审批服务中心)
CITY_OFFICES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("wjsp", "卫生计生审批科", ("family_planning",), ()),
    ("swsp", "社会事务审批科", ("civil_affairs", "disabled_persons"), ()),
    ("rssp", "人力社保审批科", ("labour_social_security",), ()),
    ("nysp", "农业审批科", ("agriculture",), ()),
    ("gasp", "公安综合窗口", ("floating_population",), ("OT-003",)),
    ("gtsp", "国土建设审批科", ("land_construction",), ()),
    ("sczr", "市场准入审批科", ("industry_commerce",), ()),
    ("zhsl", "综合受理窗口", ("other", ALL_CATEGORIES), ()),
)

# service lines of a community center: six by default, twelve at 育才 (12 lines, 6 staff)
COMMUNITY_LINES: tuple[ServiceLine, ...] = (
    ServiceLine(
        line_id="l01",
        name_zh="计划生育与流动人口",
        categories=("family_planning", "floating_population"),
    ),
    ServiceLine(
        line_id="l02", name_zh="民政与残联", categories=("civil_affairs", "disabled_persons")
    ),
    ServiceLine(line_id="l03", name_zh="劳动保障", categories=("labour_social_security",)),
    ServiceLine(
        line_id="l04", name_zh="农业综合与国土建设", categories=("agriculture", "land_construction")
    ),
    ServiceLine(line_id="l05", name_zh="工商服务", categories=("industry_commerce",)),
    ServiceLine(
        line_id="l06",
        name_zh="缴费与代办",
        categories=("other",),
        duties_zh=("自来水缴费", "全程代理"),
    ),
)
# Where two lines share a category, the specific one names its items (`item_codes`): the
# case's line is decided by `contracts.routing.line_for`.
YUCAI_LINES: tuple[ServiceLine, ...] = tuple(
    ServiceLine(
        line_id=f"l{i:02d}", name_zh=name, categories=cats, duties_zh=duties, item_codes=items
    )
    for i, (name, cats, duties, items) in enumerate(
        (
            ("计划生育服务", ("family_planning",), ("独生子女证", "二胎申请"), ()),
            ("流动人口服务", ("floating_population",), ("暂口管理", "婚育证明"), ()),
            ("民政服务", ("civil_affairs",), ("低保", "医疗救助"), ()),
            ("老年人服务", ("civil_affairs",), ("老年优待证",), ("CA-001",)),
            ("残联服务", ("disabled_persons",), ("残疾人证",), ()),
            ("社保服务", ("labour_social_security",), ("社保参保登记",), ()),
            (
                "退休人员服务",
                ("labour_social_security",),
                ("退休职工养老保险年检",),
                ("LS-002",),
            ),
            ("农业综合服务", ("agriculture",), (), ()),
            ("国土建设服务", ("land_construction",), ("农村住房改造",), ()),
            ("工商服务", ("industry_commerce",), ("个体工商户登记",), ()),
            ("自来水缴费", ("other",), ("三级自来水缴费",), ("OT-002",)),
            ("咨询与全程代理", ("other",), ("代办", "咨询"), ()),
        ),
        start=1,
    )
)

# -- people ------------------------------------------------------------------------------------
_SURNAMES = "陈林黄王张李周吴郑金潘叶胡蔡朱池戴余杨徐"
_GIVEN = (
    "建华",
    "海燕",
    "志强",
    "丽娟",
    "晓东",
    "秀英",
    "国平",
    "美芳",
    "伟军",
    "春燕",
    "立新",
    "小红",
    "成林",
    "雪梅",
    "文斌",
    "慧敏",
    "永康",
    "佩佩",
    "德明",
    "晓丽",
    "洪波",
    "素珍",
    "振宇",
    "琳琳",
    "光辉",
    "燕飞",
    "锦程",
    "月娥",
    "浩然",
    "思琪",
)
# people the report names, by seat
NAMED_STAFF: dict[str, str] = {
    "ruian.mayu.mabei.agent1": "黄美燕",  # 马北社区 community agent
    "ruian.anyang.yucai.head": "王品启",  # 育才社区 party secretary
    "ruian.anyang.yucai.staff1": "李群微",  # 育才社区 director
    "ruian.inspector1": "黄忠波",  # 市纪委行政效能监察室主任
    "ruian.inspector2": "钱世安",  # 市纪委副书记、监察局局长
}


class _Names:
    """Deterministic invented names, so every run seeds the same people."""

    def __init__(self) -> None:
        self._surnames = cycle(_SURNAMES)
        self._n = 0

    def __call__(self, staff_id: str) -> str:
        if staff_id in NAMED_STAFF:
            return NAMED_STAFF[staff_id]
        self._n += 1
        return next(self._surnames) + _GIVEN[(self._n * 7) % len(_GIVEN)]


def work_contact(serial: int, staff_id: str) -> tuple[str, str]:
    """(phone, e-mail) of the `serial`-th seeded staff member: unique, and unreachable in
    the real world (see the module's doc) so a demo's SMS file never names a real phone."""
    return f"100577{serial:05d}", f"{staff_id}@ruian.bianmin.example"


def _with_work_contacts(cmds: list[OrgCommand]) -> list[OrgCommand]:
    """`cmds` with a work contact on every `RegisterStaff` (numbered in seed order)."""
    out: list[OrgCommand] = []
    serial = 0
    for cmd in cmds:
        if isinstance(cmd, RegisterStaff) and cmd.phone is None and cmd.email is None:
            serial += 1
            phone, email = work_contact(serial, cmd.staff_id)
            cmd = cmd.model_copy(update={"phone": phone, "email": email})
        out.append(cmd)
    return out


# -- hours and rosters -------------------------------------------------------------------------
SATURDAY_MORNING = ("08:30", "11:30")
MORNING_GROUP = (("08:30", "12:00"), ("13:00", "17:30"))  # staggered: early lunch at 12:00
NOON_GROUP = (("08:30", "11:30"), ("12:00", "17:30"))  # staggered: lunch at 11:30
REGULAR_DAY = (("08:30", "12:00"), ("14:00", "17:30"))


def _hours(saturday: bool, staggered: bool) -> OfficeHours:
    return OfficeHours.standard(
        saturday_morning=SATURDAY_MORNING if saturday else None, staggered_lunch=staggered
    )


def _t(s: str) -> time:
    return time.fromisoformat(s)


def _duty(staff_id: str, spans: tuple[tuple[str, str], ...]) -> list[RosterEntry]:
    return [
        RosterEntry(staff_id=staff_id, starts=_t(a), ends=_t(b), working_days=True)
        for a, b in spans
    ]


def _roster(
    staff_ids: list[str], staggered: bool, saturday_staff: list[str]
) -> tuple[RosterEntry, ...]:
    """Weekday duty for everyone; staggered centers split staff into two lunch groups so
    the hall stays open at noon; `saturday_staff` also keep the Saturday-morning hours."""
    entries: list[RosterEntry] = []
    for i, sid in enumerate(staff_ids):
        spans = (MORNING_GROUP if i % 2 == 0 else NOON_GROUP) if staggered else REGULAR_DAY
        entries += _duty(sid, spans)
    for sid in saturday_staff:
        a, b = SATURDAY_MORNING
        entries.append(RosterEntry(staff_id=sid, starts=_t(a), ends=_t(b), weekdays=(5,)))
    return tuple(entries)


# -- commands ----------------------------------------------------------------------------------
def _center_with_offices(
    unit_id: str,
    offices: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...],
    names: _Names,
    actor: Actor,
    staggered: bool,
    saturday: bool,
) -> list[OrgCommand]:
    """A town or city center: a head, a community agent, and per office an A/B post."""
    cmds: list[OrgCommand] = []
    for slug, name, cats, items in offices:
        cmds.append(
            RegisterOffice(
                actor=actor,
                office_id=f"{unit_id}.{slug}",
                unit_id=unit_id,
                name_zh=name,
                categories=cats,
                item_codes=items,
            )
        )
    head = f"{unit_id}.head"
    cmds.append(
        RegisterStaff(
            actor=actor,
            staff_id=head,
            name_zh=names(head),
            roles=("center_head", "officer"),
            unit_id=unit_id,
        )
    )
    agent = f"{unit_id}.agent1"
    cmds.append(
        RegisterStaff(
            actor=actor,
            staff_id=agent,
            name_zh=names(agent),
            roles=("community_agent",),
            unit_id=unit_id,
        )
    )
    staff_ids = [head, agent]
    for slug, _name, _cats, _items in offices:
        for seat in ("a", "b"):
            sid = f"{unit_id}.{slug}.{seat}"
            staff_ids.append(sid)
            cmds.append(
                RegisterStaff(
                    actor=actor,
                    staff_id=sid,
                    name_zh=names(sid),
                    roles=("officer",),
                    unit_id=unit_id,
                    office_id=f"{unit_id}.{slug}",
                )
            )
    for i, (slug, name, cats, _items) in enumerate(offices, start=1):
        cmds.append(
            AssignPost(
                actor=actor,
                post_id=f"{unit_id}.{slug}.post",
                unit_id=unit_id,
                office_id=f"{unit_id}.{slug}",
                name_zh=f"{name}审批岗",
                categories=cats if cats else (ALL_CATEGORIES,),
                service_line_ids=(f"w{i:02d}",),
                a_holder=f"{unit_id}.{slug}.a",
                b_holder=f"{unit_id}.{slug}.b",
            )
        )
    # A holders take the Saturday morning at extended-hour centers; staggered centers put
    # each post's A and B holder in different lunch groups, so one of them is always in.
    saturday_staff = [f"{unit_id}.{slug}.a" for slug, *_ in offices] if saturday else []
    cmds.append(
        SetDutyRoster(
            actor=actor,
            unit_id=unit_id,
            entries=_roster(staff_ids, staggered, saturday_staff),
        )
    )
    return cmds


def _window_lines(
    offices: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...],
) -> tuple[ServiceLine, ...]:
    return tuple(
        ServiceLine(line_id=f"w{i:02d}", name_zh=name, categories=cats or ("other",))
        for i, (_slug, name, cats, _items) in enumerate(offices, start=1)
    )


def _community(
    town_id: str, c: _Community, names: _Names, actor: Actor, address_zh: str | None = None
) -> list[OrgCommand]:
    unit_id = f"{town_id}.{c.slug}"
    lines = YUCAI_LINES if c.slug == "yucai" else COMMUNITY_LINES
    cmds: list[OrgCommand] = [
        RegisterOrgUnit(
            actor=actor,
            unit_id=unit_id,
            name_zh=c.name_zh,
            tier="community",
            kind=c.kind,
            parent_id=town_id,
            is_island=c.is_island,
            access_note_zh=c.access_note_zh,
            address_zh=address_zh,
            travel_minutes_to_parent=c.travel_minutes,
            office_hours=_hours(c.saturday, c.staggered),
            service_lines=lines,
        ),
        RegisterOffice(
            actor=actor,
            office_id=f"{unit_id}.window",
            unit_id=unit_id,
            name_zh="便民服务窗口",
            categories=(ALL_CATEGORIES,),
        ),
    ]
    if c.police_room:
        cmds.append(
            RegisterOffice(
                actor=actor,
                office_id=f"{unit_id}.jws",
                unit_id=unit_id,
                name_zh="警务室",
                item_codes=("OT-001",),
            )
        )
    head = f"{unit_id}.head"
    if c.slug == "yucai":  # 12 lines run by 6 staff, the head among them
        workers = [head] + [f"{unit_id}.staff{i}" for i in range(1, 6)]
        roles: dict[str, tuple[Role, ...]] = {head: ("center_head", "officer")}
        roles |= {w: ("community_agent", "officer") for w in workers[1:]}
    else:
        workers = [head, f"{unit_id}.agent1", f"{unit_id}.agent2"]
        roles = {head: ("center_head", "officer")}
        roles |= {w: ("community_agent", "officer") for w in workers[1:]}
    for sid in workers:
        cmds.append(
            RegisterStaff(
                actor=actor,
                staff_id=sid,
                name_zh=names(sid),
                roles=roles[sid],
                unit_id=unit_id,
                office_id=f"{unit_id}.window",
            )
        )
    police = [f"{unit_id}.jws.a", f"{unit_id}.jws.b"] if c.police_room else []
    for sid in police:
        cmds.append(
            RegisterStaff(
                actor=actor,
                staff_id=sid,
                name_zh=names(sid),
                roles=("officer",),
                unit_id=unit_id,
                office_id=f"{unit_id}.jws",
            )
        )
    # posts: at 育才 six posts of two lines each, A = staff i, B = staff i+1 (round robin);
    # elsewhere the two agents share the lines half and half, each the other's B.
    if c.slug == "yucai":
        groups = [(workers[i], workers[(i + 1) % 6], lines[2 * i : 2 * i + 2]) for i in range(6)]
    else:
        a1, a2 = workers[1], workers[2]
        groups = [(a1, a2, lines[:3]), (a2, a1, lines[3:])]
    for n, (a, b, group) in enumerate(groups, start=1):
        cats = tuple(dict.fromkeys(cat for line in group for cat in line.categories))
        cmds.append(
            AssignPost(
                actor=actor,
                post_id=f"{unit_id}.window.post{n}",
                unit_id=unit_id,
                office_id=f"{unit_id}.window",
                name_zh="、".join(line.name_zh for line in group),
                categories=cats,
                service_line_ids=tuple(line.line_id for line in group),
                a_holder=a,
                b_holder=b,
            )
        )
    if police:
        cmds.append(
            AssignPost(
                actor=actor,
                post_id=f"{unit_id}.jws.post",
                unit_id=unit_id,
                office_id=f"{unit_id}.jws",
                name_zh="电动自行车防盗登记岗",
                categories=(ALL_CATEGORIES,),
                a_holder=police[0],
                b_holder=police[1],
            )
        )
    saturday_staff = workers[1:3] if c.saturday else []
    entries = (
        _yucai_roster(workers, police)
        if c.slug == "yucai"
        else _roster(workers + police, c.staggered, saturday_staff)
    )
    cmds.append(SetDutyRoster(actor=actor, unit_id=unit_id, entries=entries))
    return cmds


# 育才's Saturday morning: two of the six keep six lines open (计生, 流动人口 at one window;
# 民政, 老年人, 残联, 社保 at the other); the other lines wait for Monday.
YUCAI_SATURDAY: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, ("l01", "l02")),
    (2, ("l03", "l04", "l05", "l06")),
)


def _yucai_roster(workers: list[str], police: list[str]) -> tuple[RosterEntry, ...]:
    """育才's roster by line (12 lines, 6 staff, posts of two lines: A = worker i, B = worker
    i+1): on working days each keeps their own lines (A) in the morning and adds the lines
    they back up (B) in the afternoon, in two staggered lunch groups so the hall stays open
    at noon; on Saturday mornings `YUCAI_SATURDAY`. The police room keeps its own hours."""
    lines = [line.line_id for line in YUCAI_LINES]
    entries: list[RosterEntry] = []
    for i, sid in enumerate(workers):
        own = tuple(lines[2 * i : 2 * i + 2])
        backed = tuple(lines[2 * ((i - 1) % 6) : 2 * ((i - 1) % 6) + 2])
        morning, afternoon = MORNING_GROUP if i % 2 == 0 else NOON_GROUP
        for (a, b), served in ((morning, own), (afternoon, own + backed)):
            entries.append(
                RosterEntry(
                    staff_id=sid, starts=_t(a), ends=_t(b), working_days=True, line_ids=served
                )
            )
    a, b = SATURDAY_MORNING
    for n, served in YUCAI_SATURDAY:
        entries.append(
            RosterEntry(
                staff_id=workers[n], starts=_t(a), ends=_t(b), weekdays=(5,), line_ids=served
            )
        )
    return (*entries, *_roster(police, True, []))


DELEGATION_RULES: tuple[SetDelegationRule, ...] = (
    SetDelegationRule(
        actor=SEED_ACTOR,
        rule_id="dr-anyang-ca001-down",
        item_code="CA-001",
        area_unit_id="ruian.anyang",
        handling_tier="community",
        direction="down",
        effective_from=date(2026, 1, 1),
        basis_zh="瑞安市审批权限下授试点:安阳街道城市社区直接办理老年优待证",
    ),
    SetDelegationRule(
        actor=SEED_ACTOR,
        rule_id="dr-ruian-ls002-down",
        item_code="LS-002",
        area_unit_id="ruian",
        handling_tier="community",
        direction="down",
        effective_from=date(2026, 7, 1),
        basis_zh="退休职工养老保险年检(资格认证)下授至村(社区)便民服务中心办理",
    ),
    SetDelegationRule(
        actor=SEED_ACTOR,
        rule_id="dr-beiji-lc001-up",
        item_code="LC-001",
        area_unit_id="ruian.dongshan.beiji",
        handling_tier="city",
        direction="up",
        effective_from=date(2026, 1, 1),
        basis_zh="海岛农村住房改造涉及海岛保护规划,审批权限上提至市级",
    ),
    SetDelegationRule(
        actor=SEED_ACTOR,
        rule_id="dr-beilong-lc001-up",
        item_code="LC-001",
        area_unit_id="ruian.dongshan.beilong",
        handling_tier="city",
        direction="up",
        effective_from=date(2026, 1, 1),
        basis_zh="海岛农村住房改造涉及海岛保护规划,审批权限上提至市级",
    ),
)


def seed_org_commands(actor: Actor = SEED_ACTOR) -> list[OrgCommand]:
    """The ordered admin commands that build Rui'an's tree from an empty org stream."""
    names = _Names()
    cmds: list[OrgCommand] = [
        RegisterOrgUnit(
            actor=actor,
            unit_id=CITY_ID,
            name_zh="瑞安市行政审批服务中心",
            tier="city",
            kind="市中心",
            address_zh=CITY_ADDRESS,
            office_hours=_hours(saturday=True, staggered=True),
            service_lines=_window_lines(CITY_OFFICES),
        )
    ]
    cmds += _center_with_offices(CITY_ID, CITY_OFFICES, names, actor, staggered=True, saturday=True)
    for seat in ("ruian.inspector1", "ruian.inspector2"):
        cmds.append(
            RegisterStaff(
                actor=actor,
                staff_id=seat,
                name_zh=names(seat),
                roles=("inspector",),
                unit_id=CITY_ID,
            )
        )
    for town in TOWNS:
        town_id = f"{CITY_ID}.{town.slug}"
        cmds.append(
            RegisterOrgUnit(
                actor=actor,
                unit_id=town_id,
                name_zh=town.name_zh,
                tier="town",
                kind=town.kind,
                parent_id=CITY_ID,
                address_zh=TOWN_ADDRESSES.get(town.slug),
                office_hours=_hours(town.saturday, town.staggered),
                service_lines=_window_lines(TOWN_OFFICES),
            )
        )
        cmds += _center_with_offices(
            town_id, TOWN_OFFICES, names, actor, town.staggered, town.saturday
        )
        for community in town.communities:
            cmds += _community(town_id, community, names, actor, community_address(town, community))
    cmds += [r.model_copy(update={"actor": actor}) for r in DELEGATION_RULES]
    return _with_work_contacts(cmds)


def seed_org_state(now: datetime) -> tuple[OrgState, list[DomainEvent]]:
    """Run every seed command through `decide_org`: the resulting state and its events."""
    state = initial_org_state()
    events: list[DomainEvent] = []
    for cmd in seed_org_commands():
        for evt in decide_org(cmd, state, now):
            state = evolve_org(state, evt)
            events.append(evt)
    return state, events
