"""The consumer's handler: keep the directory, plan, and record the intents — in the inbox
transaction, so an event's deliveries exist exactly once however often Kafka delivers it.

For each intake / routing event:
1. update the directory (contacts, names);
2. if the event notifies someone, `plan` it against the directory and insert one
   `deliveries` row per intent (`ON CONFLICT DO NOTHING` on (event, recipient, channel));
   an SMS held by quiet hours is inserted `deferred` with a `notify.delivery_deferred`
   event; a replayed, stale or delivery-disabled event is inserted `suppressed`;
3. if the plan waits for a recipient the directory does not know yet, park the event;
4. if step 1 made a recipient known, plan the events parked on it (step 1 took them out
   of `parked_events` with its directory write).

Nothing is sent here: the dispatcher sends after this transaction committed. A
`pg_notify` in the transaction (in the RETURNING of each new row that is not suppressed;
PostgreSQL delivers identical notifications of one transaction once) wakes the dispatchers
at commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import asyncpg
import orjson

from contracts.notify import DeliveryDeferred
from eventkit.envelope import Envelope

from ..directory import apply_directory_event, load_directory
from ..domain import needs, plan
from ..runtime import NotifyRuntime, wake_channel
from .replay import replaying

log = logging.getLogger("notify.intents")

_INSERT = """
INSERT INTO deliveries (event_id, recipient_id, channel, delivery_id, event_type,
                        correlation_id, case_id, recipient_kind, template, address, subject,
                        body, data, status, suppressed_reason, due_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15, $16, $17, $17)
ON CONFLICT (event_id, recipient_id, channel) DO NOTHING
RETURNING delivery_id
"""
_INSERT_AND_WAKE = _INSERT.rstrip() + ", pg_notify($18, '')\n"


class IntentRecorder:
    def __init__(self, ctx: NotifyRuntime) -> None:
        self.ctx = ctx

    def suppression(self, env: Envelope, now: datetime) -> str | None:
        """Why this event must not send anything (see `notify.delivery.replay`), or None."""
        s = self.ctx.settings
        if replaying():
            return "replay"
        if not s.delivery_enabled:
            return "delivery_disabled"
        if s.max_event_age_hours > 0 and now - env.occurred_at > timedelta(
            hours=s.max_event_age_hours
        ):
            return "stale"
        return None

    async def handle(self, conn: asyncpg.Connection, env: Envelope) -> None:
        """`EventConsumer` handler: runs inside the inbox transaction."""
        now = self.ctx.now()
        released = await apply_directory_event(conn, env)
        await self.plan_and_record(conn, env, self.suppression(env, now), now)
        for row in sorted(released, key=lambda r: r["parked_at"]):
            raw = row["envelope"]
            # parked before an upgrade, it may be an older version: read it as the consumer would
            parked = self.ctx.runtime.reader.decode(
                orjson.loads(raw) if isinstance(raw, str) else raw
            )
            reason = row["suppressed_reason"] or self.suppression(parked, now)
            await self.plan_and_record(conn, parked, reason, now)

    async def plan_and_record(
        self, conn: asyncpg.Connection, env: Envelope, suppressed: str | None, now: datetime
    ) -> int:
        """Plan `env` and insert its deliveries; return how many rows were new."""
        need = needs(env)
        if need is None:
            return 0
        ctx = self.ctx
        # a sealed applicant contact is opened by intake (`directory.contacts`), only for a
        # delivery that may be sent: a suppressed one (a replay, delivery off, stale) is
        # never sent, so nobody's personal data is read for it (its address stays sealed)
        directory = await load_directory(conn, need)
        if suppressed is None:
            directory = await ctx.contacts.opened(directory)
        p = plan(env, directory, ctx.setup, now, ctx.quiet)
        if p.waiting_for is not None:
            await conn.execute(
                "INSERT INTO parked_events (event_id, waiting_for, envelope, suppressed_reason,"
                " parked_at) VALUES ($1, $2, $3::jsonb, $4, $5) ON CONFLICT DO NOTHING",
                env.event_id,
                p.waiting_for,
                env.model_dump_json(),
                suppressed,
                now,
            )
            log.info(
                "event parked until its recipient is known",
                extra={"event_id": str(env.event_id), "waiting_for": p.waiting_for},
            )
            return 0
        case_id = need.case_ids[0]
        deferred: list[DeliveryDeferred] = []
        new = 0
        wake = () if suppressed else (wake_channel(ctx.settings.database_schema),)
        for i in p.intents:
            status = "suppressed" if suppressed else ("deferred" if i.deferred else "pending")
            inserted = await conn.fetchval(
                _INSERT if suppressed else _INSERT_AND_WAKE,
                env.event_id,
                i.recipient_id,
                i.channel,
                i.delivery_id,
                env.event_type,
                env.correlation_id,
                case_id,
                i.recipient_kind,
                i.template,
                i.address,
                i.subject,
                i.body,
                orjson.dumps(dict(i.data)).decode(),
                status,
                suppressed,
                i.due_at,
                now,
                *wake,
            )
            if inserted is None:
                continue
            new += 1
            if status == "deferred":
                deferred.append(
                    DeliveryDeferred(
                        delivery_id=str(i.delivery_id),
                        case_id=case_id,
                        source_event_id=str(env.event_id),
                        source_event_type=env.event_type,
                        recipient_id=i.recipient_id,
                        recipient_kind=i.recipient_kind,
                        channel=i.channel,
                        template=i.template,
                        deferred_until=i.due_at,
                        reason="quiet_hours",
                        deferred_by="notify",
                    )
                )
        if deferred:
            await ctx.events.append(
                conn,
                case_id,
                deferred,
                now=now,
                correlation_id=env.correlation_id,
                causation_id=env.event_id,
            )
        return new
