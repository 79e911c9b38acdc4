"""Who may see or act on a case (the issue's "Access" rules, as intake applies them).

- **residents** see and act on their own cases only: the ones they submitted online
  (`submitted_by` is their subject), and the ones whose applicant is them. A resident token
  names a pseudonymous account as `sub` (a `sub` holding an ID number is refused by
  `eventkit.auth`) and the real-name-verified ID number in its `id_number` claim, which only
  intake reads; it is compared by keyed hash (`applicant_key`: the subject's lookup hash,
  `personal_data.ApplicantKeys`), never in the clear.
- **staff** (community agents, officers, center heads) are who the staff directory of
  routing's org tree lists at the center their token names, in the token's role: a staff
  member the tree does not list there records and reads nothing (`require_registered_actor`),
  and the first-inquiry responsible staff member (首问责任人) of a case is a staff member of
  the accepting center (`require_staff_member`).
- what **staff** see: the cases of their center:
  the accepting center, and the handling unit and office routing chose (from routing's
  events). The accepting staff member and the assigned officer always see their cases.
  A center head at town or city level also sees the cases of every unit below.
  Supplements and corrections may be recorded by staff at ANY center (intake is
  location-independent: a resident may walk into whichever center is nearest).
- a **withdrawal** is the resident's act (`withdrawal_confirmation`): the resident withdraws
  their own case; staff record it for a case accepted at their own center (which holds the
  resident's file, 首问负责 / 全程代理), or elsewhere with the resident present giving the
  verification code of their receipt. The event records which (`confirmation`).
- **inspectors** read everything and change nothing (no POST route admits them).
- **admins** maintain reference data (the catalog) and do not read cases.

A refusal is a 403 naming the reason; nothing is changed.
"""

from __future__ import annotations

import hmac
from typing import Any

import asyncpg

from contracts.intake import WithdrawalConfirmation
from eventkit.auth import Principal
from eventkit.envelope import Actor

from ..personal_data import ApplicantKeys
from ..projections import routing_view
from .errors import refuse

STAFF_ROLES = ("community_agent", "officer", "center_head")
CASE_WRITERS = ("resident", "community_agent", "officer")
CASE_READERS = ("resident", "community_agent", "officer", "center_head", "inspector")


async def require_staff_member(
    conn: asyncpg.Connection, staff_id: str, center: str, *, role: str | None, field: str
) -> None:
    """`staff_id` works at `center` (in `role`; else in one of the centers' staff roles) by
    the staff directory that routing's org tree publishes. Every event names its actor and
    every case its first-inquiry responsible staff member (首问负责, 责任追究制): a name the
    tree does not list at that center would make nobody accountable."""
    row = await routing_view.staff_member(conn, staff_id)
    if row is None:
        raise refuse(
            403,
            field,
            f"{staff_id} is not in the staff directory of the org tree; only registered "
            "staff act for a center",
        )
    if row["unit_id"] != center:
        raise refuse(
            403,
            field,
            f"{staff_id} works at {row['unit_id']} by the staff directory, not at {center}",
        )
    wanted = (role,) if role is not None else STAFF_ROLES
    if not set(wanted) & set(row["roles"]):
        raise refuse(
            403,
            field,
            f"the staff directory gives {staff_id} the roles {', '.join(row['roles'])}, "
            f"not {' or '.join(wanted)}",
        )


async def require_registered_actor(conn: asyncpg.Connection, p: Principal) -> None:
    """A staff caller is who the staff directory lists at the center in their token, in the
    token's role (the token says who; the org tree says where they work and as what)."""
    if p.role in STAFF_ROLES:
        assert p.org_id is not None  # eventkit.auth refuses a staff token without its center
        await require_staff_member(conn, p.sub, p.org_id, role=p.role, field="actor")


def actor_of(p: Principal) -> Actor:
    return Actor(id=p.sub, role=p.role, org_id=p.org_id)


async def resident_subject(core: Any, p: Principal) -> Principal:
    """A resident as intake knows them (issue 15): the token's real-name identity (the
    `id_number` claim) stays in that claim, and `sub` (the identity provider's account id)
    becomes the resident's pseudonymous subject (made on first sight), so every actor,
    `submitted_by`, `withdrawn_by` and log line names intake's subject. A token without the
    claim keeps its `sub` (a pseudonym already: it owns the cases it submitted). Installed as
    the app's `principal_hook` (`eventkit.auth.authenticate`); staff pass unchanged."""
    if p.role != "resident":
        return p
    identity = resident_identity(p)
    if identity is None:
        return p
    async with core.pool.acquire() as conn:
        subject = await core.subjects.subject_of(conn, identity)
        if subject is None:
            async with conn.transaction():
                subject = (await core.subjects.subject_for(conn, identity)).subject_id
    return Principal(
        sub=subject,
        role=p.role,
        org_id=p.org_id,
        tier=p.tier,
        claims={**p.claims, "id_number": identity},
    )


def resident_identity(p: Principal) -> str | None:
    """The real-name ID number of a resident token (its `id_number` claim), if it has one."""
    claimed = p.claims.get("id_number")
    return claimed if isinstance(claimed, str) and claimed.strip() else None


def resident_owns(p: Principal, row: asyncpg.Record | dict[str, Any], keys: ApplicantKeys) -> bool:
    if p.role != "resident":
        return False
    if row["submitted_by_role"] == "resident" and row["submitted_by"] == p.sub:
        return True
    stored = row["applicant_key"]
    if stored is None:  # an erased applicant: nobody's any more
        return False
    identity = resident_identity(p)
    if identity is None:
        return False
    return any(hmac.compare_digest(h, stored) for h in keys.hashes(identity))


async def staff_sees(
    conn: asyncpg.Connection,
    p: Principal,
    row: asyncpg.Record | dict[str, Any],
    progress: asyncpg.Record | dict[str, Any] | None,
) -> bool:
    people = {row["accepting_staff_id"], progress["assigned_to"] if progress else None}
    if p.sub in people:
        return True
    if p.org_id is None:
        return False
    units = {row["accepting_center_id"]}
    if progress is not None:
        units |= {progress["handling_unit_id"], progress["handling_office_id"]}
    units.discard(None)
    if p.org_id in units:
        return True
    if p.role == "center_head":
        for unit in units:
            if p.org_id in await routing_view.ancestors(conn, unit):
                return True
    return False


async def require_read(
    conn: asyncpg.Connection,
    p: Principal,
    row: asyncpg.Record,
    progress: asyncpg.Record | None,
    keys: ApplicantKeys,
) -> None:
    if p.role == "inspector":
        return
    if p.role == "resident":
        if resident_owns(p, row, keys):
            return
        raise refuse(403, "case_id", "this application belongs to another resident")
    if p.role in STAFF_ROLES:
        if await staff_sees(conn, p, row, progress):
            return
        raise refuse(
            403,
            "case_id",
            f"staff of {p.org_id or '(no org_id in the token)'} see the cases of their own "
            f"center; this case was accepted at {row['accepting_center_id']}",
        )
    raise refuse(403, "case_id", f"role {p.role!r} does not read applications")


def withdrawal_confirmation(
    p: Principal, row: asyncpg.Record, keys: ApplicantKeys, *, code_given: bool
) -> WithdrawalConfirmation:
    """How this withdrawal is the resident's act, or a 403 naming what is missing.

    `code_given`: the caller gave the resident's verification code and it was right (checked
    under the guessing throttle, `code_guard`)."""
    if p.role == "resident":
        require_owner_if_resident(p, row, keys)
        return "resident"
    if code_given:
        return "verification_code"
    if p.org_id is not None and p.org_id == row["accepting_center_id"]:
        return "accepting_center"
    raise refuse(
        403,
        "verification_code",
        f"a withdrawal is the resident's act: staff of {p.org_id} record it for cases accepted "
        f"at their own center; this case was accepted at {row['accepting_center_id']}, so the "
        "resident, present, gives the verification code of their receipt",
    )


def require_owner_if_resident(p: Principal, row: asyncpg.Record, keys: ApplicantKeys) -> None:
    """Residents act only on their own cases; staff may act at any center."""
    if p.role == "resident" and not resident_owns(p, row, keys):
        raise refuse(403, "case_id", "this application belongs to another resident")


async def document_reader(
    conn: asyncpg.Connection,
    p: Principal,
    row: asyncpg.Record | dict[str, Any],
    progress: asyncpg.Record | dict[str, Any] | None,
    keys: ApplicantKeys,
) -> str | None:
    """Why `p` may read the case's documents (scans of a resident's papers: narrower than the
    case itself), or None: the handling office's officers (and the assigned officer), the
    accepting center's staff (首问负责: it took the papers), the resident (own case) and
    inspectors (read-only, every read recorded). Nobody else: not another center, not a
    center head above the case."""
    if p.role == "inspector":
        return "inspector"
    if p.role == "resident":
        return "own case" if resident_owns(p, row, keys) else None
    if p.role in STAFF_ROLES and p.org_id is not None:
        if p.org_id == row["accepting_center_id"]:
            return "accepting center"
        if p.role == "officer" and progress is not None:
            if p.sub == progress["assigned_to"]:
                return "handling office"
            office = progress["handling_office_id"]
            if office is not None and p.org_id == progress["handling_unit_id"]:
                member = await routing_view.staff_member(conn, p.sub)
                if member is not None and member["office_id"] == office:
                    return "handling office"
    return None


async def require_document_read(
    conn: asyncpg.Connection,
    p: Principal,
    row: asyncpg.Record,
    progress: asyncpg.Record | None,
    keys: ApplicantKeys,
) -> str:
    why = await document_reader(conn, p, row, progress, keys)
    if why is not None:
        return why
    if p.role == "resident":
        raise refuse(403, "case_id", "this application belongs to another resident")
    raise refuse(
        403,
        "case_id",
        "a case's documents are read by the handling office's officers, the accepting "
        f"center ({row['accepting_center_id']}), the resident and inspectors; "
        f"not by {p.role} of {p.org_id or '(no center)'}",
    )
