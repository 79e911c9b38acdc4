"""Read models fed from the log, in index order: catalog, staff identities, board facts, and
which cases the anomaly rules must look at. Then the anomaly sweep.

The leaves table is a perfect feed: indexes are gap-free and committed in order by the one
writer (each append transaction waits for the previous one on the tree_state row lock), so
`idx > last` never skips anything. Each batch and its checkpoint (`projection_state`) commit
together, so a crash replays at most one batch into idempotent upserts.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from typing import Any

import asyncpg
import orjson

from contracts.topics import PRODUCER_OF
from eventkit.loops import LoopHealth, supervise, wait_event

from .anomaly.engine import foreign_producer
from .anomaly.rules import RuleSet
from .anomaly.runner import AnomalyRunner
from .board.projection import (
    SCHEDULE_PUBLISHED,
    apply_facts,
    facts,
    joint_member_facts,
    schedule_published,
)
from .board.projection import SOURCES as BOARD_SOURCES
from .decoding import read_leaf
from .log.leaf import ColumnSpec, facets

log = logging.getLogger("audit.projector")

NAME = "main"
BATCH = 2000
"""Leaves projected per transaction."""


def _path(obj: Any, path: tuple[str, ...]) -> Any:
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


async def project_batch(
    conn: asyncpg.Connection,
    rules: RuleSet,
    limit: int = 2000,
    columns: ColumnSpec | None = None,
    now: datetime | None = None,
) -> int:
    """Project the next batch of leaves; returns how many leaves were read. `now`: the
    service's clock, which the anomaly sweep compares a case's `dirty_since` with (the
    database's own time when not given)."""
    columns = columns or ColumnSpec()
    relevant = rules.event_types()
    staff_src = {s.event_type: s for s in rules.staff_identity}
    writes = {
        rules.catalog.event_type,
        "intake.catalog_item_retired",
        SCHEDULE_PUBLISHED,
        *staff_src,
    }
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO projection_state (name) VALUES ($1) ON CONFLICT DO NOTHING", NAME
        )
        last = await conn.fetchval(
            "SELECT last_idx FROM projection_state WHERE name = $1 FOR UPDATE", NAME
        )
        rows = await conn.fetch(
            """SELECT l.idx, l.leaf, l.event_type, l.stream_id, l.status, l.topic, p.keyed
               FROM leaves l LEFT JOIN personal_data p ON p.idx = l.idx
               WHERE l.idx > $1 ORDER BY l.idx LIMIT $2""",
            last,
            limit,
        )
        if not rows:
            return 0
        top = rows[-1]["idx"]
        facet_rows = []
        for r in rows:
            fa = facets(bytes(r["leaf"]), columns)
            if fa.item_code or fa.staff_ids or fa.reason_text:
                facet_rows.append(
                    (r["idx"], fa.item_code, fa.staff_ids, fa.reason_text, fa.reason_tokens)
                )
        if facet_rows:
            await conn.copy_records_to_table(
                "leaf_facets",
                records=facet_rows,
                columns=("idx", "item_code", "staff_ids", "reason_text", "reason_tokens"),
            )
        dirty: set[str] = set()
        board: list[tuple[str, dict[str, Any]]] = []
        for r in rows:
            if r["status"] != "accepted":
                continue
            if r["event_type"] == SCHEDULE_PUBLISHED and board:
                # the facts before it are counted by the calendar before it
                await apply_facts(conn, board)
                board.clear()
            try:
                if r["event_type"] in writes:  # its SQL gets a savepoint of its own
                    async with conn.transaction():
                        await _project_row(conn, r, rules, relevant, staff_src, dirty, board)
                else:
                    await _project_row(conn, r, rules, relevant, staff_src, dirty, board)
            except Exception:  # one odd leaf must not stop the projection of the log
                log.exception("could not project leaf %s; skipped", r["idx"])
        if board:
            await apply_facts(conn, board)
        if dirty:
            await conn.execute(
                """INSERT INTO anomaly_cases (stream_id, dirty_since)
                   SELECT s, coalesce($2::timestamptz, now()) FROM unnest($1::text[]) AS s
                   ON CONFLICT (stream_id) DO UPDATE SET dirty_since = EXCLUDED.dirty_since""",
                sorted(dirty),
                now,
            )
        await conn.execute("UPDATE projection_state SET last_idx = $2 WHERE name = $1", NAME, top)
        return int(top - last)


async def _project_row(
    conn: asyncpg.Connection,
    r: asyncpg.Record,
    rules: RuleSet,
    relevant: set[str],
    staff_src: dict[str, Any],
    dirty: set[str],
    board: list[tuple[str, dict[str, Any]]],
) -> None:
    cat = rules.catalog
    et = r["event_type"]
    doc: dict[str, Any] | None = None
    if et in relevant and r["stream_id"]:
        dirty.add(r["stream_id"])
    elif r["stream_id"] and rules.checks_producers() and r["topic"] in PRODUCER_OF:
        doc = read_leaf(r["leaf"])
        if foreign_producer(r["topic"], (doc.get("producer") or {}).get("service")):
            dirty.add(r["stream_id"])
    if et == cat.event_type:
        doc = read_leaf(r["leaf"])
        item = _path(doc.get("payload"), cat.item_path)
        if isinstance(item, dict) and isinstance(item.get(cat.code_field), str):
            eff = item.get(cat.effective_from_field)
            try:
                eff_d = date.fromisoformat(eff) if isinstance(eff, str) else None
            except ValueError:
                eff_d = None
            await conn.execute(
                """INSERT INTO catalog_items (code, version, effective_from, item, idx)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (code, version) DO UPDATE
                   SET effective_from = EXCLUDED.effective_from, item = EXCLUDED.item,
                       idx = EXCLUDED.idx""",
                item[cat.code_field],
                int(item.get(cat.version_field) or 0),
                eff_d,
                orjson.dumps(item).decode(),
                r["idx"],
            )
    elif et == "intake.catalog_item_retired":
        doc = read_leaf(r["leaf"])
        p = doc.get("payload") or {}
        try:
            retired = date.fromisoformat(str(p.get("retired_from")))
        except (TypeError, ValueError):
            retired = None
        await conn.execute(
            "UPDATE catalog_items SET retired_from = $2 WHERE code = $1",
            p.get("code"),
            retired,
        )
    if et in staff_src:
        src = staff_src[et]
        doc = doc or read_leaf(r["leaf"])
        staff_id = (doc.get("payload") or {}).get(src.staff_field)
        keyed_all = orjson.loads(r["keyed"]) if r["keyed"] else {}
        keyed = {kind: keyed_all[ptr] for ptr, kind in src.pointers.items() if ptr in keyed_all}
        if isinstance(staff_id, str) and keyed:
            await conn.execute(
                """INSERT INTO staff_identity (staff_id, keyed, source)
                   VALUES ($1, $2, $3) ON CONFLICT (staff_id) DO UPDATE
                   SET keyed = EXCLUDED.keyed, source = EXCLUDED.source,
                       updated_at = now()""",
                staff_id,
                orjson.dumps(keyed).decode(),
                f"log:{r['idx']}",
            )
    if et == SCHEDULE_PUBLISHED:
        doc = doc or read_leaf(r["leaf"])
        await schedule_published(conn, doc, r["idx"])
    if r["stream_id"] and et in BOARD_SOURCES:
        doc = doc or read_leaf(r["leaf"])
        f = facts(doc)
        if f:
            board.append((r["stream_id"], f))
        board.extend(joint_member_facts(doc))  # 联办: each member under its own office


class Projector:
    """Background loop: project new leaves (woken by the appender), then sweep anomalies."""

    def __init__(self, c: Any) -> None:
        from .anomaly.rules import load_rules

        self.c = c
        self.rules: RuleSet = load_rules(c.settings.anomaly_rules_file)
        self._wake = asyncio.Event()
        self.runner: AnomalyRunner | None = None
        self.projected_to = -1
        self.health = LoopHealth("projector")

    def notify(self, outcome: Any) -> None:
        self._wake.set()

    async def catch_up(self) -> int:
        n = 0
        async with self.c.pool.acquire() as conn:
            while True:
                got = await project_batch(conn, self.rules, BATCH, now=self.c.clock())
                n += got
                # a partial batch reached the end of the log: stop, rather than pay one more
                # empty transaction (five statements) per wake-up; a later append wakes us
                if got < BATCH:
                    break
            self.projected_to = await conn.fetchval(
                "SELECT last_idx FROM projection_state WHERE name = $1", NAME
            )
        return n

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """`rounds` until `stop` is set or the task is cancelled, restarted after any error."""
        await supervise(
            "projector", self.rounds, stop=stop or asyncio.Event(), health=self.health, logger=log
        )

    async def rounds(self, health: LoopHealth) -> None:
        """Project what is new and sweep anomalies when due, then wait for the appender's
        wake-up or the sweep interval; an error ends the rounds (`supervise` logs it and
        starts them again: everything here is a replayable, idempotent catch-up)."""
        s = self.c.settings
        self.runner = AnomalyRunner(
            self.c.pool,
            self.c.events,
            self.rules,
            grace_seconds=s.anomaly_grace_seconds,
            instance=s.instance_id,
            clock=self.c.clock,
        )
        next_sweep = 0.0
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            await self.catch_up()
            if loop.time() >= next_sweep:
                while await self.runner.sweep(self.c.clock()) >= 200:
                    pass
                next_sweep = loop.time() + s.anomaly_interval_seconds
            health.running()
            await wait_event(self._wake, s.anomaly_interval_seconds)
