"""Retries with exponential backoff, and failures that are given up on and published."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ...unit.notify import factories as f
from .receivers import SmtpReceiver, WebhookReceiver
from .support import SECRET, running_notify, wait_status, wait_until

pytestmark = pytest.mark.integration


async def test_a_failing_webhook_is_retried_with_backoff_until_it_answers(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    async with (
        WebhookReceiver(statuses={"/staff": [503, 502]}) as hooks,
        running_notify(
            infra,
            pg_schema,
            topics,
            tmp_path,
            webhook_base=hooks.url(""),
            retry_initial_seconds=30,
            retry_multiplier=2,
            retry_jitter=0.1,
        ) as n,
    ):
        case = f.new_case_id()
        await n.publish([f.staff_registered("officer.a", "李伟")])
        await n.publish([f.case_assigned(case, "officer.a")])

        async def row():  # type: ignore[no-untyped-def]
            (r,) = await n.deliveries(case)
            return r

        # attempt 1 fails (503): back to pending, due 27..30 s later (30 s, jitter 10 %)
        await wait_until(lambda: _attempted(n, case, 1), what="the first attempt")
        r = await row()
        t1 = n.clock.now()
        assert r["status"] == "pending" and "503" in r["last_error"]
        assert t1 + timedelta(seconds=27) <= r["due_at"] <= t1 + timedelta(seconds=30)
        assert await n.dispatcher.run_once() == 0  # not due yet: nothing is sent early
        assert len(hooks.requests) == 1

        # attempt 2 when due; fails (502): the next wait doubles (54..60 s)
        t2 = n.clock.advance(seconds=30)
        await wait_until(lambda: _attempted(n, case, 2), what="the second attempt")
        r = await row()
        assert t2 + timedelta(seconds=54) <= r["due_at"] <= t2 + timedelta(seconds=60)

        # attempt 3 succeeds
        n.clock.advance(seconds=60)
        (r,) = await wait_status(n, case, {"delivered": 1})
        assert r["attempts"] == 3
        assert [q.status for q in hooks.requests] == [503, 502, 200]
        assert len({q.delivery_id for q in hooks.requests}) == 1  # one idempotency key
        assert all(q.signature_ok(SECRET) for q in hooks.requests)
        assert hooks.effects == [str(r["delivery_id"])]
        (ev,) = await n.events("notify.delivered")
        assert ev["payload"]["attempts"] == 3
        assert await n.events("notify.delivery_failed") == []


async def _attempted(n, case: str, attempts: int) -> bool:  # type: ignore[no-untyped-def]
    rows = await n.deliveries(case)
    return bool(rows) and rows[0]["attempts"] >= attempts and rows[0]["status"] != "sending"


async def test_permanent_refusals_and_exhausted_retries_become_delivery_failed_events(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    refused = "nobody@example.cn"
    async with (
        SmtpReceiver(reject={refused: "550 5.1.1 <nobody@example.cn>: no such user"}) as smtp,
        WebhookReceiver(always={"/resident": 410, "/staff": 500}) as hooks,
        running_notify(
            infra,
            pg_schema,
            topics,
            tmp_path,
            smtp_port=smtp.port,
            webhook_base=hooks.url(""),
            sms_gateway="none",
            max_attempts=3,
            retry_initial_seconds=1,
            retry_jitter=0,
        ) as n,
    ):
        case = f.new_case_id()
        await n.publish([f.submitted(case, email=refused), f.accepted(case)])
        await n.publish([f.staff_registered("officer.a", "李伟")])
        await n.publish([f.case_assigned(case, "officer.a")])
        # e-mail 550 and webhook 410: failed at the first attempt
        await wait_status(n, case, {"failed": 2})
        # the staff webhook answers 500 every time: 3 attempts, then given up
        for attempt in (1, 2):
            await wait_until(
                lambda a=attempt: _staff_retry_scheduled(n, case, a), what=f"retry {attempt}"
            )
            n.clock.advance(seconds=10)
        rows = await wait_status(n, case, {"failed": 3})
        by = {(r["recipient_kind"], r["channel"]): r for r in rows}
        assert by[("resident", "email")]["attempts"] == 1
        assert by[("resident", "webhook")]["attempts"] == 1
        assert by[("staff", "webhook")]["attempts"] == 3
        assert len(hooks.at("/staff")) == 3 and len(hooks.at("/resident")) == 1
        assert smtp.mails == []

        failed = {
            e["payload"]["channel"] + "/" + e["payload"]["recipient_kind"]: e
            for e in await n.events("notify.delivery_failed")
        }
        assert set(failed) == {"email/resident", "webhook/resident", "webhook/staff"}
        assert failed["email/resident"]["payload"]["permanent"] is True
        assert "550" in failed["email/resident"]["payload"]["error"]
        assert refused not in str(failed["email/resident"])  # the address is redacted
        assert failed["webhook/resident"]["payload"]["permanent"] is True
        assert "410" in failed["webhook/resident"]["payload"]["error"]
        assert failed["webhook/staff"]["payload"]["permanent"] is False
        assert failed["webhook/staff"]["payload"]["attempts"] == 3
        assert await n.events("notify.delivered") == []


async def _staff_retry_scheduled(n, case: str, attempts: int) -> bool:  # type: ignore[no-untyped-def]
    rows = await n.deliveries(case)
    return any(
        r["recipient_kind"] == "staff" and r["status"] == "pending" and r["attempts"] == attempts
        for r in rows
    )
