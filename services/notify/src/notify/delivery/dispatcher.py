"""The dispatcher: claims due deliveries, sends them, records the outcome.

One delivery goes through three short transactions, never holding a transaction open while
a provider is talking:

1. **claim** — `SELECT ... FOR UPDATE SKIP LOCKED` over rows that are due (`pending` or
   `deferred` with `due_at <= now`, or `sending` whose lease expired), then set them
   `sending` with `attempts + 1`, a fresh `lease_token` and `lease_until = now + lease`.
   Any number of dispatchers (processes) share the table: SKIP LOCKED hands each row to one.
2. **send** — outside any transaction, with the row's stable `delivery_id`.
3. **record** — only if the row still holds our `lease_token`: `delivered` (+
   `notify.delivered`), `failed` (+ `notify.delivery_failed`) on a permanent refusal or
   when `attempts` reached `NOTIFY_MAX_ATTEMPTS`, else back to `pending` with
   `due_at = now + backoff(attempts)` (exponential, with jitter; quiet hours respected).

Crashes: a crash after 1 and before 3 leaves the row `sending`; when its lease expires a
dispatcher claims it again and sends it again — once per crash, with the same
`delivery_id`. The webhook receiver deduplicates on `X-Bianmin-Delivery-Id` and the SMS
dev gateway on the id, so for them the resend has no second effect. SMTP has no such key:
a crash exactly between the server's acceptance and step 3 duplicates that one e-mail (its
`Message-ID` is the delivery id, so mail systems and readers can tell).

Quiet hours are checked again at claim time: an SMS to a resident that comes due at night
(a retry, or a dispatcher that was down) is deferred to the morning, not sent; that
claim does not count as an attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from contracts.notify import Delivered, DeliveryDeferred, DeliveryFailed
from contracts.verification import verification_code
from eventkit.loops import TRANSIENT_ERRORS, Backoff, LoopHealth, supervise
from eventkit.pools import resolve_pool

from ..channels import Message, PermanentFailure, Sender
from ..domain import CODE_SLOT, fill_code, next_allowed_time
from ..runtime import NotifyRuntime, wake_channel
from .events import lock_key, lock_sql

log = logging.getLogger("notify.dispatcher")

AfterSend = Callable[[asyncpg.Record], Awaitable[None]]

_CLAIM = """
WITH due AS (
    SELECT event_id, recipient_id, channel FROM deliveries
    WHERE (status IN ('pending', 'deferred') AND due_at <= $1)
       OR (status = 'sending' AND lease_until <= $1)
    ORDER BY due_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d
SET status = 'sending', attempts = d.attempts + 1, lease_token = $3,
    lease_until = $1 + make_interval(secs => $4), updated_at = $1
FROM due
WHERE d.event_id = due.event_id AND d.recipient_id = due.recipient_id
  AND d.channel = due.channel
RETURNING d.*
"""

_KEY = "event_id = $1 AND recipient_id = $2 AND channel = $3 AND status = 'sending'"
_OWNED = _KEY + " AND lease_token = $4"


def redact(error: str, address: str) -> str:
    """Error text safe to publish: the recipient's address replaced, length bounded."""
    text = error.replace(address, "<recipient>") if address else error
    return text[:500]


class Dispatcher:
    def __init__(
        self,
        ctx: NotifyRuntime,
        senders: Mapping[str, Sender],
        *,
        pool: Callable[[], asyncpg.Pool | None],
        after_send: AfterSend | None = None,
    ) -> None:
        s = ctx.settings
        self.ctx = ctx
        self.senders = senders
        self._pool = pool
        self.after_send = after_send
        self.backoff = Backoff(
            initial=s.retry_initial_seconds,
            maximum=s.retry_max_seconds,
            multiplier=s.retry_multiplier,
            jitter=s.retry_jitter,
        )
        self._wake = asyncio.Event()
        self._sem = asyncio.Semaphore(max(1, s.dispatch_concurrency))
        self.health = LoopHealth("dispatcher")
        self.stats: dict[str, int] = {
            "delivered": 0,
            "failed": 0,
            "retried": 0,
            "deferred": 0,
            "lease_lost": 0,
        }

    # -- loop --------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Sessions until `stop` is set, restarted after any error (what a test or a tool
        runs; the service supervises `session` through its runtime)."""
        await supervise(
            "dispatcher",
            functools.partial(self.session, stop=stop),
            stop=stop,
            health=self.health,
            logger=log,
        )

    async def session(self, health: LoopHealth, *, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set or an error (`supervise` logs it, waits a capped
        backoff and starts a new session: a delivery whose outcome could not be recorded is
        claimed again once its lease expires).

        The session holds a LISTEN connection for wake-ups; when PostgreSQL restarts that
        connection is gone and the session ends, so the next one listens again (the old
        loop polled on without it). The wake-up is cleared just before each claim, so one
        that arrives while a batch is being sent makes the next claim at once; after a
        partial batch nothing else was due at the claim, so it waits (for a wake-up or the
        poll) instead of claiming again."""
        self.health = health
        listener = await self._listen()
        batch = self.ctx.settings.dispatch_batch
        try:
            while not stop.is_set():
                if listener.is_closed():
                    raise ConnectionError("the LISTEN connection was closed")
                self._wake.clear()
                handled = await self.run_once()
                health.running()
                if handled >= batch:
                    continue  # a full batch: more may be due
                waiters = [
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()),
                ]
                await asyncio.wait(
                    waiters,
                    timeout=self.ctx.settings.dispatch_poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for w in waiters:
                    w.cancel()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.close(), 5)
            if not listener.is_closed():
                listener.terminate()

    async def _listen(self) -> asyncpg.Connection:
        """LISTEN on this schema's wake channel (a dedicated connection); polling covers the
        rest (due times that arrive, lost notifications)."""
        s = self.ctx.settings
        conn = await asyncpg.connect(
            s.database_url, server_settings={"search_path": s.database_schema}
        )
        try:
            await conn.add_listener(wake_channel(s.database_schema), lambda *_: self.wake())
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def run_once(self) -> int:
        """Claim what is due now and process it; return how many rows were claimed."""
        rows = await self.claim()
        if rows:
            await asyncio.gather(*(self._guarded(r) for r in rows))
        return len(rows)

    async def claim(self) -> list[asyncpg.Record]:
        s = self.ctx.settings
        pool = self._require_pool()
        async with pool.acquire() as conn:
            return list(
                await conn.fetch(
                    _CLAIM,
                    self.ctx.now(),
                    s.dispatch_batch,
                    uuid.uuid4(),
                    float(s.send_lease_seconds),
                )
            )

    async def _guarded(self, row: asyncpg.Record) -> None:
        async with self._sem:
            try:
                await self.process(row)
            except Exception as exc:
                # Recording failed (e.g. the database went away): the lease expires and the
                # row is claimed again. Logged, never raised: other rows go on.
                log.log(
                    logging.WARNING if isinstance(exc, TRANSIENT_ERRORS) else logging.ERROR,
                    "could not record a delivery outcome; it will be retried after its lease",
                    exc_info=not isinstance(exc, TRANSIENT_ERRORS),
                    extra={"delivery_id": str(row["delivery_id"]), "error": repr(exc)},
                )

    # -- one delivery ------------------------------------------------------------------------
    async def process(self, row: asyncpg.Record) -> None:
        now = self.ctx.now()
        allowed = next_allowed_time(row["channel"], row["recipient_kind"], now, self.ctx.quiet)
        if allowed > now:
            await self._defer(row, allowed, now)
            return
        sender = self.senders.get(row["channel"])
        try:
            if sender is None:
                raise PermanentFailure(f"channel {row['channel']} is not configured here")
            ref = await sender.send(self.message(row), now)
        except PermanentFailure as exc:
            await self._failed(row, str(exc), permanent=True)
            return
        except Exception as exc:  # TransientFailure, or anything unexpected: try again
            error = str(exc) or type(exc).__name__
            if row["attempts"] >= self.ctx.settings.max_attempts:
                await self._failed(row, error, permanent=False)
            else:
                await self._retry(row, error)
            return
        if self.after_send is not None:
            await self.after_send(row)
        await self._delivered(row, ref)

    def message(self, row: asyncpg.Record) -> Message:
        """The message to hand the channel: the stored row, with the resident's verification
        code filled into its slot (derived here, with the shared secret: it is stored
        nowhere, `notify.domain.CODE_SLOT`)."""
        data = row["data"]
        data = orjson.loads(data) if isinstance(data, str | bytes) else dict(data)
        subject, body = row["subject"], row["body"]
        if CODE_SLOT in subject or CODE_SLOT in body or CODE_SLOT in data.values():
            secret = self.ctx.settings.verification_secret
            if secret is None:
                raise PermanentFailure(
                    "NOTIFY_VERIFICATION_SECRET is not set: the resident's verification "
                    "code cannot be derived"
                )
            code = verification_code(row["case_id"], secret.get_secret_value().encode())
            subject, body = fill_code(subject, code), fill_code(body, code)
            data = {k: fill_code(v, code) if isinstance(v, str) else v for k, v in data.items()}
        return Message(
            delivery_id=row["delivery_id"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            case_id=row["case_id"],
            recipient_id=row["recipient_id"],
            recipient_kind=row["recipient_kind"],
            channel=row["channel"],
            address=row["address"],
            template=row["template"],
            subject=subject,
            body=body,
            data=data,
        )

    def _fields(self, row: asyncpg.Record) -> dict[str, Any]:
        return {
            "delivery_id": str(row["delivery_id"]),
            "case_id": row["case_id"],
            "source_event_id": str(row["event_id"]),
            "source_event_type": row["event_type"],
            "recipient_id": row["recipient_id"],
            "recipient_kind": row["recipient_kind"],
            "channel": row["channel"],
            "template": row["template"],
        }

    def _key(self, row: asyncpg.Record) -> tuple[Any, ...]:
        return (row["event_id"], row["recipient_id"], row["channel"], row["lease_token"])

    async def _record(
        self, row: asyncpg.Record, sql: str, args: tuple[Any, ...], event: Any, now: datetime
    ) -> bool:
        """Apply `sql` (an UPDATE guarded by our lease, without RETURNING) and append `event`,
        atomically. With an event, the UPDATE also takes the case stream's lock, only if it
        matched (the append then reads the version under it)."""
        pool = self._require_pool()
        if event is not None:
            lock = lock_sql(f"${len(self._key(row)) + len(args) + 1}")
            sql += f" RETURNING (SELECT true FROM {lock})"
            args = (*args, lock_key(row["case_id"]))
        else:
            sql += " RETURNING true"
        async with pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval(sql, *self._key(row), *args)
            if done is None:
                self.stats["lease_lost"] += 1
                log.warning(
                    "lease lost before the outcome was recorded; the new holder records it",
                    extra={"delivery_id": str(row["delivery_id"])},
                )
                return False
            if event is not None:
                await self.ctx.events.append(
                    conn,
                    row["case_id"],
                    [event],
                    now=now,
                    correlation_id=row["correlation_id"],
                    causation_id=row["event_id"],
                    locked=True,
                )
        self.ctx.runtime.wake_relay()
        return True

    async def _delivered(self, row: asyncpg.Record, ref: str | None) -> None:
        now = self.ctx.now()
        event = Delivered(
            **self._fields(row),
            attempts=row["attempts"],
            delivered_at=now,
            provider_ref=ref,
            delivered_by="notify",
        )
        sql = f"""UPDATE deliveries SET status = 'delivered', delivered_at = $5,
                  provider_ref = $6, lease_token = NULL, lease_until = NULL, updated_at = $5
                  WHERE {_OWNED}"""
        if await self._record(row, sql, (now, ref), event, now):
            self.stats["delivered"] += 1

    async def _failed(self, row: asyncpg.Record, error: str, *, permanent: bool) -> None:
        now = self.ctx.now()
        error = redact(error, row["address"])
        event = DeliveryFailed(
            **self._fields(row),
            attempts=row["attempts"],
            permanent=permanent,
            error=error,
            failed_at=now,
            failed_by="notify",
        )
        sql = f"""UPDATE deliveries SET status = 'failed', failed_at = $5, last_error = $6,
                  lease_token = NULL, lease_until = NULL, updated_at = $5
                  WHERE {_OWNED}"""
        if await self._record(row, sql, (now, error), event, now):
            self.stats["failed"] += 1
            log.warning(
                "delivery failed for good",
                extra={
                    "delivery_id": str(row["delivery_id"]),
                    "channel": row["channel"],
                    "attempts": row["attempts"],
                    "permanent": permanent,
                    "error": error,
                },
            )

    async def _retry(self, row: asyncpg.Record, error: str) -> None:
        now = self.ctx.now()
        delay = self.backoff.delay(row["attempts"])
        due = next_allowed_time(
            row["channel"], row["recipient_kind"], now + timedelta(seconds=delay), self.ctx.quiet
        )
        sql = f"""UPDATE deliveries SET status = 'pending', due_at = $5, last_error = $6,
                  lease_token = NULL, lease_until = NULL, updated_at = $7
                  WHERE {_OWNED}"""
        if await self._record(row, sql, (due, redact(error, row["address"]), now), None, now):
            self.stats["retried"] += 1
            log.info(
                "delivery attempt failed; retrying after backoff",
                extra={
                    "delivery_id": str(row["delivery_id"]),
                    "attempt": row["attempts"],
                    "due_at": due.isoformat(),
                    "error": redact(error, row["address"]),
                },
            )

    async def _defer(self, row: asyncpg.Record, until: datetime, now: datetime) -> None:
        event = DeliveryDeferred(
            **self._fields(row), deferred_until=until, reason="quiet_hours", deferred_by="notify"
        )
        sql = f"""UPDATE deliveries SET status = 'deferred', due_at = $5,
                  attempts = attempts - 1, lease_token = NULL, lease_until = NULL,
                  updated_at = $6 WHERE {_OWNED}"""
        if await self._record(row, sql, (until, now), event, now):
            self.stats["deferred"] += 1

    def _require_pool(self) -> asyncpg.Pool:
        return resolve_pool(self._pool)
