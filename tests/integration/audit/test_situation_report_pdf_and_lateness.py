"""Situation reports as PDF, and late ones on the inspector's anomaly list, on the running audit
(real Kafka and PostgreSQL, an injected clock, a simulated October for 安阳街道 and the city).

- A week closes: the scheduler makes every unit's report. The town's head asks for a
  community's report as PDF: printed from the stored HTML and charts (WeasyPrint), served as
  `application/pdf`, stored, and its text holds the center's name and its figures (the ones in
  the event).
- One head sends theirs up in time; the deadline passes: the others are flagged late
  (`audit.situation_report_late`), those events come back into the log through the audit's own
  outbox, and the inspector's anomaly list shows each late report with the rule that raised it
  (`situation_report_late`, from `rules.json`), and not the one sent in time. A late report
  is still taken when its head sends it up after the flag.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import orjson
import pytest
from pypdf import PdfReader

from analytics.kafka_io import produce
from bianmin_tools.simulate import GeneratorConfig, generate

from ...polling import eventually
from .support import make_keys, running_audit, settings_for, wait_for, wait_size

pytestmark = pytest.mark.integration

LOCAL = ZoneInfo("Asia/Shanghai")
OCTOBER = GeneratorConfig(start=date(2026, 10, 1), end=date(2026, 10, 13), scale=0.02, seed=23)
TOWN, YUCAI = "ruian.anyang", "ruian.anyang.yucai"
WEEK = date(2026, 10, 5)
RULE = "situation_report_late"


def _in_deployment(unit_id: str) -> bool:
    return unit_id in ("ruian", TOWN) or unit_id.startswith(TOWN + ".")


class Frozen:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def test_a_report_prints_to_pdf_and_late_reports_are_anomalies(
    infra,  # type: ignore[no-untyped-def]
    pg_schema,
    topics,
) -> None:
    history = generate(OCTOBER)
    history.events = [
        e
        for e in history.events
        if e.event_type != "routing.org_unit_registered"
        or _in_deployment(e.envelope["payload"]["unit_id"])
    ]
    units = {
        e.envelope["payload"]["unit_id"]: e.envelope["payload"]
        for e in history.events
        if e.event_type == "routing.org_unit_registered"
        and e.envelope["payload"]["tier"] in ("community", "town", "city")
    }
    names = await topics("intake", "routing", "notify", "audit")
    mapping = dict(zip(("intake", "routing", "notify"), names[:3], strict=True))
    keys = make_keys()
    clock = Frozen(datetime(2026, 10, 12, 0, 30, tzinfo=LOCAL))
    settings = settings_for(
        infra,
        pg_schema.schema,
        names,
        keys,
        outbox_topic=names[3],  # the audit's own events come back into the log
        sitreport_enabled=True,
        sitreport_periods="weekly",
        sitreport_start=date(2026, 10, 1),
        sitreport_submit_days=2,
        sitreport_interval_seconds=0.2,
        sitreport_charts=True,
    )
    await produce(infra.bootstrap, history.kafka_records(mapping))
    async with running_audit(settings, keys, clock=clock) as (_app, client):
        conn = await pg_schema.connect()
        try:
            await wait_size(conn, len(history.events), timeout=120)
            week = await wait_for(
                lambda: _all(conn, len(units)),
                timeout=240,
                what="the week's reports of every unit",
            )
            rid = f"sitrep:{YUCAI}:weekly:{WEEK.isoformat()}"
            figures = orjson.loads(next(r["figures"] for r in week if r["report_id"] == rid))
            assert figures["received"] > 0

            # -- the PDF --------------------------------------------------------------------
            town_head = _as(keys, "center_head", "anyang-head", TOWN, "town")
            listed = await client.get(f"/v1/sitreports/{rid}", headers=town_head)
            assert listed.json()["document_pdf"] == f"/v1/sitreports/{rid}/document/report.pdf"
            r = await client.get(listed.json()["document_pdf"], headers=town_head, timeout=120)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/pdf"
            assert r.headers["content-disposition"].startswith("inline;")
            assert r.content.startswith(b"%PDF-")
            reader = PdfReader(io.BytesIO(r.content))
            text = "\n".join(p.extract_text() for p in reader.pages)
            flat = "".join(text.split())
            assert units[YUCAI]["name_zh"] in flat, text[:400]
            assert "便民服务情况报告" in flat
            assert f"{figures['received']:,}登记受理" in flat, "the figure the event holds"
            assert f"{figures['completed']:,}办结" in flat
            assert sum(len(p.images) for p in reader.pages) >= 1, "the charts are printed"
            stored = await conn.fetchval(
                "SELECT body FROM situation_report_files WHERE report_id = $1 AND name = $2",
                rid,
                "report.pdf",
            )
            assert bytes(stored) == r.content, "printed once, then served from the store"
            again = await client.get(listed.json()["document_pdf"], headers=town_head)
            assert again.content == r.content
            beside = _as(keys, "center_head", "yuhai-head", "ruian.yuhai", "town")
            refused = await client.get(listed.json()["document_pdf"], headers=beside)
            assert refused.status_code == 403

            # -- lateness on the inspector's anomaly list ------------------------------------
            head = _as(keys, "center_head", "yucai-head", YUCAI, "community")
            sent = await client.post(
                f"/v1/sitreports/{rid}/submit", json={"comment": "按时报送"}, headers=head
            )
            assert sent.status_code == 200 and sent.json()["late"] is False
            # past every deadline (the 14th, 00:00) but within the anomaly grace (0.5 s): the
            # reports are marked late now, and looked at by the anomaly rules only later
            clock.at = datetime(2026, 10, 14, 0, 0, 0, 200_000, tzinfo=LOCAL)
            late = {r["report_id"] for r in week} - {rid}
            insp = _as(keys, "inspector", "insp-1", "ruian", "city")

            async def listed_late() -> dict[str, dict]:  # type: ignore[type-arg]
                got = await client.get("/v1/inspect/anomalies", params={"rule": RULE}, headers=insp)
                assert got.status_code == 200, got.text
                return {i["case"]: i for i in got.json()["items"]}

            async def seen() -> str:
                leaves = await conn.fetch(
                    "SELECT event_type, count(*) FROM leaves WHERE event_type LIKE "
                    "'audit.situation%' GROUP BY 1"
                )
                cases = await conn.fetchval(
                    "SELECT count(*) FROM anomaly_cases WHERE stream_id LIKE 'sitrep:%'"
                )
                return f"leaves {[tuple(x) for x in leaves]}, report streams looked at {cases}"

            # the late flags come back into the log; then time passes (the sweep looks at a
            # report once it has been quiet for the grace period, by the audit's clock)
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) FROM leaves WHERE event_type = 'audit.situation_report_late'"
                ),
                lambda n: n == len(late),
                timeout=120,
                what="the late flags in the log",
            )
            clock.at = datetime(2026, 10, 15, 9, 5, tzinfo=LOCAL)
            try:
                items = await eventually(
                    listed_late,
                    lambda items: set(items) >= late,
                    timeout=120,
                    what="the late reports as anomalies",
                    show=lambda items: sorted(items),
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}; {await seen()}") from None
            assert set(items) == late, "every late report, and not the one sent in time"
            for report_id, item in items.items():
                assert item["rule"] == RULE
                d = item["details"]
                assert (d["rule_id"], d["rule_kind"], d["case_id"]) == (RULE, "deadline", report_id)
                assert "情况报告制" in d["description"]
                assert d["evidence"][-1]["event_type"] == "audit.situation_report_late"
            rules = await client.get("/v1/inspect/rules", headers=insp)
            assert RULE in {x["id"] for x in rules.json()["rules"]}
            flags = await conn.fetchval(
                "SELECT count(*) FROM anomaly_flags WHERE rule_id = $1", RULE
            )
            assert flags == len(late), "flagged once per report"

            # a late report is still taken when sent up, with the inspector's flag on its stream
            overdue = sorted(late)[0]
            unit = overdue.split(":")[1]
            tier = {u: p["tier"] for u, p in units.items()}[unit]
            sent = await client.post(
                f"/v1/sitreports/{overdue}/submit",
                json={"comment": "迟报说明"},
                headers=_as(keys, "center_head", f"{unit}-head", unit, tier),
            )
            assert sent.status_code == 200, sent.text
            assert sent.json()["late"] is True
        finally:
            await conn.close()


def _as(keys, role: str, sub: str, org: str, tier: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {keys.token(role, sub, org, tier)}"}


async def _all(conn, n: int):  # type: ignore[no-untyped-def]
    rows = await conn.fetch(
        "SELECT report_id, figures FROM situation_reports WHERE period = 'weekly' "
        "AND first_day = $1",
        WEEK,
    )
    return rows if len(rows) == n else None
