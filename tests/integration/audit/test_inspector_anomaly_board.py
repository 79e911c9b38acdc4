"""Inspector queries, anomaly rules and the public board on the running service, fed through
real Kafka topics with a clean and a dirty second-child case."""

from __future__ import annotations

import base64
import csv
import io

import orjson
import pytest

from tlog.hashing import leaf_hash
from tlog.note import open_checkpoint
from tlog.proofs import verify_inclusion

from ...polling import eventually
from .support import (
    DIRTY_RULES,
    ORIGIN,
    case_events,
    catalog_events,
    envelope,
    make_keys,
    producer,
    publish,
    running_audit,
    settings_for,
    staff_events,
    wait_checkpoint,
    wait_for,
    wait_size,
)

pytestmark = pytest.mark.integration


async def test_inspector_queries_anomalies_and_board(infra, pg_schema, topics) -> None:
    intake, routing, audit_topic = await topics("intake", "routing", "audit")
    keys = make_keys()
    # the audit's own events go out through the real outbox relay and come back into the log
    settings = settings_for(
        infra, pg_schema.schema, [intake, routing, audit_topic], keys, outbox_topic=audit_topic
    )
    a_in, a_rt = case_events("case-a", dirty=False)
    b_in, b_rt = case_events("case-b", dirty=True)
    c_rt = [
        envelope(
            "routing.case_decided",
            "case-c",
            {"case_id": "case-c", "decided_by": "off-zhao", "decision": "approved"},
            actor="off-zhao",
            org_id="t-anyang",
            tier="town",
        )
    ]
    all_events = catalog_events() + staff_events() + a_in + a_rt + b_in + b_rt + c_rt
    insp = keys.headers("inspector", sub="insp-1")
    queries = 0
    async with running_audit(settings, keys) as (_app, client), producer(infra.bootstrap) as p:
        conn = await pg_schema.connect()
        try:
            await publish(p, intake, catalog_events() + a_in + b_in)
            await publish(p, routing, staff_events() + a_rt + b_rt + c_rt)
            await wait_size(conn, len(all_events))

            # -- anomalies: each rule once for the dirty case, none for the clean one ----------
            expected = {("case-b", r) for r in DIRTY_RULES} | {
                ("case-c", "decision_without_acceptance")
            }
            rows = await eventually(
                lambda: conn.fetch("SELECT rule_id, stream_id FROM anomaly_flags"),
                lambda rows: expected <= {(r["stream_id"], r["rule_id"]) for r in rows},
                what=f"the anomaly flags {sorted(expected)}",
                show=lambda rows: sorted((r["stream_id"], r["rule_id"]) for r in rows),
            )
            assert not [r for r in rows if r["stream_id"] == "case-a"], rows
            assert {r["rule_id"] for r in rows if r["stream_id"] == "case-b"} == DIRTY_RULES
            # the flagged events are in the audit's own store (outbox), once per rule+case
            evs = await conn.fetch(
                "SELECT envelope FROM events WHERE event_type = 'audit.anomaly_flagged'"
            )
            assert len(evs) == len(rows)
            # a second sweep raises nothing new
            runner = _app.state.projector.runner
            assert runner is not None
            await conn.execute("UPDATE anomaly_cases SET dirty_since = now() - interval '1 h'")
            await runner.sweep()
            assert await conn.fetchval("SELECT count(*) FROM anomaly_flags") == len(rows)

            # the outbox relay carries them to the audit topic, and they come back into the log,
            # on the case's timeline
            async def logged_back() -> bool:
                n = await conn.fetchval(
                    "SELECT count(*) FROM leaves WHERE event_type = 'audit.anomaly_flagged'"
                )
                return n == len(evs)

            await wait_for(logged_back, what="the flags back in the log")
            size_now = await conn.fetchval("SELECT size FROM tree_state")

            async def projected() -> bool:
                last = await conn.fetchval("SELECT last_idx FROM projection_state")
                return last is not None and last >= size_now - 1

            await wait_for(projected, what=f"the projector to reach index {size_now - 1}")

            # -- inspector queries ----------------------------------------------------------
            r = await client.get("/v1/inspect/cases/case-b", headers=insp)
            queries += 1
            assert r.status_code == 200, r.text
            tl = r.json()
            types = [e["event_type"] for e in tl["events"]]
            assert types[0] == "intake.application_submitted"
            assert types.count("routing.case_reassigned") == 3
            assert types.count("audit.anomaly_flagged") == len(DIRTY_RULES)
            assert {a["rule"] for a in tl["anomalies"]} == DIRTY_RULES
            sub = next(e for e in tl["events"] if e["event_type"] == "intake.application_submitted")
            assert sub["payload"]["applicant"]["id_number"].startswith("sha256:")
            # every event of the timeline is provably in the signed log
            await wait_checkpoint(conn, size_now)
            note = (await client.get("/v1/log/checkpoint")).text
            cp, _ = open_checkpoint(note, [keys.log_verifier], ORIGIN)
            for e in tl["events"]:
                pr = (
                    await client.get(
                        "/v1/log/proof/inclusion",
                        # the proof for the tree the checkpoint above signed: without
                        # tree_size it is for the latest checkpoint, which the anomaly
                        # flags still being appended may have moved on meanwhile
                        params={"index": e["index"], "tree_size": cp.size},
                        headers=insp,
                    )
                ).json()
                assert pr["tree_size"] == cp.size, pr
                verify_inclusion(
                    leaf_hash(base64.b64decode(pr["leaf"])),
                    e["index"],
                    cp.size,
                    [base64.b64decode(x) for x in pr["proof"]],
                    cp.root_hash,
                )

            async def q(**params):  # type: ignore[no-untyped-def]
                nonlocal queries
                queries += 1
                r = await client.get("/v1/inspect/events", params=params, headers=insp)
                assert r.status_code == 200, r.text
                return r.json()

            by_staff = await q(staff="off-zhou")
            assert [e["event_type"] for e in by_staff["items"]] == ["routing.case_decided"]
            # assigned in a and b, decided a and c, reassigned away from in b (x3)
            assert len((await q(staff="off-zhao"))["items"]) == 7
            town = await q(org_id="t-anyang", tier="town", event_type="routing.case_decided")
            assert {e["stream_id"] for e in town["items"]} == {"case-a", "case-b", "case-c"}
            item = await q(item_code="second_child")
            assert len(item["items"]) == 2 + 3 * 2  # catalog x2, submitted/accepted/routed x2
            pref = await q(event_type="routing.*", case="case-a")
            assert all(e["event_type"].startswith("routing.") for e in pref["items"])
            assert len(pref["items"]) == len(a_rt)
            ranged = await q(
                since="2026-03-10T00:00:00Z",
                until="2026-04-01T00:00:00Z",
                event_type="routing.case_decided",
            )
            assert [e["stream_id"] for e in ranged["items"]] == ["case-b"]
            zh = await q(q="材料不全")
            assert [e["stream_id"] for e in zh["items"]] == ["case-b"]
            assert len((await q(q="工作调整"))["items"]) == 3
            assert len((await q(q="WORKLOAD"))["items"]) == 3
            assert (await q(q="不存在的理由"))["items"] == []
            # keyset paging: pages of 4 add up to the whole (of the case events: the query
            # records keep arriving meanwhile)
            seen, after = [], None
            while True:
                extra = {"after": after} if after is not None else {}
                page = await q(limit=4, event_type=["intake.*", "routing.*"], **extra)
                seen += [e["index"] for e in page["items"]]
                after = page["next_after"]
                if after is None:
                    break
            total = await conn.fetchval(
                "SELECT count(*) FROM leaves WHERE event_type LIKE 'intake.%'"
                " OR event_type LIKE 'routing.%'"
            )
            assert seen == sorted(seen) and len(seen) == len(set(seen))
            assert len(seen) == total == len(all_events)
            # CSV and JSONL export
            r = await client.get(
                "/v1/inspect/events", params={"case": "case-b", "format": "csv"}, headers=insp
            )
            queries += 1
            table = list(csv.DictReader(io.StringIO(r.text)))
            assert r.headers["content-type"].startswith("text/csv")
            assert len(table) == len(b_in) + len(b_rt) + len(DIRTY_RULES)
            assert table[0]["event_type"] == "intake.application_submitted"
            r = await client.get(
                "/v1/inspect/events/export", params={"staff": "off-zhao"}, headers=insp
            )
            queries += 1
            lines = [orjson.loads(x) for x in r.content.splitlines()]
            assert len(lines) == 7
            r = await client.get(
                "/v1/inspect/events/export",
                params={"case": "case-a", "format": "csv"},
                headers=insp,
            )
            queries += 1
            assert len(list(csv.DictReader(io.StringIO(r.text)))) == len(a_in) + len(a_rt)
            r = await client.get("/v1/inspect/anomalies", params={"case": "case-b"}, headers=insp)
            queries += 1
            assert {a["rule"] for a in r.json()["items"]} == DIRTY_RULES

            # non-inspectors are refused (and nothing is recorded for them)
            for role in ("officer", "center_head", "admin", "resident"):
                r = await client.get("/v1/inspect/cases/case-b", headers=keys.headers(role))
                assert r.status_code == 403 and "inspector" in r.json()["detail"]["reason"]

            # every query was itself audited, with who and what
            recs = await conn.fetch(
                "SELECT envelope FROM events WHERE event_type = 'audit.inspector_query_recorded'"
                " ORDER BY global_position"
            )
            assert len(recs) == queries
            first = orjson.loads(recs[0]["envelope"])
            assert first["actor"]["id"] == "insp-1" and first["stream_id"] == "inspector-insp-1"
            assert first["payload"]["query"] == "case"
            assert first["payload"]["filters"] == {"case": "case-b"}
            zh_rec = [orjson.loads(x["envelope"])["payload"] for x in recs]
            assert {"text": "材料不全"} in [x["filters"] for x in zh_rec]

            # -- the public board -------------------------------------------------------------
            cat = (await client.get("/v1/board/catalog")).json()
            (sc,) = cat["items"]
            assert sc["version"] == 2 and sc["deposit"]["amount_fen"] == 50000
            centers = (await client.get("/v1/board/centers")).json()
            (yc,) = centers["rows"]
            assert yc["id"] == "c-yucai"
            assert (yc["received"], yc["decided"], yc["on_time"]) == (2, 2, 1)
            assert yc["on_time_pct"] == 50.0 and yc["satisfaction"] == 3.0
            assert yc["avg_working_days"] is not None
            tiers = {t["id"]: t for t in (await client.get("/v1/board/tiers")).json()["rows"]}
            assert tiers["town"]["decided"] == 3
            assert centers["as_of"]["log_index"] >= len(all_events) - 1

            # and the inspector's own queries come back into the log too (who looked, when)
            async def queries_logged() -> bool:
                n = await conn.fetchval(
                    "SELECT count(*) FROM leaves"
                    " WHERE event_type = 'audit.inspector_query_recorded'"
                )
                return n == queries

            await wait_for(queries_logged, what=f"{queries} inspector queries in the log")
        finally:
            await conn.close()
