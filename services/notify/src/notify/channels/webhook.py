"""Signed webhooks: a JSON POST the receiver can authenticate and deduplicate.

Headers on every request:

    X-Bianmin-Delivery-Id: <uuid>          the idempotency key: the same for every attempt
                                           of one (event, recipient, channel), so a receiver
                                           that remembers it never acts twice
    X-Bianmin-Timestamp:   <unix seconds>  when this attempt was signed
    X-Bianmin-Signature:   sha256=<hex>    HMAC-SHA256(secret, timestamp + "." + body)
    X-Bianmin-Template:    <template name>

The body is canonical JSON (sorted keys, UTF-8). Signing the timestamp with the body lets a
receiver refuse replays of an old request (`verify_signature(..., tolerance=300)`).

Answers: 2xx delivered; 408, 425, 429 and 5xx (and timeouts, refused connections) are
transient; any other status is permanent (the receiver says the request itself is wrong).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime

import httpx
import orjson

from .base import Message, PermanentFailure, TransientFailure

SIGNATURE_HEADER = "X-Bianmin-Signature"
TIMESTAMP_HEADER = "X-Bianmin-Timestamp"
DELIVERY_ID_HEADER = "X-Bianmin-Delivery-Id"
TEMPLATE_HEADER = "X-Bianmin-Template"
RETRYABLE_STATUS = frozenset({408, 425, 429})


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Bianmin-Signature` value for this timestamp and body."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance: float | None = 300,
) -> bool:
    """What a receiver runs: the signature matches (constant-time) and, when `tolerance` is
    given, the timestamp is within that many seconds of `now`."""
    if tolerance is not None:
        try:
            ts = int(timestamp)
        except ValueError:
            return False
        if abs((time.time() if now is None else now) - ts) > tolerance:
            return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def webhook_body(message: Message) -> bytes:
    return orjson.dumps(
        {
            "delivery_id": str(message.delivery_id),
            "event_id": str(message.event_id),
            "event_type": message.event_type,
            "case_id": message.case_id,
            "recipient": {"id": message.recipient_id, "kind": message.recipient_kind},
            "template": message.template,
            "subject": message.subject,
            "text": message.body,
            "data": dict(message.data),
        },
        option=orjson.OPT_SORT_KEYS,
    )


class WebhookSender:
    def __init__(self, secret: bytes, *, timeout: float = 10.0) -> None:
        if not secret:
            raise ValueError("webhooks are always signed: give a secret")
        self.secret = secret
        self.client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": "bianmin-notify/1"},
        )

    async def send(self, message: Message, now: datetime) -> str | None:
        body = webhook_body(message)
        ts = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            DELIVERY_ID_HEADER: str(message.delivery_id),
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(self.secret, ts, body),
            TEMPLATE_HEADER: message.template,
        }
        try:
            r = await self.client.post(message.address, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientFailure(f"webhook: {type(exc).__name__}: {exc}"[:300]) from None
        if 200 <= r.status_code < 300:
            return r.headers.get("X-Request-Id")
        text = f"webhook answered {r.status_code}: {r.text[:200]}"
        if r.status_code >= 500 or r.status_code in RETRYABLE_STATUS:
            raise TransientFailure(text)
        raise PermanentFailure(text)

    async def close(self) -> None:
        await self.client.aclose()
