"""The access table (contracts.access, docs/ACCESS.md), every cell of it, against the four
services running in-process on the real PostgreSQL and Kafka (`stack.running_stack`).

For each (role, action, scope) cell the test sends the request that cell describes — a real
staff member of Rui'an's seeded org tree (or a resident, an inspector, an admin, nobody) on
a case that stands in the right relation to them — and checks the answer:

- refused: 403 with a reason, and nothing recorded: no event anywhere names the caller, and
  the target's stream did not move (checked against the four services' event stores);
- not signed in: 401; hidden: 404 (the status view with a wrong code); nothing recorded;
- allowed: the access check is passed (2xx, or a 4xx about the request itself: 404/409/422).

The refusals run first, on fixture cases that have settled (every service has processed
them), so "nothing changed" is not disturbed by a command the matrix itself allowed; the
allowed commands that change a case run on fresh cases of their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from contracts.access import TABLE, Action, Cell
from contracts.workdays import OfficeHours

from ...polling import eventually
from ..intake.support import ID_BEIJI, ID_MABEI, applicant, second_child
from .stack import NOW, SERVICES, Stack, Who, running_stack

pytestmark = pytest.mark.integration

CITY, MAYU, MABEI = "ruian", "ruian.mayu", "ruian.mayu.mabei"
MANAN, DONGSHAN = "ruian.mayu.manan", "ruian.dongshan"
NEW_UNIT = "ruian.mayu.fangwen"  # a center the admin registers during the matrix

PEOPLE: dict[str, Who] = {
    "resident_a": (ID_MABEI, "resident", None, None),
    "resident_b": (ID_BEIJI, "resident", None, None),
    "agent": ("ruian.mayu.mabei.agent1", "community_agent", MABEI, "community"),
    "agent_other": ("ruian.mayu.manan.agent1", "community_agent", MANAN, "community"),
    "ghost": ("ghost.of.mabei", "community_agent", MABEI, "community"),
    "agent_no_center": ("ruian.mayu.mabei.agent1", "community_agent", None, None),
    "window_officer": ("ruian.mayu.mabei.jws.a", "officer", MABEI, "community"),
    "officer": ("ruian.mayu.jsb.a", "officer", MAYU, "town"),
    "officer_b": ("ruian.mayu.jsb.b", "officer", MAYU, "town"),
    "officer_other": ("ruian.dongshan.jsb.a", "officer", DONGSHAN, "town"),
    "head_mabei": ("ruian.mayu.mabei.head", "center_head", MABEI, "community"),
    "head_mayu": ("ruian.mayu.head", "center_head", MAYU, "town"),
    "head_city": ("ruian.head", "center_head", CITY, "city"),
    "head_other": ("ruian.dongshan.head", "center_head", DONGSHAN, "town"),
    "inspector": ("ruian.inspector1", "inspector", CITY, "city"),
    "admin": ("admin.ops", "admin", CITY, "city"),
}

# who plays (role, scope) unless the action says otherwise; the fixture case A was accepted
# at 马北社区 by its agent and is handled by 马屿镇's family-planning office (计生办), A post
ANY = {
    "resident": "resident_a",
    "community_agent": "agent",
    "officer": "officer",
    "center_head": "head_mabei",
    "inspector": "inspector",
    "admin": "admin",
}
DEFAULT: dict[tuple[str, str], str] = {
    ("resident", "own_case"): "resident_a",
    ("resident", "other_resident"): "resident_b",
    ("community_agent", "own_center"): "agent",
    ("community_agent", "other_center"): "agent_other",
    ("community_agent", "with_code"): "agent_other",
    ("community_agent", "not_in_directory"): "ghost",
    ("community_agent", "no_center"): "agent_no_center",
    ("community_agent", "fee_override"): "agent",
    ("officer", "own_center"): "officer",
    ("officer", "assigned"): "officer",
    ("officer", "not_assigned"): "officer_b",
    ("officer", "other_center"): "officer_other",
    ("officer", "fee_override"): "window_officer",
    ("center_head", "below"): "head_city",
    ("center_head", "own_center"): "head_mayu",
    ("center_head", "other_center"): "head_other",
    ("center_head", "assigned"): "head_mabei",
    ("center_head", "not_assigned"): "head_mayu",
    # a situation report of 马屿镇: its own head, the city's above it, 东山's beside it
    ("center_head", "own_report"): "head_mayu",
    ("center_head", "report_below"): "head_city",
    ("center_head", "report_other"): "head_other",
}
OVERRIDE: dict[tuple[str, str, str], str] = {
    # staff accept at their own center: the officer at 马北's window
    ("intake.submit", "officer", "own_center"): "window_officer",
    ("intake.submit_joint", "officer", "own_center"): "window_officer",
    ("intake.read_joint", "officer", "own_center"): "window_officer",
    ("intake.deliver_joint", "officer", "own_center"): "window_officer",
    # a center's list, asked for by someone whose own it is not
    ("intake.list", "resident", "other_resident"): "resident_a",
    ("intake.list", "community_agent", "other_center"): "agent",
    ("intake.list", "officer", "other_center"): "officer",
    ("routing.queue", "community_agent", "other_center"): "agent",
    ("routing.queue", "officer", "other_center"): "officer",
    # a withdrawal: the accepting center's officer may; the handling office may not
    ("intake.withdraw", "officer", "own_center"): "window_officer",
    ("intake.withdraw", "officer", "other_center"): "officer",
}


@dataclass
class Req:
    service: str
    method: str
    path: str
    who: Who | None
    json: Any = None
    params: dict[str, Any] | None = None
    content: bytes | None = None
    files: Any = None  # multipart parts (a document upload)
    stream: str | None = None  # the stream this request would write to, in `service`


@dataclass
class Case:
    case_id: str
    receipt_no: str
    code: str
    submitted_event_id: str = ""


@dataclass
class World:
    st: Stack
    a: Case  # accepted at 马北, assigned to 马屿计生办's A post: reads and refusals
    d: Case  # decided, result not yet returned
    f: Case  # delivered and rated badly: a follow-up for 马北's head
    followup_id: str
    document_id: str = ""  # a scan attached to A by 马北's agent
    document_event_id: str = ""

    @property
    def intake(self) -> httpx.AsyncClient:
        return self.st.clients["intake"]

    def who(self, action: Action, cell: Cell) -> Who | None:
        if cell.role == "anonymous":
            return None
        key = OVERRIDE.get((action.id, cell.role, cell.scope)) or DEFAULT.get(
            (cell.role, cell.scope), ANY[cell.role]
        )
        return PEOPLE[key]

    async def post(self, service: str, path: str, who: str, body: Any = None) -> dict[str, Any]:
        r = await self.st.clients[service].post(
            path, json=body, headers=self.st.headers(PEOPLE[who])
        )
        assert r.status_code < 300, f"{service} {path}: {r.status_code} {r.text}"
        return r.json()  # type: ignore[no-any-return]

    async def fresh_case(self) -> Case:
        """A case accepted at 马北 by its agent, once routing has assigned it to the A post."""
        r = await self.post("intake", "/v1/applications", "agent", second_child())
        case = Case(r["case_id"], r["receipt_no"], r["verification_code"])

        async def assigned() -> bool:
            got = await self.st.clients["routing"].get(
                f"/v1/cases/{case.case_id}", headers=self.st.headers(PEOPLE["inspector"])
            )
            return (
                got.status_code == 200
                and got.json()["state"]["assigned_to"] == PEOPLE["officer"][0]
            )

        await eventually(assigned, what=f"routing to assign {case.case_id}")
        return case

    async def intake_view(self, case_id: str) -> dict[str, Any]:
        r = await self.intake.get(
            f"/v1/applications/{case_id}", headers=self.st.headers(PEOPLE["inspector"])
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


# -- the requests of each action ----------------------------------------------------------------
Builder = Callable[[World, Action, Cell, bool], Awaitable[Req]]
BUILDERS: dict[str, Builder] = {}


def builds(*ids: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        for i in ids:
            BUILDERS[i] = fn
        return fn

    return register


def _req(w: World, a: Action, c: Cell, path: str | None = None, **kw: Any) -> Req:
    return Req(a.service, a.method, path or a.path, w.who(a, c), **kw)


@builds(
    "intake.catalog",
    "intake.centers",
    "routing.followups",
    "routing.unrouted",
    "audit.checkpoint",
    "audit.checkpoints",
    "audit.public_key",
    "audit.witness_keys",
    "audit.keys",
    "routing.holiday_schedules",
    "audit.anomalies",
    "audit.anomaly_rules",
    "audit.board_catalog",
    "audit.board_centers",
    "audit.board_tiers",
    "audit.board_lines",
)
async def _plain(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c)


@builds("intake.center")
async def _center(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, "/v1/centers/ruian.mayu.mabei")


@builds("intake.catalog_item")
async def _catalog_item(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, "/v1/catalog/FP-002")


@builds("intake.catalog_publish")
async def _catalog_publish(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, json={})  # the admin's empty draft is refused for what it lacks (422)


@builds("intake.catalog_bundle_publish")
async def _bundle_publish(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, json={})  # the admin's empty bundle is refused for what it lacks (422)


@builds("intake.catalog_retire")
async def _catalog_retire(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    body = {"retired_from": "2027-01-01", "reason": "自来水缴费改由水务公司办理"}
    return _req(w, a, c, "/v1/catalog/items/OT-002/retire", json=body)


@builds("intake.submit")
async def _submit(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    body = second_child(applicant=applicant(id_number=ID_MABEI))
    if c.scope in ("other_center", "no_center"):  # an agent of 马南, or of nowhere, at 马北
        body["accepting_center_id"] = MABEI
    if c.scope == "fee_override":
        body |= {"deposit_paid_fen": 100_000, "fee_override": {"reason": "低保家庭,押金减收"}}
    return _req(w, a, c, json=body)


@builds("intake.submit_joint")
async def _submit_joint(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    body = {"bundle_code": "LB-001", "applicant": applicant(id_number=ID_MABEI)}
    return _req(w, a, c, json=body)


@builds("intake.read_joint", "intake.deliver_joint")
async def _joint_case(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    """A joint case handed in at 马北 by its agent for resident A (the one notice): read, or
    its result handed over (allowed ones find no result yet: 409)."""
    body = {"bundle_code": "LB-001", "applicant": applicant(id_number=ID_MABEI)}
    made = await w.post("intake", "/v1/joint-applications", "agent", body)
    path = a.path.replace("{joint_case_id}", made["joint_case_id"])
    if a.method == "GET":
        return _req(w, a, c, path)
    return _req(w, a, c, path, json={"method": "picked_up"}, stream=made["joint_case_id"])


@builds("intake.supplement_joint")
async def _supplement_joint(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    """On a joint case no one handed in: allowed ones pass the access check and find none
    (404)."""
    path = f"/v1/joint-applications/joint-{'0' * 32}/materials"
    body = {"shared_supplied": [{"code": "ID_CARD", "form": "copy", "copies": 2}]}
    return _req(w, a, c, path, json=body)


@builds("intake.list")
async def _list(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    params: dict[str, Any] = {"limit": 5}
    if (c.role, c.scope) == ("resident", "other_resident"):
        params["center_id"] = MABEI
    elif c.scope == "other_center" and c.role in ("community_agent", "officer"):
        params["center_id"] = DONGSHAN
    elif c.role == "center_head":
        params["center_id"] = MABEI
    return _req(w, a, c, params=params)


def _case_path(a: Action, case: Case) -> str:
    return a.path.replace("{case_id}", case.case_id)


@builds("intake.erase")
async def _erase(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    # a subject intake never held: the admin passes the access check and gets 404, so the
    # world's cases keep their applicants for the other cells
    body = {"subject_id": "subj-" + "0" * 32, "legal_basis": "PIPL art. 47"}
    return _req(w, a, c, json=body)


@builds("intake.personal_data_reads")
async def _reads(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, params={"case_id": w.a.case_id})


@builds("intake.legal_hold")
async def _hold(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, _case_path(a, w.a), json={"reason": "inspection 2026-17"})


@builds("intake.legal_hold_release")
async def _release(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, _case_path(a, w.a), params={"reason": "inspection closed"})


@builds("intake.read", "routing.case")
async def _read_case(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, _case_path(a, w.a))


INTAKE_BODIES: dict[str, Any] = {
    "intake.supplement": {"materials": [{"code": "CHILD_BIRTH_CERT", "form": "copy"}]},
    "intake.correction": {"materials": [{"code": "MARRIAGE_CERT", "form": "copy"}], "note": "补"},
    "intake.deliver": {"method": "picked_up"},
    "intake.archive": {"archive_no": "MB-2026-0001"},
    "intake.evaluate": {"score": 5},
}


@builds(*INTAKE_BODIES)
async def _intake_case_command(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    """On case A; allowed ones find it in the wrong status (409) — the access check passed."""
    return _req(w, a, c, _case_path(a, w.a), json=INTAKE_BODIES[a.id], stream=w.a.case_id)


@builds("intake.withdraw")
async def _withdraw(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    case = await w.fresh_case() if allowed else w.a
    body = {"reason": "已在别处办理"}
    if c.scope == "with_code":
        body["verification_code"] = case.code
    return _req(w, a, c, _case_path(a, case), json=body, stream=case.case_id)


@builds("intake.status")
async def _status(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    code = w.a.code if c.scope == "right_code" else f"{(int(w.a.code) + 1) % 1_000_000:06d}"
    return _req(w, a, c, params={"receipt_no": w.a.receipt_no, "code": code})


@builds("routing.queue")
async def _queue(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    params: dict[str, Any] = {"limit": 5}
    if c.scope == "other_center" and c.role in ("community_agent", "officer"):
        params["unit_id"] = DONGSHAN
    elif c.role == "center_head":
        params["unit_id"] = MAYU
    return _req(w, a, c, params=params)


ROUTING_BODIES: dict[str, Any] = {
    "routing.decide": {"decision": "approve"},
    "routing.correction_request": {"requested_materials": ["MARRIAGE_CERT"], "note": "复印件不清"},
}


@builds(*ROUTING_BODIES)
async def _officer_command(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    case = await w.fresh_case() if allowed else w.a
    return _req(w, a, c, _case_path(a, case), json=ROUTING_BODIES[a.id], stream=case.case_id)


_reassigned: list[Case] = []


@builds("routing.reassign")
async def _reassign(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    if allowed and not _reassigned:
        _reassigned.append(await w.fresh_case())
    case = _reassigned[0] if allowed else w.a
    # each allowed reassignment hands the case to the other holder of the post
    to = (
        "ruian.mayu.jsb.a" if c.role == "center_head" and c.scope == "below" else "ruian.mayu.jsb.b"
    )
    body = {"to_officer": to, "reason": "A岗外出培训,改由B岗办理"}
    return _req(w, a, c, _case_path(a, case), json=body, stream=case.case_id)


@builds("routing.result_return")
async def _result_return(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, _case_path(a, w.d), json={}, stream=w.d.case_id)


@builds("routing.followup_answer")
async def _answer(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    path = a.path.replace("{followup_id}", w.followup_id)
    return _req(
        w, a, c, path, json={"answer": "已电话回访申请人,说明情况并致歉"}, stream=w.f.case_id
    )


HOURS = OfficeHours.standard().model_dump(mode="json")
ORG_REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "routing.org_units": (
        "/v1/org/units",
        {
            "unit_id": NEW_UNIT,
            "name_zh": "访问测试社区便民服务中心",
            "tier": "community",
            "kind": "社区",
            "parent_id": MAYU,
            "office_hours": HOURS,
        },
    ),
    "routing.org_reparent": (
        f"/v1/org/units/{NEW_UNIT}/reparent",
        {"new_parent_id": DONGSHAN, "reason": "行政区划调整"},
    ),
    "routing.org_hours": (f"/v1/org/units/{NEW_UNIT}/office-hours", {"office_hours": HOURS}),
    "routing.org_lines": (
        f"/v1/org/units/{NEW_UNIT}/service-lines",
        {"service_lines": [{"line_id": "w01", "name_zh": "综合窗口", "categories": ["*"]}]},
    ),
    "routing.org_offices": (
        "/v1/org/offices",
        {
            "office_id": f"{NEW_UNIT}.window",
            "unit_id": NEW_UNIT,
            "name_zh": "综合窗口",
            "categories": ["*"],
        },
    ),
    "routing.org_staff": (
        "/v1/org/staff",
        {
            "staff_id": f"{NEW_UNIT}.agent1",
            "name_zh": "访问测试员",
            "roles": ["community_agent"],
            "unit_id": NEW_UNIT,
            "office_id": f"{NEW_UNIT}.window",
        },
    ),
    "routing.org_posts": (
        "/v1/org/posts",
        {
            "post_id": f"{NEW_UNIT}.post",
            "unit_id": NEW_UNIT,
            "office_id": f"{NEW_UNIT}.window",
            "name_zh": "综合受理岗",
            "categories": ["*"],
            "a_holder": f"{NEW_UNIT}.agent1",
            "b_holder": f"{NEW_UNIT}.agent1",
        },
    ),
    "routing.org_roster": (
        "/v1/org/roster",
        {
            "unit_id": NEW_UNIT,
            "entries": [
                {
                    "staff_id": f"{NEW_UNIT}.agent1",
                    "starts": "08:30",
                    "ends": "17:30",
                    "working_days": True,
                }
            ],
        },
    ),
    "routing.org_absences": (
        "/v1/org/absences",
        {
            "absence_id": "fangwen-leave-1",
            "staff_id": f"{NEW_UNIT}.agent1",
            "starts_at": "2026-10-12T08:30:00+08:00",
            "ends_at": "2026-10-13T17:30:00+08:00",
            "kind": "leave",
        },
    ),
    "routing.org_absence_cancel": ("/v1/org/absences/fangwen-leave-1/cancel", {"reason": "销假"}),
    "routing.holiday_schedule_publish": (
        "/v1/org/holiday-schedules",
        {
            "year": 2031,
            "notice_no": "访问测试〔2030〕1号 (made up for this test)",
            "holidays": ["2031-01-01"],
            "makeup_workdays": [],
        },
    ),
    "routing.org_delegations": (
        "/v1/org/delegations",
        {
            "rule_id": "fangwen-ot002",
            "item_code": "OT-002",
            "area_unit_id": NEW_UNIT,
            "handling_tier": "town",
            "direction": "up",
            "effective_from": "2026-10-01",
            "basis_zh": "访问测试",
        },
    ),
}


@builds(*ORG_REQUESTS)
async def _org(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    path, body = ORG_REQUESTS[a.id]
    return _req(w, a, c, path, json=body, stream="org-ruian")


@builds("routing.org_tree", "routing.staff_directory")
async def _tree(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, params={"unit_id": MABEI})


@builds("routing.drill")
async def _drill(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, params={"now": NOW.isoformat()})


@builds("routing.unrouted_retry")
async def _retry(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, _case_path(a, w.a), stream=w.a.case_id)


@builds("notify.deliveries")
async def _deliveries(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, params={"case_id": w.a.case_id})


AUDIT_PARAMS: dict[str, dict[str, Any]] = {
    "audit.proof_inclusion": {"index": 0},
    "audit.proof_consistency": {"first": 1},
    "audit.export": {"end": 3},
    "audit.integrity": {"mode": "sample", "k": 3},
    "audit.cosignatures": {"size": 1},
    "audit.published": {"after": -1},
    "audit.log_halts": {"all": "true"},
    "audit.inspect_events": {"limit": 3},
    "audit.inspect_export": {"limit": 3},
}


@builds(*AUDIT_PARAMS)
async def _audit_query(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, params=AUDIT_PARAMS[a.id])


@builds("audit.leaf")
async def _leaf(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, "/v1/log/leaves/0")


@builds("audit.event_leaf", "audit.erase")
async def _event(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, a.path.replace("{event_id}", w.a.submitted_event_id))


@builds("audit.inspect_case")
async def _inspect_case(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, _case_path(a, w.a))


@builds("audit.cosign")
async def _cosign(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, content=b"not a signed note\n")


@builds("audit.published_note")
async def _published_note(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, "/v1/log/published/1")


@builds("audit.log_halt_decision")
async def _halt_decision(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    # no halt 1 exists: an admin gets past the access check to a 404
    return _req(w, a, c, "/v1/admin/log/halts/1/decision", json={"reason": "access test"})


@builds("audit.staff_identity", "intake.staff_identity")
async def _identity(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    path = a.path.replace("{staff_id}", PEOPLE["officer"][0])
    return _req(w, a, c, path, json={"household_no": "330381-MY-0007"})


SCAN = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@builds("intake.documents_attach")
async def _attach(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    """On case A; allowed ones send a text file, refused for its type (415) after the access
    check passed: nothing is attached to the fixture case."""
    return _req(
        w,
        a,
        c,
        _case_path(a, w.a),
        params={"material_code": "ID_CARD"},
        files=[("file", ("身份证.txt", b"not a scan", "application/pdf"))],
        stream=w.a.case_id,
    )


@builds("intake.documents")
async def _documents(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, _case_path(a, w.a))


@builds("intake.document")
async def _document(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    return _req(w, a, c, _case_path(a, w.a).replace("{document_id}", w.document_id))


SITREP = "sitrep:ruian.mayu:weekly:2026-10-05"  # none is generated here: allowed reads get 404


async def _audit_knows_mayu(w: World) -> None:
    """Whose report it is comes from the org tree in the audit's log: wait until it is there."""

    async def logged() -> bool:
        n = await w.st.fetchval(
            "audit",
            """SELECT count(*) FROM leaves WHERE event_type = 'routing.org_unit_registered'
               AND convert_from(leaf, 'UTF8') LIKE '%"unit_id":"ruian.mayu"%'""",
        )
        return bool(n)

    await eventually(logged, what="马屿镇 registered in the audit's log")


@builds("audit.board_staff")
async def _board_staff(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    """马屿镇's staff figures: its head, the city's head above it; 东山's head beside it."""
    await _audit_knows_mayu(w)
    return _req(w, a, c, a.path.replace("{center_id}", MAYU))


@builds("audit.sitreports", "audit.sitreport", "audit.sitreport_document", "audit.sitreport_submit")
async def _sitreport(w: World, a: Action, c: Cell, allowed: bool) -> Req:
    await _audit_knows_mayu(w)
    if a.id == "audit.sitreports":
        return _req(w, a, c, params={"unit_id": MAYU})
    path = a.path.replace("{report_id}", SITREP).replace("{name}", "report.html")
    if a.id == "audit.sitreport_submit":
        return _req(w, a, c, path, json={"comment": "访问测试"}, stream=SITREP)
    return _req(w, a, c, path)


# -- the fixture cases ------------------------------------------------------------------------
async def build_world(st: Stack) -> World:
    w = World(st, Case("", "", ""), Case("", "", ""), Case("", "", ""), "")
    w.a = await w.fresh_case()
    w.a.submitted_event_id = str(
        orjson.loads(
            await st.fetchval(
                "intake",
                "SELECT envelope FROM events WHERE stream_id = $1 AND stream_version = 1",
                w.a.case_id,
            )
        )["event_id"]
    )
    r = await st.clients["intake"].post(
        f"/v1/applications/{w.a.case_id}/documents",
        params={"material_code": "ID_CARD"},
        files=[("file", ("id-card.pdf", SCAN, "application/pdf"))],
        headers=st.headers(PEOPLE["agent"]),
    )
    assert r.status_code == 201, r.text
    w.document_id = r.json()["documents"][0]["document_id"]
    w.document_event_id = r.json()["documents"][0]["event_id"]
    w.d = await w.fresh_case()
    await w.post("routing", f"/v1/cases/{w.d.case_id}/decision", "officer", {"decision": "approve"})
    w.f = await w.fresh_case()
    await w.post("routing", f"/v1/cases/{w.f.case_id}/decision", "officer", {"decision": "approve"})
    await w.post("routing", f"/v1/cases/{w.f.case_id}/result-return", "officer", {})

    async def result_ready() -> bool:
        return bool((await w.intake_view(w.f.case_id))["result_ready"])

    await eventually(result_ready, what="the result of F back at 马北")
    await w.post(
        "intake", f"/v1/applications/{w.f.case_id}/delivery", "agent", {"method": "picked_up"}
    )
    await w.post("intake", f"/v1/applications/{w.f.case_id}/evaluation", "resident_a", {"score": 1})

    async def followup() -> str | None:
        r = await st.clients["routing"].get(
            "/v1/followups", headers=st.headers(PEOPLE["inspector"])
        )
        mine = [f["followup_id"] for f in r.json() if f["case_id"] == w.f.case_id]
        return mine[0] if mine else None

    w.followup_id = await eventually(followup, what="the follow-up of F's bad review")

    # settled: every service has what it will ever get of the fixture cases
    async def settled() -> bool:
        a = await w.intake_view(w.a.case_id)
        d = await w.intake_view(w.d.case_id)
        delivered = await st.clients["notify"].get(
            "/v1/deliveries", params={"case_id": w.a.case_id}, headers=st.headers(PEOPLE["admin"])
        )
        leaf = await st.clients["audit"].get(
            f"/v1/log/events/{w.a.submitted_event_id}", headers=st.headers(PEOPLE["admin"])
        )
        scan = await st.clients["audit"].get(
            f"/v1/log/events/{w.document_event_id}", headers=st.headers(PEOPLE["admin"])
        )
        return (
            (a["progress"] or {}).get("assigned_to") == PEOPLE["officer"][0]
            and d["application"]["decision"] == "approve"
            and delivered.status_code == 200
            and leaf.status_code == 200
            and scan.status_code == 200
        )

    await eventually(settled, what="the fixture cases in every service")
    return w


@pytest.fixture(scope="module")
async def world(infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    async with running_stack(infra, Path(tmp_path_factory.mktemp("access"))) as st:
        yield await build_world(st)


# -- running a cell ---------------------------------------------------------------------------
async def positions(st: Stack) -> dict[str, int]:
    return {
        s: int(await st.fetchval(s, "SELECT coalesce(max(global_position), 0) FROM events"))
        for s in SERVICES
    }


async def footprint(st: Stack, since: dict[str, int], req: Req) -> int:
    """Events written since `since` that name the caller as actor (anywhere), or that went
    to the stream the request targets (in its service)."""
    sub = req.who[0] if req.who else None
    total = 0
    for s in SERVICES:
        total += int(
            await st.fetchval(
                s,
                """SELECT count(*) FROM events WHERE global_position > $1 AND (
                       convert_from(envelope, 'UTF8')::jsonb -> 'actor' ->> 'id' = $2
                       OR (stream_id = $3 AND $4))""",
                since[s],
                sub,
                req.stream,
                s == req.service,
            )
        )
    return total


async def send(st: Stack, req: Req) -> httpx.Response:
    return await st.clients[req.service].request(
        req.method,
        req.path,
        headers=st.headers(req.who),
        json=req.json if req.content is None and req.files is None else None,
        content=req.content,
        files=req.files,
        params=req.params,
    )


def _reason(r: httpx.Response) -> str:
    try:
        detail = r.json().get("detail")
    except ValueError:
        return ""
    return str(detail.get("reason", "")) if isinstance(detail, dict) else ""


EXPECTED_STATUS = {"refuse": 403, "sign_in": 401, "hidden": 404}


async def check_cell(
    w: World, action: Action, cell: Cell, notes: list[str]
) -> tuple[str | None, int]:
    """Run one cell: (what went wrong or None, the status answered)."""
    allowed = cell.outcome == "allow"
    req = await BUILDERS[action.id](w, action, cell, allowed)
    label = f"{action.id} {cell.role}/{cell.scope} ({cell.outcome})"
    if allowed:
        r = await send(w.st, req)
        if r.status_code in (401, 403) or r.status_code >= 500:
            return f"{label}: {r.status_code} {r.text[:300]}", r.status_code
        if r.status_code >= 300:
            notes.append(f"  {label}: {r.status_code} {_reason(r)[:120]}")
        return None, r.status_code
    since = await positions(w.st)
    r = await send(w.st, req)
    wanted = EXPECTED_STATUS[cell.outcome]
    if r.status_code != wanted:
        return f"{label}: {r.status_code} (wanted {wanted}) {r.text[:300]}", r.status_code
    if cell.outcome == "refuse" and not _reason(r):
        return f"{label}: 403 without a reason: {r.text[:300]}", r.status_code
    left = await footprint(w.st, since, req)
    if left:
        return f"{label}: refused, yet {left} event(s) were recorded", r.status_code
    return None, r.status_code


@pytest.mark.timeout(900)
async def test_every_cell_of_the_access_table(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = sorted({a.id for a in TABLE} - set(BUILDERS))
    assert missing == [], f"no request is built for {missing}"
    cells = [(a, c) for a in TABLE for c in a.cells]
    refusals = [(a, c) for a, c in cells if c.outcome != "allow"]
    allowed = [(a, c) for a, c in cells if c.outcome == "allow"]
    problems: list[str] = []
    notes: list[str] = []
    statuses: Counter[tuple[str, int]] = Counter()
    for a, c in refusals + allowed:  # every refusal before anything the matrix allows
        problem, status = await check_cell(world, a, c, notes)
        statuses[(c.outcome, status)] += 1
        if problem:
            problems.append(problem)
    ok_2xx = sum(n for (o, s), n in statuses.items() if o == "allow" and s < 300)
    summary = (
        f"access matrix: {len(cells)} (role, action, scope) cells of {len(TABLE)} operations "
        f"checked against intake, routing, notify and audit: "
        f"{sum(n for (o, _), n in statuses.items() if o == 'refuse')} refused (403), "
        f"{sum(n for (o, _), n in statuses.items() if o == 'sign_in')} not signed in (401), "
        f"{sum(n for (o, _), n in statuses.items() if o == 'hidden')} hidden (404), "
        f"{len(allowed)} allowed ({ok_2xx} answered 2xx, the others a 4xx about the request: "
        + ", ".join(
            f"{s}x{n}" for (o, s), n in sorted(statuses.items()) if o == "allow" and s >= 300
        )
        + f"); {len(problems)} problem(s)"
    )
    with capsys.disabled():
        print(f"\n{summary}\nallowed, and answered about the request itself:")
        print("\n".join(notes))
    assert problems == [], "\n".join(problems)


def test_the_matrix_covers_the_table_only() -> None:
    """Every action has its request builder and nothing else is built (a renamed action
    cannot silently drop out of the matrix)."""
    assert set(BUILDERS) == {a.id for a in TABLE}
