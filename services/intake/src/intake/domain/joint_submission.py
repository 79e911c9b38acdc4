"""A joint intake (联办): one visit, one set of materials, one receipt, ONE one-time notice.

The bundle in force names the members; every member's item in force is checked like a
single submission, the shared materials once (`contracts.materials.joint_missing_materials`,
the same 一次性告知 rule as a single item). With gaps the answer is one
`JointMaterialsMissingNotified` covering every member; without, one
`JointApplicationAccepted` with one receipt whose promise is the latest member's
(`contracts.joint.joint_promise`) and each member's own case id, which routing sends to the
office that holds that member's authority.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.base import DomainEvent
from contracts.intake import Applicant, CatalogItemVersion, Channel, ProvidedMaterial
from contracts.joint import (
    JointApplicationAccepted,
    JointBundle,
    JointMaterialsMissingNotified,
    JointMember,
    MemberMaterials,
    joint_promise,
    member_case_id,
)
from contracts.materials import joint_missing_materials, shared_requirement
from eventkit.envelope import Actor

from .catalog import local_date
from .checks import check_materials_listed, check_org
from .context import IntakeContext
from .errors import AlreadyExists, InvalidField, ItemNotInForce, UnknownItem
from .receipts import receipt_number
from .submission import _checked_applicant

JOINT_ID = re.compile(r"^joint-[0-9a-f]{32}$")


class SubmitJointApplication(BaseModel):
    """Hand in a bundle at a center: the shared materials once, each member's own apart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    joint_case_id: str
    bundle_code: str
    applicant: Applicant
    shared_provided: tuple[ProvidedMaterial, ...] = ()
    member_provided: tuple[MemberMaterials, ...] = ()
    accepting_center_id: str
    accepting_staff_id: str | None = None
    channel: Channel
    actor: Actor


@dataclass(frozen=True)
class JointState:
    status: Literal["new", "notified", "accepted"] = "new"
    bundle_code: str | None = None


def evolve_joint(state: JointState, evt: DomainEvent) -> JointState:
    match evt:
        case JointMaterialsMissingNotified(bundle_code=code):
            return JointState(status="notified", bundle_code=code)
        case JointApplicationAccepted(bundle_code=code):
            return JointState(status="accepted", bundle_code=code)
    return state


def decide_submit_joint(
    cmd: SubmitJointApplication, state: JointState, now: datetime, ctx: IntakeContext
) -> list[DomainEvent]:
    if state.status != "new":
        raise AlreadyExists("joint_case_id", f"joint case {cmd.joint_case_id} was submitted")
    if not JOINT_ID.match(cmd.joint_case_id):
        raise InvalidField("joint_case_id", "must be 'joint-' followed by 32 lower-case hex")
    bundle = ctx.catalog.bundle_in_force(cmd.bundle_code, now)
    if bundle is None:
        raise UnknownItem("bundle_code", f"no joint bundle {cmd.bundle_code} in force")
    items = _members_in_force(bundle, now, ctx)
    check_org("accepting_center_id", cmd.accepting_center_id)
    if cmd.channel != "online" and not (cmd.accepting_staff_id or "").strip():
        raise InvalidField(
            "accepting_staff_id",
            "the first-inquiry responsible staff member (首问责任人) is required at a center",
        )
    applicant = _checked_applicant(cmd.applicant, now)
    shared = set(bundle.shared_materials)
    check_materials_listed(
        "shared_provided",
        cmd.shared_provided,
        shared_requirement([i.materials for i in items], bundle.shared_materials),
    )
    by_item = {i.code: i for i in items}
    own: dict[str, tuple[ProvidedMaterial, ...]] = {}
    for n, given in enumerate(cmd.member_provided):
        field = f"member_provided[{n}]"
        item = by_item.get(given.item_code)
        if item is None:
            raise InvalidField(f"{field}.item_code", f"{given.item_code} is not in {bundle.code}")
        if given.item_code in own:
            raise InvalidField(f"{field}.item_code", f"{given.item_code} is listed twice")
        check_materials_listed(
            f"{field}.provided",
            given.provided,
            [m for m in item.materials if m.code not in shared],
        )
        own[given.item_code] = given.provided

    missing = joint_missing_materials(
        [(i.code, i.materials) for i in items], bundle.shared_materials, cmd.shared_provided, own
    )
    if not missing.complete:
        return [
            JointMaterialsMissingNotified(
                joint_case_id=cmd.joint_case_id,
                bundle_code=bundle.code,
                bundle_version=bundle.version,
                bundle_name_zh=bundle.name_zh,
                missing=missing,
                accepting_center_id=cmd.accepting_center_id,
                notified_by=cmd.actor.id,
            )
        ]
    promise = joint_promise(
        now,
        [i.promised_limit_days for i in items],
        bundle.approval_order,
        ctx.office_hours,
        calendar=ctx.calendar,
    )
    accepted_on = local_date(now)
    return [
        JointApplicationAccepted(
            joint_case_id=cmd.joint_case_id,
            receipt_no=receipt_number(cmd.joint_case_id, accepted_on),
            bundle_code=bundle.code,
            bundle_version=bundle.version,
            bundle_name_zh=bundle.name_zh,
            members=tuple(
                JointMember(
                    case_id=member_case_id(cmd.joint_case_id, i.code),
                    item_code=i.code,
                    item_version=i.version,
                    item_name_zh=i.name_zh,
                    category=i.category,
                    handling_tier=i.handling_tier,
                    case_type=i.case_type,
                    promised_limit_days=i.promised_limit_days,
                    material_codes=tuple(m.code for m in i.materials),
                )
                for i in items
            ),
            approval_order=bundle.approval_order,
            on_refusal=bundle.on_refusal,
            result_return=bundle.result_return,
            accepted_on=accepted_on,
            promised_completion_date=promise.due_date,
            registered_community_id=applicant.registered_community_id,
            accepting_center_id=cmd.accepting_center_id,
            accepting_staff_id=(cmd.accepting_staff_id or "").strip() or None,
            accepted_at=now,
            accepted_by=cmd.actor.id,
        )
    ]


def _members_in_force(
    bundle: JointBundle, now: datetime, ctx: IntakeContext
) -> list[CatalogItemVersion]:
    items: list[CatalogItemVersion] = []
    for n, code in enumerate(bundle.members):
        item = ctx.catalog.version_in_force(code, now)
        if item is None:
            raise ItemNotInForce(f"bundle.members[{n}]", ctx.catalog.why_not_in_force(code, now))
        items.append(item)
    return items
