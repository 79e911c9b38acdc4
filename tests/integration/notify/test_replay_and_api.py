"""Replays never send; `GET /v1/deliveries` shows a case's deliveries to staff."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from eventkit.auth import AuthSettings, TokenVerifier, generate_private_key, mint_token, public_pem

from ...unit.notify import factories as f
from .receivers import WebhookReceiver
from .support import running_notify, wait_status, wait_until

pytestmark = pytest.mark.integration


async def test_replayed_stale_and_disabled_deliveries_are_recorded_but_never_sent(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    async with (
        WebhookReceiver() as hooks,
        running_notify(
            infra, pg_schema, topics, tmp_path, webhook_base=hooks.url(""), max_event_age_hours=72
        ) as n,
    ):
        replayed, stale, live = f.new_case_id(), f.new_case_id(), f.new_case_id()
        await n.publish([f.submitted(replayed), f.accepted(replayed)], replay=True)
        old = f.T0 - timedelta(days=30)
        await n.publish([f.submitted(stale, at=old), f.accepted(stale, at=old)])
        await n.publish([f.submitted(live), f.accepted(live)])
        await wait_status(n, live, {"delivered": 2})
        for case, reason in ((replayed, "replay"), (stale, "stale")):
            rows = await wait_status(n, case, {"suppressed": 2})
            assert {r["suppressed_reason"] for r in rows} == {reason}
        # the directory still learned from the replayed records
        assert await n.pool.fetchval("SELECT phone FROM cases WHERE case_id = $1", replayed)
        assert n.dispatcher.stats["delivered"] == 2
        assert {q.json["case_id"] for q in hooks.requests} == {live}
        assert {ln["text"].count("已受理") for ln in n.sms_lines()} == {1}
        assert len(n.sms_lines()) == 1
        assert len(await n.events()) == 2  # only the live case's outcomes are published


async def test_with_delivery_disabled_nothing_is_sent(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    async with (
        WebhookReceiver() as hooks,
        running_notify(
            infra, pg_schema, topics, tmp_path, webhook_base=hooks.url(""), delivery_enabled=False
        ) as n,
    ):
        case = f.new_case_id()
        await n.publish([f.submitted(case), f.accepted(case)])
        rows = await wait_status(n, case, {"suppressed": 2})
        assert {r["suppressed_reason"] for r in rows} == {"delivery_disabled"}
        assert n.app.state.dispatcher is None
        assert hooks.requests == [] and n.sms_lines() == []


async def test_staff_and_inspectors_read_a_cases_deliveries(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    key = generate_private_key()
    verifier = TokenVerifier(AuthSettings(public_key=public_pem(key)))

    def token(role: str, org: str | None = None, tier: str = "town") -> dict[str, str]:
        tok = mint_token(key, sub="u1", role=role, org_id=org, tier=tier if org else None)
        return {"Authorization": f"Bearer {tok}"}

    async with running_notify(infra, pg_schema, topics, tmp_path) as n:
        n.app.state.auth = verifier
        case = f.new_case_id()
        await n.publish([f.unit_registered("mayu", "马屿镇", parent=None), f.unit_registered()])
        await n.publish([f.submitted(case), f.accepted(case), f.case_routed(case)])
        await wait_status(n, case, {"delivered": 1})
        await wait_until(lambda: _routed(n, case), what="the route to reach notify's directory")
        transport = httpx.ASGITransport(app=n.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
            url = f"/v1/deliveries?case_id={case}"
            r = await http.get(url, headers=token("inspector"))
            assert r.status_code == 200, r.text
            (d,) = r.json()["deliveries"]
            assert d["channel"] == "sms" and d["status"] == "delivered"
            assert d["address"] == "138****2345"
            assert d["template"] == "resident_receipt"
            assert "已受理" in d["body"]
            # the town's center head sees a case accepted by a community below it
            assert (await http.get(url, headers=token("center_head", "mayu"))).status_code == 200
            # the accepting community's agent too
            ok = await http.get(url, headers=token("community_agent", "mabei", "community"))
            assert ok.status_code == 200
            # an officer elsewhere does not
            r = await http.get(url, headers=token("officer", "dongshan"))
            assert r.status_code == 403 and "your unit" in r.json()["detail"]["reason"]
            r = await http.get(url, headers=token("resident"))
            assert r.status_code == 403 and r.json()["detail"]["role"] == "resident"
            assert (await http.get(url)).status_code == 401
            r = await http.get("/v1/deliveries", headers=token("inspector"))
            assert r.status_code == 422 and r.json()["detail"]["field"] == "case_id"
            r = await http.get("/v1/deliveries?case_id=case-nope", headers=token("inspector"))
            assert r.status_code == 404 and r.json()["detail"]["field"] == "case_id"


async def _routed(n, case: str) -> bool:  # type: ignore[no-untyped-def]
    """The route and the org tree reached the directory (different partitions: any order)."""
    routed = await n.pool.fetchval("SELECT handling_unit_id FROM cases WHERE case_id = $1", case)
    return bool(routed) and await n.pool.fetchval("SELECT count(*) FROM org_units") == 2
