"""联办 through routing on the real Kafka and PostgreSQL: one joint acceptance from intake,
its members routed each to the office holding its authority, at two tiers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import pytest

from contracts.joint import JointApplicationAccepted, JointMember, joint_promise, member_case_id
from contracts.workdays import OfficeHours, default_calendar
from intake.seed_catalog import seed_bundles, seed_items

from .support import at, intake_envelope, read_topic_until, running_routing

pytestmark = pytest.mark.integration

DRILL = "/v1/admin/clock/check-deadlines"

MABEI, MAYU = "ruian.mayu.mabei", "ruian.mayu"
AGENT = "ruian.mayu.mabei.agent1"
ACCEPTED_AT = at(2026, 9, 29, 9, 30)


def birth_bundle_accepted(joint_id: str) -> JointApplicationAccepted:
    bundle = next(b for b in seed_bundles() if b.code == "LB-001")
    items = {i.code: i for i in seed_items()}
    members = tuple(
        JointMember(
            case_id=member_case_id(joint_id, code),
            item_code=code,
            item_version=1,
            item_name_zh=items[code].name_zh,
            category=items[code].category,
            handling_tier=items[code].handling_tier,
            case_type=items[code].case_type,
            promised_limit_days=items[code].promised_limit_days,
            material_codes=tuple(m.code for m in items[code].materials),
        )
        for code in bundle.members
    )
    promise = joint_promise(
        ACCEPTED_AT,
        [m.promised_limit_days for m in members],
        bundle.approval_order,
        OfficeHours.standard(),
        calendar=default_calendar(),
    )
    return JointApplicationAccepted(
        joint_case_id=joint_id,
        receipt_no="RA20260929JOINT1",
        bundle_code=bundle.code,
        bundle_version=bundle.version,
        bundle_name_zh=bundle.name_zh,
        members=members,
        approval_order=bundle.approval_order,
        on_refusal=bundle.on_refusal,
        result_return=bundle.result_return,
        accepted_on=date(2026, 9, 29),
        promised_completion_date=promise.due_date,
        registered_community_id=MABEI,
        accepting_center_id=MABEI,
        accepting_staff_id=AGENT,
        accepted_at=ACCEPTED_AT,
        accepted_by=AGENT,
    )


async def test_one_joint_acceptance_routes_each_member_at_its_own_tier(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        joint_id = f"joint-{uuid.uuid4().hex}"
        accepted = birth_bundle_accepted(joint_id)
        await rt.publish(intake_envelope(accepted, joint_id, at_time=ACCEPTED_AT, actor=AGENT))

        where: dict[str, tuple[str, str]] = {}
        dues: list[str] = []
        for member in accepted.members:
            detail = await rt.wait_case(member.case_id)
            state = detail["state"]
            assert state["status"] == "open"
            where[member.item_code] = (state["handling_tier"], state["handling_unit_id"])
            deadline = next(e for e in detail["trail"] if e["event_type"] == "routing.deadline_set")
            dues.append(deadline["payload"]["due_date"])
            assert all(e["causation_id"] for e in detail["trail"])

        assert where == {
            "FP-003": ("community", MABEI),
            "OT-004": ("town", MAYU),
            "LS-003": ("town", MAYU),
            "FP-001": ("town", MAYU),
        }
        # the one receipt's promise is the latest member's deadline
        assert accepted.promised_completion_date.isoformat() == max(dues)


async def test_members_decided_at_two_tiers_give_one_result(infra, pg_schema, topics) -> None:
    """LB-001 (parallel, continue, once): each member decided by its own office's officer at
    the community and the town; one refusal does not stop the others; ONE joint result,
    published once every member is done."""
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        joint_id = f"joint-{uuid.uuid4().hex}"
        accepted = birth_bundle_accepted(joint_id)
        await rt.publish(intake_envelope(accepted, joint_id, at_time=ACCEPTED_AT, actor=AGENT))
        officers = {}
        for member in accepted.members:
            detail = await rt.wait_case(member.case_id)
            officers[member.case_id] = detail["state"]["assigned_to"]

        decisions = {"OT-004": {"decision": "refuse", "reason": "出生医学证明与户口簿信息不符"}}
        for member in accepted.members:
            officer = officers[member.case_id]
            body = decisions.get(member.item_code, {"decision": "approve"})
            r = await rt.post(
                f"/v1/cases/{member.case_id}/decision", rt.tokens.staff(officer), body
            )
            assert r.status_code == 200, r.text

        def joint_events(envs: list[dict[str, object]]) -> list[dict[str, object]]:
            return [e for e in envs if e["stream_id"] == joint_id]

        published = await read_topic_until(
            infra.bootstrap,
            rt.routing_topic,
            lambda envs: any(
                e["event_type"] == "routing.joint_result_ready" for e in joint_events(envs)
            ),
            what="the joint result",
        )
        trail = joint_events(published)
        assert [e["event_type"] for e in trail] == [
            "routing.joint_member_decided",
            "routing.joint_member_decided",
            "routing.joint_member_decided",
            "routing.joint_member_decided",
            "routing.joint_result_ready",
        ]
        result = trail[-1]["payload"]
        assert isinstance(result, dict) and result["final"] is True
        assert [(o["item_code"], o["status"]) for o in result["outcomes"]] == [
            ("FP-003", "approved"),
            ("OT-004", "refused"),
            ("LS-003", "approved"),
            ("FP-001", "approved"),
        ]
        tiers = {
            (await rt.wait_case(m.case_id))["state"]["handling_tier"] for m in accepted.members
        }
        assert tiers == {"community", "town"}


def ebike_bundle_accepted(joint_id: str) -> JointApplicationAccepted:
    """LB-002 (sequential, stop_others, per member) for a non-local resident of 马北."""
    base = birth_bundle_accepted(joint_id)
    bundle = next(b for b in seed_bundles() if b.code == "LB-002")
    items = {i.code: i for i in seed_items()}
    members = tuple(
        JointMember(
            case_id=member_case_id(joint_id, code),
            item_code=code,
            item_version=1,
            item_name_zh=items[code].name_zh,
            category=items[code].category,
            handling_tier=items[code].handling_tier,
            case_type=items[code].case_type,
            promised_limit_days=items[code].promised_limit_days,
            material_codes=tuple(m.code for m in items[code].materials),
        )
        for code in bundle.members
    )
    return base.model_copy(
        update={
            "bundle_code": bundle.code,
            "bundle_name_zh": bundle.name_zh,
            "members": members,
            "approval_order": bundle.approval_order,
            "on_refusal": bundle.on_refusal,
            "result_return": bundle.result_return,
        }
    )


async def test_a_sequential_bundle_waits_its_turn_and_a_refusal_stops_the_rest(
    infra, pg_schema, topics
) -> None:
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        joint_id = f"joint-{uuid.uuid4().hex}"
        accepted = ebike_bundle_accepted(joint_id)
        await rt.publish(intake_envelope(accepted, joint_id, at_time=ACCEPTED_AT, actor=AGENT))
        residence, plate = accepted.members
        first = await rt.wait_case(residence.case_id)
        second = await rt.wait_case(plate.case_id)
        assert (first["state"]["handling_tier"], second["state"]["handling_tier"]) == (
            "town",
            "community",
        )

        # the plate before the residence registration: refused, nothing written
        r = await rt.post(
            f"/v1/cases/{plate.case_id}/decision",
            rt.tokens.staff(second["state"]["assigned_to"]),
            {"decision": "approve"},
        )
        assert r.status_code == 409 and r.json()["detail"]["field"] == "case_id"
        assert (await rt.case(plate.case_id)).json()["state"]["status"] == "open"

        r = await rt.post(
            f"/v1/cases/{residence.case_id}/decision",
            rt.tokens.staff(first["state"]["assigned_to"]),
            {"decision": "refuse", "reason": "住所证明不实"},
        )
        assert r.status_code == 200, r.text

        published = await read_topic_until(
            infra.bootstrap,
            rt.routing_topic,
            lambda envs: any(
                e["event_type"] == "routing.joint_result_ready" and e["stream_id"] == joint_id
                for e in envs
            ),
            what="the joint result",
        )
        trail = [e for e in published if e["stream_id"] == joint_id]
        assert [e["event_type"] for e in trail] == [
            "routing.joint_member_decided",
            "routing.joint_member_stopped",
            "routing.joint_result_ready",
        ]
        assert trail[1]["payload"]["case_id"] == plate.case_id
        assert trail[2]["payload"]["final"] is True
        assert [(o["item_code"], o["status"]) for o in trail[2]["payload"]["outcomes"]] == [
            ("FL-001", "refused"),
            ("OT-001", "stopped"),
        ]
        # the stopped plate's own case: held for good, never warned nor overdue
        stopped = await rt.wait_case(
            plate.case_id,
            lambda d: any(
                e["event_type"] == "routing.joint_member_held"
                and e["payload"]["reason"] == "stopped_by_refusal"
                for e in d["trail"]
            ),
        )
        assert stopped["state"]["status"] == "open"  # never decided: the joint result says it
        assert stopped["state"]["joint_hold"] == "stopped_by_refusal"
        assert await drill_events(rt, at(2026, 12, 31, 18), plate.case_id) == []

        # the queue says so, long past the plate's first due date: held, never shown overdue
        rt.clock.set(at(2026, 12, 31, 18))
        inspector = rt.tokens.inspector()

        async def queued(**params: str) -> dict[str, dict[str, Any]]:
            r = await rt.client.get("/v1/queue", params=params, headers=inspector)
            assert r.status_code == 200, r.text
            return {i["case_id"]: i for i in r.json()["items"]}

        item = (await queued())[plate.case_id]
        assert second["state"]["due_at"] is not None and item["due_at"] is not None
        assert (item["status"], item["joint_hold"], item["overdue"]) == (
            "open",
            "stopped_by_refusal",
            False,
        )
        assert plate.case_id in await queued(overdue="false")
        assert plate.case_id not in await queued(overdue="true")
        assert (await queued())[residence.case_id]["joint_hold"] is None


async def drill_events(rt: Any, when: datetime, case_id: str) -> list[str]:
    """The deadline notices the admin's drill issues for `case_id` at `when`."""
    r = await rt.client.post(DRILL, params={"now": when.isoformat()}, headers=rt.tokens.admin())
    assert r.status_code == 200, r.text
    return [e["event_type"] for e in r.json()["events"] if e["case_id"] == case_id]


async def test_a_member_waiting_its_turn_has_no_running_deadline_until_released(
    infra, pg_schema, topics
) -> None:
    """LB-002: given the plate waiting for the residence registration, when the deadline
    drill runs far beyond every deadline, then the plate is neither warned nor overdue; when
    the residence registration is approved (after the holiday), then the plate's clock
    starts there: a new deadline counted from the release, and it may be decided."""
    async with running_routing(infra, pg_schema.schema, topics, now=at(2026, 9, 29, 9, 31)) as rt:
        joint_id = f"joint-{uuid.uuid4().hex}"
        accepted = ebike_bundle_accepted(joint_id)
        await rt.publish(intake_envelope(accepted, joint_id, at_time=ACCEPTED_AT, actor=AGENT))
        residence, plate = accepted.members
        first = await rt.wait_case(residence.case_id)
        waiting = await rt.wait_case(
            plate.case_id,
            lambda d: "routing.joint_member_held" in [e["event_type"] for e in d["trail"]],
        )
        held = next(e for e in waiting["trail"] if e["event_type"] == "routing.joint_member_held")
        assert held["payload"]["reason"] == "waiting_for_predecessor"
        assert held["payload"]["cause_case_id"] == residence.case_id
        # far beyond: the residence registration is warned and overdue, the plate not
        assert await drill_events(rt, at(2026, 10, 9, 17, 45), plate.case_id) == []
        assert "routing.case_overdue" in await drill_events(
            rt, at(2026, 10, 30, 18), residence.case_id
        )

        rt.clock.set(at(2026, 10, 12, 11))
        r = await rt.post(
            f"/v1/cases/{residence.case_id}/decision",
            rt.tokens.staff(first["state"]["assigned_to"]),
            {"decision": "approve"},
        )
        assert r.status_code == 200, r.text
        released = await rt.wait_case(
            plate.case_id,
            lambda d: "routing.joint_member_resumed" in [e["event_type"] for e in d["trail"]],
        )
        deadlines = [e for e in released["trail"] if e["event_type"] == "routing.deadline_set"]
        assert [d["payload"]["reason"] for d in deadlines] == ["accepted", "joint_released"]
        assert deadlines[1]["payload"]["due_date"] >= "2026-10-12"
        assert deadlines[1]["payload"]["due_date"] >= deadlines[0]["payload"]["due_date"]
        assert released["state"]["due_date"] == deadlines[1]["payload"]["due_date"]
        r = await rt.post(
            f"/v1/cases/{plate.case_id}/decision",
            rt.tokens.staff(released["state"]["assigned_to"]),
            {"decision": "approve"},
        )
        assert r.status_code == 200, r.text
