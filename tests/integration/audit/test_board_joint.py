"""联办 in the audit: the board counts a joint case ONCE, as joint, at its accepting center,
and each member under the office and tier that decided it; the inspector's timeline of a
joint case shows its members. Fed through the real log from intake's and routing's topics."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from contracts.joint import member_case_id

from .support import (
    T0,
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

CENTER = "c-mabei"
MEMBERS = (
    ("FP-003", "community", "c-mabei"),
    ("OT-004", "town", "t-mayu"),
    ("LS-003", "town", "t-mayu"),
)


async def test_a_joint_case_counts_once_at_its_center_and_each_member_at_its_office(
    infra, pg_schema, topics
) -> None:
    intake, routing = await topics("intake", "routing")
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [intake, routing], keys)
    joint = f"joint-{uuid.uuid4().hex}"
    corr = uuid.uuid4()
    members = [
        {
            "case_id": member_case_id(joint, code),
            "item_code": code,
            "item_name_zh": code,
            "handling_tier": tier,
        }
        for code, tier, _unit in MEMBERS
    ]
    accepted = envelope(
        "intake.joint_application_accepted",
        joint,
        {
            "joint_case_id": joint,
            "bundle_code": "LB-001",
            "accepting_center_id": CENTER,
            "accepted_at": T0.isoformat(),
            "promised_completion_date": (T0.date() + timedelta(days=10)).isoformat(),
            "approval_order": "parallel",
            "members": members,
        },
        org_id=CENTER,
        correlation_id=corr,
    )
    # a single case at the same center, for comparison
    single = envelope(
        "intake.application_accepted",
        "case-single",
        {
            "case_id": "case-single",
            "item_code": "FP-002",
            "accepting_center_id": CENTER,
            "handling_tier": "town",
            "accepted_at": T0.isoformat(),
        },
        org_id=CENTER,
    )
    routed, decided, joint_events = [], [], []
    for i, (code, tier, unit) in enumerate(MEMBERS):
        case = member_case_id(joint, code)
        office = {"org_id": unit, "tier": tier, "correlation_id": corr}
        routed.append(
            envelope(
                "routing.case_routed",
                case,
                {
                    "case_id": case,
                    "handling_unit_id": unit,
                    "handling_tier": tier,
                },
                actor="routing",
                role="system",
                minutes=1,
                **office,
            )
        )
        decision = "refuse" if code == "OT-004" else "approve"
        decided.append(
            envelope(
                "routing.case_decided",
                case,
                {
                    "case_id": case,
                    "decision": decision,
                    "on_time": True,
                },
                actor=f"off-{i}",
                role="officer",
                minutes=60 * 24 * (i + 1),
                **office,
            )
        )
        joint_events.append(
            envelope(
                "routing.joint_member_decided",
                joint,
                {
                    "joint_case_id": joint,
                    "case_id": case,
                    "item_code": code,
                    "decision": decision,
                },
                actor=f"off-{i}",
                role="officer",
                minutes=60 * 24 * (i + 1),
                org_id=unit,
                tier=tier,
            )
        )
    outcomes = [
        {
            "case_id": m["case_id"],
            "item_code": m["item_code"],
            "status": "refused" if m["item_code"] == "OT-004" else "approved",
        }
        for m in members
    ]
    joint_events.append(
        envelope(
            "routing.joint_result_ready",
            joint,
            {
                "joint_case_id": joint,
                "outcomes": outcomes[:1],
                "final": False,
            },
            actor="routing",
            role="system",
            minutes=60 * 24,
            org_id=None,
            tier=None,
        )
    )
    joint_events.append(
        envelope(
            "routing.joint_result_ready",
            joint,
            {
                "joint_case_id": joint,
                "outcomes": outcomes,
                "final": True,
            },
            actor="routing",
            role="system",
            minutes=60 * 24 * 3,
            org_id=None,
            tier=None,
        )
    )

    async with running_audit(settings, keys) as (_app, client), producer(infra.bootstrap) as p:
        conn = await pg_schema.connect()
        try:
            await publish(p, intake, [accepted, single])
            await publish(p, routing, [*routed, *decided, *joint_events])
            total = 2 + len(routed) + len(decided) + len(joint_events)
            await wait_size(conn, total)

            async def center_row() -> dict[str, Any] | None:
                rows = (await client.get("/v1/board/centers")).json()["rows"]
                row = next((r for r in rows if r["id"] == CENTER), None)
                return row if row and row["decided"] == 1 else None

            row = await wait_for(center_row, 30)
            # the bundle once (joint) and the single case: not four members more
            assert (row["received"], row["joint"]) == (2, 1)
            assert (row["decided"], row["on_time"]) == (1, 1)  # the final result, in time

            tiers = {r["id"]: r for r in (await client.get("/v1/board/tiers")).json()["rows"]}
            # each member under the tier of the office that decided it
            assert (tiers["community"]["received"], tiers["community"]["decided"]) == (1, 1)
            assert tiers["town"]["decided"] == 2 and tiers["town"]["joint"] == 0
            assert tiers["town"]["received"] == 3  # two members and the single case

            r = await client.get(f"/v1/inspect/cases/{joint}", headers=keys.headers("inspector"))
            assert r.status_code == 200, r.text
            tl = r.json()
            assert [(m["item_code"], m["status"]) for m in tl["members"]] == [
                ("FP-003", "approved"),
                ("OT-004", "refused"),
                ("LS-003", "approved"),
            ]
            streams = {e["stream_id"] for e in tl["events"]}
            assert streams == {joint, *(m["case_id"] for m in members)}
            types = [e["event_type"] for e in tl["events"]]
            assert types.count("routing.case_decided") == 3
            assert types[0] == "intake.joint_application_accepted"
            single_tl = (
                await client.get("/v1/inspect/cases/case-single", headers=keys.headers("inspector"))
            ).json()
            assert "members" not in single_tl
        finally:
            await conn.close()
