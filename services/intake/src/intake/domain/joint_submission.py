"""A joint intake (联办): one visit, one set of materials, one receipt, ONE one-time notice.

The bundle in force names the members; every member's item in force is checked like a
single submission, the shared materials once (`contracts.materials.joint_missing_materials`,
the same 一次性告知 rule as a single item). The registration comes first
(`JointApplicationSubmitted`: the applicant, what was handed in). With gaps the answer is one
`JointMaterialsMissingNotified` covering every member; without, one
`JointApplicationAccepted` with one receipt whose promise is the latest member's
(`contracts.joint.joint_promise`) and each member's own case id, which routing sends to the
office that holds that member's authority. The answer to the notice is
`joint_supplement.decide_supplement_joint`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.base import DomainEvent
from contracts.intake import Applicant, CatalogItemVersion, Channel, ProvidedMaterial
from contracts.joint import (
    JointApplicationAccepted,
    JointApplicationSubmitted,
    JointBundle,
    JointMaterialsMissingNotified,
    JointMaterialsSupplemented,
    JointMember,
    JointMissing,
    JointResultDelivered,
    JointResultRecorded,
    MemberItem,
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
    submitted: JointApplicationSubmitted | None = None
    shared_provided: tuple[ProvidedMaterial, ...] = ()
    """Everything shared handed in so far (the first hand-in, then each supplement)."""
    member_provided: tuple[MemberMaterials, ...] = ()
    """Each member's own materials handed in so far, one entry per member named."""
    missing: JointMissing | None = None
    """What the one notice (or the last supplement) says is still missing."""
    results_recorded: tuple[str, ...] = ()
    """routing's joint results recorded so far (their event ids)."""
    result_final: bool = False
    delivered: bool = False


def _merged(
    held: tuple[MemberMaterials, ...], more: tuple[MemberMaterials, ...]
) -> tuple[MemberMaterials, ...]:
    by_item: dict[str, tuple[ProvidedMaterial, ...]] = {m.item_code: m.provided for m in held}
    for m in more:
        by_item[m.item_code] = (*by_item.get(m.item_code, ()), *m.provided)
    return tuple(MemberMaterials(item_code=c, provided=p) for c, p in by_item.items())


def evolve_joint(state: JointState, evt: DomainEvent) -> JointState:
    match evt:
        case JointApplicationSubmitted():
            return replace(
                state,
                bundle_code=evt.bundle_code,
                submitted=evt,
                shared_provided=evt.shared_provided,
                member_provided=evt.member_provided,
            )
        case JointMaterialsMissingNotified(bundle_code=code):
            return replace(state, status="notified", bundle_code=code, missing=evt.missing)
        case JointMaterialsSupplemented():
            return replace(
                state,
                shared_provided=(*state.shared_provided, *evt.shared_supplied),
                member_provided=_merged(state.member_provided, evt.member_supplied),
                missing=evt.still_missing,
            )
        case JointApplicationAccepted(bundle_code=code):
            return replace(state, status="accepted", bundle_code=code)
        case JointResultRecorded():
            return replace(
                state,
                results_recorded=(*state.results_recorded, evt.source_event_id),
                result_final=state.result_final or evt.final,
            )
        case JointResultDelivered():
            return replace(state, delivered=True)
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
    items = members_in_force(bundle, now, ctx)
    check_org("accepting_center_id", cmd.accepting_center_id)
    if cmd.channel != "online" and not (cmd.accepting_staff_id or "").strip():
        raise InvalidField(
            "accepting_staff_id",
            "the first-inquiry responsible staff member (首问责任人) is required at a center",
        )
    applicant = _checked_applicant(cmd.applicant, now)
    own = check_handed_in(bundle, items, cmd.shared_provided, cmd.member_provided)
    submitted = JointApplicationSubmitted(
        joint_case_id=cmd.joint_case_id,
        bundle_code=bundle.code,
        bundle_version=bundle.version,
        bundle_name_zh=bundle.name_zh,
        member_items=tuple(MemberItem(item_code=i.code, item_name_zh=i.name_zh) for i in items),
        applicant=applicant,
        registered_community_id=applicant.registered_community_id,
        shared_provided=cmd.shared_provided,
        member_provided=cmd.member_provided,
        accepting_center_id=cmd.accepting_center_id,
        accepting_staff_id=(cmd.accepting_staff_id or "").strip() or None,
        channel=cmd.channel,
        submitted_at=now,
        submitted_by=cmd.actor.id,
    )
    missing = joint_missing_materials(
        [(i.code, i.materials) for i in items], bundle.shared_materials, cmd.shared_provided, own
    )
    if not missing.complete:
        return [
            submitted,
            JointMaterialsMissingNotified(
                joint_case_id=cmd.joint_case_id,
                bundle_code=bundle.code,
                bundle_version=bundle.version,
                bundle_name_zh=bundle.name_zh,
                missing=missing,
                accepting_center_id=cmd.accepting_center_id,
                notified_by=cmd.actor.id,
            ),
        ]
    return [submitted, accept_joint(submitted, bundle, items, now, cmd.actor.id, ctx)]


def check_handed_in(
    bundle: JointBundle,
    items: list[CatalogItemVersion],
    shared_provided: tuple[ProvidedMaterial, ...],
    member_provided: tuple[MemberMaterials, ...],
    fields: tuple[str, str] = ("shared_provided", "member_provided"),
) -> dict[str, tuple[ProvidedMaterial, ...]]:
    """Every material handed in is one the bundle asks for, shared ones under the shared
    list and each member's own under its member (`fields` name the two lists in errors):
    the member's own materials by item code."""
    shared = set(bundle.shared_materials)
    check_materials_listed(
        fields[0],
        shared_provided,
        shared_requirement([i.materials for i in items], bundle.shared_materials),
    )
    by_item = {i.code: i for i in items}
    own: dict[str, tuple[ProvidedMaterial, ...]] = {}
    for n, given in enumerate(member_provided):
        field = f"{fields[1]}[{n}]"
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
    return own


def accept_joint(
    submitted: JointApplicationSubmitted,
    bundle: JointBundle,
    items: list[CatalogItemVersion],
    now: datetime,
    actor_id: str,
    ctx: IntakeContext,
) -> JointApplicationAccepted:
    """The one receipt: promised from the moment of acceptance by the latest member."""
    promise = joint_promise(
        now,
        [i.promised_limit_days for i in items],
        bundle.approval_order,
        ctx.office_hours,
        calendar=ctx.calendar,
    )
    accepted_on = local_date(now)
    joint_case_id = submitted.joint_case_id
    return JointApplicationAccepted(
        joint_case_id=joint_case_id,
        receipt_no=receipt_number(joint_case_id, accepted_on),
        bundle_code=bundle.code,
        bundle_version=bundle.version,
        bundle_name_zh=bundle.name_zh,
        members=tuple(
            JointMember(
                case_id=member_case_id(joint_case_id, i.code),
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
        registered_community_id=submitted.registered_community_id,
        accepting_center_id=submitted.accepting_center_id,
        accepting_staff_id=submitted.accepting_staff_id,
        accepted_at=now,
        accepted_by=actor_id,
    )


def members_in_force(
    bundle: JointBundle, now: datetime, ctx: IntakeContext
) -> list[CatalogItemVersion]:
    """The member items a joint intake at `now` is judged by (each must be in force)."""
    items: list[CatalogItemVersion] = []
    for n, code in enumerate(bundle.members):
        item = ctx.catalog.version_in_force(code, now)
        if item is None:
            raise ItemNotInForce(f"bundle.members[{n}]", ctx.catalog.why_not_in_force(code, now))
        items.append(item)
    return items
