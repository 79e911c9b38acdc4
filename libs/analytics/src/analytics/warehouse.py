"""The analytics store: a DuckDB file of tidy tables built from envelopes in NDJSON files.

Why NDJSON and DuckDB's own reader: the replay's Python side then does no per-event work
beyond writing the canonical bytes it received (Kafka values and the store's `envelope`
column are already canonical JSON, one object per line), and DuckDB parses them in parallel
in C++ straight into typed columns (`read_json` with an explicit schema). That is what makes
a million events a matter of seconds (see `bench/replay.py`); a Python parse + executemany
was 8x slower when measured.

Tables (one row each; every table is written in a fixed order and holds no wall-clock
value, so two replays of the same history give identical tables):

    events        one row per event (deduplicated by event_id: the relay is at-least-once)
    cases         one row per case, with the timestamp of every stage and the measures
                  (`joint_case_id`: the joint case a member belongs to, else NULL)
    joint_cases   one row per joint case (联办件): its bundle, accepting center, promise, final
                  result and on-time verdict (`contracts.joint.joint_on_time`); its members
                  are ordinary rows of `cases` (decided by their own offices)
    center_daily  per center and local day: received, completed, on-time, working days,
                  satisfaction
    org_units     the org tree (from routing's org stream), with each unit's ancestors
    catalog_items the service catalog (from intake's catalog stream), one row per version
    calendar      the statutory working-day calendar over the period (contracts.workdays)
    replay_info   what was replayed: source, filters, counts (no timestamps of the replay)

Times are TIMESTAMPTZ (UTC instants); `*_date` columns are Asia/Shanghai calendar days.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from contracts.workdays import is_working_day

from .errors import BadInput
from .filters import ReplayFilter

TABLES = (
    "events",
    "cases",
    "joint_cases",
    "center_daily",
    "org_units",
    "catalog_items",
    "calendar",
    "replay_info",
)
"""The tables of the analytics store, in the order they are exported."""

ORDER = {
    "events": "seq",
    "cases": "case_id",
    "joint_cases": "joint_case_id",
    "center_daily": "center_id, day",
    "org_units": "unit_id",
    "catalog_items": "code, version",
    "calendar": "day",
    "replay_info": "key",
}

_PAYLOAD = {
    # application / case fields (intake and routing)
    "case_id": "VARCHAR",
    "joint_case_id": "VARCHAR",
    "bundle_code": "VARCHAR",
    "bundle_name_zh": "VARCHAR",
    "members": "STRUCT(case_id VARCHAR, item_code VARCHAR)[]",
    "item_code": "VARCHAR",
    "item_version": "INTEGER",
    "item_name_zh": "VARCHAR",
    "category": "VARCHAR",
    "handling_tier": "VARCHAR",
    "catalog_tier": "VARCHAR",
    "case_type": "VARCHAR",
    "promised_limit_days": "INTEGER",
    "registered_community_id": "VARCHAR",
    "accepting_center_id": "VARCHAR",
    "accepting_staff_id": "VARCHAR",
    "channel": "VARCHAR",
    "fee_paid_fen": "BIGINT",
    "fee_charged_fen": "BIGINT",
    "deposit_paid_fen": "BIGINT",
    "receipt_no": "VARCHAR",
    "accepted_on": "DATE",
    "promised_completion_date": "DATE",
    "missing": "STRUCT(code VARCHAR)[]",
    "decision": "VARCHAR",
    "decided_at": "TIMESTAMPTZ",
    "on_time": "BOOLEAN",
    "at_window": "BOOLEAN",
    "decided_by": "VARCHAR",
    "handling_unit_id": "VARCHAR",
    "handling_office_id": "VARCHAR",
    "rule": "VARCHAR",
    "agent_id": "VARCHAR",
    "hop": "INTEGER",
    "final": "BOOLEAN",
    "assigned_to": "VARCHAR",
    "as_role": "VARCHAR",
    "to_officer": "VARCHAR",
    "due_date": "DATE",
    "due_at": "TIMESTAMPTZ",
    "paused_working_days": "INTEGER",
    "level": "INTEGER",
    "method": "VARCHAR",
    "score": "INTEGER",
    "bad_review": "BOOLEAN",
    "followup_id": "VARCHAR",
    # notify
    "template": "VARCHAR",
    "recipient_kind": "VARCHAR",
    "source_event_type": "VARCHAR",
    # reference data
    "unit_id": "VARCHAR",
    "name_zh": "VARCHAR",
    "tier": "VARCHAR",
    "kind": "VARCHAR",
    "parent_id": "VARCHAR",
    "new_parent_id": "VARCHAR",
    "is_island": "BOOLEAN",
    "item": (
        "STRUCT(code VARCHAR, version INTEGER, name_zh VARCHAR, category VARCHAR,"
        " handling_tier VARCHAR, case_type VARCHAR, statutory_limit_days INTEGER,"
        " promised_limit_days INTEGER, fee STRUCT(amount_fen BIGINT), result_type VARCHAR,"
        " agency_allowed BOOLEAN, effective_from DATE)"
    ),
}
_COLUMNS = {
    "event_id": "UUID",
    "event_type": "VARCHAR",
    "schema_version": "INTEGER",
    "stream_id": "VARCHAR",
    "stream_version": "BIGINT",
    "occurred_at": "TIMESTAMPTZ",
    "producer": "STRUCT(service VARCHAR, instance VARCHAR)",
    "actor": "STRUCT(id VARCHAR, role VARCHAR, org_id VARCHAR)",
    "org_id": "VARCHAR",
    "tier": "VARCHAR",
    "correlation_id": "UUID",
    "causation_id": "UUID",
    "payload": "STRUCT(" + ", ".join(f'"{k}" {v}' for k, v in _PAYLOAD.items()) + ")",
}
_ORDER_KEY = "occurred_at, stream_id, producer.service, stream_version, event_id"
_LOCAL = "CAST(timezone('Asia/Shanghai', {}) AS DATE)"


def _columns_sql() -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in _COLUMNS.items()) + "}"


@dataclass
class BuildResult:
    lines: int
    loaded: int
    rejected: int
    duplicates: int
    events: int
    cases: int
    center_days: int


def connect(path: Path, work_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("SET preserve_insertion_order = true")
    if work_dir is not None:
        con.execute(f"SET temp_directory = '{_sql_str(str(work_dir))}'")
    return con


def load(con: duckdb.DuckDBPyConnection, files: Sequence[Path], table: str = "raw") -> int:
    """Append NDJSON envelope files to the temporary `raw` table (created on first use)."""
    existing = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary", [table]
    ).fetchone()
    paths = [str(f) for f in files if f.stat().st_size > 0]
    if not paths:
        if not existing or not existing[0]:
            con.execute(
                f"CREATE TEMP TABLE {table} AS SELECT * FROM read_json(['/dev/null'],"
                f" format='newline_delimited', columns={_columns_sql()}) LIMIT 0"
            )
        return 0
    source = (
        f"read_json({paths!r}, format='newline_delimited', ignore_errors=true,"
        f" maximum_object_size=16777216, columns={_columns_sql()})"
    )
    before = _count(con, table) if existing and existing[0] else 0
    if existing and existing[0]:
        con.execute(f"INSERT INTO {table} SELECT * FROM {source}")
    else:
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM {source}")
    return _count(con, table) - before


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def known_units(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT unit_id FROM org_units UNION SELECT org_id FROM raw WHERE org_id IS NOT NULL"
    ).fetchall()
    return {r[0] for r in rows}


def build(
    con: duckdb.DuckDBPyConnection,
    flt: ReplayFilter,
    info: dict[str, Any],
    *,
    lines: int,
) -> BuildResult:
    """Turn the loaded `raw` table into the analytics tables (in `con`'s database)."""
    # a line DuckDB could not read as an envelope (not JSON, no id, a broken field) is
    # counted and left out, never half-loaded
    con.execute(
        "DELETE FROM raw WHERE event_id IS NULL OR event_type IS NULL OR stream_id IS NULL"
        " OR occurred_at IS NULL OR stream_version IS NULL"
    )
    loaded = _count(con, "raw")
    # 1. deduplicate (an at-least-once relay may have published an event twice); counting
    #    distinct ids is cheap, rewriting the table only happens when there are copies
    row = con.execute("SELECT count(*) - count(DISTINCT event_id) FROM raw").fetchone()
    if row and row[0]:
        con.execute(
            f"""CREATE TEMP TABLE dedup AS SELECT * FROM raw
                QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY {_ORDER_KEY}) = 1"""
        )
        con.execute("DROP TABLE raw")
        con.execute("ALTER TABLE dedup RENAME TO raw")
    deduped = _count(con, "raw")
    # 2. reference data, whatever the filters
    _org_units(con)
    _catalog(con)
    # 3. the filters: unknown names are refused before anything is written
    if flt.org_units:
        known = known_units(con)
        unknown = [u for u in flt.org_units if u not in known]
        if unknown:
            sample = ", ".join(sorted(u for u in known if u.count(".") <= 1)[:20])
            raise BadInput(
                "--org",
                f"unknown org unit {unknown[0]!r}: not in the org tree of the replayed history"
                + (f" (units include: {sample}, ...)" if sample else " (no org events replayed)"),
            )
    if flt.unregistered_types:
        present = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT event_type FROM raw WHERE event_type IN (SELECT unnest(?))",
                [list(flt.unregistered_types)],
            ).fetchall()
        }
        missing = [t for t in flt.unregistered_types if t not in present]
        if missing:
            raise BadInput(
                "--type",
                f"unknown event type {missing[0]!r}: not in contracts and not in the history",
            )
    _filtered(con, flt)
    # 4. the tidy tables
    _calendar(con)
    _events(con)
    _cases(con)
    _joint_cases(con)
    _center_daily(con)
    events = _count(con, "events")
    result = BuildResult(
        lines=lines,
        loaded=loaded,
        rejected=max(0, lines - loaded),
        duplicates=loaded - deduped,
        events=events,
        cases=_count(con, "cases"),
        center_days=_count(con, "center_daily"),
    )
    _info(con, info | {"filters": flt.describe()}, result)
    for name in ("seqs", "ev", "raw", "scope"):
        _drop(con, name)
    return result


def _org_units(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE org_units AS
        WITH reg AS (
            SELECT payload.unit_id AS unit_id,
                   arg_max(struct_pack(name_zh := payload.name_zh, tier := payload.tier,
                                       kind := payload.kind, parent_id := payload.parent_id,
                                       is_island := payload.is_island),
                           stream_version) AS u,
                   max(stream_version) AS v
            FROM raw WHERE event_type = 'routing.org_unit_registered'
            GROUP BY 1),
        rep AS (
            SELECT payload.unit_id AS unit_id,
                   arg_max(payload.new_parent_id, stream_version) AS parent_id,
                   max(stream_version) AS v
            FROM raw WHERE event_type = 'routing.org_unit_reparented'
            GROUP BY 1),
        u AS (
            SELECT reg.unit_id, reg.u.name_zh AS name_zh, reg.u.tier AS tier, reg.u.kind AS kind,
                   CASE WHEN rep.v > reg.v THEN rep.parent_id ELSE reg.u.parent_id END
                       AS parent_id,
                   coalesce(reg.u.is_island, false) AS is_island
            FROM reg LEFT JOIN rep USING (unit_id)),
        up AS (
            WITH RECURSIVE chain(unit_id, anc_id, depth) AS (
                SELECT unit_id, unit_id, 0 FROM u
                UNION ALL
                SELECT chain.unit_id, u.parent_id, chain.depth + 1
                FROM chain JOIN u ON u.unit_id = chain.anc_id
                WHERE u.parent_id IS NOT NULL AND chain.depth < 12)
            SELECT unit_id, list(anc_id ORDER BY depth DESC) AS ancestors FROM chain GROUP BY 1)
        SELECT u.unit_id, u.name_zh, u.tier, u.kind, u.parent_id, u.is_island,
               up.ancestors,
               (SELECT a FROM unnest(up.ancestors) t(a) JOIN u u2 ON u2.unit_id = a
                WHERE u2.tier = 'town' LIMIT 1) AS town_id
        FROM u JOIN up USING (unit_id)
        ORDER BY u.unit_id
        """
    )


def _catalog(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE catalog_items AS
        SELECT payload.item.code AS code, payload.item.version AS version,
               arg_max(payload.item.name_zh, stream_version) AS name_zh,
               arg_max(payload.item.category, stream_version) AS category,
               arg_max(payload.item.handling_tier, stream_version) AS handling_tier,
               arg_max(payload.item.case_type, stream_version) AS case_type,
               arg_max(payload.item.statutory_limit_days, stream_version) AS statutory_limit_days,
               arg_max(payload.item.promised_limit_days, stream_version) AS promised_limit_days,
               arg_max(payload.item.fee.amount_fen, stream_version) AS fee_fen,
               arg_max(payload.item.result_type, stream_version) AS result_type,
               arg_max(payload.item.agency_allowed, stream_version) AS agency_allowed,
               arg_max(payload.item.effective_from, stream_version) AS effective_from
        FROM raw WHERE event_type = 'intake.catalog_item_published'
        GROUP BY 1, 2 ORDER BY 1, 2
        """
    )


def _filtered(con: duckdb.DuckDBPyConnection, flt: ReplayFilter) -> None:
    """`ev`: the events the filters keep (see `filters` for the semantics)."""
    where: list[str] = []
    params: list[Any] = []
    if flt.since is not None:
        where.append("occurred_at >= ?")
        params.append(flt.since)
    if flt.until is not None:
        where.append("occurred_at < ?")
        params.append(flt.until)
    if flt.event_types:
        where.append("event_type IN (SELECT unnest(?))")
        params.append(list(flt.event_types))
    match: list[str] = []
    if flt.org_units:
        con.execute(
            """CREATE TEMP TABLE scope AS
               SELECT unit_id FROM org_units
               WHERE list_has_any(ancestors, ?::VARCHAR[])
               UNION
               SELECT DISTINCT org_id FROM raw
               WHERE org_id IS NOT NULL AND org_id NOT IN (SELECT unit_id FROM org_units)
                 AND (list_contains(?::VARCHAR[], org_id)
                      OR EXISTS (SELECT 1 FROM unnest(?::VARCHAR[]) t(o)
                                 WHERE starts_with(org_id, o || '.')))""",
            [list(flt.org_units)] * 3,
        )
        match.append("org_id IN (SELECT unit_id FROM scope)")
    if flt.tiers:
        match.append("tier IN (SELECT unnest(?))")
    if not where and not match:
        con.execute("CREATE TEMP VIEW ev AS SELECT * FROM raw")  # nothing to filter: no copy
        return
    cond = " AND ".join(where) or "true"
    mcond = " AND ".join(match) or "true"
    mparams: list[Any] = [list(flt.tiers)] if flt.tiers else []
    con.execute(
        f"""CREATE TEMP TABLE ev AS
            WITH kept AS (SELECT * FROM raw WHERE {cond}),
            picked AS (SELECT DISTINCT stream_id FROM kept
                       WHERE stream_id LIKE 'case-%' AND {mcond})
            SELECT * FROM kept
            WHERE (stream_id LIKE 'case-%' AND stream_id IN (SELECT stream_id FROM picked))
               OR (stream_id NOT LIKE 'case-%' AND {mcond})""",
        params + mparams + mparams,
    )


def _calendar(con: duckdb.DuckDBPyConnection) -> None:
    """Working days over the period (and a margin), from `contracts.workdays`: the same
    calendar the services count deadlines with."""
    row = con.execute(
        f"SELECT min({_LOCAL.format('occurred_at')}), max({_LOCAL.format('occurred_at')})"
        " FROM ev WHERE stream_id LIKE 'case-%'"
    ).fetchone()
    con.execute(
        "CREATE TABLE calendar (day DATE, is_working_day BOOLEAN, working_day_index INTEGER)"
    )
    if not row or row[0] is None:
        return
    first, last = row[0] - timedelta(days=7), row[1] + timedelta(days=7)
    rows, index, d = [], 0, first
    while d <= last:
        working = is_working_day(d)
        index += working
        rows.append((d, working, index))
        d += timedelta(days=1)
    con.executemany("INSERT INTO calendar VALUES (?, ?, ?)", rows)


def _events(con: duckdb.DuckDBPyConnection) -> None:
    """`events`, and the temporary `seqs` (event_id -> seq) that orders each case's events
    for `cases`. The sort runs on the narrow key only; payloads are never sorted."""
    con.execute(
        f"""CREATE TEMP TABLE seqs AS
            SELECT event_id, row_number() OVER (ORDER BY {_ORDER_KEY}) AS seq FROM ev"""
    )
    con.execute(
        f"""
        CREATE TABLE events AS
        SELECT s.seq, e.event_id, e.event_type, e.schema_version, e.stream_id, e.stream_version,
               e.occurred_at, {_LOCAL.format("e.occurred_at")} AS local_date,
               e.producer.service AS producer, e.actor.id AS actor_id,
               e.actor.role AS actor_role, e.actor.org_id AS actor_org_id, e.org_id, e.tier,
               e.correlation_id, e.causation_id,
               CASE WHEN e.stream_id LIKE 'case-%' THEN e.stream_id END AS case_id,
               e.payload.item_code AS item_code, e.payload.category AS category,
               e.payload.accepting_center_id AS accepting_center_id,
               e.payload.handling_unit_id AS handling_unit_id,
               coalesce(e.payload.assigned_to, e.payload.to_officer) AS assigned_to,
               e.payload.decision AS decision, e.payload.on_time AS on_time,
               e.payload.score AS score, e.payload.channel AS channel,
               e.payload.template AS template, e.payload.recipient_kind AS recipient_kind,
               e.payload.source_event_type AS source_event_type
        FROM ev e JOIN seqs s USING (event_id)
        ORDER BY s.seq
        """
    )


def _cases(con: duckdb.DuckDBPyConnection) -> None:
    def first(expr: str, types: str) -> str:
        """The first non-null value of `expr` among the case's events of these types."""
        return f"arg_min({expr}, seq) FILTER (WHERE event_type IN ({types}) AND {expr} IS NOT NULL)"

    def last(expr: str, types: str) -> str:
        return f"arg_max({expr}, seq) FILTER (WHERE event_type IN ({types}) AND {expr} IS NOT NULL)"

    def at(types: str, extra: str = "true") -> str:
        return f"min(occurred_at) FILTER (WHERE event_type IN ({types}) AND {extra})"

    def n(types: str) -> str:
        return f"count(*) FILTER (WHERE event_type IN ({types}))"

    sub = "'intake.application_submitted'"
    acc = "'intake.application_accepted'"
    app = f"{sub}, {acc}, 'intake.materials_missing_notified'"
    routed = "'routing.case_routed'"
    decided = "'routing.case_decided'"
    con.execute(
        f"""
        CREATE TABLE cases AS
        WITH a AS (
          SELECT stream_id AS case_id,
            {first("payload.item_code", f"{app}, {routed}")} AS item_code,
            {first("payload.item_name_zh", app)} AS item_name_zh,
            {first("payload.category", f"{app}, {routed}")} AS category,
            {first("payload.case_type", f"{app}, {routed}")} AS case_type,
            coalesce({first("payload.handling_tier", app)},
                     {first("payload.catalog_tier", routed)}) AS catalog_tier,
            {first("payload.promised_limit_days", app)} AS promised_limit_days,
            {first("payload.channel", app)} AS channel,
            coalesce({first("payload.accepting_center_id", f"{app}, {routed}")},
                     {first("org_id", f"{app}, 'intake.result_delivered'")}) AS accepting_center_id,
            {first("tier", f"{app}, 'intake.result_delivered', 'intake.case_archived'")}
                AS accepting_tier,
            {first("payload.accepting_staff_id", f"{app}, {routed}")} AS accepting_staff_id,
            {first("payload.registered_community_id", app)} AS registered_community_id,
            {first("payload.receipt_no", acc)} AS receipt_no,
            {first("payload.promised_completion_date", acc)} AS promised_completion_date,
            {first("payload.handling_unit_id", routed)} AS handling_unit_id,
            {first("payload.handling_office_id", routed)} AS handling_office_id,
            {first("payload.handling_tier", routed)} AS handling_tier,
            {first("payload.rule", routed)} AS routing_rule,
            {first("payload.agent_id", routed)} AS agent_id,
            {
            last(
                "coalesce(payload.assigned_to, payload.to_officer)",
                "'routing.case_assigned', 'routing.case_reassigned'",
            )
        } AS assigned_to,
            {first("payload.as_role", "'routing.case_assigned'")} AS assigned_as,
            {last("payload.due_date", "'routing.deadline_set'")} AS due_date,
            {last("payload.due_at", "'routing.deadline_set'")} AS due_at,
            coalesce({
            last(
                "payload.paused_working_days",
                "'routing.deadline_set', 'routing.correction_received',"
                " 'routing.correction_closed'",
            )
        }, 0)
                AS paused_working_days,
            {at(sub)} AS submitted_at,
            {at("'intake.materials_missing_notified'")} AS missing_notified_at,
            {at(acc)} AS accepted_at,
            {at(routed)} AS routed_at,
            {at("'routing.case_assigned'")} AS assigned_at,
            coalesce({at(decided)},
                     {first("payload.decided_at", "'intake.decision_received'")}) AS decided_at,
            {at("'routing.result_returned'", "payload.final")} AS result_returned_at,
            {at("'intake.result_delivered'")} AS delivered_at,
            {at("'intake.case_archived'")} AS archived_at,
            {at("'intake.application_withdrawn'")} AS withdrawn_at,
            {at("'intake.service_evaluated'")} AS evaluated_at,
            coalesce({first("payload.decision", decided)},
                     {first("payload.decision", "'intake.decision_received'")}) AS decision,
            {first("payload.on_time", decided)} AS on_time,
            {first("payload.at_window", decided)} AS decided_at_window,
            {first("payload.decided_by", f"{decided}, 'intake.decision_received'")}
                AS decided_by,
            {first("len(payload.missing)", "'intake.materials_missing_notified'")}
                AS missing_materials,
            {n("'intake.materials_supplemented'")} AS supplements,
            greatest({n("'routing.correction_requested'")},
                     {n("'intake.correction_request_received'")}) AS corrections,
            greatest({n("'routing.correction_received'")},
                     {n("'intake.correction_supplied'")}) AS corrections_supplied,
            {n("'routing.case_handed_off'")} AS agency_handoffs,
            {n("'routing.result_returned'")} AS result_hops,
            {n("'routing.case_reassigned'")} AS reassignments,
            {n("'routing.deadline_warning_issued'")} AS deadline_warnings,
            {n("'routing.case_overdue'")} > 0 AS overdue,
            coalesce(max(payload.level) FILTER (WHERE event_type = 'routing.case_escalated'), 0)
                AS escalation_level,
            {first("payload.method", "'intake.result_delivered'")} AS delivery_method,
            {first("payload.score", "'intake.service_evaluated'")} AS satisfaction_score,
            {first("payload.bad_review", "'intake.service_evaluated'")} AS bad_review,
            {at("'routing.bad_review_followup_opened'")} AS followup_opened_at,
            {at("'routing.bad_review_followup_answered'")} AS followup_answered_at,
            {n("'notify.delivered'")} AS notifications_delivered,
            {n("'notify.delivery_failed'")} AS notifications_failed,
            {n("'audit.anomaly_flagged'")} AS anomalies_flagged,
            count(*) AS event_count
          FROM (SELECT * FROM ev JOIN seqs USING (event_id) WHERE stream_id LIKE 'case-%')
          GROUP BY stream_id)
        SELECT a.case_id, a.item_code, a.item_name_zh, a.category, a.case_type,
          a.catalog_tier, a.handling_tier, a.promised_limit_days, a.channel,
          a.accepting_center_id, a.accepting_tier, a.accepting_staff_id,
          a.registered_community_id, a.handling_unit_id, a.handling_office_id,
          a.routing_rule, a.agent_id, a.assigned_to, a.assigned_as, a.receipt_no,
          CASE
            WHEN a.archived_at IS NOT NULL THEN 'archived'
            WHEN a.delivered_at IS NOT NULL THEN 'delivered'
            WHEN a.withdrawn_at IS NOT NULL THEN 'withdrawn'
            WHEN a.decided_at IS NOT NULL THEN 'decided'
            WHEN a.corrections > a.corrections_supplied THEN 'correction_requested'
            WHEN a.accepted_at IS NOT NULL THEN 'accepted'
            WHEN a.missing_notified_at IS NOT NULL THEN 'awaiting_materials'
            WHEN a.submitted_at IS NOT NULL THEN 'submitted'
            ELSE 'unknown'
          END AS status,
          a.submitted_at, a.missing_notified_at, a.accepted_at, a.routed_at, a.assigned_at,
          a.decided_at, a.result_returned_at, a.delivered_at, a.archived_at, a.withdrawn_at,
          a.evaluated_at,
          {_LOCAL.format("a.submitted_at")} AS submitted_date,
          {_LOCAL.format("a.accepted_at")} AS accepted_date,
          {_LOCAL.format("a.decided_at")} AS decided_date,
          {_LOCAL.format("a.evaluated_at")} AS evaluated_date,
          a.promised_completion_date, a.due_date, a.due_at,
          a.decision, a.on_time, a.decided_at_window,
          cd.working_day_index - ca.working_day_index AS working_days,
          greatest(cd.working_day_index - ca.working_day_index - a.paused_working_days, 0)
              AS working_days_net,
          a.paused_working_days,
          CASE WHEN a.submitted_at IS NULL THEN NULL
               ELSE a.missing_notified_at IS NULL END AS complete_at_first_hand_in,
          a.missing_materials, a.supplements, a.corrections, a.agency_handoffs, a.result_hops,
          a.reassignments, a.deadline_warnings, a.overdue, a.escalation_level,
          a.delivery_method, a.satisfaction_score, a.bad_review,
          a.followup_opened_at, a.followup_answered_at,
          date_diff('minute', a.followup_opened_at, a.followup_answered_at)
              AS followup_minutes,
          a.notifications_delivered, a.notifications_failed, a.anomalies_flagged,
          a.event_count, jm.joint_case_id
        FROM a
        LEFT JOIN (
          SELECT m.case_id, arg_min(joint_case_id, seq) AS joint_case_id
          FROM (SELECT payload.joint_case_id AS joint_case_id, seq,
                       unnest(payload.members) AS m
                FROM ev JOIN seqs USING (event_id)
                WHERE event_type = 'intake.joint_application_accepted')
          GROUP BY 1) jm ON jm.case_id = a.case_id
        LEFT JOIN calendar ca ON ca.day = {_LOCAL.format("a.accepted_at")}
        LEFT JOIN calendar cd ON cd.day = {_LOCAL.format("a.decided_at")}
        ORDER BY a.case_id
        """
    )


def _joint_cases(con: duckdb.DuckDBPyConnection) -> None:
    """One row per joint case, keyed by the payload's `joint_case_id` (intake's and routing's
    events of one joint case share it). Decided when routing's FINAL joint result came; on
    time by `contracts.joint.joint_on_time` (the rule the board counts by), registered here as
    the SQL function `joint_on_time`."""
    _register_joint_on_time(con)
    sub = "'intake.joint_application_submitted'"
    acc = "'intake.joint_application_accepted'"
    con.execute(
        f"""
        CREATE TABLE joint_cases AS
        WITH j AS (
          SELECT payload.joint_case_id AS joint_case_id,
            arg_min(payload.bundle_code, seq) FILTER (
                WHERE event_type IN ({sub}, {acc}) AND payload.bundle_code IS NOT NULL)
                AS bundle_code,
            arg_min(payload.bundle_name_zh, seq) FILTER (
                WHERE event_type IN ({sub}, {acc}) AND payload.bundle_name_zh IS NOT NULL)
                AS bundle_name_zh,
            arg_min(payload.accepting_center_id, seq) FILTER (
                WHERE event_type IN ({sub}, {acc}) AND payload.accepting_center_id IS NOT NULL)
                AS accepting_center_id,
            min(occurred_at) FILTER (WHERE event_type = {sub}) AS submitted_at,
            min(occurred_at) FILTER (WHERE event_type = {acc}) AS accepted_at,
            arg_min(payload.promised_completion_date, seq) FILTER (WHERE event_type = {acc})
                AS promised_completion_date,
            min(occurred_at) FILTER (
                WHERE event_type = 'routing.joint_result_ready' AND payload.final) AS decided_at,
            min(occurred_at) FILTER (WHERE event_type = 'intake.joint_result_delivered')
                AS delivered_at,
            arg_min(len(payload.members), seq) FILTER (WHERE event_type = {acc}) AS members
          FROM (SELECT * FROM ev JOIN seqs USING (event_id)
                WHERE payload.joint_case_id IS NOT NULL AND event_type IN (
                    {sub}, {acc}, 'routing.joint_result_ready', 'intake.joint_result_delivered'))
          GROUP BY 1)
        SELECT j.*,
          {_LOCAL.format("j.submitted_at")} AS submitted_date,
          {_LOCAL.format("j.accepted_at")} AS accepted_date,
          {_LOCAL.format("j.decided_at")} AS decided_date,
          CASE WHEN j.decided_at IS NOT NULL AND j.promised_completion_date IS NOT NULL
               THEN joint_on_time({_LOCAL.format("j.decided_at")}, j.promised_completion_date)
          END AS on_time
        FROM j ORDER BY j.joint_case_id
        """
    )


def _register_joint_on_time(con: duckdb.DuckDBPyConnection) -> None:
    from contracts.joint import joint_on_time

    with contextlib.suppress(duckdb.InvalidInputException):
        con.remove_function("joint_on_time")
    con.create_function(
        "joint_on_time",
        joint_on_time,
        [duckdb.sqltype("DATE"), duckdb.sqltype("DATE")],
        duckdb.sqltype("BOOLEAN"),
    )


def _center_daily(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE center_daily AS
        WITH r AS (
            SELECT accepting_center_id AS center_id, submitted_date AS day,
                   count(*) AS received,
                   count(*) FILTER (WHERE complete_at_first_hand_in) AS complete_at_first_hand_in
            FROM cases WHERE submitted_date IS NOT NULL AND accepting_center_id IS NOT NULL
            GROUP BY ALL),
        ac AS (
            SELECT accepting_center_id AS center_id, accepted_date AS day, count(*) AS accepted
            FROM cases WHERE accepted_date IS NOT NULL AND accepting_center_id IS NOT NULL
            GROUP BY ALL),
        d AS (
            SELECT handling_unit_id AS center_id, decided_date AS day,
                   count(*) AS completed,
                   count(*) FILTER (WHERE on_time) AS completed_on_time,
                   count(*) FILTER (WHERE decision = 'refuse') AS refused,
                   count(*) FILTER (WHERE corrections > 0) AS with_correction,
                   round(avg(working_days), 3) AS avg_working_days,
                   round(quantile_cont(working_days, 0.9), 3) AS p90_working_days
            FROM cases WHERE decided_date IS NOT NULL AND handling_unit_id IS NOT NULL
            GROUP BY ALL),
        s AS (
            SELECT accepting_center_id AS center_id, evaluated_date AS day,
                   count(*) AS evaluations,
                   round(avg(satisfaction_score), 3) AS avg_satisfaction,
                   count(*) FILTER (WHERE bad_review) AS bad_reviews
            FROM cases WHERE evaluated_date IS NOT NULL AND accepting_center_id IS NOT NULL
            GROUP BY ALL),
        k AS (SELECT center_id, day FROM r UNION SELECT center_id, day FROM ac
              UNION SELECT center_id, day FROM d UNION SELECT center_id, day FROM s)
        SELECT k.center_id, k.day, o.name_zh AS center_name, o.tier AS center_tier,
               o.town_id,
               coalesce(r.received, 0) AS received,
               coalesce(ac.accepted, 0) AS accepted,
               coalesce(r.complete_at_first_hand_in, 0) AS complete_at_first_hand_in,
               coalesce(d.completed, 0) AS completed,
               coalesce(d.completed_on_time, 0) AS completed_on_time,
               CASE WHEN d.completed > 0
                    THEN round(100.0 * d.completed_on_time / d.completed, 2) END AS on_time_pct,
               d.avg_working_days, d.p90_working_days,
               coalesce(d.refused, 0) AS refused,
               coalesce(d.with_correction, 0) AS with_correction,
               coalesce(s.evaluations, 0) AS evaluations,
               s.avg_satisfaction,
               coalesce(s.bad_reviews, 0) AS bad_reviews
        FROM k
        LEFT JOIN r USING (center_id, day)
        LEFT JOIN ac USING (center_id, day)
        LEFT JOIN d USING (center_id, day)
        LEFT JOIN s USING (center_id, day)
        LEFT JOIN org_units o ON o.unit_id = k.center_id
        ORDER BY k.center_id, k.day
        """
    )


def _info(con: duckdb.DuckDBPyConnection, info: dict[str, Any], result: BuildResult) -> None:
    import orjson

    rows = {
        "format": "bianmin-analytics/1",
        **{k: orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode() for k, v in info.items()},
        "lines_read": str(result.lines),
        "events_loaded": str(result.loaded),
        "lines_rejected": str(result.rejected),
        "duplicates_dropped": str(result.duplicates),
        "events": str(result.events),
        "cases": str(result.cases),
        "center_days": str(result.center_days),
    }
    con.execute("CREATE TABLE replay_info (key VARCHAR, value VARCHAR)")
    con.executemany("INSERT INTO replay_info VALUES (?, ?)", sorted(rows.items()))


def export_parquet(con: duckdb.DuckDBPyConnection, directory: Path) -> list[Path]:
    """COPY every table to `<directory>/<table>.parquet`, in its fixed order."""
    out = []
    for table in TABLES:
        path = directory / f"{table}.parquet"
        con.execute(
            f"COPY (SELECT * FROM {table} ORDER BY {ORDER[table]}) TO '{_sql_str(str(path))}'"
            " (FORMAT parquet, COMPRESSION zstd)"
        )
        out.append(path)
    return out


def check_readable(path: Path) -> None:
    """An existing analytics file must open as DuckDB (it is about to be replaced: refuse to
    overwrite something that is not ours)."""
    if path.is_dir():
        raise BadInput("--db", f"{path} is a directory, not a DuckDB file")
    if not path.exists():
        return
    try:
        con = duckdb.connect(str(path), read_only=True)
    except (duckdb.Error, OSError) as exc:
        raise BadInput("--db", f"{path} exists but is not a readable DuckDB file ({exc})") from None
    con.close()


def open_for_report(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise BadInput("--db", f"{path} does not exist; run `bianmin replay analytics` first")
    if path.is_dir():
        raise BadInput("--db", f"{path} is a directory, not a DuckDB file")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except (duckdb.Error, OSError) as exc:
        raise BadInput("--db", f"{path} is not a readable DuckDB file ({exc})") from None
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    missing = [t for t in TABLES if t not in have]
    if missing:
        con.close()
        raise BadInput("--db", f"{path} is not an analytics store (missing {', '.join(missing)})")
    return con


def table_rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    """Every row in the table's fixed order (used to compare two replays)."""
    return con.execute(f"SELECT * FROM {table} ORDER BY {ORDER[table]}").fetchall()


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a temporary table or view by name, whichever it is."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND temporary),"
        " (SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary)",
        [name, name],
    ).fetchone()
    if row and row[0]:
        con.execute(f"DROP VIEW {name}")
    elif row and row[1]:
        con.execute(f"DROP TABLE {name}")


def _sql_str(s: str) -> str:
    return s.replace("'", "''")


def local_dates(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    row = con.execute("SELECT min(local_date), max(local_date) FROM events").fetchone()
    return (row[0], row[1]) if row else (None, None)
