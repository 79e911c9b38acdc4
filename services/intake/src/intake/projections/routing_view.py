"""What intake keeps from routing's events (no synchronous calls between services).

- `centers`: the org units of the three tiers (routing.org_unit_registered / _reparented /
  office_hours_set / service_lines_set). Intake accepts only center ids the org tree lists,
  names centers in the status view, follows the parent chain so a town or city center head
  sees the units below, promises by the accepting center's office hours, and tells the
  public each center's hours, service lines and access note (`GET /v1/centers/{unit_id}`).
- `staff`: the staff directory (routing.staff_registered): who works at which center in
  which roles, so intake names as actor and as 首问责任人 only staff the tree lists there.
- `case_progress`: per case, the handling unit and office and the assigned officer (so
  their staff may read the case), the due date (set, or counted again when a holiday
  schedule was published), and the result coming back
  (`routing.result_returned` with `final`: the result is at the accepting center, ready).

Written by the routing consumer inside its inbox transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson

from contracts.routing import (
    CaseAssigned,
    CaseReassigned,
    CaseRouted,
    DeadlineRecomputed,
    DeadlineSet,
    OfficeHoursSet,
    OrgUnitRegistered,
    OrgUnitReparented,
    ResultReturned,
    ServiceLinesSet,
    StaffRegistered,
)
from contracts.workdays import OfficeHours


async def register_unit(conn: asyncpg.Connection, e: OrgUnitRegistered, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO centers (unit_id, name_zh, tier, kind, parent_id, is_island, updated_at,
               office_hours, service_lines, access_note_zh, address_zh)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11)
           ON CONFLICT (unit_id) DO UPDATE SET name_zh = EXCLUDED.name_zh,
               tier = EXCLUDED.tier, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id,
               is_island = EXCLUDED.is_island, updated_at = EXCLUDED.updated_at,
               office_hours = EXCLUDED.office_hours, service_lines = EXCLUDED.service_lines,
               access_note_zh = EXCLUDED.access_note_zh, address_zh = EXCLUDED.address_zh""",
        e.unit_id,
        e.name_zh,
        e.tier,
        e.kind,
        e.parent_id,
        e.is_island,
        at,
        _hours_json(e.office_hours),
        _lines_json(e.service_lines),
        e.access_note_zh,
        e.address_zh,
    )


async def set_service_lines(conn: asyncpg.Connection, e: ServiceLinesSet, at: datetime) -> None:
    await conn.execute(
        "UPDATE centers SET service_lines = $2::jsonb, updated_at = $3 WHERE unit_id = $1",
        e.unit_id,
        _lines_json(e.service_lines),
        at,
    )


def _lines_json(lines: tuple[Any, ...]) -> str:
    return orjson.dumps([line.model_dump(mode="json") for line in lines]).decode()


async def register_staff(conn: asyncpg.Connection, e: StaffRegistered, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO staff (staff_id, name_zh, roles, unit_id, office_id, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (staff_id) DO UPDATE SET name_zh = EXCLUDED.name_zh,
               roles = EXCLUDED.roles, unit_id = EXCLUDED.unit_id,
               office_id = EXCLUDED.office_id, updated_at = EXCLUDED.updated_at""",
        e.staff_id,
        e.name_zh,
        list(e.roles),
        e.unit_id,
        e.office_id,
        at,
    )


async def set_office_hours(conn: asyncpg.Connection, e: OfficeHoursSet, at: datetime) -> None:
    await conn.execute(
        "UPDATE centers SET office_hours = $2::jsonb, updated_at = $3 WHERE unit_id = $1",
        e.unit_id,
        _hours_json(e.office_hours),
        at,
    )


def _hours_json(hours: OfficeHours) -> str:
    return orjson.dumps(hours.model_dump(mode="json")).decode()


async def reparent_unit(conn: asyncpg.Connection, e: OrgUnitReparented, at: datetime) -> None:
    await conn.execute(
        "UPDATE centers SET parent_id = $2, updated_at = $3 WHERE unit_id = $1",
        e.unit_id,
        e.new_parent_id,
        at,
    )


async def _progress(conn: asyncpg.Connection, case_id: str, at: datetime, **cols: Any) -> None:
    names = list(cols)
    placeholders = ", ".join(f"${i}" for i in range(3, len(names) + 3))
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
    await conn.execute(
        f"INSERT INTO case_progress (case_id, updated_at, {', '.join(names)})"
        f" VALUES ($1, $2, {placeholders})"
        f" ON CONFLICT (case_id) DO UPDATE SET updated_at = EXCLUDED.updated_at, {updates}",
        case_id,
        at,
        *cols.values(),
    )


async def case_routed(conn: asyncpg.Connection, e: CaseRouted, at: datetime) -> None:
    await _progress(
        conn,
        e.case_id,
        at,
        handling_unit_id=e.handling_unit_id,
        handling_office_id=e.handling_office_id,
        handling_tier=e.handling_tier,
    )


async def case_assigned(
    conn: asyncpg.Connection, e: CaseAssigned | CaseReassigned, at: datetime
) -> None:
    officer = e.assigned_to if isinstance(e, CaseAssigned) else e.to_officer
    await _progress(conn, e.case_id, at, assigned_to=officer)


async def deadline_set(
    conn: asyncpg.Connection, e: DeadlineSet | DeadlineRecomputed, at: datetime
) -> None:
    await _progress(conn, e.case_id, at, deadline_due_date=e.due_date)


async def result_returned(conn: asyncpg.Connection, e: ResultReturned, at: datetime) -> None:
    if not e.final:
        return
    await _progress(
        conn,
        e.case_id,
        at,
        result_ready_at=at,
        result_at_center_id=e.to_unit_id,
        result_decision=e.decision,
    )


# -- reads -------------------------------------------------------------------------------------
async def office_hours(conn: asyncpg.Connection, unit_id: str) -> OfficeHours | None:
    """The center's office hours; None when the tree does not list it (or has not said)."""
    raw = await conn.fetchval("SELECT office_hours FROM centers WHERE unit_id = $1", unit_id)
    return parse_hours(raw)


async def service_lines(conn: asyncpg.Connection, unit_id: str) -> tuple[dict[str, Any], ...]:
    """The center's service lines as JSON, in its order; none when the tree lists none."""
    raw = await conn.fetchval("SELECT service_lines FROM centers WHERE unit_id = $1", unit_id)
    if raw is None:
        return ()
    return tuple(orjson.loads(raw) if isinstance(raw, str | bytes) else raw)


def parse_hours(raw: object) -> OfficeHours | None:
    """A `centers.office_hours` value as read (JSON text, or None when not said)."""
    if raw is None:
        return None
    return OfficeHours.model_validate(orjson.loads(raw) if isinstance(raw, str | bytes) else raw)


async def staff_member(conn: asyncpg.Connection, staff_id: str) -> asyncpg.Record | None:
    """The directory's row of a staff member (unit_id, roles...); None when the tree has
    not listed them."""
    return await conn.fetchrow("SELECT * FROM staff WHERE staff_id = $1", staff_id)


async def center(conn: asyncpg.Connection, unit_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM centers WHERE unit_id = $1", unit_id)


async def ancestors(conn: asyncpg.Connection, unit_id: str) -> list[str]:
    """The unit and every unit above it, nearest first."""
    rows = await conn.fetch(
        """WITH RECURSIVE up(unit_id, parent_id, depth) AS (
               SELECT unit_id, parent_id, 0 FROM centers WHERE unit_id = $1
               UNION ALL
               SELECT c.unit_id, c.parent_id, up.depth + 1
               FROM centers c JOIN up ON c.unit_id = up.parent_id WHERE up.depth < 10)
           SELECT unit_id FROM up ORDER BY depth""",
        unit_id,
    )
    return [r["unit_id"] for r in rows] or [unit_id]


async def subtree(conn: asyncpg.Connection, unit_id: str) -> list[str]:
    """The unit and every unit below it."""
    rows = await conn.fetch(
        """WITH RECURSIVE down(unit_id, depth) AS (
               SELECT $1::text, 0
               UNION ALL
               SELECT c.unit_id, down.depth + 1
               FROM centers c JOIN down ON c.parent_id = down.unit_id WHERE down.depth < 10)
           SELECT unit_id FROM down""",
        unit_id,
    )
    return [r["unit_id"] for r in rows]
