"""Issue 18 #6: SMTP sent the username and password without TLS by default. Now a username
needs STARTTLS or implicit TLS, and a server that offers no STARTTLS gets no credentials."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from notify.channels import Message, SmtpSender, TransientFailure
from notify.settings import Settings

from .receivers import SmtpReceiver

pytestmark = pytest.mark.integration


def _message() -> Message:
    return Message(
        delivery_id=uuid4(),
        event_id=uuid4(),
        event_type="intake.application_accepted",
        case_id="case-1",
        recipient_id="applicant:case-1",
        recipient_kind="resident",
        channel="email",
        address="zhang@example.cn",
        template="resident_receipt",
        subject="【受理通知】",
        body="您的申请已受理。",
        data={},
    )


def test_a_username_without_tls_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="NOTIFY_SMTP_USERNAME"):
        Settings(smtp_host="mail.example.cn", smtp_username="notify", smtp_password="pw")
    with pytest.raises(ValueError, match="starttls or tls"):
        SmtpSender("mail.example.cn", username="notify", password="pw", security="none")
    for security in ("starttls", "tls"):
        Settings(
            smtp_host="mail.example.cn",
            smtp_username="notify",
            smtp_password="pw",
            smtp_security=security,
        )
    Settings(smtp_host="relay.internal")  # no credentials, no TLS: an internal relay


async def test_a_server_without_starttls_never_sees_the_credentials() -> None:
    async with SmtpReceiver() as server:  # offers no STARTTLS
        sender = SmtpSender(
            "127.0.0.1",
            server.port,
            username="notify",
            password="s3cret-pw",
            security="starttls",
            timeout=5,
        )
        with pytest.raises(TransientFailure):
            await sender.send(_message(), datetime.now(UTC))
        verbs = [c.split(" ", 1)[0].upper() for c in server.commands]
        assert verbs[:1] == ["EHLO"]
        assert "AUTH" not in verbs and "MAIL" not in verbs
        assert not [c for c in server.commands if "s3cret" in c]
        assert server.mails == []
