"""Who may do what: the access rules of intake, routing, notify and audit as one table.

Every HTTP operation of the four services is an `Action`; each action lists its `Cell`s, one
per (role, scope): whether that role, on that kind of target, may do it, and why — in the
centers' own terms (全程代理, 首问负责, AB岗, 督办, 好差评, 阳光运作 ...). The services enforce
the rules (their `access` modules, `eventkit.auth`, the deciders); this table states them in
one place, and two tests hold the services to it:

- `tests/contracts/test_access_table.py`: the table names every operation of the four apps'
  OpenAPI documents and nothing else, every action has a cell for every role, and
  `docs/ACCESS.md` is exactly `render_markdown()` (regenerate it with
  ``python -m contracts.access > docs/ACCESS.md``);
- `tests/integration/access/test_access_matrix.py`: every cell, run against the four services
  on real PostgreSQL and Kafka: a refusal is a 403 with a reason and leaves nothing behind,
  an allowed cell passes the access check.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Role = Literal[
    "anonymous", "resident", "community_agent", "officer", "center_head", "inspector", "admin"
]
ROLES: tuple[Role, ...] = (
    "anonymous",
    "resident",
    "community_agent",
    "officer",
    "center_head",
    "inspector",
    "admin",
)
ROLE_TEXT: dict[Role, str] = {
    "anonymous": "no token: the public, a witness",
    "resident": (
        "a resident (浙里办 account: a pseudonymous `sub`, the real-name ID number in the"
        " `id_number` claim)"
    ),
    "community_agent": "a community agent (社区代办员) at a center's window",
    "officer": "an officer (审批人员) of a town or city office, or a community window",
    "center_head": "a center head (中心主任)",
    "inspector": "a discipline inspector (纪检监察)",
    "admin": "an administrator of the reference data (catalog, org tree)",
}

Outcome = Literal["allow", "refuse", "sign_in", "hidden"]
OUTCOME_TEXT: dict[Outcome, str] = {
    "allow": "allowed: passes the access check (2xx, or a 4xx about the request itself)",
    "refuse": "refused with the reason; nothing is recorded",
    "sign_in": "not signed in: no token, or a staff token naming no center",
    "hidden": "the same answer as for a receipt that does not exist",
}
OUTCOME_MARK: dict[Outcome, str] = {
    "allow": "yes",
    "refuse": "403",
    "sign_in": "401",
    "hidden": "404",
}

SCOPES: dict[str, str] = {
    "any": "whatever the target",
    "own_case": "their own case (they submitted it online, or they are its applicant)",
    "other_resident": "another resident's case (or a center's list)",
    "own_center": "a case accepted at their center, or handled by their office or center",
    "other_center": "a case neither accepted nor handled at their center or below it",
    "below": "a case of a center below their town or city center",
    "with_code": "a case of another center, the resident present giving the verification "
    "code of their receipt",
    "assigned": "assigned to them (the case's officer; the head a follow-up was given to)",
    "not_assigned": "of their center or above, but assigned to someone else",
    "not_in_directory": "their token's subject is not in the org tree's staff directory at "
    "the token's center",
    "no_center": "a staff token naming no center (org_id) or tier",
    "fee_override": "accepting a fee other than the published standard",
    "right_code": "with the receipt number and its verification code",
    "wrong_code": "with a receipt number and a wrong code",
    "own_report": "a situation report of their own center",
    "report_below": "a situation report of a center below theirs (it came up to them)",
    "report_other": "a situation report of a center neither theirs nor below it",
}


@dataclass(frozen=True)
class Cell:
    role: Role
    scope: str
    outcome: Outcome
    why: str


@dataclass(frozen=True)
class Action:
    id: str
    service: str
    method: str
    path: str
    summary: str
    cells: tuple[Cell, ...]

    @property
    def operation(self) -> tuple[str, str, str]:
        return (self.service, self.method, self.path)


# -- building blocks ---------------------------------------------------------------------------
SIGN_IN = "who acts is named on the trail (责任追究制): a signed-in caller"
STAFF_SIGN_IN = (
    "a staff token names the center and tier the person works at: every staff rule starts there"
)
INSPECTOR_READS_ONLY = "inspectors read everything and change nothing (纪检监察 stays outside)"
ADMIN_NO_CASES = "administrators keep reference data; they do not handle or read cases"
STAFF_DIRECTORY = "staff work with colleagues: who holds the A/B post, who is on duty (AB岗)"
RESIDENT_AT_INTAKE = "residents follow their case at intake (their cases, the status view)"


def everyone(why: str, scope: str = "any") -> tuple[Cell, ...]:
    return tuple(Cell(r, scope, "allow", why) for r in ROLES)


def only(
    allowed: dict[Role, str], others: str, *, refused: dict[Role, str] | None = None
) -> tuple[Cell, ...]:
    """`allowed` roles may (scope any); every other signed-in role is refused (`others`, or
    its own reason in `refused`); no token: sign in."""
    refused = refused or {}
    cells = [Cell("anonymous", "any", "sign_in", SIGN_IN)]
    for r in ROLES[1:]:
        if r in allowed:
            cells.append(Cell(r, "any", "allow", allowed[r]))
        else:
            cells.append(Cell(r, "any", "refuse", refused.get(r, others)))
    return tuple(cells)


def cells(*rows: tuple[Role, str, Outcome, str]) -> tuple[Cell, ...]:
    return tuple(Cell(*row) for row in rows)


def _admin_only(why_admin: str, why_others: str) -> tuple[Cell, ...]:
    return only(
        {"admin": why_admin},
        why_others,
        refused={"inspector": INSPECTOR_READS_ONLY},
    )


# -- intake ------------------------------------------------------------------------------------
CATALOG_PUBLIC = (
    "阳光运作: procedures, materials and fee standards are public, for residents and staff alike"
)
CATALOG_ADMIN = (
    "the catalog is reference data kept by administrators; each version is an event, and the "
    "published fee is what intake charges (阳光运作)"
)
CATALOG_NOT_YOURS = (
    "the published items and fee standards change only through the administrators, each "
    "change on the trail (阳光运作, 责任追究制)"
)
DOCUMENTS_NARROW = (
    "a resident's papers are read by the accepting center, the handling office, the resident "
    "and inspectors; nobody else"
)
NOT_AT_WINDOW = "heads supervise their center (督办); applications are taken at the window"
LEGAL_HOLD = (
    "inspectors hold a case they still need (纪检监察): its applicant's personal data is not "
    "erased until they release it; the hold changes nothing of the case"
)
CASE_STAFF_ROLES = "handled by residents and the staff at the windows and offices"

INTAKE: tuple[Action, ...] = (
    Action(
        "intake.catalog",
        "intake",
        "GET",
        "/v1/catalog",
        "the published catalog",
        everyone(CATALOG_PUBLIC),
    ),
    Action(
        "intake.catalog_item",
        "intake",
        "GET",
        "/v1/catalog/{code}",
        "one catalog item with its versions",
        everyone(CATALOG_PUBLIC),
    ),
    Action(
        "intake.catalog_publish",
        "intake",
        "POST",
        "/v1/catalog/items",
        "publish a catalog item version",
        _admin_only(CATALOG_ADMIN, CATALOG_NOT_YOURS),
    ),
    Action(
        "intake.catalog_bundle_publish",
        "intake",
        "POST",
        "/v1/catalog/bundles",
        "publish a joint bundle version (联办事项)",
        _admin_only(CATALOG_ADMIN, CATALOG_NOT_YOURS),
    ),
    Action(
        "intake.catalog_retire",
        "intake",
        "POST",
        "/v1/catalog/items/{code}/retire",
        "retire a catalog item",
        _admin_only(CATALOG_ADMIN, CATALOG_NOT_YOURS),
    ),
    Action(
        "intake.centers",
        "intake",
        "GET",
        "/v1/centers",
        "the centers of the three tiers",
        everyone("where to hand in: the centers of the three tiers are public"),
    ),
    Action(
        "intake.center",
        "intake",
        "GET",
        "/v1/centers/{unit_id}",
        "one center's address, hours, service lines and access note",
        everyone(
            "where to hand in and when it is open: each center's hours and windows are public"
        ),
    ),
    Action(
        "intake.submit",
        "intake",
        "POST",
        "/v1/applications",
        "submit an application",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            (
                "resident",
                "any",
                "allow",
                "a resident applies online; the case is accepted at their community",
            ),
            (
                "community_agent",
                "own_center",
                "allow",
                "首问负责: the staff member asked at the window accepts, at their own center, "
                "and stays accountable for the case",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "staff accept at the center they work at (their token's), not at another",
            ),
            (
                "community_agent",
                "not_in_directory",
                "refuse",
                "首问责任人 is a staff member the org tree lists at that center: a name it does "
                "not know makes nobody accountable (责任追究制)",
            ),
            ("community_agent", "no_center", "sign_in", STAFF_SIGN_IN),
            (
                "community_agent",
                "fee_override",
                "refuse",
                "阳光运作: the fee charged is the published standard; only an officer may "
                "accept another, with a reason, in their own name",
            ),
            (
                "officer",
                "own_center",
                "allow",
                "an officer at a center's window accepts like an agent (首问负责)",
            ),
            (
                "officer",
                "fee_override",
                "allow",
                "an officer may accept a fee other than the standard, with a reason; the "
                "override is an event naming them (阳光运作)",
            ),
            ("center_head", "any", "refuse", NOT_AT_WINDOW),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.submit_joint",
        "intake",
        "POST",
        "/v1/joint-applications",
        "submit a joint bundle (联办): one notice or one receipt for every member",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            (
                "resident",
                "any",
                "refuse",
                "a joint bundle is handed in at a center's window, where the shared "
                "materials are checked once",
            ),
            (
                "community_agent",
                "own_center",
                "allow",
                "首问负责: the staff member asked at the window accepts the whole bundle, at "
                "their own center, and stays accountable for it",
            ),
            (
                "community_agent",
                "not_in_directory",
                "refuse",
                "首问责任人 is a staff member the org tree lists at that center",
            ),
            ("community_agent", "no_center", "sign_in", STAFF_SIGN_IN),
            ("officer", "own_center", "allow", "an officer at a window accepts like an agent"),
            ("center_head", "any", "refuse", NOT_AT_WINDOW),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.read_joint",
        "intake",
        "GET",
        "/v1/joint-applications/{joint_case_id}",
        "one joint case (联办): where it stands, its members, the result as it came back",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "allow", "a resident reads their own joint case"),
            ("resident", "other_resident", "refuse", "a joint case belongs to its applicant"),
            (
                "community_agent",
                "own_center",
                "allow",
                "全程代理: the accepting center carries the joint case and sees it through",
            ),
            (
                "community_agent",
                "not_in_directory",
                "refuse",
                "staff read as who the org tree lists at their center: a name it does not "
                "know sees no resident's data",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "staff see the joint cases of their own center",
            ),
            ("officer", "own_center", "allow", "the accepting center's officer reads it"),
            (
                "officer",
                "other_center",
                "refuse",
                "a member's office reads its own member case at routing, not the whole bundle",
            ),
            (
                "center_head",
                "below",
                "allow",
                "督办: a town or city head watches the joint cases of the centers below",
            ),
            (
                "center_head",
                "other_center",
                "refuse",
                "a head watches their own center and those below it",
            ),
            ("inspector", "any", "allow", "inspectors read every case"),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.deliver_joint",
        "intake",
        "POST",
        "/v1/joint-applications/{joint_case_id}/delivery",
        "record that the joint result reached the resident (领取, once for the bundle)",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            (
                "resident",
                "own_case",
                "refuse",
                "staff record the hand-over of the result; the resident receives it",
            ),
            (
                "community_agent",
                "own_center",
                "allow",
                "全程代理: the accepting center hands the whole result back at once",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "the joint result waits at its accepting center, which hands it over",
            ),
            ("officer", "own_center", "allow", "the accepting center's officer may hand it over"),
            (
                "officer",
                "other_center",
                "refuse",
                "a member's office decides its member; the accepting center hands over the result",
            ),
            ("center_head", "any", "refuse", NOT_AT_WINDOW),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.supplement_joint",
        "intake",
        "POST",
        "/v1/joint-applications/{joint_case_id}/materials",
        "supplement the materials the one joint notice named (联办补齐)",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            (
                "resident",
                "any",
                "refuse",
                "a joint bundle's materials are checked at a center's window, shared ones once",
            ),
            ("community_agent", "own_center", "allow", "the accepting window takes them in"),
            (
                "community_agent",
                "other_center",
                "allow",
                "intake is location-independent: materials are handed in at whichever center "
                "is nearest, and the joint case carries them (全程代理)",
            ),
            ("community_agent", "no_center", "sign_in", STAFF_SIGN_IN),
            (
                "officer",
                "other_center",
                "allow",
                "intake is location-independent: any window takes materials in",
            ),
            ("center_head", "any", "refuse", NOT_AT_WINDOW),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.list",
        "intake",
        "GET",
        "/v1/applications",
        "list applications",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "allow", "a resident lists their own applications"),
            (
                "resident",
                "other_resident",
                "refuse",
                "residents list their own applications, never a center's",
            ),
            ("community_agent", "own_center", "allow", "staff list their own center's cases"),
            (
                "community_agent",
                "not_in_directory",
                "refuse",
                "staff read as who the org tree lists at their center: a name it does not "
                "know sees no resident's data",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "staff see the cases of their own center: residents' data stays where it was "
                "handed in",
            ),
            ("officer", "own_center", "allow", "staff list their own center's cases"),
            (
                "officer",
                "other_center",
                "refuse",
                "staff see the cases of their own center, not another's",
            ),
            (
                "center_head",
                "below",
                "allow",
                "督办: a town or city head watches the centers below theirs",
            ),
            (
                "center_head",
                "other_center",
                "refuse",
                "a head watches their center and those below it, not a neighbour's",
            ),
            ("inspector", "any", "allow", "纪检监察 reads every center's cases"),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.read",
        "intake",
        "GET",
        "/v1/applications/{case_id}",
        "one case with its trail",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "allow", "a resident reads their own case and its trail"),
            ("resident", "other_resident", "refuse", "a case belongs to its applicant"),
            (
                "community_agent",
                "own_center",
                "allow",
                "全程代理: the accepting center carries the case and sees it through",
            ),
            (
                "community_agent",
                "not_in_directory",
                "refuse",
                "staff read as who the org tree lists at their center: a name it does not "
                "know sees no resident's data",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "staff see the cases of their own center: a case accepted at another center "
                "is not theirs",
            ),
            (
                "officer",
                "own_center",
                "allow",
                "the handling office decides the case and reads it whole",
            ),
            (
                "officer",
                "other_center",
                "refuse",
                "a case neither accepted nor handled at the officer's center is not theirs",
            ),
            (
                "center_head",
                "below",
                "allow",
                "督办: a town or city head watches the cases of the centers below",
            ),
            (
                "center_head",
                "other_center",
                "refuse",
                "a head watches their center and those below it, not a neighbour's",
            ),
            ("inspector", "any", "allow", "纪检监察 reads every case and its whole trail"),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.supplement",
        "intake",
        "POST",
        "/v1/applications/{case_id}/materials",
        "supplement the materials a one-time notice named",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            (
                "resident",
                "own_case",
                "allow",
                "一次性告知: the resident brings what the one notice listed",
            ),
            ("resident", "other_resident", "refuse", "a case belongs to its applicant"),
            ("community_agent", "own_center", "allow", "the accepting window takes them in"),
            (
                "community_agent",
                "other_center",
                "allow",
                "intake is location-independent: materials are handed in at whichever center "
                "is nearest, and the case carries them (全程代理)",
            ),
            (
                "officer",
                "other_center",
                "allow",
                "intake is location-independent: any window takes materials in",
            ),
            ("center_head", "any", "refuse", NOT_AT_WINDOW),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.documents_attach",
        "intake",
        "POST",
        "/v1/applications/{case_id}/documents",
        "attach scans or photos of a material (at intake, supplement or correction)",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            (
                "resident",
                "own_case",
                "allow",
                "一次性告知: the resident hands in the papers of their own case online",
            ),
            ("resident", "other_resident", "refuse", "a case belongs to its applicant"),
            ("community_agent", "own_center", "allow", "the accepting window scans the papers"),
            (
                "community_agent",
                "other_center",
                "allow",
                "intake is location-independent: papers are handed in at whichever center "
                "is nearest, and the case carries them (全程代理)",
            ),
            (
                "officer",
                "other_center",
                "allow",
                "intake is location-independent: any window scans papers in",
            ),
            ("center_head", "any", "refuse", NOT_AT_WINDOW),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.documents",
        "intake",
        "GET",
        "/v1/applications/{case_id}/documents",
        "the case's documents: material, hash, size and type of each",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "allow", "a resident reads the papers of their own case"),
            ("resident", "other_resident", "refuse", "a case belongs to its applicant"),
            (
                "community_agent",
                "own_center",
                "allow",
                "首问负责: the accepting center took the papers in and carries the case",
            ),
            (
                "community_agent",
                "not_in_directory",
                "refuse",
                "staff read as who the org tree lists at their center: a name it does not "
                "know sees no resident's papers",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                DOCUMENTS_NARROW,
            ),
            (
                "officer",
                "assigned",
                "allow",
                "the handling office's officer decides the case on its papers",
            ),
            (
                "officer",
                "not_assigned",
                "allow",
                "AB岗: the other post of the handling office stands in and reads the papers",
            ),
            ("officer", "other_center", "refuse", DOCUMENTS_NARROW),
            (
                "center_head",
                "below",
                "refuse",
                "督办 watches progress, not a resident's papers: only the accepting center "
                "and the handling office read them",
            ),
            ("center_head", "other_center", "refuse", DOCUMENTS_NARROW),
            (
                "inspector",
                "any",
                "allow",
                "纪检监察 reads every case's papers and changes nothing; every read is recorded",
            ),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.document",
        "intake",
        "GET",
        "/v1/applications/{case_id}/documents/{document_id}",
        "download one document (streamed; the read is recorded)",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "allow", "a resident reads the papers of their own case"),
            ("resident", "other_resident", "refuse", "a case belongs to its applicant"),
            (
                "community_agent",
                "own_center",
                "allow",
                "首问负责: the accepting center took the papers in and carries the case",
            ),
            (
                "community_agent",
                "not_in_directory",
                "refuse",
                "staff read as who the org tree lists at their center: a name it does not "
                "know sees no resident's papers",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                DOCUMENTS_NARROW,
            ),
            (
                "officer",
                "assigned",
                "allow",
                "the handling office's officer decides the case on its papers",
            ),
            (
                "officer",
                "not_assigned",
                "allow",
                "AB岗: the other post of the handling office stands in and reads the papers",
            ),
            ("officer", "other_center", "refuse", DOCUMENTS_NARROW),
            (
                "center_head",
                "below",
                "refuse",
                "督办 watches progress, not a resident's papers: only the accepting center "
                "and the handling office read them",
            ),
            ("center_head", "other_center", "refuse", DOCUMENTS_NARROW),
            (
                "inspector",
                "any",
                "allow",
                "纪检监察 reads every case's papers and changes nothing; every read is recorded",
            ),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.withdraw",
        "intake",
        "POST",
        "/v1/applications/{case_id}/withdraw",
        "withdraw an application",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "allow", "a withdrawal is the resident's own act"),
            ("resident", "other_resident", "refuse", "a case belongs to its applicant"),
            (
                "community_agent",
                "own_center",
                "allow",
                "the accepting center holds the resident's file (首问负责, 全程代理) and "
                "records their withdrawal; the event says so",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "a withdrawal is the resident's act: staff of another center record it only "
                "with the resident present (their verification code)",
            ),
            (
                "community_agent",
                "with_code",
                "allow",
                "the resident, present at another center, confirms with the code of their "
                "receipt; the event records the confirmation",
            ),
            (
                "officer",
                "own_center",
                "allow",
                "the accepting center's officer records the resident's withdrawal",
            ),
            (
                "officer",
                "other_center",
                "refuse",
                "the handling office decides, it does not withdraw for the resident: without "
                "the resident's code, only the accepting center records a withdrawal",
            ),
            ("center_head", "any", "refuse", NOT_AT_WINDOW),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.correction",
        "intake",
        "POST",
        "/v1/applications/{case_id}/correction",
        "supply the correction (补正) the office asked for",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "allow", "补正: the resident supplies what was asked"),
            ("resident", "other_resident", "refuse", "a case belongs to its applicant"),
            ("community_agent", "own_center", "allow", "the accepting window takes it in"),
            (
                "community_agent",
                "other_center",
                "allow",
                "intake is location-independent: a correction is handed in at any center",
            ),
            (
                "officer",
                "other_center",
                "allow",
                "intake is location-independent: any window takes a correction in",
            ),
            ("center_head", "any", "refuse", NOT_AT_WINDOW),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.deliver",
        "intake",
        "POST",
        "/v1/applications/{case_id}/delivery",
        "record that the result reached the resident",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            (
                "resident",
                "own_case",
                "refuse",
                "staff record the hand-over of the result; the resident receives it",
            ),
            (
                "community_agent",
                "own_center",
                "allow",
                "全程代理: the center holding the case hands the result back to the resident",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "only a center holding the case (accepting, handling, or where the result "
                "waits) hands over its result",
            ),
            ("officer", "own_center", "allow", "the handling office may hand the result over"),
            (
                "officer",
                "other_center",
                "refuse",
                "only a center holding the case hands over its result",
            ),
            ("center_head", "any", "refuse", NOT_AT_WINDOW),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.archive",
        "intake",
        "POST",
        "/v1/applications/{case_id}/archive",
        "archive a delivered case (登记归档)",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "refuse", "登记归档 is the centers' registry, kept by staff"),
            (
                "community_agent",
                "own_center",
                "allow",
                "登记归档: the center holding the case registers and archives it",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "only a center holding the case archives it",
            ),
            ("officer", "own_center", "allow", "the handling office may archive the case"),
            ("officer", "other_center", "refuse", "only a center holding the case archives it"),
            ("center_head", "any", "refuse", NOT_AT_WINDOW),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.evaluate",
        "intake",
        "POST",
        "/v1/applications/{case_id}/evaluation",
        "rate the service (好差评)",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "allow", "好差评: the resident rates the service they got"),
            ("resident", "other_resident", "refuse", "only the applicant rates their case"),
            (
                "community_agent",
                "own_center",
                "refuse",
                "好差评 is the resident's voice: staff never rate their own service",
            ),
            (
                "officer",
                "own_center",
                "refuse",
                "好差评 is the resident's voice: staff never rate their own service",
            ),
            (
                "center_head",
                "below",
                "refuse",
                "好差评 is the resident's voice: a head answers bad reviews, never writes them",
            ),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "intake.status",
        "intake",
        "GET",
        "/v1/status",
        "the resident status view (receipt number and code)",
        everyone(
            "the resident follows the case with the receipt number and its code, without an "
            "account (阳光运作)",
            "right_code",
        )
        + tuple(
            Cell(
                r,
                "wrong_code",
                "hidden",
                "a wrong code and an unknown receipt get the same answer, and the guesser "
                "(not the resident) is throttled",
            )
            for r in ROLES
        ),
    ),
    Action(
        "intake.erase",
        "intake",
        "POST",
        "/v1/admin/personal-data/erasures",
        "erase a resident's personal data (PIPL)",
        _admin_only(
            "a PIPL erasure is the administrators' act, on a stated legal basis, itself an "
            "event on the record; a legal hold stops it",
            "erasing a resident's personal data is the administrators' act only",
        ),
    ),
    Action(
        "intake.personal_data_reads",
        "intake",
        "GET",
        "/v1/personal-data/reads",
        "who read which resident's personal data",
        only(
            {
                "inspector": "every read of a resident's personal data is recorded; "
                "inspectors (纪检监察) read the record"
            },
            "the record of who read residents' personal data is for inspectors",
        ),
    ),
    Action(
        "intake.legal_hold",
        "intake",
        "PUT",
        "/v1/applications/{case_id}/legal-hold",
        "place a legal hold on a case",
        only(
            {"inspector": LEGAL_HOLD},
            "a legal hold is the inspection's own act (纪检监察): it keeps evidence, it changes "
            "no case",
        ),
    ),
    Action(
        "intake.staff_identity",
        "intake",
        "PUT",
        "/v1/admin/staff/{staff_id}/identity",
        "set a staff member's identity hashes (回避)",
        _admin_only(
            "intake, which alone opens sealed applicants, compares them with the staff acting "
            "on a case (a staff member handling their own family's case); kept by "
            "administrators as keyed hashes",
            "staff identities are kept by the administrators only",
        ),
    ),
    Action(
        "intake.legal_hold_release",
        "intake",
        "DELETE",
        "/v1/applications/{case_id}/legal-hold",
        "release a case's legal hold",
        only(
            {"inspector": LEGAL_HOLD},
            "a legal hold is the inspection's own act (纪检监察): it keeps evidence, it changes "
            "no case",
        ),
    ),
)

# -- routing -----------------------------------------------------------------------------------
ORG_ADMIN = (
    "the org tree is reference data kept by administrators; every change is an event on the "
    "org stream, so who changed which center, post or rule is on the trail (责任追究制)"
)
ORG_NOT_YOURS = (
    "centers, offices, staff, A/B posts, rosters and delegation are changed only by the "
    "administrators of the tree, on the trail"
)


def _org(id_: str, path: str, summary: str, why_admin: str) -> Action:
    return Action(id_, "routing", "POST", path, summary, _admin_only(why_admin, ORG_NOT_YOURS))


DECIDE_OTHERS = (
    "the assigned officer decides (AB岗: A, or B when the case went to B); the other holder "
    "takes over only by reassignment or A's recorded absence"
)
NOT_THE_HANDLING_OFFICE = "the case is handled by another office"
HEAD_SUPERVISES = (
    "a head supervises (督办) and reassigns; they do not decide in the officer's place"
)


def _officer_command(id_: str, path: str, summary: str, why: str) -> Action:
    return Action(
        id_,
        "routing",
        "POST",
        path,
        summary,
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "refuse", RESIDENT_AT_INTAKE),
            (
                "community_agent",
                "own_center",
                "refuse",
                "the accepting agent carries the case (全程代理); the office decides",
            ),
            ("officer", "assigned", "allow", why),
            ("officer", "not_assigned", "refuse", DECIDE_OTHERS),
            ("officer", "other_center", "refuse", NOT_THE_HANDLING_OFFICE),
            ("center_head", "own_center", "refuse", HEAD_SUPERVISES),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    )


ROUTING: tuple[Action, ...] = (
    Action(
        "routing.queue",
        "routing",
        "GET",
        "/v1/queue",
        "the work queue",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "any", "refuse", RESIDENT_AT_INTAKE),
            (
                "community_agent",
                "own_center",
                "allow",
                "全程代理: an agent follows the cases of their window and those they carry",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "another center's queue is not theirs",
            ),
            (
                "officer",
                "own_center",
                "allow",
                "an officer works the queue of their office (AB岗: both holders see the post's "
                "cases)",
            ),
            ("officer", "other_center", "refuse", "another center's queue is not theirs"),
            (
                "center_head",
                "below",
                "allow",
                "督办: a head watches their center's queue and, at town or city level, the "
                "centers below",
            ),
            (
                "center_head",
                "other_center",
                "refuse",
                "a head watches their center and those below it, not a neighbour's",
            ),
            ("inspector", "any", "allow", "纪检监察 sees every queue"),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "routing.case",
        "routing",
        "GET",
        "/v1/cases/{case_id}",
        "routing's state of a case and its trail",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "refuse", RESIDENT_AT_INTAKE),
            (
                "community_agent",
                "own_center",
                "allow",
                "全程代理: the agent carrying the case follows it up the tiers",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "a case carried by another center's agent is not theirs",
            ),
            ("officer", "own_center", "allow", "the handling office reads its case whole"),
            ("officer", "other_center", "refuse", NOT_THE_HANDLING_OFFICE),
            (
                "center_head",
                "below",
                "allow",
                "督办: a head watches the cases handled at their center and below",
            ),
            (
                "center_head",
                "other_center",
                "refuse",
                "a head watches their center and those below it, not a neighbour's",
            ),
            ("inspector", "any", "allow", "纪检监察 reads every case and its whole trail"),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    _officer_command(
        "routing.decide",
        "/v1/cases/{case_id}/decision",
        "approve or refuse",
        "the officer the case is assigned to (AB岗: the holder on duty) decides",
    ),
    _officer_command(
        "routing.correction_request",
        "/v1/cases/{case_id}/correction-request",
        "ask for a correction (补正)",
        "补正: the assigned officer lists everything to correct, once (一次性告知)",
    ),
    Action(
        "routing.reassign",
        "routing",
        "POST",
        "/v1/cases/{case_id}/reassign",
        "give a case to another officer",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "refuse", RESIDENT_AT_INTAKE),
            (
                "community_agent",
                "own_center",
                "refuse",
                "reassigning is the handling center head's 督办",
            ),
            (
                "officer",
                "assigned",
                "refuse",
                "an officer does not hand their case on: the head reassigns, with a reason",
            ),
            (
                "center_head",
                "own_center",
                "allow",
                "督办: the head of the handling center gives the case to another officer, "
                "with a reason on the trail",
            ),
            (
                "center_head",
                "below",
                "allow",
                "督办: a head above the handling center may reassign too",
            ),
            (
                "center_head",
                "other_center",
                "refuse",
                "only the head of the handling center or of a center above it reassigns",
            ),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            (
                "admin",
                "any",
                "allow",
                "the keeper of the tree may reassign when a center has no head to do it; the "
                "event names them",
            ),
        ),
    ),
    Action(
        "routing.result_return",
        "routing",
        "POST",
        "/v1/cases/{case_id}/result-return",
        "send the decided result back down",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "refuse", RESIDENT_AT_INTAKE),
            (
                "community_agent",
                "other_center",
                "refuse",
                "the handling center sends its result back; the accepting agent receives it",
            ),
            (
                "officer",
                "assigned",
                "allow",
                "全程代理: the deciding office sends the result back down the route",
            ),
            ("officer", "other_center", "refuse", NOT_THE_HANDLING_OFFICE),
            (
                "center_head",
                "own_center",
                "allow",
                "the handling center's staff, its head included, send the result back",
            ),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "routing.followups",
        "routing",
        "GET",
        "/v1/followups",
        "the bad-review follow-ups",
        only(
            {
                "center_head": "好差评: a head sees the follow-ups given to them and to the "
                "centers below",
                "inspector": "纪检监察 sees every follow-up and whether it was answered in time",
            },
            "a bad review's follow-up is the center head's (好差评)",
        ),
    ),
    Action(
        "routing.followup_answer",
        "routing",
        "POST",
        "/v1/followups/{followup_id}/answer",
        "answer a bad review's follow-up",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "own_case", "refuse", "the resident's review is answered by the head"),
            (
                "community_agent",
                "own_center",
                "refuse",
                "a bad review is answered by the center's head, not the window criticised",
            ),
            (
                "officer",
                "own_center",
                "refuse",
                "a bad review is answered by the center's head, not by an officer",
            ),
            (
                "center_head",
                "assigned",
                "allow",
                "好差评: the head of the center the resident dealt with answers for it",
            ),
            (
                "center_head",
                "not_assigned",
                "refuse",
                "the follow-up is the accountability of the head it was given to; a head "
                "above supervises, it does not answer in their place",
            ),
            (
                "center_head",
                "other_center",
                "refuse",
                "the follow-up is the accountability of the head it was given to",
            ),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            (
                "admin",
                "any",
                "refuse",
                "the follow-up is the head's accountability: an administrator answers for no "
                "center",
            ),
        ),
    ),
    _org(
        "routing.org_units",
        "/v1/org/units",
        "register a center",
        ORG_ADMIN,
    ),
    _org(
        "routing.org_reparent",
        "/v1/org/units/{unit_id}/reparent",
        "move a center under another (区划调整)",
        ORG_ADMIN,
    ),
    _org(
        "routing.org_hours",
        "/v1/org/units/{unit_id}/office-hours",
        "set a center's office hours",
        "office hours drive the promised dates (服务承诺制): set by the administrators, on the "
        "trail",
    ),
    _org(
        "routing.org_lines",
        "/v1/org/units/{unit_id}/service-lines",
        "set a center's service lines",
        ORG_ADMIN,
    ),
    _org("routing.org_offices", "/v1/org/offices", "register an office", ORG_ADMIN),
    _org(
        "routing.org_staff",
        "/v1/org/staff",
        "register a staff member",
        "the staff directory says who works where as what: the base of 首问负责 and of every "
        "staff rule, kept by the administrators",
    ),
    _org(
        "routing.org_posts",
        "/v1/org/posts",
        "assign a post's A and B holders",
        "AB岗工作制: who holds A and who backs up as B is set by the administrators, on the trail",
    ),
    _org(
        "routing.org_roster",
        "/v1/org/roster",
        "set a center's duty roster",
        "the duty roster decides who is on duty (AB岗): set by the administrators",
    ),
    _org(
        "routing.org_absences",
        "/v1/org/absences",
        "record a staff absence",
        "an absence moves cases to the B post (AB岗): recorded by the administrators, on the trail",
    ),
    _org(
        "routing.org_absence_cancel",
        "/v1/org/absences/{absence_id}/cancel",
        "cancel a staff absence",
        "an absence moves cases to the B post (AB岗): cancelled by the administrators, "
        "on the trail",
    ),
    _org(
        "routing.org_delegations",
        "/v1/org/delegations",
        "set a delegation rule (审批权限上提、下授)",
        "审批权限上提、下授 is configuration, effective-dated, set by the administrators",
    ),
    _org(
        "routing.holiday_schedule_publish",
        "/v1/org/holiday-schedules",
        "publish a year's statutory holiday schedule (放假调休安排)",
        "the State Council's notice is published once for every center's promises: by the "
        "administrators, on the trail",
    ),
    Action(
        "routing.holiday_schedules",
        "routing",
        "GET",
        "/v1/org/holiday-schedules",
        "the statutory holiday calendar promises are counted by",
        (
            Cell("anonymous", "any", "sign_in", SIGN_IN),
            *(
                Cell(
                    r,
                    "any",
                    "allow",
                    "the calendar every promised date is counted by is the same for everyone "
                    "signed in (服务承诺制)",
                )
                for r in ROLES[1:]
            ),
        ),
    ),
    Action(
        "routing.org_tree",
        "routing",
        "GET",
        "/v1/org/tree",
        "the org tree",
        (
            Cell("anonymous", "any", "sign_in", SIGN_IN),
            Cell(
                "resident",
                "any",
                "allow",
                "the three tiers, their offices, service lines and hours tell a resident where "
                "to go; the people who work there are not in a resident's tree",
            ),
            *(
                Cell(
                    r,
                    "any",
                    "allow",
                    "the three tiers, their offices, hours and the staff directory are what "
                    "staff and inspectors work with (absences: who is away and when for the "
                    "heads of their centers, the reason only for administrators)",
                )
                for r in ROLES[2:]
            ),
        ),
    ),
    Action(
        "routing.staff_directory",
        "routing",
        "GET",
        "/v1/org/staff",
        "the staff directory: staff, A/B posts' holders, duty rosters",
        only(
            {
                "community_agent": STAFF_DIRECTORY,
                "officer": STAFF_DIRECTORY,
                "center_head": STAFF_DIRECTORY,
                "inspector": "纪检监察 checks who held which post and who was on duty",
                "admin": "the reference data's keepers keep the directory",
            },
            "who works where and when is the centers' own business: a resident deals with "
            "the window, not with a list of names and shifts",
        ),
    ),
    Action(
        "routing.drill",
        "routing",
        "POST",
        "/v1/admin/clock/check-deadlines",
        "run the deadline check as of an instant (drills)",
        _admin_only(
            "drills only (switched on by configuration): the deadline notices name the admin "
            "who ran them, never mistaken for the clock's",
            "the deadline drill is an administrators' tool (服务承诺制 drills)",
        ),
    ),
    Action(
        "routing.unrouted",
        "routing",
        "GET",
        "/v1/admin/unrouted",
        "acceptances routing could not route",
        only(
            {
                "admin": "the tree's keepers fix what was missing and retry",
                "inspector": "纪检监察 sees which accepted cases went nowhere",
            },
            "a maintenance list for the tree's keepers",
        ),
    ),
    Action(
        "routing.unrouted_retry",
        "routing",
        "POST",
        "/v1/admin/unrouted/{case_id}/retry",
        "route a kept acceptance again",
        _admin_only(
            "the tree's keepers retry once the reference data is fixed; the event names them",
            "a maintenance action for the tree's keepers",
        ),
    ),
)

# -- notify ------------------------------------------------------------------------------------
NOTIFY: tuple[Action, ...] = (
    Action(
        "notify.deliveries",
        "notify",
        "GET",
        "/v1/deliveries",
        "what the residents and staff of a case were told",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            (
                "resident",
                "own_case",
                "refuse",
                "residents get the messages themselves; the delivery log is the staff's",
            ),
            (
                "community_agent",
                "own_center",
                "allow",
                "the accepting window sees what its resident was told (一次性告知 reached them?)",
            ),
            (
                "community_agent",
                "other_center",
                "refuse",
                "a case neither accepted nor handled by their center",
            ),
            ("officer", "own_center", "allow", "the handling office sees what was sent"),
            (
                "officer",
                "other_center",
                "refuse",
                "a case neither accepted nor handled by their center",
            ),
            (
                "center_head",
                "below",
                "allow",
                "督办: a head sees the messages of the centers below",
            ),
            (
                "center_head",
                "other_center",
                "refuse",
                "a head watches their center and those below it, not a neighbour's",
            ),
            ("inspector", "any", "allow", "纪检监察 sees who was told what, and when"),
            (
                "admin",
                "any",
                "allow",
                "the channels' keepers see deliveries to fix failures (addresses masked); the "
                "message text is the case's, which they do not read: withheld",
            ),
        ),
    ),
)

# -- audit -------------------------------------------------------------------------------------
LOG_PUBLIC = (
    "阳光运作: anyone can verify the log (checkpoints and proofs are hashes only); a resident "
    "checks their own receipt is in it"
)
LEAVES = (
    "the leaves are the whole administrative trail (personal data salted out): for discipline "
    "inspection and the log's keepers"
)
INSPECT = (
    "纪检监察's own queries, each one itself logged; the system's keepers do not query the "
    "trail of cases (separation of duties)"
)
BOARD = "阳光运作: catalog, fees and every center's performance are public"
STAFF_FIGURES = (
    "a head watches the queues, on-time rate and ratings of each line and each staff member "
    "of their center and the centers below (服务条线, 责任追究制)"
)
STAFF_FIGURES_NOT_PUBLIC = (
    "the public board shows each center and its lines; figures per named staff member are "
    "for the heads and inspectors"
)
STAFF_FIGURES_HEADS = "figures per staff member are for the center's head, not colleagues"
STAFF_FIGURES_NOT_YOURS = "a head reads their own center's staff and those below, not sideways"
STAFF_FIGURES_INSPECT = "纪检监察 (行政效能监察) sees every center's staff figures"

AUDIT: tuple[Action, ...] = (
    Action(
        "audit.checkpoint",
        "audit",
        "GET",
        "/v1/log/checkpoint",
        "the latest signed checkpoint",
        everyone(LOG_PUBLIC),
    ),
    Action(
        "audit.public_key",
        "audit",
        "GET",
        "/v1/log/public-key",
        "the log's verifier key",
        everyone(LOG_PUBLIC),
    ),
    Action(
        "audit.witness_keys",
        "audit",
        "GET",
        "/v1/log/witness-keys",
        "the witnesses' verifier keys",
        everyone(LOG_PUBLIC),
    ),
    Action(
        "audit.keys",
        "audit",
        "GET",
        "/v1/log/keys",
        "the log's and the witnesses' keys",
        everyone(LOG_PUBLIC),
    ),
    Action(
        "audit.checkpoints",
        "audit",
        "GET",
        "/v1/log/checkpoints",
        "signed checkpoints",
        everyone(LOG_PUBLIC),
    ),
    Action(
        "audit.proof_inclusion",
        "audit",
        "GET",
        "/v1/log/proof/inclusion",
        "an inclusion proof",
        everyone(LOG_PUBLIC),
    ),
    Action(
        "audit.proof_consistency",
        "audit",
        "GET",
        "/v1/log/proof/consistency",
        "a consistency proof",
        everyone(LOG_PUBLIC),
    ),
    Action(
        "audit.leaf",
        "audit",
        "GET",
        "/v1/log/leaves/{idx}",
        "one leaf",
        only({"inspector": LEAVES, "admin": LEAVES}, LEAVES),
    ),
    Action(
        "audit.event_leaf",
        "audit",
        "GET",
        "/v1/log/events/{event_id}",
        "the leaf of one event",
        only({"inspector": LEAVES, "admin": LEAVES}, LEAVES),
    ),
    Action(
        "audit.export",
        "audit",
        "GET",
        "/v1/log/export",
        "every leaf, for recomputation",
        only({"inspector": LEAVES, "admin": LEAVES}, LEAVES),
    ),
    Action(
        "audit.integrity",
        "audit",
        "GET",
        "/v1/log/integrity",
        "re-verify the log",
        only(
            {"inspector": LEAVES, "admin": LEAVES},
            "a full check reads the whole trail: for discipline inspection and the log's keepers",
        ),
    ),
    Action(
        "audit.cosign",
        "audit",
        "POST",
        "/v1/log/cosignatures",
        "hand back a witness's cosignature",
        everyone(
            "a witness needs no account: its cosignature counts only if its key, and the "
            "log's own signature, verify"
        ),
    ),
    Action(
        "audit.cosignatures",
        "audit",
        "GET",
        "/v1/log/cosignatures",
        "the witnesses' cosignatures",
        everyone(LOG_PUBLIC),
    ),
    Action(
        "audit.published",
        "audit",
        "GET",
        "/v1/log/published",
        "sizes of the checkpoints published outside the database",
        everyone(LOG_PUBLIC),
    ),
    Action(
        "audit.published_note",
        "audit",
        "GET",
        "/v1/log/published/{size}",
        "one published checkpoint",
        everyone(LOG_PUBLIC),
    ),
    Action(
        "audit.inspect_events",
        "audit",
        "GET",
        "/v1/inspect/events",
        "query the events",
        only({"inspector": INSPECT}, INSPECT),
    ),
    Action(
        "audit.inspect_export",
        "audit",
        "GET",
        "/v1/inspect/events/export",
        "export the events of a query",
        only({"inspector": INSPECT}, INSPECT),
    ),
    Action(
        "audit.inspect_case",
        "audit",
        "GET",
        "/v1/inspect/cases/{case_id}",
        "a case's timeline across services",
        only({"inspector": INSPECT}, INSPECT),
    ),
    Action(
        "audit.anomalies",
        "audit",
        "GET",
        "/v1/inspect/anomalies",
        "the anomalies flagged",
        only({"inspector": INSPECT}, INSPECT),
    ),
    Action(
        "audit.anomaly_rules",
        "audit",
        "GET",
        "/v1/inspect/rules",
        "the anomaly rules in force",
        only({"inspector": INSPECT}, INSPECT),
    ),
    Action(
        "audit.board_catalog",
        "audit",
        "GET",
        "/v1/board/catalog",
        "the public catalog board",
        everyone(BOARD),
    ),
    Action(
        "audit.board_centers",
        "audit",
        "GET",
        "/v1/board/centers",
        "per-center performance",
        everyone(BOARD),
    ),
    Action(
        "audit.board_tiers",
        "audit",
        "GET",
        "/v1/board/tiers",
        "per-tier performance",
        everyone(BOARD),
    ),
    Action(
        "audit.board_lines",
        "audit",
        "GET",
        "/v1/board/lines",
        "per service line of each center: cases, on-time rate, ratings",
        everyone(BOARD),
    ),
    Action(
        "audit.board_staff",
        "audit",
        "GET",
        "/v1/board/centers/{center_id}/staff",
        "a center's figures per staff member and service line: cases, on-time rate, ratings",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "any", "refuse", STAFF_FIGURES_NOT_PUBLIC),
            ("community_agent", "any", "refuse", STAFF_FIGURES_HEADS),
            ("officer", "any", "refuse", STAFF_FIGURES_HEADS),
            ("center_head", "own_center", "allow", STAFF_FIGURES),
            ("center_head", "below", "allow", STAFF_FIGURES),
            ("center_head", "other_center", "refuse", STAFF_FIGURES_NOT_YOURS),
            ("inspector", "any", "allow", STAFF_FIGURES_INSPECT),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
    Action(
        "audit.staff_identity",
        "audit",
        "PUT",
        "/v1/admin/staff/{staff_id}/identity",
        "set a staff member's identity hashes",
        _admin_only(
            "staff identities feed the conflict-of-interest rule (a staff member deciding "
            "their own family's case); kept by administrators as keyed hashes",
            "staff identities are kept by the administrators only",
        ),
    ),
    Action(
        "audit.erase",
        "audit",
        "DELETE",
        "/v1/admin/personal-data/{event_id}",
        "erase one event's personal data",
        _admin_only(
            "a PIPL erasure is the administrators' act, itself recorded; the tree stays verifiable",
            "erasing personal data is the administrators' act only",
        ),
    ),
    Action(
        "audit.log_halts",
        "audit",
        "GET",
        "/v1/admin/log/halts",
        "partitions whose appending to the log stopped",
        _admin_only(
            "the log's keepers see where appending stopped (also in /readyz and as anomalies)",
            "the appender's halts are for the log's keepers",
        ),
    ),
    Action(
        "audit.log_halt_decision",
        "audit",
        "POST",
        "/v1/admin/log/halts/{halt_id}/decision",
        "resume a halted partition",
        _admin_only(
            "an administrator's decision, recorded with who and why and itself logged",
            "resuming the log after a gap is the administrators' decision only",
        ),
    ),
)

SITREP_READ = (
    "情况报告制: a center's report goes up its tiers; its own head and the heads above it read "
    "it (with the figures and charts)"
)
SITREP_NOT_YOURS = "a report goes up its own tiers only, not sideways to another town"
SITREP_STAFF = "situation reports are between center heads and the tiers above them"
SITREP_INSPECT = "纪检监察 reads every report and changes none"


def _sitrep_read(id_: str, path: str, summary: str) -> Action:
    return Action(
        id_,
        "audit",
        "GET",
        path,
        summary,
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "any", "refuse", SITREP_STAFF),
            ("community_agent", "any", "refuse", SITREP_STAFF),
            ("officer", "any", "refuse", SITREP_STAFF),
            ("center_head", "own_report", "allow", SITREP_READ),
            ("center_head", "report_below", "allow", SITREP_READ),
            ("center_head", "report_other", "refuse", SITREP_NOT_YOURS),
            ("inspector", "any", "allow", SITREP_INSPECT),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    )


SITREPORTS: tuple[Action, ...] = (
    _sitrep_read(
        "audit.sitreports",
        "/v1/sitreports",
        "the situation reports of a center and those that came up to it",
    ),
    _sitrep_read("audit.sitreport", "/v1/sitreports/{report_id}", "one report: figures, status"),
    _sitrep_read(
        "audit.sitreport_document",
        "/v1/sitreports/{report_id}/document/{name}",
        "a report's document (HTML, or PDF printed from it) or one of its charts",
    ),
    Action(
        "audit.sitreport_submit",
        "audit",
        "POST",
        "/v1/sitreports/{report_id}/submit",
        "the head adds their comment and sends the report up",
        cells(
            ("anonymous", "any", "sign_in", SIGN_IN),
            ("resident", "any", "refuse", SITREP_STAFF),
            ("community_agent", "any", "refuse", SITREP_STAFF),
            ("officer", "any", "refuse", "the center head answers for the center's report"),
            (
                "center_head",
                "own_report",
                "allow",
                "the head comments and sends it up (情况报告制)",
            ),
            (
                "center_head",
                "report_below",
                "refuse",
                "the tier above reads a report; its own head writes and sends it",
            ),
            ("center_head", "report_other", "refuse", SITREP_NOT_YOURS),
            ("inspector", "any", "refuse", INSPECTOR_READS_ONLY),
            ("admin", "any", "refuse", ADMIN_NO_CASES),
        ),
    ),
)

TABLE: tuple[Action, ...] = INTAKE + ROUTING + NOTIFY + AUDIT + SITREPORTS


def all_cells() -> Iterable[tuple[Action, Cell]]:
    for action in TABLE:
        for cell in action.cells:
            yield action, cell


def render_markdown() -> str:
    """docs/ACCESS.md: the legend and the one table."""
    out = [
        "# Access rules: who may do what",
        "",
        "<!-- generated by `python -m contracts.access > docs/ACCESS.md` from "
        "libs/contracts/src/contracts/access.py; tests/contracts/test_access_table.py "
        "checks they agree -->",
        "",
        "Every HTTP operation of intake, routing, notify and audit, for every role, by scope, "
        "with the reason in the centers' terms. "
        "`tests/integration/access/test_access_matrix.py` runs every row against the running "
        "services: a refusal is a 403 with its reason and records nothing; an allowed row "
        "passes the access check.",
        "",
        "Roles:",
        "",
    ]
    out += [f"- `{r}`: {ROLE_TEXT[r]}" for r in ROLES]
    out += ["", "Scopes (what the target is to the caller):", ""]
    used = {c.scope for _, c in all_cells()}
    out += [f"- `{s}`: {text}" for s, text in SCOPES.items() if s in used]
    out += ["", "May:", ""]
    out += [f"- {OUTCOME_MARK[o]}: {OUTCOME_TEXT[o]}" for o in OUTCOME_TEXT]
    out += [
        "",
        f"{len(TABLE)} operations, {sum(len(a.cells) for a in TABLE)} (role, action, scope) rows.",
        "",
        "| operation | action | role | scope | may | why |",
        "|---|---|---|---|---|---|",
    ]
    for action in TABLE:
        first = True
        for c in action.cells:
            op = f"{action.service} `{action.method} {action.path}`" if first else ""
            what = action.summary if first else ""
            out.append(
                f"| {op} | {what} | {c.role} | {c.scope} | {OUTCOME_MARK[c.outcome]} | {c.why} |"
            )
            first = False
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
