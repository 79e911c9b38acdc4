"""Intents to messages on the real Kafka, PostgreSQL, a local SMTP server, a local webhook
receiver and the SMS file: exactly one message per (event, recipient, channel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from notify.domain import applicant_id

from ...unit.notify import factories as f
from .receivers import SmtpReceiver, WebhookReceiver
from .support import SECRET, running_notify, wait_status, wait_until

pytestmark = pytest.mark.integration


async def test_an_accepted_application_gives_one_receipt_per_channel_despite_redelivery(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    async with (
        SmtpReceiver() as smtp,
        WebhookReceiver() as hooks,
        running_notify(
            infra, pg_schema, topics, tmp_path, smtp_port=smtp.port, webhook_base=hooks.url("")
        ) as n,
    ):
        case = f.new_case_id()
        acc = f.accepted(case)
        await n.publish([f.unit_registered(), f.submitted(case), acc])
        rows = await wait_status(n, case, {"delivered": 3})
        assert {(r["template"], r["channel"]) for r in rows} == {
            ("resident_receipt", "email"),
            ("resident_receipt", "sms"),
            ("resident_receipt", "webhook"),
        }
        # the same event again (a redelivery, a producer retry): absorbed by the inbox
        before = await n.processed()
        await n.publish([acc, acc])
        await wait_until(lambda: _ge(n.processed(), before + 2), what="the duplicates consumed")
        await n.dispatcher.run_once()
        assert len(await n.deliveries(case)) == 3

        receipt = "您的申请（受理编号 RA20260302K3W9ZD）已受理，承诺办结日期 2026年3月23日。"
        (mail,) = smtp.to(f.EMAIL)
        assert receipt in mail.text
        assert mail.subject == "【受理通知】再生育(二胎)申请审批（受理编号 RA20260302K3W9ZD）"
        email_row = next(r for r in rows if r["channel"] == "email")
        assert mail.header("X-Bianmin-Delivery-Id") == str(email_row["delivery_id"])
        assert mail.header("Message-ID") == f"<{email_row['delivery_id']}@bianmin.local>"

        (hook,) = hooks.at("/resident")
        assert hook.signature_ok(SECRET)
        assert hook.headers["x-bianmin-signature"].startswith("sha256=")
        assert hook.json["recipient"] == {"id": applicant_id(case), "kind": "resident"}
        assert receipt in hook.json["text"]
        assert f.PHONE not in hook.body.decode()

        (sms,) = n.sms_lines()
        assert sms["to"] == f.PHONE and receipt in sms["text"]
        assert sms["text"].startswith("【瑞安便民服务】")

        delivered = await n.events("notify.delivered")
        assert len(delivered) == 3
        assert {e["payload"]["channel"] for e in delivered} == {"email", "sms", "webhook"}
        for e in delivered:
            assert e["stream_id"] == case
            assert e["causation_id"] == str(acc.event_id)
            assert e["correlation_id"] == str(acc.correlation_id)
            assert e["payload"]["attempts"] == 1
            assert f.PHONE not in str(e) and f.EMAIL not in str(e)


async def _ge(value, n: int) -> bool:  # type: ignore[no-untyped-def]
    return (await value) >= n


async def test_the_one_time_notice_lists_all_three_missing_materials_in_one_message(
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
            # no poll before the wait below gives up: only the LISTEN/NOTIFY wake-up can send
            dispatch_poll_seconds=3600,
        ) as n,
    ):
        case = f.new_case_id()
        await n.publish([f.unit_registered()])  # the org tree is older than any case
        await wait_until(
            lambda: _ge(n.pool.fetchval("SELECT count(*) FROM org_units"), 1), what="the org tree"
        )
        await n.publish([f.submitted(case), f.missing_notified(case)])
        await wait_status(n, case, {"delivered": 3})
        names = ("再生育申请审批表", "结婚证复印件", "夫妻双方一寸近期免冠照片")
        (mail,) = smtp.mails
        assert mail.subject == "【一次性告知】再生育(二胎)申请审批申请尚缺3项材料"
        assert "您在马北社区提交的" in mail.text
        (sms,) = n.sms_lines()
        (hook,) = hooks.requests
        for text in (mail.text, sms["text"], hook.json["text"]):
            assert all(text.count(name) == 1 for name in names), text
        assert "\n1. 再生育申请审批表（原件1份）\n2. 结婚证复印件（复印件1份）\n3. " in mail.text


async def test_events_that_arrive_before_their_recipient_wait_for_it(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    async with (
        WebhookReceiver() as hooks,
        running_notify(infra, pg_schema, topics, tmp_path, webhook_base=hooks.url("")) as n,
    ):
        case = f.new_case_id()
        # routing's events overtook intake's and the staff registration: both park
        await n.publish([f.result_returned(case), f.case_assigned(case, "officer.b", as_role="B")])
        await wait_until(
            lambda: _ge(n.pool.fetchval("SELECT count(*) FROM parked_events"), 2),
            what="two parked events",
        )
        assert await n.deliveries(case) == []
        await n.publish([f.submitted(case), f.accepted(case)])
        await n.publish([f.staff_registered("officer.b", "陈明", email="chenming@mayu.gov.cn")])
        rows = await wait_status(n, case, {"delivered": 5})
        # no SMTP server configured here, and no phone on file for the officer
        assert sorted((r["template"], r["channel"]) for r in rows) == [
            ("resident_receipt", "sms"),
            ("resident_receipt", "webhook"),
            ("resident_result_ready", "sms"),
            ("resident_result_ready", "webhook"),
            ("staff_new_assignment", "webhook"),
        ]
        assert await n.pool.fetchval("SELECT count(*) FROM parked_events") == 0
        (staff_hook,) = hooks.at("/staff")
        assert staff_hook.json["recipient"] == {"id": "officer.b", "kind": "staff"}
        assert staff_hook.json["text"].startswith("陈明，您好：一件新案件已分派给您（B岗")
