"""Facts for the public transparency board, projected from the log (one row per case).

The mapping from events to board columns is data (`SOURCES`), like the anomaly rules, so it
can follow the contracts. A value spec is a payload field name, ``@occurred_at`` / ``@org_id``
/ ``@tier`` for envelope fields, or ``=<json>`` for a constant. Field names assumed:
intake.application_accepted {item_code, accepting_center_id, handling_tier, accepted_at},
routing.case_routed {handling_unit_id, handling_tier}, routing.case_decided {on_time},
intake.service_evaluated {score}, intake/routing withdrawn events; `provisional_years` of
intake.application_accepted / intake.promised_date_revised / routing.case_decided (a
non-empty list marks the promised date, or the on-time verdict, as counted by a provisional
holiday estimate: the board says how many of its figures rest on one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

SOURCES: dict[str, dict[str, str]] = {
    "intake.application_accepted": {
        "item_code": "item_code",
        "accepting_center_id": "accepting_center_id",
        "handling_tier": "handling_tier",
        "accepted_at": "accepted_at|@occurred_at",
        "promise_provisional": "provisional_years",
    },
    "intake.promised_date_revised": {"promise_provisional": "provisional_years"},
    "routing.case_routed": {
        "handling_org_id": "handling_unit_id",
        "handling_tier": "handling_tier",
    },
    "routing.case_decided": {
        "decided_at": "@occurred_at",
        "on_time": "on_time",
        "handling_org_id": "@org_id",
        "handling_tier": "@tier",
        "on_time_provisional": "provisional_years",
    },
    "intake.service_evaluated": {"score": "score"},
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
}


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
        elif col in ("on_time", "withdrawn") and not isinstance(v, bool):
            continue
        elif col not in ("score", "on_time", "withdrawn") and not isinstance(v, str):
            continue
        out[col] = v
    return out or None


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
        for r in rows:
            await conn.execute(
                "UPDATE board_cases SET working_days = $2 WHERE case_id = $1",
                r["case_id"],
                working_days(r["accepted_at"], r["decided_at"]),
            )


def working_days(start: datetime, end: datetime) -> int:
    """Working days in (start date, end date], by the statutory calendar (contracts.workdays;
    weekends only if that is unavailable)."""
    try:
        from contracts.workdays import local_date, working_days_between

        return int(working_days_between(local_date(start), local_date(end)))
    except ImportError:  # pragma: no cover - contracts without the calendar
        d, n = start.date(), 0
        last: date = end.date()
        while d < last:
            d += timedelta(days=1)
            n += d.weekday() < 5
        return n
