"""The figures of a situation report, queried from the analytics store.

Scope: the cases that touch the reporting unit's subtree — accepted at one of its centers,
or handled by one of its offices. Within the period [first, last] (local days, inclusive):

- *received* (登记) counts cases submitted in the period, by the accepting center;
- *completed* (办结) counts cases decided in the period, by the handling unit, with the
  on-time share (the promise in working days, correction pauses excluded, as routing judged
  it), and working days from acceptance to decision (average and 90th percentile);
- *complete at first hand-in* is the share of received cases with no missing-materials
  notice (一次性告知 working: the resident came once);
- *corrections* is the share of completed cases that needed a correction (补正);
- *hand-offs* counts routing's hops between tiers per accepted case (全程代理);
- *joint cases* (联办件) count once each, at their accepting center: received (submitted in
  the period), completed (the final joint result came in the period) and on time
  (`contracts.joint.joint_on_time`, as the board judges it); each member is an ordinary case,
  counted in *completed* under the office that decided it, never in *received*;
- *satisfaction* counts ratings given in the period (好差评), 1..5, and bad-review
  follow-ups answered in the period with their time to answer.

Per-center comparison rows are the reporting unit itself (its own hall) and each unit
directly below it, each with its whole subtree (a town's report compares its communities;
the city's, its towns and streets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

from contracts.intake import CATEGORY_NAMES_ZH

from ..errors import BadInput


@dataclass
class Unit:
    unit_id: str
    name_zh: str
    tier: str


@dataclass
class ReportData:
    org: Unit
    first: date
    last: date
    kpis: dict[str, Any]
    daily: list[dict[str, Any]]
    centers: list[dict[str, Any]]
    items: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    tiers: list[dict[str, Any]]
    scores: dict[int, int]
    followups: dict[str, Any]
    source: dict[str, str] = field(default_factory=dict)
    # events of any org in the period, and the dates the store covers: a report over a
    # period the store holds nothing of is all zeros, and must say why
    events_in_period: int = 0
    store_span: tuple[date, date] | None = None

    @property
    def empty(self) -> bool:
        return self.events_in_period == 0


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def load(con: duckdb.DuckDBPyConnection, org_id: str, first: date, last: date) -> ReportData:
    unit = con.execute(
        "SELECT unit_id, name_zh, tier FROM org_units WHERE unit_id = ?", [org_id]
    ).fetchone()
    if unit is None:
        known = [
            r[0]
            for r in con.execute(
                "SELECT unit_id FROM org_units WHERE tier <> 'community' ORDER BY unit_id"
            ).fetchall()
        ]
        hint = f" (e.g. {', '.join(known[:12])})" if known else " (the store has no org tree)"
        raise BadInput("--org", f"unknown org unit {org_id!r}{hint}")
    org = Unit(*unit)
    con.execute("DROP TABLE IF EXISTS temp.scope_units")
    # the reporting unit's subtree, each unit tagged with the comparison row it counts in
    con.execute(
        """CREATE TEMP TABLE scope_units AS
           SELECT o.unit_id,
                  CASE WHEN o.unit_id = $org THEN $org
                       ELSE o.ancestors[list_position(o.ancestors, $org) + 1] END AS row_unit
           FROM org_units o WHERE list_contains(o.ancestors, $org)""",
        {"org": org_id},
    )
    con.execute("DROP TABLE IF EXISTS temp.scope_cases")
    con.execute(
        """CREATE TEMP TABLE scope_cases AS
           SELECT c.*, ra.row_unit AS accept_row, rh.row_unit AS handle_row
           FROM cases c
           LEFT JOIN scope_units ra ON ra.unit_id = c.accepting_center_id
                AND c.joint_case_id IS NULL  -- a member has no center of its own
           LEFT JOIN scope_units rh ON rh.unit_id = c.handling_unit_id
           WHERE ra.unit_id IS NOT NULL OR rh.unit_id IS NOT NULL"""
    )
    p = {"first": first, "last": last}
    rec = "submitted_date BETWEEN $first AND $last"
    done = "decided_date BETWEEN $first AND $last"
    kpi = _rows(
        con,
        f"""SELECT
            count(*) FILTER (WHERE {rec}) AS received,
            count(*) FILTER (WHERE accepted_date BETWEEN $first AND $last) AS accepted,
            count(*) FILTER (WHERE {done}) AS completed,
            count(*) FILTER (WHERE {done} AND on_time) AS on_time,
            count(*) FILTER (WHERE {done} AND on_time IS NOT NULL) AS judged,
            avg(working_days) FILTER (WHERE {done}) AS avg_wd,
            quantile_cont(working_days, 0.9) FILTER (WHERE {done}) AS p90_wd,
            count(*) FILTER (WHERE {rec} AND complete_at_first_hand_in) AS first_time,
            count(*) FILTER (WHERE {done} AND corrections > 0) AS corrected,
            count(*) FILTER (WHERE {done} AND decision = 'refuse') AS refused,
            sum(agency_handoffs) FILTER (WHERE accepted_date BETWEEN $first AND $last)
                AS handoffs,
            count(*) FILTER (WHERE {rec} AND withdrawn_at IS NOT NULL) AS withdrawn,
            count(*) FILTER (WHERE overdue AND due_date BETWEEN $first AND $last) AS overdue,
            count(*) FILTER (WHERE escalation_level > 0 AND due_date BETWEEN $first AND $last)
                AS escalated,
            count(*) FILTER (WHERE evaluated_date BETWEEN $first AND $last) AS rated,
            avg(satisfaction_score) FILTER (WHERE evaluated_date BETWEEN $first AND $last)
                AS avg_score,
            count(*) FILTER (WHERE evaluated_date BETWEEN $first AND $last
                             AND satisfaction_score >= 4) AS satisfied,
            count(*) FILTER (WHERE evaluated_date BETWEEN $first AND $last AND bad_review)
                AS bad_reviews
        FROM scope_cases""",
        p,
    )[0]
    # joint cases (联办件) count ONCE, at their accepting center (the board's rule); their
    # members are ordinary cases above, counted where their own offices decided them
    kpi |= _rows(
        con,
        """SELECT count(*) FILTER (WHERE submitted_date BETWEEN $first AND $last)
                      AS joint_received,
                  count(*) FILTER (WHERE decided_date BETWEEN $first AND $last)
                      AS joint_completed,
                  count(*) FILTER (WHERE decided_date BETWEEN $first AND $last AND on_time)
                      AS joint_on_time,
                  count(*) FILTER (WHERE decided_date BETWEEN $first AND $last
                                   AND on_time IS NOT NULL) AS joint_judged
           FROM joint_cases j JOIN scope_units s ON s.unit_id = j.accepting_center_id""",
        p,
    )[0]
    kpi["joint_on_time_rate"] = _share(kpi["joint_on_time"], kpi["joint_judged"])
    kpi["on_time_rate"] = _share(kpi["on_time"], kpi["judged"])
    kpi["first_time_rate"] = _share(kpi["first_time"], kpi["received"])
    kpi["correction_rate"] = _share(kpi["corrected"], kpi["completed"])
    kpi["satisfied_rate"] = _share(kpi["satisfied"], kpi["rated"])
    kpi["handoffs_per_case"] = (kpi["handoffs"] or 0) / kpi["accepted"] if kpi["accepted"] else None

    days = _rows(
        con,
        """WITH d AS (SELECT unnest(generate_series($first::DATE, $last::DATE, INTERVAL 1 DAY))
                           ::DATE AS day)
            SELECT d.day, coalesce(cal.is_working_day, isodow(d.day) < 6) AS working,
                   (SELECT count(*) FROM scope_cases WHERE submitted_date = d.day) AS received,
                   (SELECT count(*) FROM scope_cases WHERE decided_date = d.day) AS completed,
                   (SELECT count(*) FROM scope_cases WHERE decided_date = d.day AND on_time)
                       AS on_time
            FROM d LEFT JOIN calendar cal ON cal.day = d.day ORDER BY d.day""",
        p,
    )
    for d in days:
        d["on_time_rate"] = _share(d["on_time"], d["completed"])

    centers = _rows(
        con,
        f"""WITH rows AS (SELECT DISTINCT row_unit FROM scope_units),
            r AS (SELECT accept_row AS u, count(*) AS received,
                         count(*) FILTER (WHERE complete_at_first_hand_in) AS first_time
                  FROM scope_cases WHERE {rec} GROUP BY 1),
            d AS (SELECT handle_row AS u, count(*) AS completed,
                         count(*) FILTER (WHERE on_time) AS on_time,
                         avg(working_days) AS avg_wd,
                         quantile_cont(working_days, 0.9) AS p90_wd
                  FROM scope_cases WHERE {done} GROUP BY 1),
            s AS (SELECT accept_row AS u, count(*) AS rated, avg(satisfaction_score) AS avg_score,
                         count(*) FILTER (WHERE bad_review) AS bad_reviews
                  FROM scope_cases WHERE evaluated_date BETWEEN $first AND $last GROUP BY 1)
            SELECT rows.row_unit AS unit_id, o.name_zh, o.tier,
                   coalesce(r.received, 0) AS received, coalesce(r.first_time, 0) AS first_time,
                   coalesce(d.completed, 0) AS completed, coalesce(d.on_time, 0) AS on_time,
                   d.avg_wd, d.p90_wd, coalesce(s.rated, 0) AS rated, s.avg_score,
                   coalesce(s.bad_reviews, 0) AS bad_reviews
            FROM rows JOIN org_units o ON o.unit_id = rows.row_unit
            LEFT JOIN r ON r.u = rows.row_unit LEFT JOIN d ON d.u = rows.row_unit
            LEFT JOIN s ON s.u = rows.row_unit
            ORDER BY (rows.row_unit = $org) DESC, received DESC, rows.row_unit""",
        p | {"org": org_id},
    )
    for c in centers:
        c["on_time_rate"] = _share(c["on_time"], c["completed"])
        c["first_time_rate"] = _share(c["first_time"], c["received"])

    items = _rows(
        con,
        f"""SELECT item_code, any_value(item_name_zh) AS name_zh, any_value(category) AS category,
                   count(*) AS received,
                   count(*) FILTER (WHERE complete_at_first_hand_in) AS first_time
            FROM scope_cases WHERE {rec} AND item_code IS NOT NULL
            GROUP BY item_code ORDER BY received DESC, item_code""",
        p,
    )
    for i in items:
        i["category_zh"] = CATEGORY_NAMES_ZH.get(i["category"] or "", i["category"])
        i["share"] = _share(i["received"], kpi["received"])
    categories = _rows(
        con,
        f"""SELECT category, count(*) AS received FROM scope_cases
            WHERE {rec} AND category IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1""",
        p,
    )
    for c in categories:
        c["name_zh"] = CATEGORY_NAMES_ZH.get(c["category"], c["category"])
    tiers = _rows(
        con,
        f"""SELECT handling_tier AS tier, count(*) AS completed,
                   count(*) FILTER (WHERE on_time) AS on_time, avg(working_days) AS avg_wd,
                   avg(agency_handoffs) AS handoffs
            FROM scope_cases WHERE {done} AND handling_tier IS NOT NULL
            GROUP BY 1 ORDER BY list_position(['community', 'town', 'city'], handling_tier)""",
        p,
    )
    for t in tiers:
        t["on_time_rate"] = _share(t["on_time"], t["completed"])
    scores = {s: 0 for s in range(1, 6)}
    for s, n in con.execute(
        """SELECT satisfaction_score, count(*) FROM scope_cases
           WHERE evaluated_date BETWEEN $first AND $last AND satisfaction_score IS NOT NULL
           GROUP BY 1""",
        p,
    ).fetchall():
        scores[int(s)] = int(n)
    followups = _rows(
        con,
        """SELECT count(*) FILTER (WHERE CAST(timezone('Asia/Shanghai', followup_opened_at) AS DATE)
                                   BETWEEN $first AND $last) AS opened,
                  count(*) FILTER (WHERE CAST(timezone('Asia/Shanghai', followup_answered_at)
                                   AS DATE) BETWEEN $first AND $last) AS answered,
                  avg(followup_minutes) FILTER (WHERE CAST(timezone('Asia/Shanghai',
                      followup_answered_at) AS DATE) BETWEEN $first AND $last) / 60.0
                      AS avg_hours,
                  max(followup_minutes) FILTER (WHERE CAST(timezone('Asia/Shanghai',
                      followup_answered_at) AS DATE) BETWEEN $first AND $last) / 60.0
                      AS max_hours
           FROM scope_cases WHERE followup_opened_at IS NOT NULL""",
        p,
    )[0]
    source = dict(con.execute("SELECT key, value FROM replay_info ORDER BY key").fetchall())
    in_period, lo, hi = con.execute(
        """SELECT count(*) FILTER (WHERE local_date BETWEEN $first AND $last),
                  min(local_date), max(local_date) FROM events""",
        p,
    ).fetchone() or (0, None, None)
    return ReportData(
        org,
        first,
        last,
        kpi,
        days,
        centers,
        items,
        categories,
        tiers,
        scores,
        followups,
        source,
        events_in_period=in_period,
        store_span=(lo, hi) if lo is not None else None,
    )


def _share(n: int | None, d: int | None) -> float | None:
    return (n or 0) / d if d else None


def period_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
