"""The directory projection: applicants' and staff contacts, org unit names, case facts.

Written in the consumer's inbox transaction, so it is exactly as current as the events
notify has processed. Sources:

- `intake.application_submitted`: the applicant (name, phone, e-mail if the payload has
  one), the item, the materials list (code -> name, for correction notices), the centers;
- `intake.application_accepted`: the receipt number;
- `intake.joint_application_submitted` / `_accepted`: a joint case (联办), keyed by its
  `joint_case_id`, like a case: the applicant, the bundle's name as the item, the member
  items' names (code -> name, kept where a case keeps its material names), the receipt;
- `routing.case_routed`: the handling unit and office (who may read the case's deliveries);
- `routing.staff_registered`: staff names, units and work contacts (`phone`, `email`: the
  seed gives every staff member both; without one a staff member is told nothing);
- `routing.org_unit_registered` / `org_unit_reparented`: unit names and the tree;
- `intake.personal_data_erased`: the applicant's name and contact scrubbed, and the text
  and resident addresses of the cases' deliveries (issue 15).

With issue 15 the applicant's fields arrive sealed: kept as they come, opened by intake at
planning time (`directory.contacts`).

Who among the staff a notice concerns (the post's A and B holders, the heads) is not kept
here: routing names them in the notice itself, so notify never re-derives the org tree.

The two contact events are read as plain dicts, not through their contract models: the
applicant's e-mail is not in intake's contract yet, and a tolerant reader picks it up the
day it is without a change here (nor a failure if it never is).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg
import orjson

from eventkit.envelope import Envelope

from ..domain import CaseInfo, Directory, Needs, StaffContact

DIRECTORY_TYPES: frozenset[str] = frozenset(
    {
        "intake.application_submitted",
        "intake.application_accepted",
        "intake.joint_application_submitted",
        "intake.joint_application_accepted",
        "routing.case_routed",
        "routing.staff_registered",
        "routing.org_unit_registered",
        "routing.org_unit_reparented",
        "intake.personal_data_erased",
    }
)

# An erasure (issue 15): the applicant stays known (resident messages are not parked for
# ever) but has no name or contact; every delivery of the case loses its text (staff
# messages can name the applicant too) and a resident's its address; a resident message
# not sent yet never will be.
_ERASE_CASES = """
UPDATE cases SET applicant_name = '申请人', phone = NULL, email = NULL, updated_at = now()
WHERE case_id = ANY($1::text[])
"""
_ERASE_DELIVERIES = """
UPDATE deliveries SET
    subject = '(erased)', body = '(erased)', data = '{}'::jsonb, last_error = NULL,
    address = CASE WHEN recipient_kind = 'resident' THEN '(erased)' ELSE address END,
    status = CASE WHEN recipient_kind = 'resident' AND status IN ('pending', 'deferred')
                  THEN 'suppressed' ELSE status END,
    suppressed_reason = CASE WHEN recipient_kind = 'resident'
                              AND status IN ('pending', 'deferred')
                             THEN 'personal_data_erased' ELSE suppressed_reason END,
    updated_at = now()
WHERE case_id = ANY($1::text[])
"""


_UPSERT_APPLICANT = """
INSERT INTO cases (case_id, applicant_name, phone, email, item_code, item_name_zh,
                   registered_community_id, accepting_center_id, material_names, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, now())
ON CONFLICT (case_id) DO UPDATE SET
    applicant_name = EXCLUDED.applicant_name, phone = EXCLUDED.phone,
    email = EXCLUDED.email, item_code = EXCLUDED.item_code,
    item_name_zh = EXCLUDED.item_name_zh,
    registered_community_id = EXCLUDED.registered_community_id,
    accepting_center_id = coalesce(cases.accepting_center_id, EXCLUDED.accepting_center_id),
    material_names = EXCLUDED.material_names, updated_at = now()
"""

_UPSERT_STAFF = """
INSERT INTO staff (staff_id, name_zh, unit_id, office_id, roles, email, phone, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, now())
ON CONFLICT (staff_id) DO UPDATE SET
    name_zh = EXCLUDED.name_zh, unit_id = EXCLUDED.unit_id,
    office_id = EXCLUDED.office_id, roles = EXCLUDED.roles,
    email = EXCLUDED.email, phone = EXCLUDED.phone, updated_at = now()
"""


def _s(v: Any) -> str | None:
    return v.strip() or None if isinstance(v, str) else None


def _releasing(upsert: str, key_param: int) -> str:
    """`upsert`, and in the same statement the events parked on the key in `$key_param`
    taken out of `parked_events` (returned: envelope, suppressed_reason, parked_at)."""
    return (
        f"WITH directory AS ({upsert})\n"
        f"DELETE FROM parked_events WHERE waiting_for = ${key_param}\n"
        "RETURNING envelope, suppressed_reason, parked_at"
    )


_SUBMITTED = _releasing(_UPSERT_APPLICANT, 10)
_STAFF_REGISTERED = _releasing(_UPSERT_STAFF, 8)


async def apply_directory_event(conn: asyncpg.Connection, env: Envelope) -> list[asyncpg.Record]:
    """Update the directory from `env`; return the parked events released by what it made
    known (`case:<id>`, `staff:<id>`: removed from `parked_events`), to be planned now."""
    p = env.payload
    t = env.event_type
    if t == "intake.personal_data_erased":
        cases = [c for c in p.get("case_ids") or () if isinstance(c, str)]
        await conn.execute(_ERASE_CASES, cases)
        await conn.execute(_ERASE_DELIVERIES, cases)
        return []
    if t == "intake.application_submitted":
        a = p.get("applicant") or {}
        materials = {
            m["code"]: m["name_zh"]
            for m in p.get("required_materials") or ()
            if isinstance(m, dict) and "code" in m and "name_zh" in m
        }
        return await conn.fetch(
            _SUBMITTED,
            p["case_id"],
            _s(a.get("name")) or "申请人",
            _s(a.get("phone")),
            _s(a.get("email")),
            p.get("item_code"),
            p.get("item_name_zh"),
            p.get("registered_community_id") or a.get("registered_community_id"),
            p.get("accepting_center_id"),
            orjson.dumps(materials).decode(),
            f"case:{p['case_id']}",
        )
    if t == "intake.joint_application_submitted":
        a = p.get("applicant") or {}
        names = {
            m["item_code"]: m["item_name_zh"]
            for m in p.get("member_items") or ()
            if isinstance(m, dict) and "item_code" in m and "item_name_zh" in m
        }
        return await conn.fetch(
            _SUBMITTED,
            p["joint_case_id"],
            _s(a.get("name")) or "申请人",
            _s(a.get("phone")),
            _s(a.get("email")),
            p.get("bundle_code"),
            p.get("bundle_name_zh"),
            p.get("registered_community_id") or a.get("registered_community_id"),
            p.get("accepting_center_id"),
            orjson.dumps(names).decode(),
            f"case:{p['joint_case_id']}",
        )
    if t == "intake.joint_application_accepted":
        await conn.execute(
            "UPDATE cases SET receipt_no = $2, updated_at = now() WHERE case_id = $1",
            p["joint_case_id"],
            p.get("receipt_no"),
        )
        return []
    if t == "intake.application_accepted":
        await conn.execute(
            """
            INSERT INTO cases (case_id, item_code, item_name_zh, receipt_no,
                               accepting_center_id, updated_at)
            VALUES ($1, $2, $3, $4, $5, now())
            ON CONFLICT (case_id) DO UPDATE SET
                receipt_no = EXCLUDED.receipt_no,
                item_name_zh = coalesce(cases.item_name_zh, EXCLUDED.item_name_zh),
                item_code = coalesce(cases.item_code, EXCLUDED.item_code),
                accepting_center_id = coalesce(cases.accepting_center_id,
                                               EXCLUDED.accepting_center_id),
                updated_at = now()
            """,
            p["case_id"],
            p.get("item_code"),
            p.get("item_name_zh"),
            p.get("receipt_no"),
            p.get("accepting_center_id"),
        )
        return []
    if t == "routing.case_routed":
        await conn.execute(
            """
            INSERT INTO cases (case_id, handling_unit_id, handling_office_id,
                               accepting_center_id, updated_at)
            VALUES ($1, $2, $3, $4, now())
            ON CONFLICT (case_id) DO UPDATE SET
                handling_unit_id = EXCLUDED.handling_unit_id,
                handling_office_id = EXCLUDED.handling_office_id,
                accepting_center_id = coalesce(cases.accepting_center_id,
                                               EXCLUDED.accepting_center_id),
                updated_at = now()
            """,
            p["case_id"],
            p.get("handling_unit_id"),
            p.get("handling_office_id"),
            p.get("accepting_center_id"),
        )
        return []
    if t == "routing.staff_registered":
        return await conn.fetch(
            _STAFF_REGISTERED,
            p["staff_id"],
            p.get("name_zh") or p["staff_id"],
            p.get("unit_id"),
            p.get("office_id"),
            [str(r) for r in p.get("roles") or ()],
            _s(p.get("email")),
            _s(p.get("phone")),
            f"staff:{p['staff_id']}",
        )
    if t == "routing.org_unit_registered":
        await conn.execute(
            """
            INSERT INTO org_units (unit_id, name_zh, tier, parent_id) VALUES ($1, $2, $3, $4)
            ON CONFLICT (unit_id) DO UPDATE SET name_zh = EXCLUDED.name_zh,
                tier = EXCLUDED.tier, parent_id = EXCLUDED.parent_id
            """,
            p["unit_id"],
            p.get("name_zh") or p["unit_id"],
            p.get("tier") or "community",
            p.get("parent_id"),
        )
        return []
    if t == "routing.org_unit_reparented":
        await conn.execute(
            "UPDATE org_units SET parent_id = $2 WHERE unit_id = $1",
            p["unit_id"],
            p.get("new_parent_id"),
        )
        return []
    return []


# Every kind of row one event may name, in one round trip (each kind as a JSON array; a
# kind the event names none of is an empty array, for the cost of an empty index probe).
# The case rows are read FOR SHARE: an erasure's scrub (which updates them) waits for a
# planning that read the name, then scrubs what it recorded, or the planning waits for the
# scrub and reads no name (issue 15).
_DIRECTORY = """
SELECT
  (SELECT coalesce(json_agg(x), '[]') FROM (
     SELECT case_id, applicant_name, phone, email, item_name_zh, receipt_no,
            accepting_center_id, material_names
     FROM cases WHERE case_id = ANY($1::text[]) FOR SHARE) x),
  (SELECT coalesce(json_agg(x), '[]') FROM (
     SELECT staff_id, name_zh, unit_id, email, phone
     FROM staff WHERE staff_id = ANY($2::text[])) x),
  (SELECT coalesce(json_agg(x), '[]') FROM (
     SELECT unit_id, name_zh FROM org_units WHERE unit_id = ANY($3::text[])) x)
"""


async def load_directory(conn: asyncpg.Connection, needs: Needs) -> Directory:
    """The snapshot `plan` reads: only the rows this event names, in one query (none when
    it names no row at all)."""
    wanted = (_uniq(needs.case_ids), _uniq(needs.staff_ids), _uniq(needs.unit_ids))
    if not any(wanted):
        return Directory()
    found = await conn.fetchrow(_DIRECTORY, *wanted)
    case_rows, staff_rows, unit_rows = (orjson.loads(v) for v in found)
    cases = {
        r["case_id"]: CaseInfo(
            case_id=r["case_id"],
            applicant_name=r["applicant_name"],
            phone=r["phone"],
            email=r["email"],
            item_name_zh=r["item_name_zh"],
            receipt_no=r["receipt_no"],
            accepting_center_id=r["accepting_center_id"],
            material_names=dict(r["material_names"]),
        )
        for r in case_rows
    }
    staff = {
        r["staff_id"]: StaffContact(
            staff_id=r["staff_id"],
            name_zh=r["name_zh"],
            unit_id=r["unit_id"],
            email=r["email"],
            phone=r["phone"],
        )
        for r in staff_rows
    }
    units = {r["unit_id"]: r["name_zh"] for r in unit_rows}
    return Directory(cases=cases, staff=staff, units=units)


def _uniq(xs: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(xs))
