"""The resident answers the one joint notice (联办补齐): once, for every member.

What is brought back is checked against the bundle and items the joint case was judged by
at its hand-in (not whatever is in force later), shared materials once and each member's
own apart, and recorded with what is still missing (`JointMaterialsSupplemented`: never a
second notice, as for a single case). When nothing is missing the joint case is accepted in
the same step: one receipt, the latest member's promise counted from now, and every member
that was waiting for those materials goes on to the office holding its authority.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from contracts.base import DomainEvent
from contracts.intake import ProvidedMaterial
from contracts.joint import JointBundle, JointMaterialsSupplemented, MemberMaterials
from contracts.materials import joint_missing_materials
from eventkit.envelope import Actor

from .checks import check_org
from .context import IntakeContext
from .errors import InvalidField, UnknownItem, WrongStatus
from .joint_submission import JointState, accept_joint, check_handed_in, members_in_force


class SupplementJointMaterials(BaseModel):
    """Materials brought back for the one joint notice, at a center's window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    joint_case_id: str
    shared_supplied: tuple[ProvidedMaterial, ...] = ()
    member_supplied: tuple[MemberMaterials, ...] = ()
    received_center_id: str
    actor: Actor


def decide_supplement_joint(
    cmd: SupplementJointMaterials, state: JointState, now: datetime, ctx: IntakeContext
) -> list[DomainEvent]:
    sub = state.submitted
    if sub is None:
        raise UnknownItem("joint_case_id", f"no joint case {cmd.joint_case_id}")
    if state.status != "notified":
        raise WrongStatus(
            "status",
            f"the joint case is {state.status}; supplements are taken only while materials "
            "are awaited",
        )
    if not cmd.shared_supplied and not any(m.provided for m in cmd.member_supplied):
        raise InvalidField("materials", "nothing was supplied")
    check_org("received_center_id", cmd.received_center_id)
    bundle = _bundle_judged_by(state, ctx)
    items = members_in_force(bundle, sub.submitted_at, ctx)
    check_handed_in(
        bundle,
        items,
        cmd.shared_supplied,
        cmd.member_supplied,
        ("shared_supplied", "member_supplied"),
    )
    shared = (*state.shared_provided, *cmd.shared_supplied)
    merged: dict[str, tuple[ProvidedMaterial, ...]] = {
        m.item_code: m.provided for m in state.member_provided
    }
    for m in cmd.member_supplied:
        merged[m.item_code] = (*merged.get(m.item_code, ()), *m.provided)
    still = joint_missing_materials(
        [(i.code, i.materials) for i in items], bundle.shared_materials, shared, merged
    )
    events: list[DomainEvent] = [
        JointMaterialsSupplemented(
            joint_case_id=cmd.joint_case_id,
            shared_supplied=cmd.shared_supplied,
            member_supplied=cmd.member_supplied,
            still_missing=still,
            received_center_id=cmd.received_center_id,
            supplied_by=cmd.actor.id,
        )
    ]
    if still.complete:
        events.append(accept_joint(sub, bundle, items, now, cmd.actor.id, ctx))
    return events


def _bundle_judged_by(state: JointState, ctx: IntakeContext) -> JointBundle:
    sub = state.submitted
    assert sub is not None
    for bundle, _when in ctx.catalog.bundles.get(sub.bundle_code, ()):
        if bundle.version == sub.bundle_version:
            return bundle
    raise UnknownItem("bundle_code", f"bundle {sub.bundle_code} v{sub.bundle_version} is gone")
