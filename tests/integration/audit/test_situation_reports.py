"""Issue 17 part 2: a month of situation reports generated up the tiers by the audit's
scheduler, driven by an injected clock, from a simulated October on real Kafka and PostgreSQL.

Weekly reports for every closed Monday-to-Sunday week and the October report, for every
community, town and the city; a head sends one up with a comment in time; the reports still
pending at their deadline are flagged late (an event each), the sent one is not. A joint
case (联办) accepted at 育才 in the first week, its members decided at 育才 and at 安阳,
counts once in the figures of 育才 and of every unit above it, and nowhere else.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from analytics.kafka_io import produce
from bianmin_tools.simulate import GeneratorConfig, generate
from contracts.joint import member_case_id

from .support import (
    envelope,
    make_keys,
    producer,
    publish,
    running_audit,
    settings_for,
    wait_for,
    wait_size,
)

pytestmark = pytest.mark.integration

LOCAL = ZoneInfo("Asia/Shanghai")
OCTOBER = GeneratorConfig(start=date(2026, 10, 1), end=date(2026, 10, 31), scale=0.02, seed=17)


COMMENT = "国庆后首周，办件量回升。"
TOWNS = ("ruian.anyang", "ruian.yuhai")


def _in_deployment(unit_id: str) -> bool:
    return unit_id == "ruian" or any(unit_id == t or unit_id.startswith(t + ".") for t in TOWNS)


def _as(keys, role: str, sub: str, org: str, tier: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {keys.token(role, sub, org, tier)}"}


class Frozen:
    """The audit's clock: still until the test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def test_a_month_of_situation_reports_goes_up_the_tiers(infra, pg_schema, topics) -> None:
    history = generate(OCTOBER)
    # the deployment: the city and two of its towns with their communities (the other units'
    # registrations left out keeps a month of reports, with their charts, quick to draw)
    history.events = [
        e
        for e in history.events
        if e.event_type != "routing.org_unit_registered"
        or _in_deployment(e.envelope["payload"]["unit_id"])
    ]
    names = await topics("intake", "routing", "notify")
    mapping = dict(zip(("intake", "routing", "notify"), names, strict=True))
    keys = make_keys()
    clock = Frozen(datetime(2026, 10, 1, 8, 0, tzinfo=LOCAL))
    settings = settings_for(
        infra,
        pg_schema.schema,
        names,
        keys,
        sitreport_enabled=True,
        sitreport_start=date(2026, 10, 1),
        sitreport_submit_days=2,
        sitreport_interval_seconds=0.2,
        sitreport_charts=True,
    )
    await produce(infra.bootstrap, history.kafka_records(mapping))
    intake_joint, routing_joint = _joint_case()
    async with producer(infra.bootstrap) as p:
        await publish(p, mapping["intake"], intake_joint)
        await publish(p, mapping["routing"], routing_joint)
    total = len(history.events) + len(intake_joint) + len(routing_joint)
    async with running_audit(settings, keys, clock=clock) as (app, client):
        conn = await pg_schema.connect()
        try:
            await wait_size(conn, total, timeout=120)
            n_units = len(
                {
                    e.envelope["payload"]["unit_id"]
                    for e in history.events
                    if e.event_type == "routing.org_unit_registered"
                    and e.envelope["payload"]["tier"] in ("community", "town", "city")
                }
            )
            assert n_units == 8  # the city, 安阳 and 玉海, and their five communities

            async def reports(period: str, first: date) -> list:
                return await conn.fetch(
                    """SELECT * FROM situation_reports WHERE period = $1 AND first_day = $2""",
                    period,
                    first,
                )

            # nothing before a week has closed
            scheduler = app.state.sitreport_scheduler
            rounds = scheduler.rounds_done
            await wait_for(lambda: scheduler.rounds_done > rounds + 1, what="two quiet rounds")
            assert await conn.fetchval("SELECT count(*) FROM situation_reports") == 0

            # Monday 12 Oct: the week of 5-11 Oct, every unit
            clock.at = datetime(2026, 10, 12, 0, 30, tzinfo=LOCAL)
            week1 = await wait_for(
                lambda: _all(reports("weekly", date(2026, 10, 5)), n_units),
                timeout=240,
                what="the first week's reports",
            )
            by_unit = {r["unit_id"]: r for r in week1}
            city = by_unit["ruian"]
            town = by_unit["ruian.anyang"]
            yucai = by_unit["ruian.anyang.yucai"]
            assert (yucai["goes_to"], town["goes_to"], city["goes_to"]) == (
                "ruian.anyang",
                "ruian",
                None,
            )
            assert "sitrep:ruian.anyang.yucai:weekly:2026-10-05" in town["rolls_up"]
            assert "sitrep:ruian.anyang:weekly:2026-10-05" in city["rolls_up"]
            fig = {r["unit_id"]: orjson.loads(r["figures"]) for r in week1}
            # the city's figures are its whole subtree's: at least each town's received
            towns = [u for u, r in by_unit.items() if r["unit_tier"] == "town"]
            assert fig["ruian"]["received"] >= max(fig[t]["received"] for t in towns) > 0
            # the joint case: once at 育才 and in each unit above it, nowhere else
            joint = {
                u: (f["joint_received"], f["joint_completed"], f["joint_on_time"])
                for u, f in fig.items()
            }
            for unit in (JOINT_CENTER, "ruian.anyang", "ruian"):
                assert joint.pop(unit) == (1, 1, 1), unit
            assert set(joint.values()) == {(0, 0, 0)}
            yucai_html = await conn.fetchval(
                "SELECT body FROM situation_report_files WHERE report_id = $1 AND name = $2",
                by_unit[JOINT_CENTER]["report_id"],
                "report.html",
            )
            assert "联办件" in yucai_html.decode()
            # the document, its hash in the event, its charts
            html = await conn.fetchval(
                "SELECT body FROM situation_report_files WHERE report_id = $1 AND name = $2",
                city["report_id"],
                "report.html",
            )
            assert hashlib.sha256(html).hexdigest() == city["document_sha256"]
            assert "charts/trend.png" in html.decode()
            charts = await conn.fetchval(
                "SELECT count(*) FROM situation_report_files WHERE report_id = $1 "
                "AND content_type = 'image/png'",
                city["report_id"],
            )
            assert charts == 4

            # the head of 育才 comments and sends theirs up, in time, over HTTP
            clock.at = datetime(2026, 10, 12, 9, 0, tzinfo=LOCAL)
            rid = yucai["report_id"]
            head = _as(keys, "center_head", "yucai-head", "ruian.anyang.yucai", "community")
            r = await client.post(
                f"/v1/sitreports/{rid}/submit", json={"comment": COMMENT}, headers=head
            )
            assert r.status_code == 200, r.text
            assert r.json() == {"report_id": rid, "status": "submitted", "late": False}
            again = await client.post(f"/v1/sitreports/{rid}/submit", json={}, headers=head)
            assert again.status_code == 409
            # the town's head reads it, with its document and charts; the next town's may not
            town_head = _as(keys, "center_head", "anyang-head", "ruian.anyang", "town")
            listed = await client.get(
                "/v1/sitreports",
                params={"unit_id": "ruian.anyang", "period": "weekly"},
                headers=town_head,
            )
            assert listed.status_code == 200
            got = {x["report_id"]: x for x in listed.json()["reports"]}
            assert got[rid]["status"] == "submitted" and got[rid]["comment"] == COMMENT
            assert town["report_id"] in got  # the town's own, beside its communities'
            doc = await client.get(f"/v1/sitreports/{rid}/document/report.html", headers=town_head)
            assert doc.status_code == 200 and doc.headers["content-type"].startswith("text/html")
            assert hashlib.sha256(doc.content).hexdigest() == got[rid]["document_sha256"]
            png = await client.get(
                f"/v1/sitreports/{rid}/document/charts/trend.png", headers=town_head
            )
            assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
            beside = _as(keys, "center_head", "yuhai-head", "ruian.yuhai", "town")
            refused = await client.get(f"/v1/sitreports/{rid}", headers=beside)
            assert refused.status_code == 403 and "reason" in refused.json()["detail"]
            city_head = _as(keys, "center_head", "city-head", "ruian", "city")
            assert (await client.get(f"/v1/sitreports/{rid}", headers=city_head)).status_code == 200
            # the town's head reads its communities' reports but does not send them up
            r = await client.post(f"/v1/sitreports/{rid}/submit", json={}, headers=town_head)
            assert r.status_code == 403

            # the rest of the month, Monday by Monday, then 2 November: the October report
            for monday in (date(2026, 10, 19), date(2026, 10, 26), date(2026, 11, 2)):
                clock.at = datetime.combine(monday, datetime.min.time(), LOCAL) + timedelta(
                    minutes=30
                )
                await wait_for(
                    lambda m=monday: _all(reports("weekly", m - timedelta(days=7)), n_units),
                    timeout=240,
                    what=f"the reports of the week before {monday}",
                )
            await wait_for(
                lambda: _all(reports("monthly", date(2026, 10, 1)), n_units),
                timeout=240,
                what="the October reports",
            )
            count = await conn.fetchval("SELECT count(*) FROM situation_reports")
            assert count == 5 * n_units  # four weeks and the month, each unit once

            # deadlines passed: every pending report was flagged late once, the sent one not
            async def flagged() -> bool:
                return not await conn.fetchval(
                    "SELECT count(*) FROM situation_reports WHERE status = 'pending' "
                    "AND NOT late AND deadline <= $1",
                    clock.at,
                )

            await wait_for(flagged, what="the late reports flagged")
            late_events = await conn.fetchval(
                "SELECT count(*) FROM events WHERE event_type = 'audit.situation_report_late'"
            )
            late_rows = await conn.fetchval("SELECT count(*) FROM situation_reports WHERE late")
            assert late_events == late_rows > 0
            sent = await conn.fetchrow(
                "SELECT status, late, comment FROM situation_reports WHERE report_id = $1",
                yucai["report_id"],
            )
            assert tuple(sent) == ("submitted", False, COMMENT)
            # a report sent up after its deadline is accepted, marked late
            ximen = f"sitrep:ruian.anyang.ximen:weekly:{date(2026, 10, 5).isoformat()}"
            ximen_head = _as(keys, "center_head", "ximen-head", "ruian.anyang.ximen", "community")
            r = await client.post(
                f"/v1/sitreports/{ximen}/submit", json={"comment": "迟报"}, headers=ximen_head
            )
            assert r.status_code == 200 and r.json()["late"] is True
            insp = _as(keys, "inspector", "insp-1", "ruian", "city")
            r = await client.get(f"/v1/sitreports/{ximen}", headers=insp)
            assert (r.json()["status"], r.json()["late"]) == ("submitted", True)
            generated = await conn.fetchval(
                "SELECT count(*) FROM events WHERE event_type = 'audit.situation_report_generated'"
            )
            assert generated == count
        finally:
            await conn.close()


async def _all(rows_coro, n: int):  # type: ignore[no-untyped-def]
    rows = await rows_coro
    return rows if len(rows) == n else None


JOINT_CENTER = "ruian.anyang.yucai"
JOINT_MEMBERS = (("FP-003", "community", JOINT_CENTER), ("OT-004", "town", "ruian.anyang"))


def _joint_case() -> tuple[list, list]:  # type: ignore[type-arg]
    """A joint case of the first week (Thursday 8 October): intake's events, routing's."""
    joint = "joint-" + hashlib.sha256(b"sitreport-joint").hexdigest()[:32]
    at = datetime(2026, 10, 8, 10, 0, tzinfo=LOCAL)
    center = {"org_id": JOINT_CENTER, "tier": "community", "at": at}
    members = [
        {"case_id": member_case_id(joint, code), "item_code": code, "handling_tier": tier}
        for code, tier, _unit in JOINT_MEMBERS
    ]
    head = {"joint_case_id": joint, "bundle_code": "LB-001", "accepting_center_id": JOINT_CENTER}
    intake = [
        envelope(
            "intake.joint_application_submitted",
            joint,
            head | {"submitted_at": at.isoformat()},
            **center,
        ),
        envelope(
            "intake.joint_application_accepted",
            joint,
            head
            | {
                "accepted_at": at.isoformat(),
                "promised_completion_date": "2026-10-16",
                "members": members,
            },
            minutes=1,
            **center,
        ),
    ]
    routing = []
    for i, (code, tier, unit) in enumerate(JOINT_MEMBERS):
        case = member_case_id(joint, code)
        office = {"org_id": unit, "tier": tier, "at": at}
        routing.append(
            envelope(
                "routing.case_routed",
                case,
                {"case_id": case, "handling_unit_id": unit, "handling_tier": tier},
                actor="routing",
                role="system",
                minutes=2,
                **office,
            )
        )
        routing.append(
            envelope(
                "routing.case_decided",
                case,
                {"case_id": case, "decision": "approve", "on_time": True},
                actor=f"off-{i}",
                role="officer",
                minutes=60 * 24 * (i + 1),
                **office,
            )
        )
    outcomes = [
        {"case_id": m["case_id"], "item_code": m["item_code"], "status": "approved"}
        for m in members
    ]
    routing.append(
        envelope(
            "routing.joint_result_ready",
            joint,
            {"joint_case_id": joint, "outcomes": outcomes, "final": True},
            actor="routing",
            role="system",
            at=at,
            minutes=60 * 24 * 2 + 5,
            org_id=None,
            tier=None,
        )
    )
    return intake, routing
