"""SMTP e-mail with the standard library's `smtplib`, run in a worker thread.

(`aiosmtplib` would avoid the thread; it is not a dependency, and one short-lived thread per
message is cheap at the volumes of a county's service centers.)

Idempotency: SMTP has none. The message carries `Message-ID: <delivery id@domain>` and an
`X-Bianmin-Delivery-Id` header, so a duplicate is recognisable (and some mail systems drop
a repeated Message-ID), but a crash after the server's final 250 and before notify records
it re-sends that one e-mail. That window is the only source of a duplicate.

Credentials travel only over TLS: with a username, `security` must be `starttls` (the
server must offer STARTTLS, or nothing is sent) or `tls` (implicit TLS); `none` with a
username is refused when the sender is made.

Replies: 5xx is permanent (bad address, refused content), 4xx and connection trouble are
transient.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from .base import Message, PermanentFailure, TransientFailure


class SmtpSender:
    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str = "瑞安便民服务 <noreply@bianmin.local>",
        security: str = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        if username and security not in ("starttls", "tls"):
            raise ValueError(
                "SMTP credentials are never sent without TLS: a username needs security "
                f"starttls or tls, not {security!r}"
            )
        self.host = host
        self.port = port
        self.sender = sender
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        domain = parseaddr(sender)[1].rpartition("@")[2]
        self.message_id_domain = domain or "bianmin.local"

    def build(self, message: Message, now: datetime) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = message.address
        msg["Subject"] = message.subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = f"<{message.delivery_id}@{self.message_id_domain}>"
        msg["X-Bianmin-Delivery-Id"] = str(message.delivery_id)
        msg["X-Bianmin-Template"] = message.template
        msg.set_content(message.body, charset="utf-8")
        return msg

    def _send_sync(self, msg: EmailMessage) -> str | None:
        ctx = ssl.create_default_context()
        try:
            if self.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ctx
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.security == "starttls":
                    client.starttls(context=ctx)
                if self.username:
                    client.login(self.username, self.password or "")
                refused = client.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            text = f"recipient refused: {codes}"
            if all(code >= 500 for code in codes):
                raise PermanentFailure(text) from None
            raise TransientFailure(text) from None
        except smtplib.SMTPResponseException as exc:
            err = exc.smtp_error
            err_text = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
            text = f"SMTP {exc.smtp_code}: {err_text[:200]}"
            if exc.smtp_code >= 500:
                raise PermanentFailure(text) from None
            raise TransientFailure(text) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientFailure(f"SMTP: {exc!r}"[:300]) from None
        if refused:  # only some recipients refused: we send to one, so this is unexpected
            raise TransientFailure(f"recipient refused: {refused}")
        return None

    async def send(self, message: Message, now: datetime) -> str | None:
        msg = self.build(message, now)
        await asyncio.to_thread(self._send_sync, msg)
        return msg["Message-ID"]

    async def close(self) -> None:
        return None
