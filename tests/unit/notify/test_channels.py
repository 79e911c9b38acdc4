"""Webhook signatures, the SMS dev gateway's dedup, templates' file format."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest

from notify.channels import FileSmsGateway, Message, PermanentFailure, SmsSender
from notify.channels.webhook import sign, verify_signature, webhook_body
from notify.delivery.dispatcher import redact
from notify.delivery.replay import is_replay
from notify.domain.templates import TemplateError, parse_template

from .factories import T0

pytestmark = pytest.mark.unit

SECRET = b"s3cret-shared-with-the-receiver"


def message(address: str = "13857712345", channel: str = "sms") -> Message:
    return Message(
        delivery_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        event_type="intake.application_accepted",
        case_id="case-1",
        recipient_id="applicant:case-1",
        recipient_kind="resident",
        channel=channel,
        address=address,
        template="resident_receipt",
        subject="【受理通知】",
        body="【瑞安便民服务】您的申请已受理。",
        data={"receipt_no": "RA1"},
    )


def test_a_signature_verifies_and_any_change_breaks_it() -> None:
    body = webhook_body(message(channel="webhook"))
    ts = "1772416800"
    sig = sign(SECRET, ts, body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify_signature(SECRET, ts, body, sig, now=1772416800 + 10)
    assert not verify_signature(SECRET, ts, body + b" ", sig, now=1772416800)
    assert not verify_signature(b"other", ts, body, sig, now=1772416800)
    assert not verify_signature(SECRET, "1772416801", body, sig, now=1772416800)
    # too old: a replayed request is refused; tolerance=None checks the MAC only
    assert not verify_signature(SECRET, ts, body, sig, now=1772416800 + 3600)
    assert verify_signature(SECRET, ts, body, sig, tolerance=None)
    assert not verify_signature(SECRET, "not-a-number", body, sig)


def test_the_webhook_body_is_canonical_json_without_the_address() -> None:
    m = message(channel="webhook", address="https://hooks.example.cn/x")
    body = webhook_body(m)
    data = orjson.loads(body)
    assert data["delivery_id"] == str(m.delivery_id)
    assert data["recipient"] == {"id": "applicant:case-1", "kind": "resident"}
    assert b"hooks.example.cn" not in body
    assert body == orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


async def test_the_file_gateway_appends_once_per_delivery_id(tmp_path: Path) -> None:
    path = tmp_path / "sms" / "out.jsonl"
    sender = SmsSender(FileSmsGateway(path))
    m = message()
    assert await sender.send(m, T0) == f"file:{m.delivery_id}"
    assert await sender.send(m, T0) == f"duplicate:{m.delivery_id}"  # a re-send after a crash
    other = message()
    await sender.send(other, T0)
    lines = [orjson.loads(x) for x in path.read_bytes().splitlines()]
    assert [x["delivery_id"] for x in lines] == [str(m.delivery_id), str(other.delivery_id)]
    assert lines[0]["to"] == "13857712345" and lines[0]["text"] == m.body


async def test_a_malformed_phone_number_is_a_permanent_failure(tmp_path: Path) -> None:
    sender = SmsSender(FileSmsGateway(tmp_path / "sms.jsonl"))
    with pytest.raises(PermanentFailure):
        await sender.send(message(address="call me"), T0)


def test_published_errors_do_not_carry_the_address() -> None:
    assert redact("550 <a@b.cn> unknown", "a@b.cn") == "550 <<recipient>> unknown"
    assert len(redact("x" * 2000, "")) == 500


def test_the_replay_header() -> None:
    assert is_replay([("bianmin-replay", b"1")])
    assert is_replay([("Bianmin-Replay", b"true")])
    assert not is_replay([("bianmin-replay", b"0")])
    assert not is_replay(None)


@pytest.mark.parametrize(
    "text",
    ["no separator", "subject: x\n", "body first\n---\nx", "subject: x\n---\n\n"],
)
def test_a_malformed_template_is_refused(text: str) -> None:
    with pytest.raises(TemplateError):
        parse_template("t", text)


def test_a_template_parses_into_subject_and_body() -> None:
    t = parse_template("t", "# note\nsubject: 主题 {a}\n---\n正文 {a}\n第二行\n")
    assert (t.subject, t.body) == ("主题 {a}", "正文 {a}\n第二行")
