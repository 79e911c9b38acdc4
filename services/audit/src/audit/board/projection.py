"""Facts for the public transparency board, projected from the log (one row per case).

The mapping from events to board columns is data (`SOURCES`), like the anomaly rules, so it
can follow the contracts. A value spec is a payload field name, ``@occurred_at`` / ``@org_id``
/ ``@tier`` for envelope fields, or ``=<json>`` for a constant. Field names assumed:
intake.application_accepted {item_code, accepting_center_id, handling_tier, accepted_at},
routing.case_routed {handling_unit_id, handling_tier}, routing.case_decided {on_time},
intake.service_evaluated {score}, intake/routing withdrawn events; the service lines and
staff (服务条线: intake.application_accepted {line_id, accepting_staff_id},
routing.case_routed {line_id}, routing.case_assigned {assigned_to}, routing.case_reassigned
{to_officer}, routing.case_decided {decided_by}: who holds, then who decided);
`provisional_years` of
intake.application_accepted / intake.promised_date_revised / routing.case_decided (a
non-empty list marks the promised date, or the on-time verdict, as counted by a provisional
holiday estimate: the board says how many of its figures rest on one).

Joint cases (联办, decided here and documented in docs/RULES.md): the joint case counts ONCE
at its accepting center, as a joint row (intake.joint_application_accepted: the bundle's code
as item_code, `joint`), decided when routing's final routing.joint_result_ready came, on
time when that was on or before its promised date; each member counts under the office and
tier that decided it (routing.case_routed / case_decided of the member's own case, accepted
when the joint case was: `joint_member_facts`), with no accepting center of its own, so a
center's figures count the bundle once and each office its own approvals.

Working days are counted by the calendar every service counts promises by: the package's
years plus the holiday schedules published in the log (routing.holiday_schedule_published,
kept in `board_holiday_schedules`); a publication counts the decided cases of its year again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import asyncpg

from contracts.holiday_schedules import calendar_with
from contracts.joint import joint_on_time
from contracts.routing import HolidaySchedulePublished
from contracts.workdays import WorkingCalendar, default_calendar, local_date

SOURCES: dict[str, dict[str, str]] = {
    "intake.application_accepted": {
        "item_code": "item_code",
        "accepting_center_id": "accepting_center_id",
        "handling_tier": "handling_tier",
        "accepted_at": "accepted_at|@occurred_at",
        "promise_provisional": "provisional_years",
        "line_id": "line_id",
        "accepting_staff_id": "accepting_staff_id",
    },
    "intake.promised_date_revised": {"promise_provisional": "provisional_years"},
    "routing.case_routed": {
        "handling_org_id": "handling_unit_id",
        "handling_tier": "handling_tier",
        "handling_line_id": "line_id",
    },
    "routing.case_assigned": {"handled_by": "assigned_to"},
    "routing.case_reassigned": {"handled_by": "to_officer"},
    "routing.case_decided": {
        "decided_at": "@occurred_at",
        "on_time": "on_time",
        "handling_org_id": "@org_id",
        "handling_tier": "@tier",
        "on_time_provisional": "provisional_years",
        "handled_by": "decided_by",
    },
    "intake.service_evaluated": {"score": "score"},
    "intake.joint_application_accepted": {
        "item_code": "bundle_code",
        "accepting_center_id": "accepting_center_id",
        "accepted_at": "accepted_at|@occurred_at",
        "promised_date": "promised_completion_date",
        "joint": "=true",
    },
    "routing.joint_result_ready": {"decided_at": "@occurred_at"},
    "intake.application_withdrawn": {"withdrawn": "=true"},
    "routing.case_withdrawn": {"withdrawn": "=true"},
}

_TIME_COLUMNS = {"accepted_at", "decided_at"}
_FLAG_COLUMNS = {"promise_provisional", "on_time_provisional"}
"""Set from a list: non-empty is True (provisional), empty False; absent says nothing."""
_COLUMNS = {
    "item_code",
    "accepting_center_id",
    "handling_org_id",
    "handling_tier",
    "accepted_at",
    "decided_at",
    "on_time",
    "score",
    "withdrawn",
    "promise_provisional",
    "on_time_provisional",
    "line_id",
    "handling_line_id",
    "accepting_staff_id",
    "handled_by",
    "joint",
    "joint_case_id",
    "promised_date",
}
_ONLY_FINAL = {"routing.joint_result_ready"}
"""A joint result is the joint case's decision only when it is the final one."""


def _value(doc: Mapping[str, Any], spec: str) -> Any:
    for alt in spec.split("|"):
        if alt.startswith("="):
            return json.loads(alt[1:])
        if alt.startswith("@"):
            v = doc.get(alt[1:])
        else:
            v = (doc.get("payload") or {}).get(alt)
        if v is not None:
            return v
    return None


def _time(v: Any) -> datetime | None:
    if isinstance(v, str):
        try:
            t = datetime.fromisoformat(v.replace("Z", "+00:00"))
            return t if t.tzinfo else None
        except ValueError:
            return None
    return None


def facts(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The board columns an event sets (None if it sets none)."""
    spec = SOURCES.get(doc.get("event_type", ""))
    if not spec:
        return None
    if doc.get("event_type") in _ONLY_FINAL and (doc.get("payload") or {}).get("final") is not True:
        return None
    out: dict[str, Any] = {}
    for col, vs in spec.items():
        if col not in _COLUMNS:
            continue
        v = _value(doc, vs)
        if v is None:
            continue
        if col in _TIME_COLUMNS:
            v = _time(v)
            if v is None:
                continue
        elif col in _FLAG_COLUMNS:
            if not isinstance(v, list):
                continue
            v = bool(v)
        elif col == "score" and not isinstance(v, int):
            continue
        elif col in ("on_time", "withdrawn", "joint") and not isinstance(v, bool):
            continue
        elif col == "promised_date":
            try:
                v = date.fromisoformat(v)
            except (TypeError, ValueError):
                continue
        elif col not in ("score", "on_time", "withdrawn", "joint") and not isinstance(v, str):
            continue
        out[col] = v
    return out or None


def joint_member_facts(doc: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each member of an accepted joint case: its item, accepted with the joint case, and the
    joint case it belongs to (its office and tier come from its own case's events)."""
    if doc.get("event_type") != "intake.joint_application_accepted":
        return []
    p = doc.get("payload") or {}
    accepted = _time(p.get("accepted_at") or doc.get("occurred_at"))
    out: list[tuple[str, dict[str, Any]]] = []
    for m in p.get("members") or ():
        if not isinstance(m, dict) or not isinstance(m.get("case_id"), str):
            continue
        cols: dict[str, Any] = {"joint_case_id": p.get("joint_case_id")}
        if isinstance(m.get("item_code"), str):
            cols["item_code"] = m["item_code"]
        if accepted is not None:
            cols["accepted_at"] = accepted
        out.append((m["case_id"], cols))
    return out


async def apply_facts(conn: asyncpg.Connection, updates: list[tuple[str, dict[str, Any]]]) -> None:
    """Upsert the facts in log order (later events overwrite earlier ones, column by column)."""
    touched = set()
    for case_id, cols in updates:
        names = sorted(cols)
        placeholders = ", ".join(f"${i + 2}" for i in range(len(names)))
        sets = ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
        await conn.execute(
            f"INSERT INTO board_cases (case_id, {', '.join(names)}) VALUES ($1, {placeholders}) "
            f"ON CONFLICT (case_id) DO UPDATE SET {sets}",
            case_id,
            *[cols[n] for n in names],
        )
        if "decided_at" in cols or "accepted_at" in cols:
            touched.add(case_id)
    if touched:
        rows = await conn.fetch(
            "SELECT case_id, accepted_at, decided_at FROM board_cases WHERE case_id = ANY($1)"
            " AND accepted_at IS NOT NULL AND decided_at IS NOT NULL",
            list(touched),
        )
        await _count(conn, rows, await board_calendar(conn))
        # a joint case's promise is kept when its final result came by the promised date
        for r in await conn.fetch(
            "SELECT case_id, decided_at, promised_date FROM board_cases WHERE case_id = ANY($1)"
            " AND joint AND decided_at IS NOT NULL AND promised_date IS NOT NULL",
            list(touched),
        ):
            await conn.execute(
                "UPDATE board_cases SET on_time = $2 WHERE case_id = $1",
                r["case_id"],
                joint_on_time(local_date(r["decided_at"]), r["promised_date"]),
            )


async def _count(conn: asyncpg.Connection, rows: list[Any], calendar: WorkingCalendar) -> None:
    for r in rows:
        await conn.execute(
            "UPDATE board_cases SET working_days = $2 WHERE case_id = $1",
            r["case_id"],
            working_days(r["accepted_at"], r["decided_at"], calendar),
        )


async def board_calendar(conn: asyncpg.Connection) -> WorkingCalendar:
    """The package's years plus the schedules published in the log so far."""
    calendar = default_calendar()
    for r in await conn.fetch(
        "SELECT year, notice_no, holidays, makeup_workdays FROM board_holiday_schedules"
        " ORDER BY idx"
    ):
        evt = HolidaySchedulePublished(
            year=r["year"],
            notice_no=r["notice_no"],
            holidays=tuple(r["holidays"]),
            makeup_workdays=tuple(r["makeup_workdays"]),
            published_by="",
        )
        calendar = calendar_with(calendar, evt)
    return calendar


SCHEDULE_PUBLISHED = HolidaySchedulePublished.event_type


async def schedule_published(conn: asyncpg.Connection, doc: Mapping[str, Any], idx: int) -> None:
    """Keep a routing.holiday_schedule_published of the log and count the decided cases of
    its year again by the calendar with it."""
    evt = HolidaySchedulePublished.model_validate(doc.get("payload") or {})
    await conn.execute(
        """INSERT INTO board_holiday_schedules (year, notice_no, holidays, makeup_workdays, idx)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (year) DO UPDATE SET notice_no = EXCLUDED.notice_no,
               holidays = EXCLUDED.holidays, makeup_workdays = EXCLUDED.makeup_workdays,
               idx = EXCLUDED.idx""",
        evt.year,
        evt.notice_no,
        list(evt.holidays),
        list(evt.makeup_workdays),
        idx,
    )
    rows = await conn.fetch(
        "SELECT case_id, accepted_at, decided_at FROM board_cases"
        " WHERE accepted_at IS NOT NULL AND decided_at IS NOT NULL"
        " AND accepted_at < make_date($1 + 1, 1, 1) AND decided_at >= make_date($1 - 1, 12, 31)",
        evt.year,
    )
    await _count(conn, rows, await board_calendar(conn))


def working_days(start: datetime, end: datetime, calendar: WorkingCalendar) -> int:
    """Working days in (start date, end date], by `calendar` (the one promises are counted by)."""
    return calendar.working_days_between(local_date(start), local_date(end))
