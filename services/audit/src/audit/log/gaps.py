"""Every event is in the log, checked, not assumed (issue 18, finding 3).

The appender knows each followed topic's id (`logged_topics`, from Kafka metadata,
`audit.log.topic_ids`) and the next offset it expects per partition (`consumer_offsets`).
What Kafka hands it must continue exactly that:

==================  =====================================================================
seen                what happens
==================  =====================================================================
the expected offset appended
a lower offset      a replay: skipped if it is what the log holds at that offset (the same
                    event, the same content); otherwise ``offset_rewound``
a higher offset     ``offset_jump``: the offsets in between never reached the log
another topic id    ``topic_recreated``: the topic was deleted and created again
==================  =====================================================================

A halt stops appending for that partition (nothing of it is appended or skipped past), is
written in the same transaction as the batch it came with, logged at ERROR, flagged as an
anomaly (`audit.anomaly_flagged`, rule ``log_gap``), and shown by `/readyz` (the appender is
`blocked`). Only `resolve` -- an operator's explicit decision through
`POST /v1/admin/log/halts/{id}/decision` or `python -m audit halts resolve` -- resumes it, and
that decision is itself an audit event (`audit.log_halt_resolved`), so it goes into the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

log = logging.getLogger("audit.log.gaps")

KINDS = ("topic_recreated", "offset_rewound", "offset_jump")


@dataclass(frozen=True)
class Halt:
    topic: str
    partition: int
    kind: str
    detail: str
    expected_offset: int | None = None
    found_offset: int | None = None
    known_topic_id: str | None = None
    found_topic_id: str | None = None


async def open_halts(conn: asyncpg.Connection) -> dict[tuple[str, int], int]:
    """(topic, partition) -> halt id, for every partition whose appending is stopped."""
    rows = await conn.fetch(
        'SELECT id, topic, "partition" FROM append_halts WHERE resolved_at IS NULL'
    )
    return {(r["topic"], r["partition"]): r["id"] for r in rows}


async def raise_halt(conn: asyncpg.Connection, h: Halt) -> int | None:
    """Record `h` (in the caller's transaction); None if that partition is halted already."""
    hid = await conn.fetchval(
        """INSERT INTO append_halts (topic, "partition", kind, detail, expected_offset,
                                     found_offset, known_topic_id, found_topic_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (topic, "partition") WHERE resolved_at IS NULL DO NOTHING
           RETURNING id""",
        h.topic,
        h.partition,
        h.kind,
        h.detail,
        h.expected_offset,
        h.found_offset,
        h.known_topic_id,
        h.found_topic_id,
    )
    if hid is not None:
        log.error(
            "APPENDING HALTED for %s:%s (%s): %s -- an operator decision is needed "
            "(POST /v1/admin/log/halts/%s/decision)",
            h.topic,
            h.partition,
            h.kind,
            h.detail,
            hid,
            extra={"halt_id": hid, "topic": h.topic, "partition": h.partition, "kind": h.kind},
        )
    return hid  # type: ignore[no-any-return]


async def check_topic_ids(
    conn: asyncpg.Connection, found: dict[str, str], partitions: dict[str, list[int]]
) -> list[tuple[int, Halt]]:
    """Compare the topics' ids with the ones recorded (recording a topic seen the first
    time); a changed id halts every partition of the topic. Returns the halts raised."""
    raised: list[tuple[int, Halt]] = []
    async with conn.transaction():
        known = {
            r["topic"]: r["topic_id"]
            for r in await conn.fetch("SELECT topic, topic_id FROM logged_topics")
        }
        for topic, tid in sorted(found.items()):
            old = known.get(topic)
            if old is None:
                await conn.execute(
                    "INSERT INTO logged_topics (topic, topic_id) VALUES ($1, $2) "
                    "ON CONFLICT (topic) DO NOTHING",
                    topic,
                    tid,
                )
                continue
            if old == tid:
                continue
            stored = {
                r["partition"]
                for r in await conn.fetch(
                    'SELECT "partition" FROM consumer_offsets WHERE topic = $1', topic
                )
            }
            for p in sorted(stored | set(partitions.get(topic, []))):
                h = Halt(
                    topic,
                    p,
                    "topic_recreated",
                    f"topic {topic} now has id {tid}, the log followed id {old}: it was "
                    "deleted and created again",
                    known_topic_id=old,
                    found_topic_id=tid,
                )
                hid = await raise_halt(conn, h)
                if hid is not None:
                    raised.append((hid, h))
    return raised


class HaltNotFound(LookupError):
    pass


async def resolve(
    conn: asyncpg.Connection,
    halt_id: int,
    *,
    decided_by: str,
    reason: str,
    resume_offset: int | None,
    current_topic_id: str | None = None,
) -> dict[str, Any]:
    """An operator's decision on an open halt: resume the partition at `resume_offset`
    (default: where Kafka now is -- the found offset; 0 for a recreated topic, whose every
    partition is resumed and whose new id is accepted). Serialized with the appender (the
    tree_state row lock). Returns the decision as recorded."""
    async with conn.transaction():
        await conn.execute("SELECT 1 FROM tree_state WHERE id = 1 FOR UPDATE")
        row = await conn.fetchrow(
            "SELECT * FROM append_halts WHERE id = $1 AND resolved_at IS NULL", halt_id
        )
        if row is None:
            raise HaltNotFound(f"no open halt {halt_id}")
        topic = row["topic"]
        logged_id = await conn.fetchval(
            "SELECT topic_id FROM logged_topics WHERE topic = $1", topic
        )
        recreated = row["kind"] == "topic_recreated" or (
            current_topic_id is not None and current_topic_id != logged_id
        )
        if recreated:
            new_id = row["found_topic_id"] or current_topic_id
            targets = [
                (r["id"], r["partition"])
                for r in await conn.fetch(
                    'SELECT id, "partition" FROM append_halts '
                    "WHERE topic = $1 AND resolved_at IS NULL",
                    topic,
                )
            ]
            start = 0 if resume_offset is None else resume_offset
            if new_id:
                await conn.execute(
                    """INSERT INTO logged_topics (topic, topic_id) VALUES ($1, $2)
                       ON CONFLICT (topic) DO UPDATE SET topic_id = EXCLUDED.topic_id""",
                    topic,
                    new_id,
                )
            # every partition of the new topic starts again at `start`
            await conn.execute(
                "UPDATE consumer_offsets SET next_offset = $2 WHERE topic = $1", topic, start
            )
        else:
            targets = [(row["id"], row["partition"])]
            start = row["found_offset"] if resume_offset is None else resume_offset
        decision = {
            "halt_id": halt_id,
            "topic": topic,
            "partitions": sorted(p for _, p in targets),
            "kind": row["kind"],
            "resume_offset": start,
            "accepted_topic_id": (row["found_topic_id"] or current_topic_id) if recreated else None,
            "decided_by": decided_by,
            "reason": reason,
            "detail": row["detail"],
        }
        for hid, p in targets:
            await conn.execute(
                """INSERT INTO consumer_offsets (topic, "partition", next_offset)
                   VALUES ($1, $2, $3) ON CONFLICT (topic, "partition")
                   DO UPDATE SET next_offset = EXCLUDED.next_offset""",
                topic,
                p,
                start,
            )
            await conn.execute(
                """UPDATE append_halts SET resolved_at = now(), resolved_by = $2, decision = $3
                   WHERE id = $1""",
                hid,
                decided_by,
                orjson.dumps(decision).decode(),
            )
    log.warning(
        "append halt %s resolved by %s: resume %s at offset %s (%s)",
        halt_id,
        decided_by,
        topic,
        start,
        reason,
        extra={"decision": decision},
    )
    return decision


async def list_halts(conn: asyncpg.Connection, open_only: bool = True) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM append_halts"
        + (" WHERE resolved_at IS NULL" if open_only else "")
        + " ORDER BY id"
    )
    out = []
    for r in rows:
        d = dict(r)
        for k in ("raised_at", "resolved_at"):
            d[k] = d[k].isoformat() if d[k] else None
        d["decision"] = orjson.loads(d["decision"]) if d["decision"] else None
        out.append(d)
    return out
