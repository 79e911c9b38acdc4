"""Quiet hours on the real stack (injected clock), and a crash between send and record."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from contracts.workdays import SHANGHAI
from eventkit.testing import FrozenClock
from notify.delivery.dispatcher import Dispatcher

from ...unit.notify import factories as f
from .receivers import SmtpReceiver, WebhookReceiver
from .support import SECRET, running_notify, wait_status, wait_until

pytestmark = pytest.mark.integration

NIGHT = datetime(2026, 3, 2, 23, 0, tzinfo=SHANGHAI)
MORNING = datetime(2026, 3, 3, 8, 0, tzinfo=SHANGHAI)


async def test_an_sms_at_23_00_is_deferred_to_08_00_and_other_channels_go_at_once(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    async with (
        SmtpReceiver() as smtp,
        WebhookReceiver() as hooks,
        running_notify(
            infra,
            pg_schema,
            topics,
            tmp_path,
            smtp_port=smtp.port,
            webhook_base=hooks.url(""),
            clock=FrozenClock(NIGHT),
        ) as n,
    ):
        case = f.new_case_id()
        await n.publish([f.submitted(case, at=NIGHT), f.accepted(case, at=NIGHT)])
        rows = await wait_status(n, case, {"delivered": 2, "deferred": 1})
        (sms,) = [r for r in rows if r["channel"] == "sms"]
        assert sms["status"] == "deferred" and sms["attempts"] == 0
        assert sms["due_at"] == MORNING
        (deferred,) = await n.events("notify.delivery_deferred")
        assert deferred["payload"]["channel"] == "sms"
        assert deferred["payload"]["reason"] == "quiet_hours"
        assert datetime.fromisoformat(deferred["payload"]["deferred_until"]) == MORNING
        assert len(smtp.mails) == 1 and len(hooks.requests) == 1

        n.clock.set(MORNING - timedelta(minutes=1))
        assert await n.dispatcher.run_once() == 0  # 07:59: still nothing
        assert n.sms_lines() == []

        n.clock.set(MORNING)
        await wait_status(n, case, {"delivered": 3})
        (line,) = n.sms_lines()
        assert line["to"] == f.PHONE and "已受理" in line["text"]
        assert len(await n.events("notify.delivered")) == 3


class Crash(BaseException):
    """The process dies: nothing after the send runs (not an Exception: nothing catches it)."""


async def test_a_crash_between_send_and_record_resends_once_with_the_same_delivery_id(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    async with (
        WebhookReceiver() as hooks,
        running_notify(
            infra,
            pg_schema,
            topics,
            tmp_path,
            webhook_base=hooks.url(""),
            run_dispatcher=False,  # the test drives two dispatchers by hand
            send_lease_seconds=120,
        ) as n,
    ):
        case = f.new_case_id()
        await n.publish([f.submitted(case), f.accepted(case)])
        await wait_status(n, case, {"pending": 2})
        senders = n.app.state.senders

        async def crash(_row) -> None:  # type: ignore[no-untyped-def]
            raise Crash

        doomed = Dispatcher(n.ctx, senders, pool=lambda: n.pool, after_send=crash)
        claimed = await doomed.claim()
        assert len(claimed) == 2
        for row in claimed:
            with pytest.raises(Crash):
                await doomed.process(row)  # sent, then "killed" before recording
        assert len(hooks.requests) == 1 and len(n.sms_lines()) == 1
        assert {r["status"] for r in await n.deliveries(case)} == {"sending"}

        survivor = Dispatcher(n.ctx, senders, pool=lambda: n.pool)
        assert await survivor.run_once() == 0  # the leases still hold
        n.clock.advance(seconds=121)
        assert await survivor.run_once() == 2  # leases expired: claimed again, sent again
        rows = await n.deliveries(case)
        assert {r["status"] for r in rows} == {"delivered"}
        assert {r["attempts"] for r in rows} == {2}

        # the webhook was called twice with one idempotency key, and acted once
        assert len(hooks.requests) == 2
        assert len({q.delivery_id for q in hooks.requests}) == 1
        assert all(q.signature_ok(SECRET) for q in hooks.requests)
        assert len(hooks.effects) == 1
        # the SMS dev gateway dropped the re-send by delivery id
        assert len(n.sms_lines()) == 1
        # one outcome per delivery, recorded by the survivor
        delivered = await n.events("notify.delivered")
        assert sorted(e["payload"]["channel"] for e in delivered) == ["sms", "webhook"]

        # a late record by the crashed holder would be refused (its lease token is gone)
        await doomed._delivered(claimed[0], None)
        assert doomed.stats["lease_lost"] == 1
        assert len(await n.events("notify.delivered")) == 2


async def test_two_dispatchers_never_send_the_same_row(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    async with (
        WebhookReceiver() as hooks,
        running_notify(
            infra, pg_schema, topics, tmp_path, webhook_base=hooks.url(""), sms_gateway="none"
        ) as n,
    ):
        extra = Dispatcher(n.ctx, n.app.state.senders, pool=lambda: n.pool)
        cases = [f.new_case_id() for _ in range(20)]
        await n.publish([e for c in cases for e in (f.submitted(c), f.accepted(c))])

        async def all_done() -> bool:
            await extra.run_once()  # competes with the service's own dispatcher
            return len(await n.deliveries()) == 20 and {
                r["status"] for r in await n.deliveries()
            } == {"delivered"}

        await wait_until(all_done, what="20 deliveries")
        assert len(hooks.requests) == 20
        assert len({q.delivery_id for q in hooks.requests}) == 20
